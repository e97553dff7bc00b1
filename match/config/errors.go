// This file defines the errors of the readers: one *Error per problem, giving
// where (line), which configuration (Id), which element or field, and why
// (a sentinel the caller can test with errors.Is).

package config

import (
	"errors"
	"fmt"
)

// Sentinel causes wrapped by *Error.
var (
	// ErrSyntax is a document that is not well-formed XML or JSON, or whose
	// top level is not a notification configuration or a rules file.
	ErrSyntax = errors.New("malformed document")
	// ErrEmptyValue is a filter value, target or event that is empty.
	ErrEmptyValue = errors.New("empty value")
	// ErrValueTooLong is a filter value over match.MaxFilterLen bytes.
	ErrValueTooLong = errors.New("value too long")
	// ErrFilterRule is a filter rule that names neither prefix nor suffix,
	// or repeats one of them.
	ErrFilterRule = errors.New("invalid filter rule")
	// ErrMissing is a required element or field that is absent.
	ErrMissing = errors.New("missing element")
	// ErrUnexpected is an element or field the format does not have, or one
	// given twice.
	ErrUnexpected = errors.New("unexpected element")
	// ErrDuplicateID is two rules of one bucket with the same Id.
	ErrDuplicateID = errors.New("duplicate id")
	// ErrUnencodable is a rule that a writer cannot represent so that it
	// reads back unchanged.
	ErrUnencodable = errors.New("rule cannot be written")
	// ErrInvalidUTF8 is a string of a JSON rules file that is not valid
	// UTF-8. (An XML document with such bytes is not well-formed: ErrSyntax.)
	ErrInvalidUTF8 = errors.New("invalid UTF-8")
	// ErrTooLarge is a document longer than the reader's size limit.
	ErrTooLarge = errors.New("document too large")
)

// Error is one problem found while reading a configuration.
type Error struct {
	Line    int    // 1-based line of the element or field; 0 when unknown
	ID      string // the configuration's (rule's) Id; "" when it has none yet
	Element string // the element or field, e.g. "Filter/S3Key/FilterRule/Value" or "events"
	Err     error  // the cause: one of the sentinels above, or a *match.EventNameError
}

// Error formats the problem as "line N: configuration "ID": Element: cause",
// quoting at most 200 bytes of the Id and of the element.
func (e *Error) Error() string {
	s := "config: "
	if e.Line > 0 {
		s += fmt.Sprintf("line %d: ", e.Line)
	}
	if e.ID != "" {
		s += "configuration " + quote(e.ID) + ": "
	}
	if e.Element != "" {
		s += clip(e.Element) + ": "
	}
	return s + e.Err.Error()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// detail wraps a sentinel with a specific message while keeping errors.Is.
type detail struct {
	msg string
	err error
}

func (d *detail) Error() string { return d.msg }
func (d *detail) Unwrap() error { return d.err }

// because returns an error reading msg that wraps sentinel.
func because(sentinel error, format string, args ...any) error {
	return &detail{msg: fmt.Sprintf(format, args...), err: sentinel}
}
