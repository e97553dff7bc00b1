// Tests of Config.RecycleBatches: a recycled batch's memory is never handed
// out again while a dispatch of the batch it held is in progress or still to
// come (retries, the dead letter), over in-process and HTTP dispatchers, at
// Close, and when the dead-letter dispatcher fails; without the option,
// nothing is reused; the HTTP dispatcher's request body stops reading the
// payload when Dispatch returns. Run them with -race: a worker writing a
// recycled buffer while a dispatcher reads it is also a data race.

package dispatch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/notifymux/notifymux/batch"
)

// recycleChecker is a Dispatcher and DeadLetterDispatcher that checks every
// batch it gets: the payload is the encoding of the batch's records, each
// record is intact, every attempt and the dead letter of a batch carry the
// bytes of its first attempt, and nothing changes while it holds the batch
// (it yields or sleeps meanwhile, so that workers run). Batches are told
// apart by their first record's Sequencer. The outcome of a batch depends on
// its first record's number s: s%7 == 0 fails the first attempt, s%11 == 0
// fails permanently, s%13 == 0 fails every attempt, and as a dead letter
// s%17 == 0 fails (the batch is then lost and must not be recycled).
type recycleChecker struct {
	t         *testing.T
	stall     string // target whose Dispatch waits for its context
	noOutcome bool   // every Dispatch succeeds (but for stall)

	mu       sync.Mutex
	first    map[string]string // batch id → payload of its first attempt
	attempts map[string]int    // batch id → Dispatch calls
	settled  map[string]int    // record Sequencer → times delivered or dead-lettered
	arrays   map[*byte]string  // payload backing array → id of the last batch settled in it
	reused   int               // batches settled in an array that an earlier batch had
	lost     []keptBatch       // from OnDeadLetterError, checked at the end
	reasons  map[DeadLetterReason]int
}

// keptBatch is a batch kept with a copy of its payload.
type keptBatch struct {
	b       batch.Batch
	payload string
	id      string // its first record's Sequencer
}

func newRecycleChecker(t *testing.T) *recycleChecker {
	return &recycleChecker{t: t, first: map[string]string{}, attempts: map[string]int{},
		settled: map[string]int{}, arrays: map[*byte]string{}, reasons: map[DeadLetterReason]int{}}
}

// check verifies b on entry, holds it for a moment, and verifies it has not
// changed. It returns the batch id and the number of its first record.
func (c *recycleChecker) check(b batch.Batch, where string) (id string, seq int) {
	t := c.t
	if len(b.Records) == 0 || len(b.Payload) == 0 {
		t.Errorf("%s: batch without records or payload", where)
		return "", -1
	}
	snapshot := string(b.Payload)
	if want := string(b.Format.Append(nil, b.Records)); snapshot != want {
		t.Errorf("%s: payload is not the encoding of its %d records:\n got %.200s\nwant %.200s", where, len(b.Records), snapshot, want)
	}
	for _, r := range b.Records {
		if r.Target != b.Target || r.Sequencer != r.Key+"#"+strconv.FormatInt(r.Size, 10) {
			t.Errorf("%s: record %q/%q (size %d) of target %q is not intact in a batch for %q", where, r.Key, r.Sequencer, r.Size, r.Target, b.Target)
		}
	}
	id, seq = b.Records[0].Sequencer, int(b.Records[0].Size)
	c.mu.Lock()
	if prev, ok := c.first[id]; ok && prev != snapshot {
		t.Errorf("%s: batch %s carries other bytes than at its first attempt", where, id)
	} else if !ok {
		c.first[id] = snapshot
	}
	c.mu.Unlock()
	if rand.IntN(4) == 0 {
		time.Sleep(time.Duration(rand.IntN(50)) * time.Microsecond)
	} else {
		runtime.Gosched()
	}
	if string(b.Payload) != snapshot {
		t.Errorf("%s: payload of batch %s changed while the dispatcher held it", where, id)
	}
	return id, seq
}

// settle records that b's fate is final.
func (c *recycleChecker) settle(b batch.Batch, id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range b.Records {
		c.settled[r.Sequencer]++
	}
	p := &b.Payload[0]
	if prev, ok := c.arrays[p]; ok && prev != id {
		c.reused++
	}
	c.arrays[p] = id
}

