// This file writes batches as JSON lines: one line per batch, built by hand
// into a reused buffer and written with one Write call under a mutex, so that
// lines from concurrent pipeline lanes never interleave.
//
// A delivered batch becomes
//
//	{"target":"thumbnail","format":"cos","contentType":"application/json","records":2,
//	 "opened":"2024-05-01T10:00:00Z","payload":{"Records":[…]}}
//
// and a dead letter adds why it failed:
//
//	{"target":…,"reason":"retries","error":"…","attempts":3,"firstAttempt":…,
//	 "lastAttempt":…,"deadLettered":…,"format":…,"contentType":…,"records":2,
//	 "opened":…,"payload":{…}}
//
// The payload is embedded as it is (the batch encoders write compact JSON on
// one line); a batch without payload (a record that could not be encoded)
// gets "payload":null and a "keys" list naming its records instead.

package dispatch

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/notifymux/notifymux/batch"
)

// JSONLines is a Dispatcher that writes one JSON line per batch to an
// io.Writer. It is safe for concurrent use. It is also a
// DeadLetterDispatcher: dead letters carry the reason, last error, attempts
// and timestamps, so the file can be inspected and replayed.
type JSONLines struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
	f   *os.File // set when OpenDeadLetterFile opened it
}

// NewJSONLines returns a JSONLines writing to w. A write error is returned by
// Dispatch (and retried by a Pipeline).
func NewJSONLines(w io.Writer) *JSONLines { return &JSONLines{w: w} }

// OpenDeadLetterFile opens (creating it with mode 0o600 if needed) the file at
// path for appending and returns a JSONLines that writes to it. Close closes
// the file.
func OpenDeadLetterFile(path string) (*JSONLines, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("dispatch: dead-letter file: %w", err)
	}
	return &JSONLines{w: f, f: f}, nil
}

// Dispatch writes b as one line.
func (j *JSONLines) Dispatch(_ context.Context, b batch.Batch) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.buf = append(j.buf[:0], `{"target":`...)
	j.buf = batch.AppendJSONString(j.buf, b.Target)
	j.buf = appendBatchFields(j.buf, &b)
	return j.write()
}

// DispatchDeadLetter writes d as one line.
func (j *JSONLines) DispatchDeadLetter(_ context.Context, d DeadLetter) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.buf = append(j.buf[:0], `{"target":`...)
	j.buf = batch.AppendJSONString(j.buf, d.Batch.Target)
	j.buf = append(j.buf, `,"reason":`...)
	j.buf = batch.AppendJSONString(j.buf, string(d.Reason))
	j.buf = append(j.buf, `,"error":`...)
	if d.Err != nil {
		j.buf = batch.AppendJSONString(j.buf, d.Err.Error())
	} else {
		j.buf = append(j.buf, "null"...)
	}
	j.buf = append(j.buf, `,"attempts":`...)
	j.buf = strconv.AppendInt(j.buf, int64(d.Attempts), 10)
	j.buf = appendTimeField(j.buf, "firstAttempt", d.FirstAttempt)
	j.buf = appendTimeField(j.buf, "lastAttempt", d.LastAttempt)
	j.buf = appendTimeField(j.buf, "deadLettered", d.Time)
	j.buf = appendBatchFields(j.buf, &d.Batch)
	return j.write()
}

// ReleasesBatches reports true: Dispatch and DispatchDeadLetter copy the
// batch into the line they write (an io.Writer must not keep what it is
// given), so a Pipeline may recycle the batch once they return (Releaser).
func (j *JSONLines) ReleasesBatches() bool { return true }

// Flush syncs the file when the JSONLines writes to one it opened, and calls
// Flush on the writer when it has a Flush() error method (a *bufio.Writer).
func (j *JSONLines) Flush(context.Context) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f != nil {
		return j.f.Sync()
	}
	if f, ok := j.w.(interface{ Flush() error }); ok {
		return f.Flush()
	}
	return nil
}

// Close flushes and closes the file opened by OpenDeadLetterFile; for a
// JSONLines made by NewJSONLines it only flushes (the caller owns the writer).
func (j *JSONLines) Close(ctx context.Context) error {
	err := j.Flush(ctx)
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f != nil {
		if cerr := j.f.Close(); err == nil {
			err = cerr
		}
		j.f = nil
	}
	return err
}

// write ends the line in j.buf and writes it.
func (j *JSONLines) write() error {
	j.buf = append(j.buf, '}', '\n')
	if _, err := j.w.Write(j.buf); err != nil {
		return fmt.Errorf("dispatch: write JSON line: %w", err)
	}
	if cap(j.buf) > 1<<20 { // do not keep a huge buffer after a huge batch
		j.buf = nil
	}
	return nil
}

// appendBatchFields appends the batch's fields after the target.
func appendBatchFields(dst []byte, b *batch.Batch) []byte {
	dst = append(dst, `,"format":`...)
	dst = batch.AppendJSONString(dst, b.Format.String())
	dst = append(dst, `,"contentType":`...)
	dst = batch.AppendJSONString(dst, b.ContentType)
	dst = append(dst, `,"records":`...)
	dst = strconv.AppendInt(dst, int64(len(b.Records)), 10)
	dst = appendTimeField(dst, "opened", b.Opened)
	dst = append(dst, `,"payload":`...)
	if len(b.Payload) == 0 {
		dst = append(dst, "null"...)
		dst = append(dst, `,"keys":[`...)
		for i := range b.Records {
			r := &b.Records[i]
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"bucket":`...)
			dst = batch.AppendJSONString(dst, r.Bucket)
			dst = append(dst, `,"key":`...)
			dst = batch.AppendJSONString(dst, r.Key)
			dst = append(dst, `,"event":`...)
			dst = batch.AppendJSONString(dst, r.Event.String())
			dst = append(dst, `,"sequencer":`...)
			dst = batch.AppendJSONString(dst, r.Sequencer)
			dst = append(dst, '}')
		}
		return append(dst, ']')
	}
	return append(dst, b.Payload...)
}

// appendTimeField appends ,"name":"<RFC 3339 UTC>" or ,"name":null for the
// zero time.
func appendTimeField(dst []byte, name string, t time.Time) []byte {
	dst = append(dst, ',', '"')
	dst = append(dst, name...)
	dst = append(dst, '"', ':')
	if t.IsZero() {
		return append(dst, "null"...)
	}
	dst = append(dst, '"')
	dst = t.UTC().AppendFormat(dst, time.RFC3339Nano)
	return append(dst, '"')
}
