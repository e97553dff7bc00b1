package config

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/notifymux/notifymux/match"
)

const cosXML = `<?xml version="1.0" encoding="UTF-8"?>
<NotificationConfiguration>
  <CloudFunctionConfiguration>
    <Id>thumbs</Id>
    <Filter>
      <S3Key>
        <FilterRule><Name>Prefix</Name><Value>images/</Value></FilterRule>
        <FilterRule><Name>SUFFIX</Name><Value>.jpg</Value></FilterRule>
      </S3Key>
    </Filter>
    <Event>cos:ObjectCreated:*</Event>
    <CloudFunction>qcs:0:lambda:gz:appid/1250000000:default.thumbs.$LATEST</CloudFunction>
  </CloudFunctionConfiguration>
  <CloudFunctionConfiguration>
    <Event>cos:ObjectRemove:Delete</Event>
    <Event>cos:ObjectRemove:DeleteMarkerCreated</Event>
    <CloudFunction>qcs:0:lambda:gz:appid/1250000000:default.cleanup.$LATEST</CloudFunction>
  </CloudFunctionConfiguration>
</NotificationConfiguration>
`

const s3XML = `<NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <QueueConfiguration>
    <Event>s3:ObjectCreated:Put</Event>
    <Filter><S3Key><FilterRule><Name>prefix</Name><Value>logs/</Value></FilterRule></S3Key></Filter>
    <Id>q</Id>
    <Queue>arn:aws:sqs:us-east-1:123456789012:logs</Queue>
  </QueueConfiguration>
  <TopicConfiguration>
    <Id>t</Id>
    <Event>s3:ObjectRemoved:*</Event>
    <Topic>arn:aws:sns:us-east-1:123456789012:removed</Topic>
  </TopicConfiguration>
  <LambdaFunctionConfiguration>
    <Id>l</Id>
    <Event>s3:ObjectRestore:*</Event>
    <Function>arn:aws:lambda:us-east-1:123456789012:function:restore</Function>
  </LambdaFunctionConfiguration>
  <EventBridgeConfiguration></EventBridgeConfiguration>
</NotificationConfiguration>`