func (c *recycleChecker) Dispatch(ctx context.Context, b batch.Batch) error {
	id, seq := c.check(b, "Dispatch")
	if id == "" {
		return Permanent(errors.New("bad batch"))
	}
	if b.Target == c.stall {
		<-ctx.Done()
		if string(b.Payload) != c.firstOf(id) {
			c.t.Errorf("Dispatch: payload of stalled batch %s changed", id)
		}
		return ctx.Err()
	}
	c.mu.Lock()
	c.attempts[id]++
	n := c.attempts[id]
	c.mu.Unlock()
	if !c.noOutcome {
		switch {
		case seq%11 == 0:
			return Permanent(fmt.Errorf("batch %s refused", id))
		case seq%13 == 0 || seq%7 == 0 && n == 1:
			return fmt.Errorf("batch %s: attempt %d failed", id, n)
		}
	}
	c.settle(b, id)
	return nil
}

func (c *recycleChecker) firstOf(id string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.first[id]
}

func (c *recycleChecker) DispatchDeadLetter(_ context.Context, d DeadLetter) error {
	id, seq := c.check(d.Batch, "DispatchDeadLetter "+string(d.Reason))
	if id == "" {
		return errors.New("bad batch")
	}
	c.mu.Lock()
	c.reasons[d.Reason]++
	c.mu.Unlock()
	if !c.noOutcome && seq%17 == 0 {
		return fmt.Errorf("dead letter of batch %s: disk full", id)
	}
	c.settle(d.Batch, id)
	return nil
}

// ReleasesBatches reports true: the checker keeps copies only.
func (c *recycleChecker) ReleasesBatches() bool { return true }

// onDeadLetterError keeps the lost batch (allowed: it is not recycled).
func (c *recycleChecker) onDeadLetterError(d DeadLetter, _ error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lost = append(c.lost, keptBatch{d.Batch, string(d.Batch.Payload), d.Batch.Records[0].Sequencer})
}

// finish checks the kept lost batches and that every record of recs was
// settled exactly once or lost; it returns the records lost.
func (c *recycleChecker) finish(recs []batch.Record) (lost int) {
	t := c.t
	c.mu.Lock()
	defer c.mu.Unlock()
	lostIDs := map[string]int{}
	for _, k := range c.lost {
		if string(k.b.Payload) != k.payload {
			t.Errorf("batch %s, kept by OnDeadLetterError, was overwritten: it was recycled", k.id)
		}
		for _, r := range k.b.Records {
			lostIDs[r.Sequencer]++
			lost++
		}
	}
	for _, r := range recs {
		if n := c.settled[r.Sequencer] + lostIDs[r.Sequencer]; n != 1 {
			t.Errorf("record %s settled %d times, want 1", r.Sequencer, n)
		}
	}
	return lost
}

// recycleRecords returns n records with unique keys over targets fn-0 … fn-4.
func recycleRecords(n int) []batch.Record {
	recs := make([]batch.Record, n)
	for i := range recs {
		recs[i] = rec("fn-"+strconv.Itoa(i%5), "k-"+strconv.Itoa(i), i)
	}
	return recs
}

