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
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/notifymux/notifymux/match"
)

// Document is the content of a rules file: rules of any number of buckets and
// the regions of the buckets whose region is known.
type Document struct {
	Regions map[string]string // bucket name → region ("ap-guangzhou" or "gz"); nil when none is known
	Rules   []match.Rule      // in file order
	// S3Spelling[i] reports whether every event name of Rules[i] was given
	// in S3 spelling (s3:ObjectRemoved:*), so that a tool can name the
	// rule's events as its author did (EventNames(Rules[i].Events, true)).
	// It is nil when no rule's were; a missing entry means false. WriteJSON
	// writes the events of such rules in S3 spelling.
	S3Spelling []bool
}

// s3 reports whether Rules[i] is spelled in S3 names.
func (d *Document) s3(i int) bool { return i < len(d.S3Spelling) && d.S3Spelling[i] }

// spelling returns s3, or nil when it holds no true.
func spelling(s3 []bool) []bool {
	if slices.Contains(s3, true) {
		return s3
	}
	return nil
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
// over match.MaxFilterLen bytes, an id used twice in a bucket, a string that
// is not valid UTF-8) is a *Error with the rule's line and id; ReadJSON
// reports all of them (errors.Join) and returns the rules that had none.
// Invalid UTF-8 is refused (ErrInvalidUTF8, naming the field and the line of
// the byte) rather than replaced, so a filter never matches other keys than
// the bytes it was given. Malformed JSON is a single *Error wrapping
// ErrSyntax, with no document. At most DefaultMaxSize bytes are read; a longer
// document is an *Error wrapping ErrTooLarge (ReadLimit takes another limit).
func ReadJSON(r io.Reader) (*Document, error) {
	data, err := readAll(r, DefaultMaxSize)
	if err != nil {
		return nil, err
	}
	return readJSON(data)
}

// readJSON reads the rules file data.
func readJSON(data []byte) (*Document, error) {
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
		return &Error{Line: line, Err: because(ErrSyntax, "%s", clip(err.Error()))}
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return &Error{Line: 1 + bytes.Count(p.data, []byte{'\n'}), Err: because(ErrSyntax, "%s", clip(err.Error()))}
}

// delim reads the next token and checks it is want.
func (p *jsonReader) delim(want json.Delim, what string) error {
	line := p.lineAt(int(p.dec.InputOffset()))
	tok, err := p.dec.Token()
	if err != nil {
		return p.fatal(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return &Error{Line: line, Err: because(ErrSyntax, "%s must be a JSON %s, found %s", what, map[json.Delim]string{'{': "object", '[': "array"}[want], clip(fmt.Sprint(tok)))}
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
			return nil, &Error{Line: line, Element: key, Err: because(ErrSyntax, "field %s given twice", quote(key))}
		}
		seen[key] = true
		switch key {
		case "regions":
			var m map[string]string
			start := int(p.dec.InputOffset())
			if err := p.dec.Decode(&m); err != nil {
				var te *json.UnmarshalTypeError
				if !errors.As(err, &te) {
					return nil, p.fatal(err)
				}
				return nil, &Error{Line: line, Element: "regions", Err: because(ErrSyntax, "regions must map bucket names to region strings")}
			}
			if bad, field := p.invalidUTF8(start); bad >= 0 {
				p.errs = append(p.errs, &Error{Line: p.lineAt(bad), Element: "regions" + field,
					Err: because(ErrInvalidUTF8, "%s; no region is taken from this file", p.invalidText(bad))})
				continue
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
			p.errs = append(p.errs, &Error{Line: line, Element: key, Err: because(ErrUnexpected, "unknown field %s in a rules file (want regions and rules)", quote(key))})
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
	var spelled []bool
	for i := 0; p.dec.More(); i++ {
		start := int(p.dec.InputOffset())
		line := p.lineAt(start)
		var jr jsonRule
		fail := func(field string, err error) {
			p.errs = append(p.errs, &Error{Line: line, ID: jr.ID, Element: fmt.Sprintf("rules[%d]%s", i, field), Err: err})
		}
		err := p.dec.Decode(&jr)
		var te *json.UnmarshalTypeError
		switch {
		case err == nil:
		case errors.As(err, &te):
			fail("."+te.Field, because(ErrSyntax, "%s must not be a JSON %s", te.Field, clip(te.Value)))
			continue
		case isUnknownField(err):
			fail("", because(ErrUnexpected, "unknown field %s", quote(unknownField(err))))
			continue
		default:
			return p.fatal(err)
		}
		if bad, field := p.invalidUTF8(start); bad >= 0 {
			p.errs = append(p.errs, &Error{Line: p.lineAt(bad), ID: jr.ID, Element: fmt.Sprintf("rules[%d]%s", i, field),
				Err: because(ErrInvalidUTF8, "%s", p.invalidText(bad))})
			continue
		}
		before := len(p.errs)
		for _, f := range [...]struct{ name, v string }{{"id", jr.ID}, {"bucket", jr.Bucket}, {"target", jr.Target}} {
			if f.v == "" {
				fail("."+f.name, because(ErrMissing, "no %s", f.name))
			}
		}
		var set match.EventSet
		s3 := len(jr.Events) > 0
		if len(jr.Events) == 0 {
			fail(".events", because(ErrMissing, "no events"))
		}
		for j, n := range jr.Events {
			s, err := match.ParseEventSet(n)
			if err != nil {
				fail(fmt.Sprintf(".events[%d]", j), err)
			}
			set |= s
			s3 = s3 && strings.HasPrefix(n, "s3:")
		}
		for _, f := range [...]struct{ name, v string }{{"prefix", jr.Prefix}, {"suffix", jr.Suffix}} {
			if len(f.v) > match.MaxFilterLen {
				fail("."+f.name, because(ErrValueTooLong, "%s is %d bytes, over the %d-byte limit", f.name, len(f.v), match.MaxFilterLen))
			}
		}
		if jr.ID != "" && jr.Bucket != "" {
			k := [2]string{jr.Bucket, jr.ID}
			if first, dup := ids[k]; dup {
				fail(".id", because(ErrDuplicateID, "id %s in bucket %s is also used by the rule at line %d", quote(jr.ID), quote(jr.Bucket), first))
			} else {
				ids[k] = line
			}
		}
		if len(p.errs) > before {
			continue
		}
		doc.Rules = append(doc.Rules, match.Rule{ID: jr.ID, Bucket: jr.Bucket, Events: set, Prefix: jr.Prefix, Suffix: jr.Suffix, Target: jr.Target})
		spelled = append(spelled, s3)
	}
	doc.S3Spelling = spelling(spelled)
	if _, err := p.dec.Token(); err != nil {
		return p.fatal(err)
	}
	return nil
}

// invalidUTF8 checks the value the decoder has just read, which began at or
// after offset start of the data. encoding/json replaces invalid UTF-8, and
// escapes of lone UTF-16 surrogates (\ud800), with U+FFFD; this finds them
// in the raw bytes instead. It returns the offset of the first invalid byte
// (or of the escape's backslash) and the path to the field holding it
// (".prefix", ".events[1]"), or -1 when the value is valid.
func (p *jsonReader) invalidUTF8(start int) (int, string) {
	end := int(p.dec.InputOffset())
	for start < end && bytes.IndexByte([]byte(" \t\r\n,:"), p.data[start]) >= 0 {
		start++ // the separators before the value
	}
	raw := p.data[start:end]
	if utf8.Valid(raw) {
		if bad := loneSurrogate(raw); bad >= 0 {
			return start + bad, fieldAt(raw, bad)
		}
		return -1, ""
	}
	bad := 0
	for bad < len(raw) {
		r, n := utf8.DecodeRune(raw[bad:])
		if r == utf8.RuneError && n <= 1 {
			break
		}
		bad += n
	}
	return start + bad, fieldAt(raw, bad)
}

// invalidText describes the invalid text at offset bad that invalidUTF8 found.
func (p *jsonReader) invalidText(bad int) string {
	if p.data[bad] == '\\' {
		return fmt.Sprintf("invalid UTF-8: %s is half of a UTF-16 surrogate pair", p.data[bad:bad+6])
	}
	return fmt.Sprintf("invalid UTF-8 (byte %#02x)", p.data[bad])
}

// loneSurrogate returns the offset in raw (JSON text) of the first \uXXXX
// escape of a UTF-16 surrogate that is not part of a pair, or -1.
func loneSurrogate(raw []byte) int {
	if bytes.IndexByte(raw, '\\') < 0 {
		return -1
	}
	escape := func(i int) (rune, bool) { // the \uXXXX escape at raw[i:], if any
		if i+6 > len(raw) || raw[i] != '\\' || raw[i+1] != 'u' {
			return 0, false
		}
		v, err := strconv.ParseUint(string(raw[i+2:i+6]), 16, 16)
		return rune(v), err == nil
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		r, ok := escape(i)
		switch {
		case !ok:
			i++ // a two-byte escape such as \\ or \"
		case r >= 0xd800 && r < 0xdc00:
			if lo, ok := escape(i + 6); ok && lo >= 0xdc00 && lo < 0xe000 {
				i += 11
				continue
			}
			return i
		case r >= 0xdc00 && r < 0xe000:
			return i
		default:
			i += 5
		}
	}
	return -1
}

// fieldAt returns the path, within the JSON object or array raw, to the
// member or element whose bytes include offset off: ".name" for a member of
// an object, "[i]" for an element of an array, descending into nested values.
// An offset inside an object's key gives that key.
func fieldAt(raw []byte, off int) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	var path strings.Builder
	var walk func() bool // reads one value; reports whether off was in it
	walk = func() bool {
		from := int(dec.InputOffset())
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		d, ok := tok.(json.Delim)
		if !ok {
			return from <= off && off < int(dec.InputOffset())
		}
		for i := 0; dec.More(); i++ {
			if d == '{' {
				keyFrom := int(dec.InputOffset())
				tok, err := dec.Token()
				if err != nil {
					return false
				}
				key, _ := tok.(string)
				if keyFrom <= off && off < int(dec.InputOffset()) {
					fmt.Fprintf(&path, ".%s", key)
					return true
				}
				mark := path.Len()
				fmt.Fprintf(&path, ".%s", key)
				if walk() {
					return true
				}
				s := path.String()[:mark]
				path.Reset()
				path.WriteString(s)
				continue
			}
			mark := path.Len()
			fmt.Fprintf(&path, "[%d]", i)
			if walk() {
				return true
			}
			s := path.String()[:mark]
			path.Reset()
			path.WriteString(s)
		}
		dec.Token() // the closing delimiter
		return from <= off && off < int(dec.InputOffset())
	}
	walk()
	return clip(path.String())
}

// unknownField returns the field name in encoding/json's error for a field
// that DisallowUnknownFields refused.
func unknownField(err error) string {
	s := strings.TrimPrefix(err.Error(), "json: unknown field ")
	if u, e := strconv.Unquote(s); e == nil {
		return u
	}
	return s
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
			return fmt.Errorf("config: region of bucket %s holds invalid UTF-8: %w", quote(b), ErrUnencodable)
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
		value(jsonRule{ID: r.ID, Bucket: r.Bucket, Events: EventNames(r.Events, doc.s3(i)), Prefix: r.Prefix, Suffix: r.Suffix, Target: r.Target})
	}
	if len(doc.Rules) > 0 {
		bw.WriteString("\n  ")
	}
	bw.WriteString("]\n}\n")
	return bw.Flush()
}
