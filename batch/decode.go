// This file reads object events: the inverse of the encoders. Input is a
// stream of JSON values, one after another, each starting on a new line:
//
//   - an event line {"bucket","event","key",…} (schema.EventLine);
//   - a COS payload {"Records":[…]} (schema.COSPayload), the SCF console's
//     COS test template included;
//   - an S3 payload {"Records":[…]} (schema.S3Payload);
//   - a MinIO webhook body {"EventName","Key","Records":[…]}
//     (schema.MinIOWebhook);
//   - a CloudEvents batch […] of events whose data is an S3 record
//     (schema.CloudEvent), or one such event on its own.
//
// A value may run over several lines (a pretty-printed payload, as a POSTed
// body usually is): a value that does not end on its first line goes on with
// the next lines, up to MaxValueBytes.
//
// How it reads. Lines are read with a bufio.Reader and fed byte by byte to a
// scanner (decode_scan.go) that knows when the value ends, copying the
// value's bytes into one reused buffer. A value longer than MaxValueBytes is
// scanned to its end but not kept, and reported. When a byte cannot continue
// the value (a syntax error), the value is reported and the Decoder starts
// over: at the next line when the error is on the value's first line; when
// it is on a later line that starts with '{' or '[', at the start of that
// line (it may be the next event line after an unclosed one); else at the
// next line that starts with '{' or '[' (the lines between are the rest of
// the broken value). Text after a value on its line is an
// error too. Memory is the reader's buffer plus at most MaxValueBytes,
// however long the input.
//
// A complete value is decoded into the schema types, by the fast path of
// decode_fast.go or else encoding/json, and
// each record of a payload is converted to an Inbound (decode_records.go)
// when Next reaches it, so that one bad record is reported on its own and
// the others still pass.

package batch

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/notifymux/notifymux/batch/schema"
)

// Source says what kind of input a record came from.
type Source uint8

// The kinds of input.
const (
	SourceLine        Source = iota + 1 // an event line {"bucket","event","key",…}
	SourceCOS                           // a record of a COS {"Records":[…]} payload
	SourceS3                            // a record of an S3 {"Records":[…]} payload
	SourceMinIO                         // a record of a MinIO webhook body
	SourceCloudEvents                   // an event of a CloudEvents batch, or one CloudEvent
)

var sourceNames = [...]string{
	SourceLine: "line", SourceCOS: "cos", SourceS3: "s3", SourceMinIO: "minio", SourceCloudEvents: "cloudevents",
}

// String returns "line", "cos", "s3", "minio" or "cloudevents".
func (s Source) String() string {
	if s >= SourceLine && int(s) < len(sourceNames) {
		return sourceNames[s]
	}
	return fmt.Sprintf("source(%d)", uint8(s))
}

// Inbound is one decoded object event and where it was read.
type Inbound struct {
	Line           int    // 1-based input line where the JSON value holding this record starts
	Index          int    // 0-based index of the record in its payload's Records; 0 for an event line
	Source         Source // what kind of input it came from
	EventName      string // the event name as written in the input
	NotificationID string // COS cosNotificationId, S3 configurationId; "" when absent
	// Record holds Bucket, Key, Event and every field the input carries.
	// RuleID and Target are empty: matching fills them. Bucket is "" when an
	// event line names none; the caller supplies a default.
	Record Record
}

// DefaultMaxValueBytes is the default of DecoderConfig.MaxValueBytes.
const DefaultMaxValueBytes = 16 << 20

// DecoderConfig configures a Decoder. The zero value takes the defaults.
type DecoderConfig struct {
	// MaxValueBytes is the largest JSON value the Decoder reads, in bytes:
	// one event line, or one payload however many lines it spans. A longer
	// value is skipped, without being held in memory, and reported with
	// ErrValueTooLarge. It bounds the Decoder's memory. Default (0 or less)
	// 16 MiB, room for a payload of several 1 MB messages.
	MaxValueBytes int
}

// decoder phases.
const (
	phaseIdle   uint8 = iota // between values: skipping whitespace
	phaseValue               // inside a value
	phaseAfter               // after a complete value, before the end of its line
	phaseSkip                // skipping the rest of a line after an error
	phaseResync              // skipping lines until one starts with '{' or '['
)

