package config

import (
	"bytes"
	"errors"
	"io"

	"reflect"
	"strings"
	"testing"
)

// endless yields the byte c forever (after head), counting what it gave.
type endless struct {
	head string
	c    byte
	read int64
	fill []byte
}

func (e *endless) Read(p []byte) (int, error) {
	n := copy(p, e.head)
	e.head = e.head[n:]
	if len(e.fill) == 0 {
		e.fill = bytes.Repeat([]byte{e.c}, 32<<10)
	}
	for n < len(p) {
		n += copy(p[n:], e.fill)
	}
	e.read += int64(n)
	return n, nil
}

// Content in neither format is refused from its first bytes: the reader
// asks for one buffer, not the rest of the input.
func TestReadRefusesGarbageFromFirstBytes(t *testing.T) {
	for _, c := range []byte{0, 'x', 0xff} {
		in := &endless{head: "\ufeff  \n", c: c}
		doc, _, err := Read(in, "b")
		if doc != nil || !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), "neither XML") {
			t.Errorf("byte %#x: doc %v, err %v", c, doc, err)
		}
		if in.read > 64<<10 {
			t.Errorf("byte %#x: read %d bytes to refuse it", c, in.read)
		}
		var e *Error
		if errors.As(err, &e) && e.Line != 2 {
			t.Errorf("byte %#x: line %d, want 2", c, e.Line)
		}
	}
}

func TestReadLimit(t *testing.T) {
	for _, head := range []string{"{", "<NotificationConfiguration>", "   "} {
		in := &endless{head: head, c: ' '}
		doc, _, err := ReadLimit(in, "b", 1<<20)
		if doc != nil || !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "1048576 bytes") {
			t.Errorf("%q then spaces: doc %v, err %v", head, doc, err)
		}
		if in.read > 2<<20 {
			t.Errorf("%q: read %d bytes for a limit of 1 MiB", head, in.read)
		}
	}
	// The limit counts the whole document, and a document at the limit is read.
	doc := `{"rules":[{"id":"a","bucket":"b","events":["cos:ObjectCreated:*"],"target":"f"}]}`
	if _, _, err := ReadLimit(strings.NewReader(doc), "", int64(len(doc))); err != nil {
		t.Errorf("at the limit: %v", err)
	}
	if _, _, err := ReadLimit(strings.NewReader(doc), "", int64(len(doc)-1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("one byte over: %v", err)
	}
	xml := "<NotificationConfiguration>" + strings.Repeat(" ", 100) + "</NotificationConfiguration>"
	if _, err := readXMLLimit(&endless{head: xml[:40], c: ' '}, "b", 1<<20); !errors.Is(err, ErrTooLarge) {
		t.Errorf("ReadXML of an endless document: %v", err)
	}
	if _, err := readAll(&endless{head: "{", c: ' '}, 1<<20); !errors.Is(err, ErrTooLarge) {
		t.Errorf("ReadJSON's reading of an endless document: %v", err)
	}
}

// Lines are counted from the start of the file, white space before the
// document included.
func TestReadKeepsLines(t *testing.T) {
	for _, doc := range []string{
		"\n\n{\"rules\":[\n{\"id\":\"x\",\"bucket\":\"b\",\"events\":[\"cos:ObjectCreated:Pux\"],\"target\":\"f\"}]}",
		"\n\n<NotificationConfiguration>\n<CloudFunctionConfiguration><Id>x</Id><Event>cos:ObjectCreated:Pux</Event><CloudFunction>f</CloudFunction></CloudFunctionConfiguration></NotificationConfiguration>",
	} {
		_, _, err := Read(strings.NewReader(doc), "b")
		var e *Error
		if !errors.As(err, &e) || e.Line != 4 {
			t.Errorf("%.20q: %v, want line 4", doc, err)
		}
	}
}

