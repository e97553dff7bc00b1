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

// deadLetter stores records for keys k-0 … k-(n-1) in the dead-letter
// stream, as a Deliverer does when it gives them up.
func deadLetter(t *testing.T, e *env, n int) {
	t.Helper()
	ds := NewDeadStream(e.js, Names{})
	recs := make([]batch.Record, n)
	for i := range recs {
		recs[i] = record(keyName(i))
		recs[i].RequestID = "req-" + keyName(i) // an identity, whose original publish may still be in the window
	}
	dl := dispatch.DeadLetter{Batch: batch.Batch{Target: "thumbnail", Records: recs, Opened: time.Now()},
		Reason: dispatch.ReasonRetries, Err: errors.New("HTTP 503"), Attempts: 3}
	if err := ds.DispatchDeadLetter(context.Background(), dl); err != nil {
		t.Fatal(err)
	}
}

func TestRedriveInterruptedResumedDelivered(t *testing.T) {
	e := newEnv(t, StreamConfig{})
	const n = 12
	// The original publishes of the records are still in the duplicate window.
	p := NewPublisher(e.js, Names{})
	for i := range n {
		r := record(keyName(i))
		r.RequestID = "req-" + keyName(i)
		if err := p.PublishContext(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	purge(t, e, DefaultStream) // … and were consumed (delivery failed; dead-lettered below)
	deadLetter(t, e, n)
	if _, err := e.js.Publish(context.Background(), "notifymux.dead", []byte("not a record")); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := Redrive(ctx, e.js, RedriveConfig{OnRecord: func(_ batch.Record, _ error, s RedriveStats) {
		if s.Redriven == 5 {
			cancel()
		}
	}})
	if !errors.Is(err, dispatch.ErrRedriveInterrupted) {
		t.Fatalf("err = %v, want ErrRedriveInterrupted", err)
	}
	if st.Redriven != 5 || st.Done || st.Remaining != n-5+1 {
		t.Errorf("interrupted run: %+v, want 5 redriven, %d remaining", st, n-5+1)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel2()
	st, err = Redrive(ctx2, e.js, RedriveConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Redriven != n-5 || st.Invalid != 1 || st.Remaining != 1 || !st.Done {
		t.Errorf("resumed run: %+v, want %d redriven, the bad message kept", st, n-5)
	}
	if got := e.msgs(t, DefaultStream); got != n {
		t.Fatalf("event stream holds %d records, want %d (none dropped as a duplicate of its original publish)", got, n)
	}
	f := newFunction(t)
	d, err := NewDeliverer(context.Background(), e.js, DeliveryConfig{Dispatcher: f.dispatcher(t), Batch: batch.Config{MaxWait: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer closeDeliverer(t, d)
	waitFor(t, 20*time.Second, "not every redriven record delivered", func() bool { k, _ := f.counts(); return k == n })
}

// A record republished by a run that stopped before deleting it is dropped
// by the duplicate window when the next run republishes it.
func TestRedriveRepeatIsDuplicate(t *testing.T) {
	e := newEnv(t, StreamConfig{})
	deadLetter(t, e, 3)
	// What an interrupted run did for sequence 1: published, not deleted.
	m := &nats.Msg{Subject: "notifymux.events", Header: nats.Header{}}
	dead, err := e.js.Stream(context.Background(), DefaultDeadStream)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := dead.GetMsg(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	m.Data = raw.Data
	m.Header.Set(nats.MsgIdHdr, "nmx-redrive-"+DefaultDeadStream+"-1")
	if _, err := e.js.PublishMsg(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	st, err := Redrive(context.Background(), e.js, RedriveConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Redriven != 2 || st.Duplicates != 1 || st.Remaining != 0 {
		t.Errorf("stats %+v: want 2 redriven, 1 duplicate, none left", st)
	}
	if got := e.msgs(t, DefaultStream); got != 3 {
		t.Errorf("event stream holds %d, want 3", got)
	}
}

func TestRedriveFullStream(t *testing.T) {
	e := newEnv(t, StreamConfig{MaxMsgs: 2})
	deadLetter(t, e, 5)
	st, err := Redrive(context.Background(), e.js, RedriveConfig{})
	if !errors.Is(err, ErrStreamFull) {
		t.Fatalf("err = %v, want ErrStreamFull", err)
	}
	if st.Redriven != 2 || st.Remaining != 3 {
		t.Errorf("stats %+v: want 2 redriven, 3 kept in the dead-letter stream", st)
	}
}

// purge removes every message of the named stream.
func purge(t *testing.T, e *env, stream string) {
	t.Helper()
	s, err := e.js.Stream(context.Background(), stream)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Purge(context.Background()); err != nil {
		t.Fatal(err)
	}
}
