package jetstream

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/notifymux/notifymux/batch"
	"github.com/notifymux/notifymux/dispatch"
)

// PublishBatch stores every record of a batch, in order, drops a repeat
// with the same identity as PublishContext does, counts a record without
// a target as unmatched, and the stored records are delivered.
func TestPublishBatch(t *testing.T) {
	e := newEnv(t, StreamConfig{})
	p := NewPublisher(e.js, Names{})
	const n = 600
	recs := make([]batch.Record, 0, n+3)
	for i := range n {
		recs = append(recs, record(keyName(i)))
	}
	withID := record("with-id")
	withID.RequestID = "NjE3ZTc0ZTNfNDI4NDQ2MGFf"
	unmatched := record("unmatched")
	unmatched.Target = ""
	recs = append(recs, withID, withID, unmatched)
	errs := make([]error, len(recs))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p.PublishBatch(ctx, recs, errs)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("record %d refused: %v", i, err)
		}
	}
	if s := p.Stats(); s.Published != n+1 || s.Duplicates != 1 || s.Unmatched != 1 {
		t.Errorf("stats %+v, want %d published, 1 duplicate, 1 unmatched", s, n+1)
	}
	if got := e.msgs(t, DefaultStream); got != n+1 {
		t.Errorf("stream holds %d records, want %d", got, n+1)
	}
	// The stream holds them in the order given.
	for seq, want := range map[uint64]string{1: keyName(0), n: keyName(n - 1), n + 1: "with-id"} {
		m, err := e.js.Stream(ctx, DefaultStream)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := m.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		r, err := decodeRecord(raw.Data)
		if err != nil {
			t.Fatal(err)
		}
		if r.Key != want {
			t.Errorf("stream sequence %d holds %q, want %q", seq, r.Key, want)
		}
	}
	f := newFunction(t)
	d, err := NewDeliverer(context.Background(), e.js, DeliveryConfig{Dispatcher: f.dispatcher(t), Batch: batch.Config{MaxWait: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer closeDeliverer(t, d)
	waitFor(t, 20*time.Second, "not every record delivered", func() bool { k, _ := f.counts(); return k == n+1 })
}

// A batch larger than a full stream's room: the records that fit are
// stored and the others refused with ErrStreamFull (and so
// dispatch.ErrQueueFull), each with its own error, nothing dropped
// silently.
func TestPublishBatchFullStream(t *testing.T) {
	e := newEnv(t, StreamConfig{MaxMsgs: 5})
	p := NewPublisher(e.js, Names{})
	recs := make([]batch.Record, 8)
	for i := range recs {
		recs[i] = record(keyName(i))
	}
	errs := make([]error, len(recs))
	p.PublishBatch(context.Background(), recs, errs)
	for i, err := range errs {
		switch {
		case i < 5 && err != nil:
			t.Errorf("record %d refused: %v", i, err)
		case i >= 5 && (!errors.Is(err, ErrStreamFull) || !errors.Is(err, dispatch.ErrQueueFull)):
			t.Errorf("record %d: %v, want ErrStreamFull", i, err)
		}
	}
	if got := e.msgs(t, DefaultStream); got != 5 {
		t.Errorf("stream holds %d records, want 5", got)
	}
	if s := p.Stats(); s.Published != 5 || s.Full != 3 {
		t.Errorf("stats %+v, want 5 published and 3 refused as full", s)
	}
}

// A batch whose context has ended refuses what it did not send, with the
// context's error, and returns.
func TestPublishBatchContextEnded(t *testing.T) {
	e := newEnv(t, StreamConfig{})
	p := NewPublisher(e.js, Names{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	recs := []batch.Record{record("a"), record("b")}
	errs := make([]error, len(recs))
	p.PublishBatch(ctx, recs, errs)
	for i, err := range errs {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("record %d: %v, want context.Canceled", i, err)
		}
	}
	if got := e.msgs(t, DefaultStream); got != 0 {
		t.Errorf("stream holds %d records, want none", got)
	}
}

// A batch whose acknowledgements never come (a subscriber swallows the
// records, as a stream whose leader is lost would) is refused with an
// error a client may retry on (dispatch.ErrQueueFull) once the wait runs
// out, and the client's table of outstanding publishes is empty again
// afterwards: lost acknowledgements do not pile up until every publish
// stalls.
func TestPublishBatchLostAcks(t *testing.T) {
	e := newEnv(t, StreamConfig{})
	sub, err := e.nc.Subscribe("swallowed.records", func(*nats.Msg) {})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := e.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	const wait = 300 * time.Millisecond
	p := newPublisher(e.js, Names{Subject: "swallowed.records"}, wait)
	recs := []batch.Record{record("a"), record("b"), record("c")}
	errs := make([]error, len(recs))
	start := time.Now()
	p.PublishBatch(context.Background(), recs, errs)
	if d := time.Since(start); d < wait || d > wait+5*time.Second {
		t.Errorf("PublishBatch returned after %v, want about %v", d, wait)
	}
	for i, err := range errs {
		if !errors.Is(err, dispatch.ErrQueueFull) {
			t.Errorf("record %d: %v, want dispatch.ErrQueueFull", i, err)
		}
	}
	waitFor(t, 5*time.Second, "lost acknowledgements still outstanding", func() bool { return p.async.PublishAsyncPending() == 0 })

	// The caller's context ending first gives its own error.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	p.PublishBatch(ctx, recs, errs)
	for i, err := range errs {
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("record %d with the caller's deadline: %v, want context.DeadlineExceeded", i, err)
		}
	}
}