func TestJSONInvalidUTF8(t *testing.T) {
	tests := []struct {
		doc     string
		line    int
		element string
	}{
		{"{\"rules\":[\n{\"id\":\"i\",\"bucket\":\"b\",\"events\":[\"cos:ObjectCreated:*\"],\"prefix\":\"ab\xff/\",\"target\":\"f\"}]}", 2, "rules[0].prefix"},
		{"{\"rules\":[{\"id\":\"ok\",\"bucket\":\"b\",\"events\":[\"cos:ObjectCreated:*\"],\"prefix\":\"x\",\"target\":\"f\"},\n{\"id\":\"i\",\"bucket\":\"b\",\n\"events\":[\"cos:ObjectRemove:*\", \"\xc3\"],\"target\":\"f\"}]}", 3, "rules[1].events[1]"},
		{"{\"rules\":[{\"id\":\"i\",\"bucket\":\"b\",\"events\":[\"cos:ObjectCreated:*\"],\"target\":\"f\xed\xa0\x80\"}]}", 1, "rules[0].target"},
		{"{\"regions\":{\"b\":\"gz\",\n\"c\":\"a\xffb\"},\"rules\":[]}", 2, "regions.c"},
		{`{"rules":[{"id":"i","bucket":"b","events":["cos:ObjectCreated:*"],"suffix":"\\\ud800","target":"f"}]}`, 1, "rules[0].suffix"},
		{`{"rules":[{"id":"i","bucket":"b","events":["cos:ObjectCreated:*"],"prefix":"\udc00\ud800","target":"f"}]}`, 1, "rules[0].prefix"},
		{`{"rules":[{"id":"i","bucket":"b","events":["cos:ObjectCreated:*"],"target":"f\ud83d\u0041"}]}`, 1, "rules[0].target"},
	}
	for _, tt := range tests {
		doc, err := ReadJSON(strings.NewReader(tt.doc))
		var e *Error
		if !errors.As(err, &e) || !errors.Is(err, ErrInvalidUTF8) {
			t.Errorf("%q: err %v, want ErrInvalidUTF8", tt.doc, err)
			continue
		}
		if e.Line != tt.line || e.Element != tt.element {
			t.Errorf("%q: line %d element %q, want line %d element %q", tt.doc, e.Line, e.Element, tt.line, tt.element)
		}
		if doc == nil {
			t.Errorf("%q: no document", tt.doc)
			continue
		}
		for _, r := range doc.Rules {
			if r.ID != "ok" {
				t.Errorf("%q: rule %q kept", tt.doc, r.ID)
			}
		}
		if doc.Regions != nil {
			t.Errorf("%q: regions %v kept", tt.doc, doc.Regions)
		}
	}
	// U+FFFD written as such, a surrogate pair and escaped backslashes are valid input.
	doc, err := ReadJSON(strings.NewReader(`{"rules":[{"id":"i","bucket":"b","events":["cos:ObjectCreated:*"],"prefix":"a\ufffd\\ud800","suffix":"\ud83d\ude00","target":"f` + "\ufffd" + `"}]}`))
	if err != nil || len(doc.Rules) != 1 || doc.Rules[0].Suffix != "\U0001F600" || doc.Rules[0].Prefix != "a\ufffd\\ud800" {
		t.Errorf("valid input: %+v, %v", doc, err)
	}
}

