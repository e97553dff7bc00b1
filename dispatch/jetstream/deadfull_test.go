package jetstream

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/notifymux/notifymux/batch"
	"github.com/notifymux/notifymux/dispatch"
)

// While the dead-letter stream is full, records given up stay in the event
// stream, also past their last delivery (they are stored again); once it
// has room they are dead-lettered with their first arrival time.
func TestDeadLetterStreamFull(t *testing.T) {
	e := newEnv(t, StreamConfig{DeadMaxBytes: 1})
	f := newFunction(t)
	f.status.Store(http.StatusInternalServerError)
	const n = 5
	published := time.Now()
	publish(t, NewPublisher(e.js, Names{}), n)
	var dlErrors atomic.Int32
	d, err := NewDeliverer(context.Background(), e.js, DeliveryConfig{Dispatcher: f.dispatcher(t),
		MaxRetries: dispatch.NoRetries, AckWait: 300 * time.Millisecond, Batch: batch.Config{MaxWait: 20 * time.Millisecond},
		OnDeadLetterError: func(dispatch.DeadLetter, error) { dlErrors.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	defer closeDeliverer(t, d)
	defer func() { t.Logf("stats %+v", d.Stats()) }()
	waitFor(t, 15*time.Second, "records past their last delivery were not stored again", func() bool { return d.Stats().Requeued >= 2*n })
	// A record is stored again before its old message is acknowledged, so
	// the stream may hold one more for a moment; it must settle at n.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		got := e.msgs(t, DefaultStream)
		if got == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the event stream holds %d records, want %d: none lost, none multiplied", got, n)
		}
	}
	if got := e.msgs(t, DefaultDeadStream); got != 0 {
		t.Fatalf("the full dead-letter stream holds %d", got)
	}
	if dlErrors.Load() == 0 {
		t.Error("OnDeadLetterError was not called")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := EnsureStreams(ctx, e.js, StreamConfig{}); err != nil { // room in the dead-letter stream
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "records not dead-lettered once there was room", func() bool {
		return e.msgs(t, DefaultDeadStream) == n && e.msgs(t, DefaultStream) == 0
	})
	for _, m := range readDead(t, e, n) {
		arrived, err := time.Parse(time.RFC3339Nano, m.Header.Get(headerArrived))
		if err != nil || arrived.Before(published.Add(-time.Second)) || arrived.After(published.Add(5*time.Second)) {
			t.Errorf("dead letter arrival %q (%v): want the first arrival, about %v", m.Header.Get(headerArrived), err, published)
		}
	}
}
