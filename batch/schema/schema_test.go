package schema_test

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/notifymux/notifymux/batch/schema"
)

// strict decodes data into v, refusing members v does not name.
func strict(t *testing.T, data []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode: %v", err)
	}
}

func TestSamplesHaveNoUnknownMembers(t *testing.T) {
	for _, tc := range []struct {
		file string
		v    any
	}{
		{"../testdata/cos_seed004.json", new(schema.COSPayload)},
		{"../testdata/s3_sample.json", new(schema.S3Payload)},
	} {
		data, err := os.ReadFile(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		strict(t, data, tc.v)
	}
}

func TestMetadata(t *testing.T) {
	for _, tc := range []struct {
		in, out string
		n       int
	}{
		{`{}`, `{}`, 0},
		{`null`, `{}`, 0},
		{`{"a":"1","b":"<2>","a":"3"}`, `{"a":"1","b":"\u003c2\u003e","a":"3"}`, 3},
	} {
		var m schema.Metadata
		if err := json.Unmarshal([]byte(tc.in), &m); err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		out, err := json.Marshal(m)
		if err != nil || string(out) != tc.out || len(m) != tc.n {
			t.Errorf("%s: got %d members, %s, %v; want %d, %s", tc.in, len(m), out, err, tc.n, tc.out)
		}
	}
	if v, ok := (schema.Metadata{{"a", "1"}, {"a", "2"}}).Get("a"); !ok || v != "1" {
		t.Errorf(`Get("a") = %q, %v; want the first, "1"`, v, ok)
	}
	for _, in := range []string{`{"a":1}`, `{"a":{"b":"c"}}`, `["a"]`, `"a"`} {
		var m schema.Metadata
		err := json.Unmarshal([]byte(in), &m)
		if err == nil || strings.Contains(err.Error(), "schema.") || strings.Contains(err.Error(), "Go ") {
			t.Errorf("%s: error %v, want one naming JSON kinds only", in, err)
		}
	}
}
