// This file is the ingest side: a routed record is published to the event
// stream and PublishContext returns only once JetStream acknowledged that it
// stored it, so an HTTP front end answers 202 only for records on disk (on
// every replica of a clustered stream). A full stream is an error the
// caller can answer 503 with (ErrStreamFull); a record without a target is
// only counted, as the in-memory Pipeline counts it.

package jetstream

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/notifymux/notifymux/batch"
	"github.com/notifymux/notifymux/dispatch"
)

// Publisher publishes routed records to the event stream. It is a
// dispatch.Publisher, so a dispatch.Router can feed it in place of the
// in-memory Pipeline. It is safe for concurrent use.
type Publisher struct {
	js     jetstream.JetStream
	stream string
	subj   string

	unmatched  atomic.Uint64
	published  atomic.Uint64
	duplicates atomic.Uint64
	full       atomic.Uint64
}

// NewPublisher returns a Publisher to the event stream named in names
// (defaults filled in). The stream must exist (EnsureStreams).
func NewPublisher(js jetstream.JetStream, names Names) *Publisher {
	n := names.withDefaults()
	return &Publisher{js: js, stream: n.Stream, subj: n.Subject}
}

var _ dispatch.Publisher = (*Publisher)(nil)

// PublishContext publishes r and waits for the stream's acknowledgement,
// bounded by ctx. A record without a Target is counted as unmatched and not
// published. A publish the stream drops as a duplicate of one within its
// window (same MsgID) returns nil: that record is already stored. Errors:
// a *StreamFullError when the stream is full, else the client's or the
// server's error; in every error case the record is not accepted.
func (p *Publisher) PublishContext(ctx context.Context, r batch.Record) error {
	if r.Target == "" {
		p.unmatched.Add(1)
		return nil
	}
	data, err := encodeRecord(&r)
	if err != nil {
		return err
	}
	msg := &nats.Msg{Subject: p.subj, Data: data, Header: nats.Header{headerTarget: []string{r.Target}}}
	var opts []jetstream.PublishOpt
	if id := MsgID(&r); id != "" {
		opts = append(opts, jetstream.WithMsgID(id))
	}
	ack, err := p.js.PublishMsg(ctx, msg, opts...)
	if err != nil {
		return p.refusal(err)
	}
	p.acked(ack)
	return nil
}

var _ dispatch.BatchPublisher = (*Publisher)(nil)

// PublishBatch publishes recs without waiting for each acknowledgement in
// turn, then waits for all of them, bounded by ctx (by DefaultBatchWait
// when ctx has no deadline), and sets errs[i] as PublishContext would
// return it for recs[i]. The stream stores the records of one batch
// together, so with SyncAlways one disk sync covers many of them. A record
// whose acknowledgement did not come in time is refused with ctx's error;
// the stream may still store it, which a record with an identity
// survives (a client's retry is dropped as a duplicate) and a record
// without one turns into a second delivery.
func (p *Publisher) PublishBatch(ctx context.Context, recs []batch.Record, errs []error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultBatchWait)
		defer cancel()
	}
	futures := make([]jetstream.PubAckFuture, len(recs))
	for i := range recs {
		r := &recs[i]
		errs[i] = nil
		if r.Target == "" {
			p.unmatched.Add(1)
			continue
		}
		if err := ctx.Err(); err != nil {
			errs[i] = fmt.Errorf("jetstream: publish to stream %s: %w", p.stream, err)
			continue
		}
		data, err := encodeRecord(r)
		if err != nil {
			errs[i] = err
			continue
		}
		msg := &nats.Msg{Subject: p.subj, Data: data, Header: nats.Header{headerTarget: []string{r.Target}}}
		opts := []jetstream.PublishOpt{jetstream.WithStallWait(batchStallWait)}
		if id := MsgID(r); id != "" {
			opts = append(opts, jetstream.WithMsgID(id))
		}
		f, err := p.js.PublishMsgAsync(msg, opts...)
		if err != nil {
			errs[i] = p.refusal(err)
			continue
		}
		futures[i] = f
	}
	for i, f := range futures {
		if f == nil {
			continue
		}
		select {
		case ack := <-f.Ok():
			p.acked(ack)
		case err := <-f.Err():
			errs[i] = p.refusal(err)
		case <-ctx.Done():
			errs[i] = fmt.Errorf("jetstream: publish to stream %s: no acknowledgement: %w", p.stream, ctx.Err())
		}
	}
}

// DefaultBatchWait bounds PublishBatch's wait for its acknowledgements when
// its context has no deadline of its own.
const DefaultBatchWait = 10 * time.Second

// batchStallWait is how long PublishBatch waits for room among the client's
// outstanding asynchronous publishes before it refuses a record.
const batchStallWait = 2 * time.Second

// refusal is the error PublishContext and PublishBatch return for a publish
// the stream or the client refused.
func (p *Publisher) refusal(err error) error {
	if isFull(err) {
		p.full.Add(1)
		return &StreamFullError{Stream: p.stream, Err: err}
	}
	if errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
		// The client holds as many unacknowledged publishes as it allows:
		// back-pressure, answered like a full queue.
		return fmt.Errorf("jetstream: publish to stream %s: %w: %w", p.stream, errQueueFull, err)
	}
	return fmt.Errorf("jetstream: publish to stream %s: %w", p.stream, err)
}

// acked counts a stored or duplicate record.
func (p *Publisher) acked(ack *jetstream.PubAck) {
	if ack.Duplicate {
		p.duplicates.Add(1)
	} else {
		p.published.Add(1)
	}
}

// PublisherStats counts what a Publisher did, in records.
type PublisherStats struct {
	Published  uint64 // stored in the stream
	Duplicates uint64 // dropped by the stream as repeats of a stored record
	Unmatched  uint64 // had no target, not published
	Full       uint64 // refused by a full stream
}

// Stats returns the counts so far.
func (p *Publisher) Stats() PublisherStats {
	return PublisherStats{Published: p.published.Load(), Duplicates: p.duplicates.Load(),
		Unmatched: p.unmatched.Load(), Full: p.full.Load()}
}