func mustSet(t testing.TB, names ...string) match.EventSet {
	t.Helper()
	s, err := match.ParseEventSet(names...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestReadXMLCOS(t *testing.T) {
	rules, err := ReadXML(strings.NewReader(cosXML), "photos")
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 2 {
		t.Fatalf("got %d rules, want 2", len(rules))
	}
	want0 := match.Rule{ID: "thumbs", Bucket: "photos", Events: match.ObjectCreated, Prefix: "images/", Suffix: ".jpg",
		Target: "qcs:0:lambda:gz:appid/1250000000:default.thumbs.$LATEST"}
	if rules[0] != want0 {
		t.Errorf("rule 0:\ngot  %+v\nwant %+v", rules[0], want0)
	}
	if rules[1].Events != match.ObjectRemove || rules[1].Prefix != "" || rules[1].ID == "" {
		t.Errorf("rule 1: got %+v", rules[1])
	}
	// The generated id is stable across reads and follows GeneratedID.
	again, _ := ReadXML(strings.NewReader(cosXML), "other-bucket")
	if again[1].ID != rules[1].ID {
		t.Errorf("generated id changed between reads: %q then %q", rules[1].ID, again[1].ID)
	}
	if want := GeneratedID(rules[1], 0); rules[1].ID != want {
		t.Errorf("generated id %q, want GeneratedID = %q", rules[1].ID, want)
	}
	if len(rules[1].ID) != 48 {
		t.Errorf("generated id %q has length %d, want 48 like S3's", rules[1].ID, len(rules[1].ID))
	}
}

func TestReadXMLS3(t *testing.T) {
	rules, err := ReadXML(strings.NewReader(s3XML), "b")
	if err != nil {
		t.Fatal(err)
	}
	want := []match.Rule{
		{ID: "q", Bucket: "b", Events: match.ObjectCreatedPut.Set(), Prefix: "logs/", Target: "arn:aws:sqs:us-east-1:123456789012:logs"},
		{ID: "t", Bucket: "b", Events: match.ObjectRemove, Target: "arn:aws:sns:us-east-1:123456789012:removed"},
		{ID: "l", Bucket: "b", Events: match.S3ObjectRestore, Target: "arn:aws:lambda:us-east-1:123456789012:function:restore"},
	}
	if !slices.Equal(rules, want) {
		t.Errorf("got\n%+v\nwant\n%+v", rules, want)
	}
}

func TestGeneratedIDsOfIdenticalConfigurationsDiffer(t *testing.T) {
	doc := `<NotificationConfiguration>
<CloudFunctionConfiguration><Event>cos:ObjectCreated:Put</Event><CloudFunction>f</CloudFunction></CloudFunctionConfiguration>
<CloudFunctionConfiguration><Event>cos:ObjectCreated:Put</Event><CloudFunction>f</CloudFunction></CloudFunctionConfiguration>
</NotificationConfiguration>`
	rules, err := ReadXML(strings.NewReader(doc), "b")
	if err != nil {
		t.Fatal(err)
	}
	if rules[0].ID == rules[1].ID {
		t.Errorf("two identical configurations got the same id %q", rules[0].ID)
	}
}

func TestReadXMLErrors(t *testing.T) {
	long := strings.Repeat("x", match.MaxFilterLen+1)
	tests := []struct {
		name    string
		doc     string
		line    int
		id      string
		is      error
		message string // a substring of the error text
	}{
		{"empty value", "<NotificationConfiguration>\n<CloudFunctionConfiguration><Id>a</Id>\n<Event>cos:ObjectCreated:Put</Event><Filter><S3Key><FilterRule><Name>prefix</Name>\n<Value></Value></FilterRule></S3Key></Filter><CloudFunction>f</CloudFunction></CloudFunctionConfiguration></NotificationConfiguration>",
			4, "a", ErrEmptyValue, "empty prefix value"},
		{"long value", "<NotificationConfiguration><CloudFunctionConfiguration>\n<Filter><S3Key><FilterRule><Name>suffix</Name>\n\n<Value>" + long + "</Value></FilterRule></S3Key></Filter><Event>cos:ObjectCreated:Put</Event><CloudFunction>f</CloudFunction><Id>late-id</Id></CloudFunctionConfiguration></NotificationConfiguration>",
			4, "late-id", ErrValueTooLong, "1025 bytes"},
		{"unknown event", "<NotificationConfiguration>\n<CloudFunctionConfiguration><Id>b</Id>\n\n<Event>cos:ObjectCreated:Pux</Event><CloudFunction>f</CloudFunction></CloudFunctionConfiguration></NotificationConfiguration>",
			4, "b", match.ErrUnknownEvent, `did you mean "cos:ObjectCreated:Put"`},
		{"two suffixes", "<NotificationConfiguration><CloudFunctionConfiguration><Id>c</Id><Event>cos:ObjectCreated:Put</Event><Filter><S3Key>\n<FilterRule><Name>suffix</Name><Value>.a</Value></FilterRule>\n<FilterRule><Name>Suffix</Name><Value>.b</Value></FilterRule></S3Key></Filter><CloudFunction>f</CloudFunction></CloudFunctionConfiguration></NotificationConfiguration>",
			3, "c", ErrFilterRule, "Cannot specify more than one suffix rule in a filter."},
		{"two prefixes", "<NotificationConfiguration><CloudFunctionConfiguration><Id>c</Id><Event>cos:ObjectCreated:Put</Event><Filter><S3Key><FilterRule><Name>prefix</Name><Value>a</Value></FilterRule><FilterRule><Name>prefix</Name><Value>b</Value></FilterRule></S3Key></Filter><CloudFunction>f</CloudFunction></CloudFunctionConfiguration></NotificationConfiguration>",
			1, "c", ErrFilterRule, "Cannot specify more than one prefix rule in a filter."},
		{"bad rule name", "<NotificationConfiguration><CloudFunctionConfiguration><Id>d</Id><Event>cos:ObjectCreated:Put</Event><Filter><S3Key><FilterRule><Name>middle</Name><Value>a</Value></FilterRule></S3Key></Filter><CloudFunction>f</CloudFunction></CloudFunctionConfiguration></NotificationConfiguration>",
			1, "d", ErrFilterRule, "either prefix or suffix"},
		{"no event", "<NotificationConfiguration>\n<CloudFunctionConfiguration><Id>e</Id><CloudFunction>f</CloudFunction></CloudFunctionConfiguration></NotificationConfiguration>",
			2, "e", ErrMissing, "no Event"},
		{"no target", "<NotificationConfiguration><CloudFunctionConfiguration><Id>e</Id><Event>cos:ObjectCreated:Put</Event></CloudFunctionConfiguration></NotificationConfiguration>",
			1, "e", ErrMissing, "no target"},
		{"wrong target element", "<NotificationConfiguration><QueueConfiguration><Id>e</Id><Event>s3:ObjectCreated:Put</Event>\n<Topic>x</Topic></QueueConfiguration></NotificationConfiguration>",
			2, "e", ErrUnexpected, "unknown element <Topic>"},
		{"duplicate id", "<NotificationConfiguration>\n<CloudFunctionConfiguration><Id>x</Id><Event>cos:ObjectCreated:Put</Event><CloudFunction>f</CloudFunction></CloudFunctionConfiguration>\n<CloudFunctionConfiguration><Id>x</Id><Event>cos:ObjectRemove:*</Event><CloudFunction>f</CloudFunction></CloudFunctionConfiguration></NotificationConfiguration>",
			3, "x", ErrDuplicateID, "line 2"},
		{"malformed", "<NotificationConfiguration>\n<CloudFunctionConfiguration>\n</NotificationConfiguration>", 3, "", ErrSyntax, "element <CloudFunctionConfiguration> closed by </NotificationConfiguration>"},
		{"truncated", "<NotificationConfiguration>\n<CloudFunctionConfiguration>", 2, "", ErrSyntax, "EOF"},
		{"wrong root", "<Foo/>", 1, "", ErrSyntax, "NotificationConfiguration"},
		{"empty", "  ", 1, "", ErrSyntax, "no NotificationConfiguration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadXML(strings.NewReader(tt.doc), "b")
			if err == nil {
				t.Fatal("got no error")
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %T %v, want a *Error", err, err)
			}
			if e.Line != tt.line || e.ID != tt.id {
				t.Errorf("got line %d id %q, want line %d id %q (%v)", e.Line, e.ID, tt.line, tt.id, err)
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("got %v, want errors.Is %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.message) {
				t.Errorf("got %q, want it to contain %q", err.Error(), tt.message)
			}
		})
	}
}

func TestReadXMLKeepsGoodConfigurations(t *testing.T) {
	doc := `<NotificationConfiguration>
<CloudFunctionConfiguration><Id>bad1</Id><Event>nope</Event><CloudFunction>f</CloudFunction></CloudFunctionConfiguration>
<CloudFunctionConfiguration><Id>good</Id><Event>cos:ObjectCreated:Put</Event><CloudFunction>f</CloudFunction></CloudFunctionConfiguration>
<CloudFunctionConfiguration><Id>bad2</Id><Event>cos:ObjectCreated:Put</Event><CloudFunction> </CloudFunction></CloudFunctionConfiguration>
</NotificationConfiguration>`
	rules, err := ReadXML(strings.NewReader(doc), "b")
	if len(rules) != 1 || rules[0].ID != "good" {
		t.Errorf("got rules %+v, want only good", rules)
	}
	var ids []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		ids = append(ids, e.(*Error).ID)
	}
	if !slices.Equal(ids, []string{"bad1", "bad2"}) {
		t.Errorf("errors for %q, want bad1 and bad2: %v", ids, err)
	}
}

func TestReadXMLNeedsBucket(t *testing.T) {
	if _, err := ReadXML(strings.NewReader(cosXML), ""); !errors.Is(err, ErrMissing) {
		t.Errorf("got %v, want ErrMissing", err)
	}
}

func TestXMLRoundTrip(t *testing.T) {
	for _, doc := range []string{cosXML, s3XML} {
		rules, err := ReadXML(strings.NewReader(doc), "b")
		if err != nil {
			t.Fatal(err)
		}
		for _, ns := range []string{"", XMLNamespace} {
			var buf bytes.Buffer
			if err := WriteXML(&buf, rules, ns); err != nil {
				t.Fatal(err)
			}
			back, err := ReadXML(&buf, "b")
			if err != nil {
				t.Fatalf("reading what WriteXML wrote: %v\n%s", err, buf.String())
			}
			if !slices.Equal(back, rules) {
				t.Errorf("round trip changed the rules:\ngot  %+v\nwant %+v", back, rules)
			}
		}
	}
}

func TestWriteXMLElements(t *testing.T) {
	rules := []match.Rule{
		{ID: "q", Bucket: "b", Events: mustSet(t, "s3:ObjectCreated:*", "s3:ObjectRestore:Post", "s3:ObjectRestore:Completed"), Prefix: "a&<b>", Target: "arn:aws:sqs:us-east-1:1:q"},
		{ID: "t", Bucket: "b", Events: match.ObjectRemove, Target: "arn:aws:sns:us-east-1:1:t"},
		{ID: "f", Bucket: "b", Events: match.ObjectRemove, Suffix: "\r\n\t", Target: "qcs:0:lambda:gz:appid/1:default.f.$LATEST"},
	}
	var buf bytes.Buffer
	if err := WriteXML(&buf, rules, ""); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"<QueueConfiguration>", "<Queue>arn:aws:sqs:us-east-1:1:q</Queue>", "<Event>s3:ObjectCreated:*</Event>",
		"<Event>s3:ObjectRestore:Post</Event>", "<Value>a&amp;&lt;b&gt;</Value>",
		"<TopicConfiguration>", "<Event>s3:ObjectRemoved:*</Event>",
		"<CloudFunctionConfiguration>", "<Event>cos:ObjectRemove:*</Event>", "<Value>&#xD;&#xA;&#x9;</Value>",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	back, err := ReadXML(strings.NewReader(out), "b")
	if err != nil || !slices.Equal(back, rules) {
		t.Errorf("round trip: got %+v, %v", back, err)
	}
}

func TestWriteXMLRefusesWhatCannotReadBack(t *testing.T) {
	ok := match.Rule{ID: "a", Bucket: "b", Events: match.ObjectCreated, Target: "f"}
	tests := []struct {
		name string
		r    match.Rule
		is   error
	}{
		{"other bucket", func() match.Rule { r := ok; r.ID, r.Bucket = "z", "c"; return r }(), ErrUnencodable},
		{"same id", ok, ErrUnencodable},
		{"spaced id", func() match.Rule { r := ok; r.ID = " z"; return r }(), ErrUnencodable},
		{"control byte", func() match.Rule { r := ok; r.ID, r.Prefix = "z", "\x01"; return r }(), ErrUnencodable},
		{"invalid utf-8", func() match.Rule { r := ok; r.ID, r.Suffix = "z", "\xff"; return r }(), ErrUnencodable},
		{"invalid rule", func() match.Rule { r := ok; r.ID, r.Target = "z", ""; return r }(), match.ErrInvalidRule},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		err := WriteXML(&buf, []match.Rule{ok, tt.r}, "")
		if !errors.Is(err, tt.is) {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.is)
		}
		if buf.Len() != 0 {
			t.Errorf("%s: wrote %d bytes before failing", tt.name, buf.Len())
		}
	}
}
