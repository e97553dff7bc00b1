// This file is the dead-letter stream: each record given up becomes one
// message on the dead-letter subject, the record's JSON with headers that
// say why (reason, last error, attempts, arrival time). One message per
// record, so that Redrive counts and resumes record by record.

package jetstream

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/notifymux/notifymux/batch"
	"github.com/notifymux/notifymux/dispatch"
)

// DeadStream is a dispatch.DeadLetterDispatcher that publishes each record
// of a dead letter to the dead-letter stream and waits for the stream's
// acknowledgement. It can serve the in-memory Pipeline as its DeadLetter as
// well as a Deliverer. It is safe for concurrent use.
type DeadStream struct {
	js     jetstream.JetStream
	stream string
	subj   string
}

// NewDeadStream returns a DeadStream to the dead-letter stream named in
// names (defaults filled in). The stream must exist (EnsureStreams).
func NewDeadStream(js jetstream.JetStream, names Names) *DeadStream {
	n := names.withDefaults()
	return &DeadStream{js: js, stream: n.DeadStream, subj: n.DeadSubject}
}

var _ interface {
	dispatch.DeadLetterDispatcher
	dispatch.Releaser
} = (*DeadStream)(nil)

// ReleasesBatches reports true: every record is published before
// DispatchDeadLetter returns.
func (s *DeadStream) ReleasesBatches() bool { return true }

// Dispatch writes b's records as dead letters with no reason.
func (s *DeadStream) Dispatch(ctx context.Context, b batch.Batch) error {
	return s.DispatchDeadLetter(ctx, dispatch.DeadLetter{Batch: b, Time: time.Now()})
}

// DispatchDeadLetter publishes each record of d with its reason, last
// error, attempts and arrival (d.Batch.Opened). It stops at the first
// refusal (a full dead-letter stream is a *StreamFullError); the records
// before it are stored, so a repeat may store them twice.
func (s *DeadStream) DispatchDeadLetter(ctx context.Context, d dispatch.DeadLetter) error {
	h := nats.Header{}
	h.Set(headerReason, string(d.Reason))
	if d.Err != nil {
		e := d.Err.Error()
		if len(e) > maxHeaderError {
			e = e[:maxHeaderError]
		}
		h.Set(headerError, sanitizeHeader(e))
	}
	h.Set(headerAttempts, strconv.Itoa(d.Attempts))
	if !d.Batch.Opened.IsZero() {
		h.Set(headerArrived, d.Batch.Opened.UTC().Format(time.RFC3339Nano))
	}
	for i := range d.Batch.Records {
		r := &d.Batch.Records[i]
		data, err := encodeRecord(r)
		if err != nil {
			return err
		}
		hh := nats.Header(http.Header(h).Clone())
		hh.Set(headerTarget, sanitizeHeader(r.Target))
		if _, err := s.js.PublishMsg(ctx, &nats.Msg{Subject: s.subj, Data: data, Header: hh}); err != nil {
			if isFull(err) {
				return &StreamFullError{Stream: s.stream, Err: err}
			}
			return fmt.Errorf("jetstream: dead letter to stream %s: %w", s.stream, err)
		}
	}
	return nil
}

// sanitizeHeader replaces the bytes a NATS header value cannot hold (line
// breaks) with spaces.
func sanitizeHeader(s string) string {
	b := []byte(s)
	changed := false
	for i, c := range b {
		if c == '\r' || c == '\n' {
			b[i], changed = ' ', true
		}
	}
	if !changed {
		return s
	}
	return string(b)
}
