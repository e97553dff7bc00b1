// This file defines the errors of the Decoder: DecodeError says where (input
// line, record) and wraps the reason; the sentinels below say what kind of
// reason it is, for errors.Is. An unknown event name wraps match's
// *EventNameError, with its suggestion. No message names a Go type, and none
// quotes more than maxQuoted bytes of any input value.

package batch

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/notifymux/notifymux/match"
)

// MaxKeyLen is the longest object key, in bytes, that COS and S3 accept; the
// Decoder refuses longer keys with ErrKeyTooLong.
const MaxKeyLen = 1024

var (
	// ErrKeyTooLong is wrapped by the DecodeError of a record whose object
	// key is longer than MaxKeyLen bytes.
	ErrKeyTooLong = errors.New("object key too long")
	// ErrWildcardEvent is wrapped by the DecodeError of a record whose event
	// name is a wildcard such as cos:ObjectCreated:*, which names a family of
	// types in a rule but no event that happened (the SCF console's COS test
	// template sends one).
	ErrWildcardEvent = errors.New("wildcard event name")
	// ErrMalformedJSON is wrapped by the DecodeError of input that is not
	// JSON: a syntax error, invalid UTF-8, or text after a value on its line.
	ErrMalformedJSON = errors.New("malformed JSON")
	// ErrValueTooLarge is wrapped by the DecodeError of a JSON value longer
	// than DecoderConfig.MaxValueBytes; the value was skipped.
	ErrValueTooLarge = errors.New("JSON value too large")
	// ErrNotEvent is wrapped by the DecodeError of a JSON value or record
	// that is not one of the accepted shapes, lacks a required member or has
	// a member of the wrong type or form.
	ErrNotEvent = errors.New("not an object event")
)

// DecodeError reports input that the Decoder could not turn into a record.
// Decoding goes on after it.
type DecodeError struct {
	Line      int    // 1-based input line where the JSON value starts
	Index     int    // 0-based index of the record in the value, when InRecords
	InRecords bool   // the error is about one record of a payload, not the whole value
	Source    Source // the kind of payload, when known (0 when the value was not read)
	Err       error  // what was wrong; wraps one of the Err sentinels or a *match.EventNameError
}

// Error says where, then what: "line 3: record 2 of Records: …",
// "line 3: event 2 of the CloudEvents batch: …" or "line 3: …".
func (e *DecodeError) Error() string {
	switch {
	case e.InRecords && e.Source == SourceCloudEvents:
		return fmt.Sprintf("line %d: event %d of the CloudEvents batch: %v", e.Line, e.Index, e.Err)
	case e.InRecords:
		return fmt.Sprintf("line %d: record %d of Records: %v", e.Line, e.Index, e.Err)
	}
	return fmt.Sprintf("line %d: %v", e.Line, e.Err)
}

// Unwrap returns Err.
func (e *DecodeError) Unwrap() error { return e.Err }

// maxQuoted is the most bytes of one input value an error message quotes.
const maxQuoted = 64

// quote returns s quoted as by %q, cut to maxQuoted bytes (at a rune
// boundary) with its full length noted when it is longer.
func quote(s string) string {
	if len(s) <= maxQuoted {
		return fmt.Sprintf("%q", s)
	}
	n := maxQuoted
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return fmt.Sprintf("%q… (%d bytes)", s[:n], len(s))
}

// notEvent returns an error wrapping ErrNotEvent.
func notEvent(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrNotEvent}, args...)...)
}

// fieldError wraps an error about one member of the input, named by its
// path (e.g. "eventName"), keeping the wrapped error for errors.Is and
// errors.As but writing its message without the "match: " package prefix.
type fieldError struct {
	field string
	err   error
}

func (e *fieldError) Error() string {
	return e.field + ": " + strings.TrimPrefix(e.err.Error(), "match: ")
}

func (e *fieldError) Unwrap() error { return e.err }

// jsonError turns an error of encoding/json into one that names the member
// and the JSON kinds, not Go types.
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		got, _, _ := strings.Cut(te.Value, " ")
		// The decoder's union types embed schema structs, whose Go names
		// encoding/json puts in the path; they are not JSON members.
		field := te.Field
		for _, embedded := range []string{"EventLine.", "S3Record."} {
			field = strings.ReplaceAll(field, embedded, "")
		}
		if field == "" {
			field = "the value"
		} else {
			field = quote(field)
		}
		return notEvent("%s is a JSON %s, want %s", field, kindName(got), jsonKind(te.Type))
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("%w: %s", ErrMalformedJSON, strings.TrimPrefix(se.Error(), "json: "))
	}
	// Errors of schema.Metadata and others that name no Go type.
	return notEvent("%s", strings.TrimPrefix(err.Error(), "json: "))
}

// kindName spells the Value of a json.UnmarshalTypeError as a JSON kind.
func kindName(v string) string {
	switch v {
	case "bool":
		return "boolean"
	case "":
		return "value"
	}
	return v
}

// jsonKind names the JSON kind a Go type is decoded from.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another kind"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer that fits in 64 bits"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "another kind"
}

// eventError explains why name could not be parsed as one event type.
func eventError(field, name string, err error) error {
	var ne *match.EventNameError
	if errors.As(err, &ne) && ne.Wildcard {
		return &fieldError{field: field, err: wildcardError(name)}
	}
	return &fieldError{field: field, err: err}
}

// wildcardError explains why a wildcard event name cannot be routed and what
// to send instead.
func wildcardError(name string) error {
	example := "cos:ObjectCreated:Put"
	if set, err := match.ParseEventSet(name); err == nil {
		for e := range set.Events() {
			example = e.String()
			if s3 := e.S3Name(); s3 != "" && !strings.HasPrefix(name, "cos:") {
				example = s3
			}
			break
		}
	}
	return fmt.Errorf("%w: %s names a family of event types, as a rule does "+
		"(the SCF console's COS test template sends it), but an event must name the one type that happened, "+
		"so no rule can be chosen for it; send a concrete type such as %q",
		ErrWildcardEvent, quote(name), example)
}

// keyError checks an object key: it must not be empty or longer than
// MaxKeyLen bytes.
func keyError(field, key string) error {
	if key == "" {
		return notEvent("%s is empty or missing", field)
	}
	if len(key) > MaxKeyLen {
		return fmt.Errorf("%w: %s is %d bytes, over the %d-byte limit of COS and S3 keys; it begins %s",
			ErrKeyTooLong, field, len(key), MaxKeyLen, quote(key))
	}
	if !utf8.ValidString(key) {
		return notEvent("%s %s is not valid UTF-8, as COS and S3 keys are", field, quote(key))
	}
	return nil
}
