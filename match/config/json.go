// This file reads and writes the JSON rules file, which holds the rules of
// many buckets and, optionally, the region of each bucket. The reader walks
// the top-level object with json.Decoder tokens and decodes one rule at a
// time, so a bad rule is reported with its line (from the decoder's input
// offset, counted into lines incrementally) and does not stop the others;
// only a syntax error stops the read.

package config

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"unicode/utf8"

	"github.com/notifymux/notifymux/match"
)

// Document is the content of a rules file: rules of any number of buckets and
// the regions of the buckets whose region is known.
type Document struct {
	Regions map[string]string // bucket name → region ("ap-guangzhou" or "gz"); nil when none is known
	Rules   []match.Rule      // in file order
}

// jsonRule is one rule as the JSON file spells it.
type jsonRule struct {
	ID     string   `json:"id"`
	Bucket string   `json:"bucket"`
	Events []string `json:"events"`
	Prefix string   `json:"prefix,omitempty"`
	Suffix string   `json:"suffix,omitempty"`
	Target string   `json:"target"`
}

// ReadJSON reads a rules file:
//
//	{"regions": {"BUCKET": "REGION", …}, "rules": [{"id", "bucket", "events", "prefix", "suffix", "target"}, …]}
//
// "regions", "prefix" and "suffix" are optional; the others are required.
// Event names are parsed strictly (match.ParseEventSet). Each problem of a
// rule (a missing field, an unknown field or event name, a prefix or suffix
// over match.MaxFilterLen bytes, an id used twice in a bucket) is a *Error
// with the rule's line and id; ReadJSON reports all of them (errors.Join) and
// returns the rules that had none. Malformed JSON is a single *Error wrapping
// ErrSyntax, with no document.
func ReadJSON(r io.Reader) (*Document, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, &Error{Err: because(ErrSyntax, "reading: %v", err)}
	}
	p := &jsonReader{data: data, dec: json.NewDecoder(bytes.NewReader(data)), line: 1}
	p.dec.DisallowUnknownFields()
	doc, err := p.document()
	if err != nil {
		return nil, err
	}
	return doc, errors.Join(p.errs...)
}

type jsonReader struct {
	data []byte
	dec  *json.Decoder
	errs []error
	off  int // data[:off] has been counted into line
	line int
}

// lineAt returns the line of the first byte of the next value at or after
// off, skipping white space and commas. Offsets must not decrease.
func (p *jsonReader) lineAt(off int) int {
	for off < len(p.data) {
		c := p.data[off]
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != ',' && c != ':' {
			break
		}
		off++
	}
	if off > p.off {
		p.line += bytes.Count(p.data[p.off:off], []byte{'\n'})
		p.off = off
	}
	return p.line
}

// fatal turns a decoder error into a syntax *Error.
func (p *jsonReader) fatal(err error) *Error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line := 1 + bytes.Count(p.data[:min(int(se.Offset), len(p.data))], []byte{'\n'})
		return &Error{Line: line, Err: because(ErrSyntax, "%v", err)}
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return &Error{Line: 1 + bytes.Count(p.data, []byte{'\n'}), Err: because(ErrSyntax, "%v", err)}
}

