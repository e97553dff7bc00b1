package config

import (
	"bytes"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseXML checks that ReadXML never panics and that whatever it reads
// survives WriteXML followed by ReadXML unchanged.
func FuzzParseXML(f *testing.F) {
	for _, s := range []string{cosXML, s3XML, "<NotificationConfiguration/>", "<a>"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rules, _ := ReadXML(bytes.NewReader(data), "bucket")
		if len(rules) == 0 {
			return
		}
		var buf bytes.Buffer
		if err := WriteXML(&buf, rules, ""); err != nil {
			t.Fatalf("cannot write what was read: %v\nrules %+v", err, rules)
		}
		back, err := ReadXML(bytes.NewReader(buf.Bytes()), "bucket")
		if err != nil {
			t.Fatalf("cannot read what was written: %v\n%s", err, buf.Bytes())
		}
		if !slices.Equal(back, rules) {
			t.Fatalf("round trip changed the rules:\ngot  %+v\nwant %+v\n%s", back, rules, buf.Bytes())
		}
	})
}

// FuzzParseJSON checks that ReadJSON never panics, that whatever it reads
// survives WriteJSON followed by ReadJSON unchanged, and that it never
// replaces invalid text with U+FFFD: a rule holds U+FFFD only when the input
// spells it.
func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{rulesJSON, `{"rules":[]}`, `{"regions":{"a":"gz"}}`, `[`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, _ := ReadJSON(bytes.NewReader(data))
		if doc == nil {
			return
		}
		if !bytes.Contains(data, []byte("\ufffd")) && !bytes.Contains(bytes.ToLower(data), []byte(`\ufffd`)) {
			for _, r := range doc.Rules {
				if strings.ContainsRune(r.ID+r.Bucket+r.Prefix+r.Suffix+r.Target, utf8.RuneError) {
					t.Fatalf("rule %+v holds U+FFFD that the input does not spell", r)
				}
			}
			for b, reg := range doc.Regions {
				if strings.ContainsRune(b+reg, utf8.RuneError) {
					t.Fatalf("region %q: %q holds U+FFFD that the input does not spell", b, reg)
				}
			}
		}
		var buf bytes.Buffer
		if err := WriteJSON(&buf, doc); err != nil {
			t.Fatalf("cannot write what was read: %v\ndoc %+v", err, doc)
		}
		back, err := ReadJSON(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatalf("cannot read what was written: %v\n%s", err, buf.Bytes())
		}
		if !reflect.DeepEqual(back, doc) {
			t.Fatalf("round trip changed the document:\ngot  %+v\nwant %+v\n%s", back, doc, buf.Bytes())
		}
	})
}
