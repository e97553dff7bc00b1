// This file defines the errors of package batch: a sentinel for each kind of
// failure, wrapped by a typed error that names what was wrong, so callers can
// use errors.Is for the kind and errors.As for the details.

package batch

import (
	"errors"
	"fmt"
)

var (
	// ErrInvalidConfig is wrapped by the *ConfigError NewBatcher returns.
	ErrInvalidConfig = errors.New("invalid batch config")
	// ErrRecordTooLarge is wrapped by the *RecordTooLargeError Batcher.Add
	// returns for a record that alone does not fit in MaxBytes.
	ErrRecordTooLarge = errors.New("record too large")
	// ErrInvalidRecord is wrapped by the *RecordError Batcher.Add returns for
	// a record it cannot encode (no target, invalid event type).
	ErrInvalidRecord = errors.New("invalid record")
)

// ConfigError reports a Config field with a value NewBatcher refuses.
type ConfigError struct {
	Field  string // the Config field, e.g. "MaxBytes"
	Value  any    // the value given
	Reason string // why it is refused
}

// Error names the field, its value and the reason.
func (e *ConfigError) Error() string {
	return fmt.Sprintf("batch: Config.%s = %v: %s", e.Field, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidConfig.
func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }

// RecordTooLargeError reports a record whose payload alone, envelope
// included, is larger than MaxBytes. The record was not added.
type RecordTooLargeError struct {
	Target string // the record's target
	Bucket string // the record's bucket
	Key    string // the record's object key
	Size   int    // bytes of a payload holding only this record
	Limit  int    // Config.MaxBytes
}

// Error names the target, bucket, key and both sizes.
func (e *RecordTooLargeError) Error() string {
	return fmt.Sprintf("batch: record for target %q (bucket %q, key %q) needs a %d-byte payload, over MaxBytes %d",
		e.Target, e.Bucket, e.Key, e.Size, e.Limit)
}

// Unwrap returns ErrRecordTooLarge.
func (e *RecordTooLargeError) Unwrap() error { return ErrRecordTooLarge }

// RecordError reports a record that cannot be batched.
type RecordError struct {
	Field  string // the Record field at fault, e.g. "Target"
	Bucket string // the record's bucket
	Key    string // the record's object key
	Reason string // what is wrong with the field
}

// Error names the field, the record and the reason.
func (e *RecordError) Error() string {
	return fmt.Sprintf("batch: record (bucket %q, key %q): Record.%s %s", e.Bucket, e.Key, e.Field, e.Reason)
}

// Unwrap returns ErrInvalidRecord.
func (e *RecordError) Unwrap() error { return ErrInvalidRecord }
