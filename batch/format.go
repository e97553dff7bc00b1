// This file holds the format-independent half of the payload encoders: the
// Format vocabulary, the envelope around the records, and the entry points
// that dispatch on a Format.
//
// A payload is an envelope opener, the records separated by commas, and an
// envelope closer: {"Records":[ … ]} for COS and S3, [ … ] for a CloudEvents
// batch. Because the envelope is fixed, the size of a payload is known as
// records are appended one by one (AppendRecord), which is how the Batcher
// keeps a payload under MaxBytes without encoding anything twice.

package batch

import (
	"errors"
	"fmt"
)

// Content types of the payload formats.
const (
	ContentTypeJSON        = "application/json"                   // COS and S3 payloads
	ContentTypeCloudEvents = "application/cloudevents-batch+json" // CloudEvents batch payloads
)

// ErrUnknownFormat is wrapped by the errors that report a Format value or
// name outside FormatCOS, FormatS3 and FormatCloudEvents.
var ErrUnknownFormat = errors.New("unknown payload format")

var formatNames = [...]string{FormatCOS: "cos", FormatS3: "s3", FormatCloudEvents: "cloudevents"}

// ParseFormat parses "cos", "s3" or "cloudevents".
func ParseFormat(name string) (Format, error) {
	for f, n := range formatNames {
		if n == name {
			return Format(f), nil
		}
	}
	return 0, fmt.Errorf("batch: %w %q (want cos, s3 or cloudevents)", ErrUnknownFormat, name)
}

// Valid reports whether f is one of the defined formats.
func (f Format) Valid() bool { return int(f) < len(formatNames) }

// String returns "cos", "s3" or "cloudevents".
func (f Format) String() string {
	if f.Valid() {
		return formatNames[f]
	}
	return fmt.Sprintf("batch.Format(%d)", uint8(f))
}

// MarshalText encodes f as its name.
func (f Format) MarshalText() ([]byte, error) {
	if !f.Valid() {
		return nil, fmt.Errorf("batch: cannot encode %w %d", ErrUnknownFormat, uint8(f))
	}
	return []byte(formatNames[f]), nil
}

// UnmarshalText parses a name with ParseFormat.
func (f *Format) UnmarshalText(text []byte) error {
	v, err := ParseFormat(string(text))
	if err != nil {
		return err
	}
	*f = v
	return nil
}

// ContentType returns the MIME type of f's payloads: application/json for
// COS and S3, application/cloudevents-batch+json for CloudEvents.
func (f Format) ContentType() string {
	if f == FormatCloudEvents {
		return ContentTypeCloudEvents
	}
	return ContentTypeJSON
}

// opener and closer return the envelope around f's records.
func (f Format) opener() string {
	if f == FormatCloudEvents {
		return "["
	}
	return `{"Records":[`
}

func (f Format) closer() string {
	if f == FormatCloudEvents {
		return "]"
	}
	return "]}"
}

// Append appends a whole payload holding recs in format f to dst and returns
// the extended buffer. An invalid f appends nothing; Encode reports it.
func (f Format) Append(dst []byte, recs []Record) []byte {
	if !f.Valid() {
		return dst
	}
	dst = append(dst, f.opener()...)
	for i := range recs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = f.AppendRecord(dst, &recs[i])
	}
	return append(dst, f.closer()...)
}

// AppendRecord appends one element of the Records array (for CloudEvents, one
// event of the batch array) for r, without separator or envelope.
func (f Format) AppendRecord(dst []byte, r *Record) []byte {
	switch f {
	case FormatCOS:
		return appendCOSRecord(dst, r)
	case FormatS3:
		return appendS3Record(dst, r)
	case FormatCloudEvents:
		return appendCloudEvent(dst, r)
	}
	return dst
}

// Encode appends the payload for recs in format f to dst. It fails only for
// an invalid format.
func Encode(f Format, dst []byte, recs []Record) ([]byte, error) {
	if !f.Valid() {
		return dst, fmt.Errorf("batch: %w %d", ErrUnknownFormat, uint8(f))
	}
	return f.Append(dst, recs), nil
}

// AppendCOS appends the COS payload {"Records":[…]} for recs to dst.
func AppendCOS(dst []byte, recs []Record) []byte { return FormatCOS.Append(dst, recs) }

// AppendS3 appends the S3 payload {"Records":[…]} for recs to dst.
func AppendS3(dst []byte, recs []Record) []byte { return FormatS3.Append(dst, recs) }

// AppendCloudEvents appends a CloudEvents 1.0 JSON batch ([…], content type
// application/cloudevents-batch+json) for recs to dst.
func AppendCloudEvents(dst []byte, recs []Record) []byte {
	return FormatCloudEvents.Append(dst, recs)
}