func TestRecycleKeepsPayloadsWhileInUse(t *testing.T) {
	c := newRecycleChecker(t)
	recs := recycleRecords(4000)
	p := mustPipeline(t, Config{
		Dispatcher: c, DeadLetter: c, OnDeadLetterError: c.onDeadLetterError,
		RecycleBatches: true,
		Workers:        4, Concurrency: 2, Policy: Block, QueueRecords: 200,
		Batch:      batch.Config{MaxRecords: 10, MaxWait: time.Millisecond},
		MaxRetries: 2, RetryBase: 20 * time.Microsecond, RetryMax: 200 * time.Microsecond,
	})
	for _, r := range recs {
		if err := p.Publish(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	lost := c.finish(recs)
	s := p.Stats()
	checkSums(t, s)
	if s.Retried == 0 || s.DeadLettered == 0 || s.DeadLetterFailed == 0 || lost != int(s.DeadLetterFailed) {
		t.Errorf("want retries, dead letters and %d lost records, got %v", lost, s)
	}
	if c.reasons[ReasonPermanent] == 0 || c.reasons[ReasonRetries] == 0 {
		t.Errorf("dead letter reasons %v, want permanent and retries", c.reasons)
	}
	if c.reused == 0 {
		t.Errorf("no payload memory was reused in %d batches: recycling did not happen", len(c.first))
	}
	t.Logf("%d batches, %d settled in reused memory; %v", len(c.first), c.reused, s)
}

// TestRecycleAtClose: batches given up by Close's deadline are dead-lettered
// with ReasonClosed and recycled only then.
func TestRecycleAtClose(t *testing.T) {
	c := newRecycleChecker(t)
	c.stall, c.noOutcome = "fn-0", true
	recs := recycleRecords(1500)
	p := mustPipeline(t, Config{
		Dispatcher: c, DeadLetter: c, RecycleBatches: true,
		Workers: 4, Concurrency: 2, Policy: DropNewest, QueueRecords: 100_000,
		Batch: batch.Config{MaxRecords: 10, MaxWait: time.Millisecond},
	})
	for _, r := range recs {
		if err := p.Publish(r); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := p.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v, want a deadline error", err)
	}
	c.finish(recs)
	checkSums(t, p.Stats())
	if n := c.reasons[ReasonClosed]; n == 0 {
		t.Errorf("no batch dead-lettered as closed: %v", c.reasons)
	}
}

// TestRecycleOverHTTP: recycling with the HTTP dispatcher against a real
// server on 127.0.0.1 that checks each body against its signature, delivery
// id and record count, and answers 500 to some first attempts and 400 to
// some batches.
func TestRecycleOverHTTP(t *testing.T) {
	var srv countingServer
	var seenMu sync.Mutex
	seen := map[string]bool{}
	ts := httptest.NewServer(verifyingHandler(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		srv.request()
		id := r.Header.Get(DeliveryHeader)
		if want := strconv.FormatUint(xxhash.Sum64(body), 16); id != want {
			t.Errorf("server: delivery id %s, body hashes to %s", id, want)
		}
		keys := cosKeys(t, body)
		if n := r.Header.Get(RecordsHeader); n != strconv.Itoa(len(keys)) {
			t.Errorf("server: %s says %s records, body has %d", RecordsHeader, n, len(keys))
		}
		h, _ := strconv.ParseUint(id, 16, 64)
		seenMu.Lock()
		again := seen[id]
		seen[id] = true
		seenMu.Unlock()
		switch {
		case h%9 == 0:
			http.Error(w, "no", http.StatusBadRequest)
		case h%4 == 0 && !again:
			http.Error(w, "later", http.StatusInternalServerError)
		default:
			srv.ack(keys)
		}
	}))
	defer ts.Close()
	h := newHTTP(t, HTTPConfig{DefaultURL: ts.URL, MaxInFlight: 2})
	c := newRecycleChecker(t)
	c.noOutcome = true
	recs := recycleRecords(3000)
	p := mustPipeline(t, Config{
		Dispatcher: h, DeadLetter: c, RecycleBatches: true,
		Workers: 4, Concurrency: 2, Policy: Block, QueueRecords: 200,
		Batch:      batch.Config{MaxRecords: 10, MaxWait: time.Millisecond},
		MaxRetries: 2, RetryBase: 20 * time.Microsecond, RetryMax: 200 * time.Microsecond,
	})
	for _, r := range recs {
		if err := p.Publish(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := p.Stats()
	checkSums(t, s)
	srv.mu.Lock()
	defer srv.mu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range recs {
		if n := srv.acked[r.Key] + c.settled[r.Sequencer]; n != 1 {
			t.Errorf("record %s acknowledged %d and dead-lettered %d times, want once in all",
				r.Key, srv.acked[r.Key], c.settled[r.Sequencer])
		}
	}
	if s.Retried == 0 || s.DeadLettered == 0 {
		t.Errorf("want retries and dead letters, got %v", s)
	}
}

// lateReader is a RoundTripper that answers 200 at once and reads the
// request body only after the test says Dispatch returned, as a
// RoundTripper may.
type lateReader struct {
	returned chan struct{}
	got      chan error
}

func (l *lateReader) RoundTrip(r *http.Request) (*http.Response, error) {
	go func() {
		<-l.returned
		n, err := io.Copy(io.Discard, r.Body)
		r.Body.Close()
		if err == nil {
			err = fmt.Errorf("read %d bytes of the body after Dispatch returned", n)
		} else if n != 0 {
			err = fmt.Errorf("read %d bytes of the body after Dispatch returned, then %w", n, err)
		} else if !errors.Is(err, errPayloadReleased) {
			err = fmt.Errorf("unexpected error %w", err)
		} else {
			err = nil
		}
		l.got <- err
	}()
	return &http.Response{StatusCode: 200, Body: http.NoBody, Header: http.Header{}, Request: r}, nil
}

func TestHTTPBodyNotReadAfterDispatch(t *testing.T) {
	rt := &lateReader{returned: make(chan struct{}), got: make(chan error, 1)}
	h := newHTTP(t, HTTPConfig{DefaultURL: "http://127.0.0.1:1/", Transport: rt})
	b := testBatch("fn", 10)
	if err := h.Dispatch(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	close(rt.returned)
	for i := range b.Payload { // the Pipeline may now recycle it: -race sees a late read
		b.Payload[i] = 'x'
	}
	if err := <-rt.got; err != nil {
		t.Fatal(err)
	}
	var _ Releaser = h
	var _ Releaser = NewJSONLines(io.Discard)
}

// TestNoRecycleWithoutOptIn: without RecycleBatches a dispatcher may keep
// every batch, and no payload memory is ever reused.
func TestNoRecycleWithoutOptIn(t *testing.T) {
	var mu sync.Mutex
	var kept []keptBatch
	arrays := map[*byte]bool{}
	dl := &deadLetters{}
	recs := recycleRecords(3000)
	p := mustPipeline(t, Config{
		Dispatcher: Func(func(_ context.Context, b batch.Batch) error {
			if s := int(b.Records[0].Size); s%11 == 0 {
				return Permanent(errors.New("refused"))
			}
			mu.Lock()
			defer mu.Unlock()
			kept = append(kept, keptBatch{b, string(b.Payload), b.Records[0].Sequencer})
			if arrays[&b.Payload[0]] {
				t.Errorf("batch %s reuses the memory of an earlier payload", b.Records[0].Sequencer)
			}
			arrays[&b.Payload[0]] = true
			return nil
		}),
		DeadLetter: dl,
		Workers:    4, Concurrency: 2, Policy: Block, QueueRecords: 200,
		Batch: batch.Config{MaxRecords: 10, MaxWait: time.Millisecond},
	})
	for _, r := range recs {
		if err := p.Publish(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkSums(t, p.Stats())
	for _, d := range dl.all() {
		kept = append(kept, keptBatch{d.Batch, string(d.Batch.Format.Append(nil, d.Batch.Records)), d.Batch.Records[0].Sequencer})
	}
	n := 0
	for _, k := range kept {
		if string(k.b.Payload) != k.payload || string(k.b.Format.Append(nil, k.b.Records)) != k.payload {
			t.Errorf("kept batch %s changed after its dispatch", k.id)
		}
		n += len(k.b.Records)
	}
	if n != len(recs) {
		t.Errorf("kept %d records, want %d", n, len(recs))
	}
}

// keeper is a dispatcher that says it keeps batches.
type keeper struct{ Func }

func (keeper) ReleasesBatches() bool { return false }

func TestRecycleConfig(t *testing.T) {
	ok := Func(func(context.Context, batch.Batch) error { return nil })
	bad := keeper{ok}
	for _, tc := range []struct {
		name     string
		cfg      Config
		refused  bool
		inReason string
	}{
		{"keeping dispatcher", Config{Dispatcher: bad, DeadLetter: &deadLetters{}, RecycleBatches: true}, true, "Dispatcher"},
		{"keeping dead letter", Config{Dispatcher: ok, DeadLetter: bad, RecycleBatches: true}, true, "DeadLetter"},
		{"keeping, recycling off", Config{Dispatcher: bad, DeadLetter: bad}, false, ""},
		{"func vouched for", Config{Dispatcher: ok, DeadLetter: &deadLetters{}, RecycleBatches: true}, false, ""},
	} {
		p, err := NewPipeline(tc.cfg)
		if !tc.refused {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			} else {
				p.Close(context.Background())
			}
			continue
		}
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != "RecycleBatches" || !errors.Is(err, ErrInvalidConfig) ||
			!strings.Contains(ce.Reason, tc.inReason) {
			t.Errorf("%s: NewPipeline = %v, want a *ConfigError for RecycleBatches naming the %s", tc.name, err, tc.inReason)
		}
	}
}