// valueKind is what a complete value holds.
const (
	valueRecords    uint8 = iota + 1 // a Records array (COS, S3 or MinIO)
	valueCloudBatch                  // a CloudEvents batch array
)

// Decoder reads object events from a stream of JSON values. It is not safe
// for concurrent use.
type Decoder struct {
	br       *bufio.Reader
	maxValue int

	line     int    // the line being read, 1-based
	chunk    []byte // the rest of the last slice read from br
	chunkErr error  // the error that came with chunk
	replay   []byte // bytes of the current line to scan again before chunk
	started  bool   // the first byte was read (for the byte-order mark)
	final    error  // io.EOF or the read error, once reached

	phase     uint8
	sc        scanner
	buf       []byte // the value's bytes, unless tooBig
	tooBig    bool
	valueLine int // line where the value starts
	lineStart int // offset in buf of the current line's first byte
	afterErr  error
	resync    bool // after phaseSkip, go on with phaseResync (the error was inside a value's later line)

	// The records of the last complete value, handed out one by one.
	kind   uint8
	source Source // SourceMinIO for a MinIO body, else 0 (each record says)
	raws   []json.RawMessage
	next   int

	in        Inbound
	object    objectJSON
	rec       recordJSON
	cosEntity schema.COSEntity // what rec.COS points to
	cosEvent  schema.COSEvent  // what rec.Event points to
	event     schema.CloudEvent
	cur       cursor // of the fast path (decode_fast.go)
	slow      bool   // only encoding/json: set by tests, to compare the paths
}

// NewDecoder returns a Decoder that reads from r.
func NewDecoder(r io.Reader, cfg DecoderConfig) *Decoder {
	if cfg.MaxValueBytes <= 0 {
		cfg.MaxValueBytes = DefaultMaxValueBytes
	}
	return &Decoder{br: bufio.NewReaderSize(r, 64<<10), maxValue: cfg.MaxValueBytes, line: 1,
		raws: make([]json.RawMessage, 0, 16)}
}

// Reset makes d read from r as a new Decoder would, keeping its buffers, so
// that a server can reuse one Decoder for request after request.
func (d *Decoder) Reset(r io.Reader) {
	d.br.Reset(r)
	buf, raws, stack := d.buf[:0], d.raws[:0], d.sc.stack[:0]
	if cap(buf) > 1<<20 {
		buf = nil // a large value's buffer is not kept for the next input
	}
	*d = Decoder{br: d.br, maxValue: d.maxValue, line: 1, buf: buf, raws: raws,
		cosEntity: schema.COSEntity{Object: schema.COSObject{Meta: d.cosEntity.Object.Meta[:0]}}, slow: d.slow}
	d.sc.stack = stack
}

// Next returns the next record, valid until the next call; (nil, io.EOF) at
// the end of the input. A bad line, value or record gives (nil, err) with err
// a *DecodeError, and decoding goes on at the next call. Any other error is
// from reading r and is final: Next returns it from then on.
func (d *Decoder) Next() (*Inbound, error) {
	for {
		if d.next < len(d.raws) {
			i := d.next
			d.next++
			if err := d.decodeRecord(i); err != nil {
				return nil, err
			}
			return &d.in, nil
		}
		if d.final != nil {
			return nil, d.final
		}
		in, err := d.scan()
		if in != nil || err != nil {
			return in, err
		}
	}
}