// Messages quote at most about 200 bytes of a value, however long it is.
func TestErrorsQuoteAtMost200Bytes(t *testing.T) {
	long := strings.Repeat("x", 64<<10)
	docs := []string{
		`{"rules":[{"id":"` + long + `","bucket":"b","events":["cos:ObjectCreated:Pux"],"target":"f"},{"id":"` + long + `","bucket":"b","events":["cos:ObjectCreated:*"],"target":"f"},{"id":"` + long + `","bucket":"b","events":["cos:ObjectCreated:*"],"target":"f"}]}`,
		`{"rules":[{"id":"a","bucket":"b","events":["cos:ObjectCreated:*"],"target":"f","` + long + `":1}]}`,
		`{"` + long + `":1}`,
		`{"rules":[{"id":"a","bucket":"b","events":` + strings.Repeat("1", 64<<10) + `,"target":"f"}]}`,
		`{"rules":` + `"` + long + `"}`,
		"<NotificationConfiguration><" + long + "/></NotificationConfiguration>",
		"<NotificationConfiguration><CloudFunctionConfiguration><Id>" + long + "</Id><CloudFunction>f</CloudFunction></CloudFunctionConfiguration>" +
			"<CloudFunctionConfiguration><Id>" + long + "</Id><Event>cos:ObjectCreated:*</Event><CloudFunction>f</CloudFunction></CloudFunctionConfiguration></NotificationConfiguration>",
		"<NotificationConfiguration><CloudFunctionConfiguration><Filter><S3Key><FilterRule><Name>" + long + "</Name><Value>v</Value></FilterRule></S3Key></Filter></CloudFunctionConfiguration></NotificationConfiguration>",
	}
	for _, d := range docs {
		_, _, err := Read(strings.NewReader(d), "b")
		if err == nil {
			t.Errorf("%.60q…: no error", d)
			continue
		}
		if n := len(err.Error()); n > 2000 {
			t.Errorf("%.60q…: a %d-byte message: %.300s", d, n, err)
		}
	}
}

// Rules written with S3 names are marked, and WriteJSON keeps their spelling.
func TestS3Spelling(t *testing.T) {
	doc, _, err := Read(strings.NewReader(`{"rules":[
{"id":"s3","bucket":"b","events":["s3:ObjectRemoved:*"],"prefix":"a","target":"f"},
{"id":"cos","bucket":"b","events":["cos:ObjectRemove:*"],"prefix":"b","target":"f"},
{"id":"mixed","bucket":"b","events":["s3:ObjectCreated:Put","cos:ObjectCreated:Post"],"prefix":"c","target":"f"}]}`), "")
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{true, false, false}; !reflect.DeepEqual(doc.S3Spelling, want) {
		t.Errorf("S3Spelling %v, want %v", doc.S3Spelling, want)
	}
	var buf strings.Builder
	if err := WriteJSON(&buf, doc); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"events":["s3:ObjectRemoved:*"]`) || !strings.Contains(buf.String(), `"events":["cos:ObjectRemove:*"]`) {
		t.Errorf("written:\n%s", buf.String())
	}
	back, err := ReadJSON(strings.NewReader(buf.String()))
	if err != nil || !reflect.DeepEqual(back, doc) {
		t.Errorf("read back %+v, %v", back, err)
	}
	x, _, err := Read(strings.NewReader(s3XML), "b")
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range x.S3Spelling {
		if !s {
			t.Errorf("S3 XML rule %d (%q) not marked", i, x.Rules[i].ID)
		}
	}
	if len(x.S3Spelling) != len(x.Rules) {
		t.Errorf("S3Spelling has %d entries for %d rules", len(x.S3Spelling), len(x.Rules))
	}
	c, _, err := Read(strings.NewReader(cosXML), "b")
	if err != nil || c.S3Spelling != nil {
		t.Errorf("COS XML: S3Spelling %v, err %v", c.S3Spelling, err)
	}
}

type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

// A reader's own error is passed on, not taken for a syntax error.
func TestReadPassesReadErrors(t *testing.T) {
	boom := errors.New("boom")
	for _, r := range []io.Reader{failingReader{boom}, io.MultiReader(strings.NewReader("{"), failingReader{boom}),
		io.MultiReader(strings.NewReader("  \n"), failingReader{boom}),
		io.MultiReader(strings.NewReader("<NotificationConfiguration>"), failingReader{boom})} {
		doc, _, err := Read(r, "b")
		var e *Error
		if doc != nil || !errors.Is(err, boom) || errors.Is(err, ErrSyntax) || !errors.As(err, &e) {
			t.Errorf("doc %v, err %v; want an *Error wrapping the reader's error only", doc, err)
		}
	}
}
