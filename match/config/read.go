// This file detects a configuration's format from its content and reads it
// within a size limit. After an optional UTF-8 byte-order mark and white
// space, '<' starts XML and '{' starts a JSON rules file; anything else is
// refused from its first byte, without reading further. File names are never
// consulted. The document is read through a counting reader that fails once
// the limit is passed, so no input makes the reader hold more than the limit.

package config

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// DefaultMaxSize is the size limit of Read, ReadXML and ReadJSON: 64 MiB, a
// few hundred thousand rules.
const DefaultMaxSize = 64 << 20

// Format is a configuration format.
type Format uint8

// The formats Read detects.
const (
	FormatXML  Format = iota + 1 // a NotificationConfiguration document
	FormatJSON                   // a JSON rules file
)

// String returns "xml" or "json".
func (f Format) String() string {
	switch f {
	case FormatXML:
		return "xml"
	case FormatJSON:
		return "json"
	}
	return "unknown"
}

// Detect returns the format of a document that begins with head, or 0 when
// head starts with neither '<' nor '{' (after a byte-order mark and white
// space).
func Detect(head []byte) Format {
	if len(head) >= 3 && string(head[:3]) == "\xef\xbb\xbf" {
		head = head[3:]
	}
	for _, c := range head {
		switch {
		case isSpace(c):
			continue
		case c == '<':
			return FormatXML
		case c == '{':
			return FormatJSON
		}
		return 0
	}
	return 0
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// Read reads a configuration in either format, detected from its content,
// of at most DefaultMaxSize bytes. It is ReadLimit(r, bucket, DefaultMaxSize).
func Read(r io.Reader, bucket string) (*Document, Format, error) {
	return ReadLimit(r, bucket, DefaultMaxSize)
}

// ReadLimit reads a configuration in either format, detected from its first
// bytes, of at most maxSize bytes (maxSize <= 0 means DefaultMaxSize). An XML
// document's rules are put in bucket (which it requires; a JSON file names its
// own buckets and ignores it). Errors are as for ReadXML and ReadJSON; content
// in neither format is an *Error wrapping ErrSyntax, returned after reading
// only up to its first byte that is not white space, and a document over
// maxSize bytes is an *Error wrapping ErrTooLarge, and an error of r is an
// *Error wrapping it. The Document is nil only when the input could not be
// read as a whole (ErrSyntax, ErrTooLarge, an error of r, or an XML document
// without a bucket).
func ReadLimit(r io.Reader, bucket string, maxSize int64) (*Document, Format, error) {
	lr := newLimitReader(r, maxSize)
	br := bufio.NewReader(lr)
	format, newlines, err := detect(br)
	if err != nil {
		return nil, 0, lr.explain(err)
	}
	// The skipped white space is replayed as its newlines, so that lines
	// are counted as in the file.
	body := io.MultiReader(&newlineReader{n: newlines}, br)
	switch format {
	case FormatXML:
		rules, s3, err := readXML(body, bucket)
		if lr.over || lr.failed != nil {
			return nil, FormatXML, lr.explain(lr.failed)
		}
		if errors.Is(err, ErrSyntax) || errors.Is(err, ErrMissing) && bucket == "" {
			return nil, FormatXML, err
		}
		return &Document{Rules: rules, S3Spelling: s3}, FormatXML, err
	case FormatJSON:
		data, err := io.ReadAll(body)
		if err != nil {
			return nil, FormatJSON, lr.explain(err)
		}
		doc, err := readJSON(data)
		return doc, FormatJSON, err
	}
	return nil, 0, &Error{Line: 1 + newlines, Err: because(ErrSyntax, "neither XML (starting with '<') nor a JSON rules file (starting with '{')")}
}

// detect consumes a byte-order mark and white space from br and returns the
// format its next byte starts, with the number of newlines skipped. It
// leaves that byte unread.
func detect(br *bufio.Reader) (Format, int, error) {
	if bom, _ := br.Peek(3); string(bom) == "\xef\xbb\xbf" {
		br.Discard(3)
	}
	newlines := 0
	for {
		c, err := br.ReadByte()
		if err == io.EOF {
			return 0, newlines, nil
		}
		if err != nil {
			return 0, newlines, err
		}
		if isSpace(c) {
			if c == '\n' {
				newlines++
			}
			continue
		}
		br.UnreadByte()
		return Detect([]byte{c}), newlines, nil
	}
}

// newlineReader yields n newlines.
type newlineReader struct{ n int }

func (nr *newlineReader) Read(p []byte) (int, error) {
	if nr.n == 0 {
		return 0, io.EOF
	}
	k := min(len(p), nr.n)
	for i := range k {
		p[i] = '\n'
	}
	nr.n -= k
	return k, nil
}

// limitReader reads from r and fails with errOverLimit once more than max
// bytes have been read; over records that it did, and failed the first error
// of r other than io.EOF.
type limitReader struct {
	r      io.Reader
	max    int64
	read   int64
	over   bool
	failed error
}

var errOverLimit = errors.New("over the size limit")

func newLimitReader(r io.Reader, max int64) *limitReader {
	if max <= 0 {
		max = DefaultMaxSize
	}
	return &limitReader{r: r, max: max}
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.over {
		return 0, errOverLimit
	}
	if left := l.max + 1 - l.read; int64(len(p)) > left {
		p = p[:left]
	}
	n, err := l.r.Read(p)
	if err != nil && err != io.EOF && l.failed == nil {
		l.failed = err
	}
	l.read += int64(n)
	if l.read > l.max {
		l.over = true
		return n - int(l.read-l.max), errOverLimit
	}
	return n, err
}

// explain turns a read error into an *Error: ErrTooLarge when the limit was
// passed, else one wrapping err, the reader's own error.
func (l *limitReader) explain(err error) *Error {
	if l.over {
		return &Error{Err: &detail{msg: fmt.Sprintf("document over the size limit of %d bytes", l.max), err: ErrTooLarge}}
	}
	return &Error{Err: fmt.Errorf("reading: %w", err)}
}

// readAll reads all of r, at most maxSize bytes.
func readAll(r io.Reader, maxSize int64) ([]byte, error) {
	lr := newLimitReader(r, maxSize)
	data, err := io.ReadAll(lr)
	if err != nil {
		return nil, lr.explain(err)
	}
	return data, nil
}