// scan reads input until a value is complete or an error is found, and
// returns the value's first record or the error; (nil, nil) when a value
// with records was set up for Next, or when nothing happened yet.
func (d *Decoder) scan() (*Inbound, error) {
	if len(d.replay) == 0 && len(d.chunk) == 0 {
		if d.chunkErr != nil && d.chunkErr != bufio.ErrBufferFull {
			return d.atEnd(d.chunkErr)
		}
		d.chunk, d.chunkErr = d.br.ReadSlice('\n')
		if !d.started && len(d.chunk) > 0 {
			d.started = true
			d.chunk = bytes.TrimPrefix(d.chunk, []byte("\xef\xbb\xbf"))
		}
		return nil, nil
	}
	src := d.current()
	p := *src
	i := 0
	for i < len(p) {
		switch d.phase {
		case phaseIdle:
			for i < len(p) && isSpace(p[i]) {
				if p[i] == '\n' {
					d.line++
				}
				i++
			}
			if i < len(p) {
				d.phase, d.valueLine, d.lineStart = phaseValue, d.line, 0
				d.buf, d.tooBig, d.afterErr = d.buf[:0], false, nil
				d.sc.reset()
			}
		case phaseValue:
			start := i
			for ; i < len(p); i++ {
				c := p[i]
				switch d.sc.step(c) {
				case scanContinue:
					if c == '\n' {
						d.keep(p[start : i+1])
						start = i + 1
						d.line++
						d.lineStart = len(d.buf)
					}
					if d.sc.state == stString {
						// Plain string bytes leave the scanner as it is.
						for i+1 < len(p) && p[i+1] >= 0x20 && p[i+1] != '"' && p[i+1] != '\\' {
							i++
						}
					}
					continue
				case scanEnd:
					i++
					d.keep(p[start:i])
					d.phase = phaseAfter
				case scanEndBefore:
					d.keep(p[start:i])
					d.phase = phaseAfter
				case scanError:
					d.keep(p[start:i])
					*src = p[i:]
					return nil, d.syntaxError()
				}
				break
			}
			if d.phase == phaseValue {
				d.keep(p[start:i])
			}
		case phaseAfter:
			for i < len(p) && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r') {
				i++
			}
			if i == len(p) {
				break
			}
			if p[i] == '\n' {
				d.line++
				*src = p[i+1:]
				d.phase = phaseIdle
				return d.complete()
			}
			rest := p[i:]
			if j := bytes.IndexByte(rest, '\n'); j >= 0 {
				rest = rest[:j]
			}
			d.afterErr = fmt.Errorf("%w: %s after the JSON value on its line (one value per line)",
				ErrMalformedJSON, quote(string(bytes.TrimSpace(rest))))
			d.phase = phaseSkip
		case phaseSkip:
			j := bytes.IndexByte(p[i:], '\n')
			if j < 0 {
				i = len(p)
				break
			}
			i += j + 1
			d.line++
			d.phase = phaseIdle
			if d.resync {
				d.phase, d.resync = phaseResync, false
			}
			if err := d.afterErr; err != nil {
				d.afterErr = nil
				*src = p[i:]
				return nil, &DecodeError{Line: d.valueLine, Err: err}
			}
		case phaseResync:
			for i < len(p) && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r') {
				i++
			}
			if i == len(p) {
				break
			}
			switch p[i] {
			case '\n':
				i++
				d.line++
			case '{', '[':
				d.phase = phaseIdle
			default:
				d.phase, d.resync = phaseSkip, true
			}
		}
	}
	*src = p[i:]
	return nil, nil
}

// keep appends the value's bytes p to buf, unless that makes it longer than
// MaxValueBytes: then the value is too big, and nothing more is kept.
func (d *Decoder) keep(p []byte) {
	if d.tooBig || len(p) == 0 {
		return
	}
	if len(d.buf)+len(p) > d.maxValue {
		d.tooBig = true
		d.buf = d.buf[:0]
		return
	}
	d.buf = append(d.buf, p...)
}

// syntaxError reports the scanner's error and decides where to start over:
// after the line, when the error is on the value's first line (or the value
// was too big to keep), else at the start of the line where it is, which is
// replayed from buf.
func (d *Decoder) syntaxError() error {
	err := &DecodeError{Line: d.valueLine, Err: fmt.Errorf("%w: %s", ErrMalformedJSON, d.sc.err)}
	if d.line != d.valueLine {
		err.Err = fmt.Errorf("%w: %s, on line %d", ErrMalformedJSON, d.sc.err, d.line)
	}
	if d.tooBig {
		err.Err = fmt.Errorf("%w: the value is longer than MaxValueBytes (%d bytes) and then malformed: %s, on line %d",
			ErrValueTooLarge, d.maxValue, d.sc.err, d.line)
	}
	if d.line == d.valueLine {
		d.phase = phaseSkip
		return err
	}
	// The error is on a later line of the value. When that line starts a
	// value ('{' or '['), start over at its beginning: it may be the next
	// event line after an unclosed one. Else skip it and the lines after it
	// up to one that starts a value: they are the rest of the broken value.
	line := d.buf[d.lineStart:]
	first := bytes.TrimLeft(line, " \t\r")
	if len(first) == 0 && len(*d.current()) > 0 {
		first = (*d.current())[:1]
	}
	if d.tooBig || len(first) == 0 || first[0] != '{' && first[0] != '[' {
		d.phase, d.resync = phaseSkip, true
		return err
	}
	// The line's bytes before the refused one are in buf; the refused byte
	// is still in the input.
	if len(d.replay) > 0 {
		// Already replaying this line: what is left of the replay follows.
		line = append(bytes.Clone(line), d.replay...)
	} else {
		line = bytes.Clone(line)
	}
	d.replay = line
	d.phase = phaseIdle
	return err
}

