package config

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/notifymux/notifymux/match"
)

const rulesJSON = `{
  "regions": {"photos": "ap-guangzhou"},
  "rules": [
    {"id": "thumbs", "bucket": "photos", "events": ["cos:ObjectCreated:*"], "prefix": "images/", "suffix": ".jpg",
     "target": "qcs:0:lambda:gz:appid/1250000000:default.thumbs.$LATEST"},
    {"id": "rm", "bucket": "logs", "events": ["s3:ObjectRemoved:Delete", "cos:ObjectRemove:DeleteMarkerCreated"], "target": "arn:aws:lambda:us-east-1:1:function:rm"}
  ]
}`

func TestReadJSON(t *testing.T) {
	doc, err := ReadJSON(strings.NewReader(rulesJSON))
	if err != nil {
		t.Fatal(err)
	}
	want := &Document{
		Regions: map[string]string{"photos": "ap-guangzhou"},
		Rules: []match.Rule{
			{ID: "thumbs", Bucket: "photos", Events: match.ObjectCreated, Prefix: "images/", Suffix: ".jpg", Target: "qcs:0:lambda:gz:appid/1250000000:default.thumbs.$LATEST"},
			{ID: "rm", Bucket: "logs", Events: match.ObjectRemove, Target: "arn:aws:lambda:us-east-1:1:function:rm"},
		},
	}
	if !reflect.DeepEqual(doc, want) {
		t.Errorf("got  %+v\nwant %+v", doc, want)
	}
}

func TestReadJSONErrors(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		line    int
		id      string
		is      error
		message string
		kept    int // rules still returned
	}{
		{"unknown event", "{\"rules\":[\n{\"id\":\"a\",\"bucket\":\"b\",\"events\":[\"cos:ObjectCreated:Put\"],\"target\":\"f\"},\n  {\"id\":\"x\",\"bucket\":\"b\",\"events\":[\"cos:ObjectCreated:Pux\"],\"target\":\"f\"}]}",
			3, "x", match.ErrUnknownEvent, "rules[1].events[0]", 1},
		{"no target", "{\"rules\":[{\"id\":\"x\",\"bucket\":\"b\",\"events\":[\"cos:ObjectCreated:Put\"]}]}", 1, "x", ErrMissing, "rules[0].target", 0},
		{"no events", "{\"rules\":[{\"id\":\"x\",\"bucket\":\"b\",\"target\":\"f\"}]}", 1, "x", ErrMissing, "no events", 0},
		{"long prefix", "{\"rules\":[{\"id\":\"x\",\"bucket\":\"b\",\"events\":[\"cos:ObjectCreated:Put\"],\"prefix\":\"" + strings.Repeat("p", 1025) + "\",\"target\":\"f\"}]}", 1, "x", ErrValueTooLong, "1025 bytes", 0},
		{"unknown field", "{\"rules\":[\n\n{\"id\":\"x\",\"bucket\":\"b\",\"events\":[\"cos:ObjectCreated:Put\"],\"target\":\"f\",\"filter\":1}]}", 3, "x", ErrUnexpected, "unknown field", 0},
		{"wrong type", "{\"rules\":[{\"id\":\"x\",\"bucket\":\"b\",\"events\":\"cos:ObjectCreated:Put\",\"target\":\"f\"}]}", 1, "x", ErrSyntax, "events", 0},
		{"duplicate id", "{\"rules\":[{\"id\":\"x\",\"bucket\":\"b\",\"events\":[\"cos:ObjectCreated:Put\"],\"target\":\"f\"},\n{\"id\":\"x\",\"bucket\":\"b\",\"events\":[\"cos:ObjectRemove:*\"],\"target\":\"f\"}]}", 2, "x", ErrDuplicateID, "line 1", 1},
		{"top-level field", "{\"rules\":[],\n\"bucket\":\"b\"}", 2, "", ErrUnexpected, "unknown field \"bucket\"", 0},
		{"syntax", "{\"rules\":[\n{\"id\":\"x\",,}]}", 2, "", ErrSyntax, "invalid character", 0},
		{"truncated", "{\"rules\":[\n{\"id\":\"x\"", 2, "", ErrSyntax, "unexpected EOF", 0},
		{"not an object", "[]", 1, "", ErrSyntax, "must be a JSON object", 0},
		{"rules not an array", "{\"rules\":{}}", 1, "", ErrSyntax, "must be a JSON array", 0},
		{"trailing data", "{\"rules\":[]} {}", 1, "", ErrSyntax, "after the rules file", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := ReadJSON(strings.NewReader(tt.doc))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %T %v, want a *Error", err, err)
			}
			if e.Line != tt.line || e.ID != tt.id || !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.message) {
				t.Errorf("got %v (line %d, id %q), want line %d, id %q, %v, containing %q", err, e.Line, e.ID, tt.line, tt.id, tt.is, tt.message)
			}
			if n := 0; doc != nil {
				n = len(doc.Rules)
				if n != tt.kept {
					t.Errorf("kept %d rules, want %d", n, tt.kept)
				}
			}
		})
	}
}