// delim reads the next token and checks it is want.
func (p *jsonReader) delim(want json.Delim, what string) error {
	line := p.lineAt(int(p.dec.InputOffset()))
	tok, err := p.dec.Token()
	if err != nil {
		return p.fatal(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return &Error{Line: line, Err: because(ErrSyntax, "%s must be a JSON %s, found %v", what, map[json.Delim]string{'{': "object", '[': "array"}[want], tok)}
	}
	return nil
}

func (p *jsonReader) document() (*Document, error) {
	doc := &Document{}
	if err := p.delim('{', "a rules file"); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for p.dec.More() {
		line := p.lineAt(int(p.dec.InputOffset()))
		tok, err := p.dec.Token()
		if err != nil {
			return nil, p.fatal(err)
		}
		key, _ := tok.(string)
		if seen[key] {
			return nil, &Error{Line: line, Element: key, Err: because(ErrSyntax, "field %q given twice", key)}
		}
		seen[key] = true
		switch key {
		case "regions":
			var m map[string]string
			if err := p.dec.Decode(&m); err != nil {
				var te *json.UnmarshalTypeError
				if !errors.As(err, &te) {
					return nil, p.fatal(err)
				}
				return nil, &Error{Line: line, Element: "regions", Err: because(ErrSyntax, "regions must map bucket names to region strings")}
			}
			if len(m) > 0 {
				doc.Regions = m
			}
		case "rules":
			if err := p.rules(doc); err != nil {
				return nil, err
			}
		default:
			var skip json.RawMessage
			if err := p.dec.Decode(&skip); err != nil {
				return nil, p.fatal(err)
			}
			p.errs = append(p.errs, &Error{Line: line, Element: key, Err: because(ErrUnexpected, "unknown field %q in a rules file (want regions and rules)", key)})
		}
	}
	if _, err := p.dec.Token(); err != nil {
		return nil, p.fatal(err)
	}
	if _, err := p.dec.Token(); err != io.EOF {
		return nil, &Error{Line: p.lineAt(int(p.dec.InputOffset())), Err: because(ErrSyntax, "data after the rules file's closing brace")}
	}
	return doc, nil
}

func (p *jsonReader) rules(doc *Document) error {
	if err := p.delim('[', "rules"); err != nil {
		return err
	}
	ids := map[[2]string]int{}
	for i := 0; p.dec.More(); i++ {
		line := p.lineAt(int(p.dec.InputOffset()))
		var jr jsonRule
		fail := func(field string, err error) {
			p.errs = append(p.errs, &Error{Line: line, ID: jr.ID, Element: fmt.Sprintf("rules[%d]%s", i, field), Err: err})
		}
		if err := p.dec.Decode(&jr); err != nil {
			var te *json.UnmarshalTypeError
			switch {
			case errors.As(err, &te):
				fail("."+te.Field, because(ErrSyntax, "%s must not be a JSON %s", te.Field, te.Value))
			case isUnknownField(err):
				fail("", because(ErrUnexpected, "%v", err))
			default:
				return p.fatal(err)
			}
			continue
		}
		before := len(p.errs)
		for _, f := range [...]struct{ name, v string }{{"id", jr.ID}, {"bucket", jr.Bucket}, {"target", jr.Target}} {
			if f.v == "" {
				fail("."+f.name, because(ErrMissing, "no %s", f.name))
			}
		}
		var set match.EventSet
		if len(jr.Events) == 0 {
			fail(".events", because(ErrMissing, "no events"))
		}
		for j, n := range jr.Events {
			s, err := match.ParseEventSet(n)
			if err != nil {
				fail(fmt.Sprintf(".events[%d]", j), err)
			}
			set |= s
		}
		for _, f := range [...]struct{ name, v string }{{"prefix", jr.Prefix}, {"suffix", jr.Suffix}} {
			if len(f.v) > match.MaxFilterLen {
				fail("."+f.name, because(ErrValueTooLong, "%s is %d bytes, over the %d-byte limit", f.name, len(f.v), match.MaxFilterLen))
			}
		}
		if jr.ID != "" && jr.Bucket != "" {
			k := [2]string{jr.Bucket, jr.ID}
			if first, dup := ids[k]; dup {
				fail(".id", because(ErrDuplicateID, "id %q in bucket %q is also used by the rule at line %d", jr.ID, jr.Bucket, first))
			} else {
				ids[k] = line
			}
		}
		if len(p.errs) > before {
			continue
		}
		doc.Rules = append(doc.Rules, match.Rule{ID: jr.ID, Bucket: jr.Bucket, Events: set, Prefix: jr.Prefix, Suffix: jr.Suffix, Target: jr.Target})
	}
	if _, err := p.dec.Token(); err != nil {
		return p.fatal(err)
	}
	return nil
}

// isUnknownField reports whether err is encoding/json's error for a field
// that DisallowUnknownFields refused (it has no type of its own).
func isUnknownField(err error) bool {
	return bytes.HasPrefix([]byte(err.Error()), []byte("json: unknown field "))
}

// WriteJSON writes doc as a rules file, one rule per line, with event names
// in COS spelling (wildcards for whole families). Every rule must validate,
// ids must be unique within a bucket and every string must be valid UTF-8;
// otherwise WriteJSON writes nothing and returns an error wrapping
// ErrUnencodable (or match.ErrInvalidRule). ReadJSON of the output gives a
// Document equal to doc.
func WriteJSON(w io.Writer, doc *Document) error {
	ids := make(map[[2]string]bool, len(doc.Rules))
	for _, r := range doc.Rules {
		if err := r.Validate(); err != nil {
			return err
		}
		k := [2]string{r.Bucket, r.ID}
		if ids[k] {
			return unencodable(r, "its id is used by another rule of the bucket")
		}
		ids[k] = true
		for _, s := range [...]string{r.ID, r.Bucket, r.Prefix, r.Suffix, r.Target} {
			if !utf8.ValidString(s) {
				return unencodable(r, "it holds invalid UTF-8")
			}
		}
	}
	for b, reg := range doc.Regions {
		if !utf8.ValidString(b) || !utf8.ValidString(reg) {
			return fmt.Errorf("config: region of bucket %q holds invalid UTF-8: %w", b, ErrUnencodable)
		}
	}
	bw := bufio.NewWriter(w)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	value := func(v any) {
		buf.Reset()
		_ = enc.Encode(v) // strings and jsonRule always encode
		bw.Write(bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}))
	}
	bw.WriteString("{\n")
	if len(doc.Regions) > 0 {
		bw.WriteString(`  "regions": {`)
		for i, b := range slices.Sorted(maps.Keys(doc.Regions)) {
			if i > 0 {
				bw.WriteString(", ")
			}
			value(b)
			bw.WriteString(": ")
			value(doc.Regions[b])
		}
		bw.WriteString("},\n")
	}
	bw.WriteString(`  "rules": [`)
	for i, r := range doc.Rules {
		if i > 0 {
			bw.WriteString(",")
		}
		bw.WriteString("\n    ")
		value(jsonRule{ID: r.ID, Bucket: r.Bucket, Events: r.Events.Names(), Prefix: r.Prefix, Suffix: r.Suffix, Target: r.Target})
	}
	if len(doc.Rules) > 0 {
		bw.WriteString("\n  ")
	}
	bw.WriteString("]\n}\n")
	return bw.Flush()
}