// current returns the input being scanned: the replay, else the chunk.
func (d *Decoder) current() *[]byte {
	if len(d.replay) > 0 {
		return &d.replay
	}
	return &d.chunk
}

// atEnd handles the end of the input (err is io.EOF) or a read error.
func (d *Decoder) atEnd(err error) (*Inbound, error) {
	switch d.phase {
	case phaseValue:
		d.phase = phaseIdle
		if err == io.EOF {
			if d.sc.atEOF() {
				d.final = err
				return d.complete()
			}
			d.final = err
			return nil, &DecodeError{Line: d.valueLine, Err: fmt.Errorf("%w: %s", ErrMalformedJSON, d.sc.err)}
		}
	case phaseAfter:
		d.phase = phaseIdle
		d.final = err
		return d.complete()
	case phaseSkip, phaseResync:
		d.phase, d.resync = phaseIdle, false
		d.final = err
		if d.afterErr != nil {
			e := d.afterErr
			d.afterErr = nil
			return nil, &DecodeError{Line: d.valueLine, Err: e}
		}
	}
	d.final = err
	return nil, nil
}

// complete decodes the complete value in buf. It returns the Inbound of an
// event line or single CloudEvent, an error, or (nil, nil) after setting up
// the records of a payload for Next.
func (d *Decoder) complete() (*Inbound, error) {
	d.raws, d.next, d.kind, d.source = d.raws[:0], 0, 0, 0
	if d.raws == nil {
		d.raws = make([]json.RawMessage, 0, 16) // non-nil: an empty Records array is not an absent one
	}
	if d.tooBig {
		d.tooBig = false
		return nil, &DecodeError{Line: d.valueLine, Err: fmt.Errorf(
			"%w: the value is longer than MaxValueBytes (%d bytes); skipped", ErrValueTooLarge, d.maxValue)}
	}
	v := d.buf
	if !utf8.Valid(v) {
		n := 0
		for n < len(v) {
			r, size := utf8.DecodeRune(v[n:])
			if r == utf8.RuneError && size == 1 {
				break
			}
			n += size
		}
		return nil, &DecodeError{Line: d.valueLine, Err: fmt.Errorf(
			"%w: invalid UTF-8 at byte %d of the value (byte 0x%02x)", ErrMalformedJSON, n, v[n])}
	}
	switch v[0] {
	case '{':
		return d.decodeObject(v)
	case '[':
		var ok bool
		if d.cur.reset(v); !d.slow {
			d.raws, ok = d.cur.rawArray(d.raws)
		}
		if !ok {
			// A new slice: json.RawMessage reuses an element's array, and the
			// fast path's elements are sub-slices of buf, which holds v.
			d.raws = nil
			if err := json.Unmarshal(v, &d.raws); err != nil {
				return nil, &DecodeError{Line: d.valueLine, Source: SourceCloudEvents, Err: jsonError(err)}
			}
		}
		d.kind = valueCloudBatch
		return nil, nil
	}
	kind := "number"
	switch v[0] {
	case '"':
		kind = "string"
	case 't', 'f':
		kind = "boolean"
	case 'n':
		kind = "null"
	}
	return nil, &DecodeError{Line: d.valueLine, Err: notEvent(
		"a JSON %s is not an event: want an event line {\"bucket\",\"event\",\"key\"}, "+
			"a {\"Records\":[…]} payload, a MinIO webhook body or a CloudEvents batch", kind)}
}