func TestJSONRoundTrip(t *testing.T) {
	doc, err := ReadJSON(strings.NewReader(rulesJSON))
	if err != nil {
		t.Fatal(err)
	}
	doc.Rules = append(doc.Rules, match.Rule{ID: "odd \"<&>\u2028", Bucket: "x", Events: match.AllEvents, Prefix: "\x00\n", Suffix: "é", Target: "t"})
	var buf bytes.Buffer
	if err := WriteJSON(&buf, doc); err != nil {
		t.Fatal(err)
	}
	back, err := ReadJSON(&buf)
	if err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if !reflect.DeepEqual(back, doc) {
		t.Errorf("round trip changed the document:\ngot  %+v\nwant %+v", back, doc)
	}
	var empty bytes.Buffer
	if err := WriteJSON(&empty, &Document{}); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadJSON(&empty); err != nil || !reflect.DeepEqual(got, &Document{}) {
		t.Errorf("empty document: got %+v, %v", got, err)
	}
}

func TestWriteJSONRefuses(t *testing.T) {
	r := match.Rule{ID: "a", Bucket: "b", Events: match.ObjectCreated, Target: "f"}
	bad := r
	bad.Target = "\xff"
	for _, doc := range []*Document{{Rules: []match.Rule{r, r}}, {Rules: []match.Rule{bad}}, {Regions: map[string]string{"b": "\xfe"}}} {
		var buf bytes.Buffer
		if err := WriteJSON(&buf, doc); !errors.Is(err, ErrUnencodable) || buf.Len() != 0 {
			t.Errorf("WriteJSON(%+v) = %v after %d bytes, want ErrUnencodable and nothing written", doc, err, buf.Len())
		}
	}
}

func TestRead(t *testing.T) {
	doc, f, err := Read(strings.NewReader("\ufeff \n"+cosXML), "photos")
	if err != nil || f != FormatXML || len(doc.Rules) != 2 || doc.Rules[0].Bucket != "photos" {
		t.Errorf("XML: got %v %v %+v", f, err, doc)
	}
	doc, f, err = Read(strings.NewReader(rulesJSON), "ignored")
	if err != nil || f != FormatJSON || len(doc.Rules) != 2 || doc.Rules[1].Bucket != "logs" {
		t.Errorf("JSON: got %v %v %+v", f, err, doc)
	}
	if _, _, err := Read(strings.NewReader("rules: []"), "b"); !errors.Is(err, ErrSyntax) {
		t.Errorf("YAML: got %v, want ErrSyntax", err)
	}
	if _, _, err := Read(strings.NewReader(cosXML), ""); !errors.Is(err, ErrMissing) {
		t.Errorf("XML without bucket: got %v, want ErrMissing", err)
	}
}
