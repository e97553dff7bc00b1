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
	async  jetstream.JetStream // PublishBatch's: its acknowledgements time out
	wait   time.Duration       // PublishBatch's bound without a deadline of ctx
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
	return newPublisher(js, names, DefaultBatchWait)
}

// newPublisher is NewPublisher with PublishBatch's wait.
func newPublisher(js jetstream.JetStream, names Names, wait time.Duration) *Publisher {
	n := names.withDefaults()
	p := &Publisher{js: js, async: js, wait: wait, stream: n.Stream, subj: n.Subject}
	// PublishBatch publishes on a context of its own on the same
	// connection, whose pending acknowledgements time out: one that never
	// comes (a stream leader lost mid-publish) would otherwise hold one of
	// the client's outstanding-publish slots for good, and once they are
	// all held every publish would stall. Asynchronous publishes go to the
	// stream's subject directly, so js's API prefix or domain does not
	// matter to them.
	if nc := js.Conn(); nc != nil {
		if async, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(wait)); err == nil {
			p.async = async
		}
	}
	return p
}

var _ dispatch.Publisher = (*Publisher)(nil)

// PublishContext publishes r and waits for the stream's acknowledgement,
// bounded by ctx. A record without a Target is counted as unmatched and not
// published. A publish the stream drops as a duplicate of one within its
// window (same MsgID) returns nil: that record is already stored. Errors:
// a *StreamFullError when the stream is full; an error that is
// dispatch.ErrQueueFull when the server did not answer (no response, a
// timeout, a lost connection) or the client has too many publishes
// outstanding, so the record may be tried again later; else the client's
// or the server's error. In every error case the record is not accepted.
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
// return it for recs[i]: the records of a batch are on their way to the
// server together instead of each after the previous one's
// acknowledgement. (With SyncAlways the server still syncs its file after
// each record it stores.) A record whose acknowledgement did not come in
// time is refused: with ctx's error when ctx ended, else with an error
// that is dispatch.ErrQueueFull (to be tried again later). The stream may
// still store it; a record with an identity survives that (a client's
// retry is dropped as a duplicate), a record without one is then
// delivered twice.
func (p *Publisher) PublishBatch(ctx context.Context, recs []batch.Record, errs []error) {
	wait := ctx
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		wait, cancel = context.WithTimeout(ctx, p.wait)
		defer cancel()
	}
	// late is the error of a record whose acknowledgement did not come in
	// time: the caller's context's, or, when only the wait ran out, a
	// refusal to try again later.
	late := func() error {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("jetstream: publish to stream %s: no acknowledgement: %w", p.stream, err)
		}
		return fmt.Errorf("jetstream: publish to stream %s: no acknowledgement within %v: %w", p.stream, p.wait, errQueueFull)
	}
	futures := make([]jetstream.PubAckFuture, len(recs))
	for i := range recs {
		r := &recs[i]
		errs[i] = nil
		if r.Target == "" {
			p.unmatched.Add(1)
			continue
		}
		if wait.Err() != nil {
			errs[i] = late()
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
		f, err := p.async.PublishMsgAsync(msg, opts...)
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
		// An answer already there wins over an ended wait.
		select {
		case ack := <-f.Ok():
			p.acked(ack)
			continue
		case err := <-f.Err():
			errs[i] = p.refusal(err)
			continue
		default:
		}
		select {
		case ack := <-f.Ok():
			p.acked(ack)
		case err := <-f.Err():
			errs[i] = p.refusal(err)
		case <-wait.Done():
			errs[i] = late()
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
	if errors.Is(err, jetstream.ErrTooManyStalledMsgs) || errors.Is(err, jetstream.ErrAsyncPublishTimeout) ||
		errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrDisconnected) || errors.Is(err, nats.ErrTimeout) {
		// The client holds as many unacknowledged publishes as it allows,
		// or the server did not answer: the record may be tried again
		// later, as when a queue is full.
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
