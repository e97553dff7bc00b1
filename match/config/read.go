// This file detects a configuration's format from its content: after an
// optional UTF-8 byte-order mark and white space, '<' starts XML and '{'
// starts a JSON rules file. File names are never consulted.

package config

import (
	"bytes"
	"errors"
	"io"
)

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
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	head = bytes.TrimLeft(head, " \t\r\n")
	switch {
	case len(head) == 0:
		return 0
	case head[0] == '<':
		return FormatXML
	case head[0] == '{':
		return FormatJSON
	}
	return 0
}

// Read reads a configuration in either format, detected from its content.
// An XML document's rules are put in bucket (which it requires; a JSON file
// names its own buckets and ignores it). Errors are as for ReadXML and
// ReadJSON; content in neither format is an *Error wrapping ErrSyntax.
// The Document is nil only when the input could not be read as a whole
// (errors.Is(err, ErrSyntax), or an XML document without a bucket).
func Read(r io.Reader, bucket string) (*Document, Format, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, 0, &Error{Err: because(ErrSyntax, "reading: %v", err)}
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	switch Detect(data) {
	case FormatXML:
		rules, err := ReadXML(bytes.NewReader(data), bucket)
		if errors.Is(err, ErrSyntax) || errors.Is(err, ErrMissing) && bucket == "" {
			return nil, FormatXML, err
		}
		return &Document{Rules: rules}, FormatXML, err
	case FormatJSON:
		doc, err := ReadJSON(bytes.NewReader(data))
		return doc, FormatJSON, err
	}
	return nil, 0, &Error{Line: 1, Err: because(ErrSyntax, "neither XML (starting with '<') nor a JSON rules file (starting with '{')")}
}
