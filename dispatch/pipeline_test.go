// Tests of the Pipeline with in-process dispatchers: configuration, exact
// accounting of every record, per-key order across failures, the three queue
// policies, Close draining and its deadline, retries, dead letters and the
// allocation guard of Publish.

package dispatch

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/notifymux/notifymux/batch"
	"github.com/notifymux/notifymux/match"
)

// rec returns a record whose Sequencer is "<key>#<seq>", its identity.
func rec(target, key string, seq int) batch.Record {
	return batch.Record{
		Bucket: "bucket-1250000000", AppID: "1250000000", Region: "ap-guangzhou",
		Key: key, Size: int64(seq), Event: match.ObjectCreatedPut,
		Time: time.Unix(1700000000, 0), Sequencer: key + "#" + strconv.Itoa(seq),
		RuleID: "rule-" + target, Target: target,
	}
}

// ledger counts record identities seen by a sink.
type ledger struct {
	mu   sync.Mutex
	seen map[string]int
}

func (l *ledger) add(b batch.Batch) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil {
		l.seen = map[string]int{}
	}
	for _, r := range b.Records {
		l.seen[r.Sequencer]++
	}
}

func (l *ledger) count(id string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seen[id]
}

func (l *ledger) total() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, c := range l.seen {
		n += c
	}
	return n
}

// deadLetters is a DeadLetterDispatcher that keeps what it gets.
type deadLetters struct {
	mu  sync.Mutex
	got []DeadLetter
	ledger
}

func (d *deadLetters) Dispatch(ctx context.Context, b batch.Batch) error {
	return d.DispatchDeadLetter(ctx, DeadLetter{Batch: b})
}

func (d *deadLetters) DispatchDeadLetter(_ context.Context, dl DeadLetter) error {
	d.mu.Lock()
	d.got = append(d.got, dl)
	d.mu.Unlock()
	d.add(dl.Batch)
	return nil
}

func (d *deadLetters) all() []DeadLetter {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]DeadLetter(nil), d.got...)
}

// checkSums fails t unless the statistics add up with nothing queued.
func checkSums(t *testing.T, s Stats) {
	t.Helper()
	if s.Published != s.Matched+s.Unmatched {
		t.Errorf("Published %d != Matched %d + Unmatched %d", s.Published, s.Matched, s.Unmatched)
	}
	sum := s.Delivered + s.DeadLettered + s.DeadLetterFailed + s.Dropped + s.Rejected + uint64(s.Queued)
	if s.Matched != sum {
		t.Errorf("Matched %d != Delivered %d + DeadLettered %d + DeadLetterFailed %d + Dropped %d + Rejected %d + Queued %d = %d",
			s.Matched, s.Delivered, s.DeadLettered, s.DeadLetterFailed, s.Dropped, s.Rejected, s.Queued, sum)
	}
	if s.Queued != 0 {
		t.Errorf("Queued = %d after Close, want 0", s.Queued)
	}
	for _, ts := range s.Targets {
		if ts.Queued != 0 {
			t.Errorf("target %q: Queued = %d after Close, want 0", ts.Target, ts.Queued)
		}
	}
}

func mustPipeline(t *testing.T, cfg Config) *Pipeline {
	t.Helper()
	p, err := NewPipeline(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigErrors(t *testing.T) {
	sink := Func(func(context.Context, batch.Batch) error { return nil })
	dl := NewJSONLines(io.Discard)
	for _, tc := range []struct {
		cfg   Config
		field string
	}{
		{Config{}, "Dispatcher"},
		{Config{Dispatcher: sink, DeadLetter: dl, Workers: -1}, "Workers"},
		{Config{Dispatcher: sink, DeadLetter: dl, Concurrency: -2}, "Concurrency"},
		{Config{Dispatcher: sink, DeadLetter: dl, QueueRecords: -1}, "QueueRecords"},
		{Config{Dispatcher: sink, DeadLetter: dl, Policy: 7}, "Policy"},
		{Config{Dispatcher: sink, DeadLetter: dl, MaxRetries: -2}, "MaxRetries"},
		{Config{Dispatcher: sink, DeadLetter: dl, RetryBase: -time.Second}, "RetryBase"},
		{Config{Dispatcher: sink, DeadLetter: dl, RetryBase: time.Minute, RetryMax: time.Second}, "RetryMax"},
		{Config{Dispatcher: sink, DeadLetter: dl, MaxEventAge: -time.Second}, "MaxEventAge"},
		{Config{Dispatcher: sink, DeadLetter: dl, AttemptTimeout: -time.Second}, "AttemptTimeout"},
		{Config{Dispatcher: sink, DeadLetterPath: filepath.Join(t.TempDir(), "missing", "dl.jsonl")}, "DeadLetterPath"},
		{Config{Dispatcher: sink}, "DeadLetter"},
	} {
		_, err := NewPipeline(tc.cfg)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != tc.field || !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("NewPipeline(%+v) = %v, want a *ConfigError for %s", tc.cfg, err, tc.field)
		}
	}
	_, err := NewPipeline(Config{Dispatcher: sink, DeadLetter: dl, Batch: batch.Config{MaxBytes: -1}})
	if !errors.Is(err, batch.ErrInvalidConfig) || !strings.Contains(err.Error(), "Config.Batch") || !strings.Contains(err.Error(), "MaxBytes") {
		t.Errorf("bad Batch.MaxBytes: got %v, want an error naming Config.Batch and MaxBytes", err)
	}
	if p, err := ParseQueuePolicy("reject"); err != nil || p != Reject || p.String() != "reject" {
		t.Errorf(`ParseQueuePolicy("reject") = %v, %v`, p, err)
	}
	if _, err := ParseQueuePolicy("lossy"); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf(`ParseQueuePolicy("lossy") = %v, want ErrInvalidConfig`, err)
	}
}

func TestStatsNil(t *testing.T) {
	var p *Pipeline
	if s := p.Stats(); s.Published != 0 || s.Targets != nil {
		t.Errorf("nil Pipeline Stats = %+v, want zero", s)
	}
}

// TestDeliversEveryRecordOnce publishes from several goroutines to several
// targets and checks that each record arrives exactly once when nothing fails.
func TestDeliversEveryRecordOnce(t *testing.T) {
	var got ledger
	var batches atomic.Int64
	p := mustPipeline(t, Config{
		Dispatcher: Func(func(_ context.Context, b batch.Batch) error {
			if len(b.Payload) == 0 || !json.Valid(b.Payload) {
				return Permanent(fmt.Errorf("bad payload %q", b.Payload))
			}
			batches.Add(1)
			got.add(b)
			return nil
		}),
		DeadLetter: &deadLetters{},
		Workers:    3,
		Batch:      batch.Config{MaxRecords: 7},
	})
	const publishers, each = 4, 2000
	var wg sync.WaitGroup
	for g := range publishers {
		wg.Go(func() {
			for i := range each {
				target := fmt.Sprintf("fn-%d", i%5)
				if i%10 == 9 {
					target = "" // unmatched
				}
				if err := p.Publish(rec(target, fmt.Sprintf("k%d-%d", g, i), i)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := p.Stats()
	checkSums(t, s)
	const matched = publishers * each * 9 / 10
	if s.Published != publishers*each || s.Matched != matched || s.Delivered != matched || s.Unmatched != publishers*each/10 {
		t.Errorf("stats %v, want %d published, %d matched and delivered", s, publishers*each, matched)
	}
	if s.Batches != uint64(batches.Load()) || len(s.Targets) != 5 {
		t.Errorf("stats %+v: want %d batches over 5 targets", s, batches.Load())
	}
	for g := range publishers {
		for i := range each {
			want := 1
			if i%10 == 9 {
				want = 0
			}
			if n := got.count(fmt.Sprintf("k%d-%d#%d", g, i, i)); n != want {
				t.Fatalf("record k%d-%d delivered %d times, want %d", g, i, n, want)
			}
		}
	}
	if err := p.Publish(rec("fn-0", "late", 0)); !errors.Is(err, ErrClosed) {
		t.Errorf("Publish after Close = %v, want ErrClosed", err)
	}
	if err := p.Publish(rec("fn-new", "late", 0)); !errors.Is(err, ErrClosed) {
		t.Errorf("Publish after Close to a new target = %v, want ErrClosed", err)
	}
	if s := p.Stats(); s.Rejected != 2 {
		t.Errorf("Rejected = %d after two late publishes, want 2", s.Rejected)
	}
	checkSums(t, p.Stats())
}

// TestPerKeyOrder checks that the records of each key are delivered in
// publish order although a third of all attempts fail and are retried.
func TestPerKeyOrder(t *testing.T) {
	clock := newFakeClock()
	runClock(t, clock, time.Second, 50*time.Microsecond)
	var mu sync.Mutex
	last := map[string]int{}
	var failures atomic.Int64
	p := mustPipeline(t, Config{
		Dispatcher: Func(func(_ context.Context, b batch.Batch) error {
			if rand.IntN(3) == 0 {
				failures.Add(1)
				return errors.New("flaky")
			}
			mu.Lock()
			defer mu.Unlock()
			for _, r := range b.Records {
				key, seqText, _ := strings.Cut(r.Sequencer, "#")
				seq, _ := strconv.Atoi(seqText)
				if prev, ok := last[key]; ok && seq <= prev {
					t.Errorf("key %s: record %d delivered after %d", key, seq, prev)
				}
				last[key] = seq
			}
			return nil
		}),
		DeadLetter:  &deadLetters{},
		Workers:     4,
		Concurrency: 3,
		MaxRetries:  50,
		RetryBase:   time.Second,
		RetryMax:    4 * time.Second,
		Clock:       clock,
		Batch:       batch.Config{MaxRecords: 5},
	})
	const keys, perKey = 40, 60
	for i := range perKey {
		for k := range keys {
			if err := p.Publish(rec(fmt.Sprintf("fn-%d", k%3), fmt.Sprintf("key-%d", k), i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := p.Stats()
	checkSums(t, s)
	if s.Delivered != keys*perKey || failures.Load() == 0 || s.Retried == 0 {
		t.Errorf("stats %v with %d failures: want all %d delivered after retries", s, failures.Load(), keys*perKey)
	}
	for k := range keys {
		if last[fmt.Sprintf("key-%d", k)] != perKey-1 {
			t.Errorf("key-%d: last delivered record %d, want %d", k, last[fmt.Sprintf("key-%d", k)], perKey-1)
		}
	}
}

// stalled is a Dispatcher for target "slow" that holds every call until
// released (or its context ends), and accepts other targets at once.
type stalled struct {
	release chan struct{}
	entered chan struct{}
	got     ledger
}

func newStalled() *stalled {
	return &stalled{release: make(chan struct{}), entered: make(chan struct{}, 1000)}
}

func (s *stalled) Dispatch(ctx context.Context, b batch.Batch) error {
	if b.Target == "slow" {
		s.entered <- struct{}{}
		select {
		case <-s.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.got.add(b)
	return nil
}

func TestQueuePolicies(t *testing.T) {
	const limit = 6
	for _, policy := range []QueuePolicy{DropNewest, Reject, Block} {
		t.Run(policy.String(), func(t *testing.T) {
			sink := newStalled()
			p := mustPipeline(t, Config{
				Dispatcher: sink, DeadLetter: &deadLetters{},
				QueueRecords: limit, Policy: policy, Workers: 2,
				Batch: batch.Config{MaxRecords: 2, MaxWait: time.Millisecond},
			})
			for i := range limit {
				if err := p.Publish(rec("slow", "k", i)); err != nil {
					t.Fatalf("Publish %d within the limit: %v", i, err)
				}
			}
			<-sink.entered // the target is now stalled with a batch in flight
			// Other targets are not affected by the full queue of "slow".
			for i := range 50 {
				if err := p.Publish(rec("fast", fmt.Sprintf("f%d", i), i)); err != nil {
					t.Fatalf("Publish to another target: %v", err)
				}
				if i%limit == limit-1 {
					waitFor(t, func() bool { return p.Stats().Delivered == uint64(i+1) })
				}
			}
			waitFor(t, func() bool { return p.Stats().Delivered == 50 })
			if s := p.Stats(); s.Targets[1].Target != "slow" || s.Targets[1].Queued != limit {
				t.Errorf("queue depth of slow = %+v, want %d", s.Targets, limit)
			}
			over := make(chan error, 1)
			go func() { over <- p.Publish(rec("slow", "k", limit)) }()
			switch policy {
			case DropNewest:
				if err := <-over; err != nil {
					t.Errorf("Publish over the limit = %v, want nil (dropped)", err)
				}
			case Reject:
				err := <-over
				var qf *QueueFullError
				if !errors.As(err, &qf) || !errors.Is(err, ErrQueueFull) || qf.Target != "slow" || qf.Limit != limit ||
					!strings.Contains(err.Error(), `"slow"`) {
					t.Errorf("Publish over the limit = %v, want a QueueFullError naming slow", err)
				}
			case Block:
				select {
				case err := <-over:
					t.Fatalf("Publish over the limit returned %v while the queue is full, want it to block", err)
				case <-time.After(50 * time.Millisecond):
				}
			}
			close(sink.release)
			if policy == Block {
				if err := <-over; err != nil {
					t.Errorf("blocked Publish = %v after the queue drained, want nil", err)
				}
			}
			if err := p.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			s := p.Stats()
			checkSums(t, s)
			wantDelivered, wantDropped, wantRejected := uint64(limit+50), uint64(0), uint64(0)
			switch policy {
			case DropNewest:
				wantDropped = 1
			case Reject:
				wantRejected = 1
			case Block:
				wantDelivered++
			}
			if s.Delivered != wantDelivered || s.Dropped != wantDropped || s.Rejected != wantRejected {
				t.Errorf("stats %v, want delivered %d, dropped %d, rejected %d", s, wantDelivered, wantDropped, wantRejected)
			}
			if n := sink.got.count(fmt.Sprintf("k#%d", limit)); (n == 1) != (policy == Block) {
				t.Errorf("the record over the limit was delivered %d times under %s", n, policy)
			}
		})
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 30 s")
		}
	}
}

// TestBlockedPublishEndsOnClose checks that Close frees a publisher blocked
// on a full queue with ErrClosed.
func TestBlockedPublishEndsOnClose(t *testing.T) {
	sink := newStalled()
	p := mustPipeline(t, Config{Dispatcher: sink, DeadLetter: &deadLetters{}, QueueRecords: 1, Policy: Block,
		Batch: batch.Config{MaxRecords: 1}})
	if err := p.Publish(rec("slow", "k", 0)); err != nil {
		t.Fatal(err)
	}
	<-sink.entered
	blocked := make(chan error, 1)
	go func() { blocked <- p.Publish(rec("slow", "k", 1)) }()
	time.Sleep(10 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	closed := make(chan error, 1)
	go func() { closed <- p.Close(ctx) }()
	if err := <-blocked; !errors.Is(err, ErrClosed) {
		t.Errorf("blocked Publish = %v after Close, want ErrClosed", err)
	}
	if err := <-closed; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want DeadlineExceeded (the target is stalled)", err)
	}
	s := p.Stats()
	checkSums(t, s)
	if s.Rejected != 1 || s.DeadLettered != 1 {
		t.Errorf("stats %v, want 1 rejected and 1 dead-lettered", s)
	}
}

// TestCloseFlushesOpenBatches uses a clock that never moves, so batches can
// only leave through Close.
func TestCloseFlushesOpenBatches(t *testing.T) {
	var got ledger
	p := mustPipeline(t, Config{
		Dispatcher: Func(func(_ context.Context, b batch.Batch) error { got.add(b); return nil }),
		DeadLetter: &deadLetters{}, Clock: newFakeClock(), Workers: 1,
		Batch: batch.Config{MaxRecords: 1000, MaxWait: time.Hour},
	})
	for i := range 25 {
		if err := p.Publish(rec(fmt.Sprintf("fn-%d", i%3), fmt.Sprintf("k%d", i), i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got.total() != 25 {
		t.Errorf("delivered %d records after Close, want 25", got.total())
	}
	s := p.Stats()
	checkSums(t, s)
	if s.Batches != 3 {
		t.Errorf("%d batches, want 3 (one open batch per target, flushed by Close)", s.Batches)
	}
}

// TestCloseDeadline checks that when Close's context ends, attempts in flight
// are abandoned and every remaining record is dead-lettered, not lost.
func TestCloseDeadline(t *testing.T) {
	sink := newStalled()
	dl := &deadLetters{}
	p := mustPipeline(t, Config{Dispatcher: sink, DeadLetter: dl, Workers: 2, Concurrency: 2,
		Batch: batch.Config{MaxRecords: 3}})
	for i := range 40 {
		if err := p.Publish(rec("slow", fmt.Sprintf("k%d", i), i)); err != nil {
			t.Fatal(err)
		}
	}
	<-sink.entered
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	err := p.Close(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v, want DeadlineExceeded", err)
	}
	s := p.Stats()
	checkSums(t, s)
	if s.DeadLettered != 40 || dl.total() != 40 {
		t.Errorf("stats %v, dead-letter sink holds %d: want all 40 dead-lettered", s, dl.total())
	}
	for _, d := range dl.all() {
		if d.Reason != ReasonClosed || d.Err == nil {
			t.Errorf("dead letter reason %q, err %v: want %q with an error", d.Reason, d.Err, ReasonClosed)
		}
	}
	if err2 := p.Close(context.Background()); err2 != err {
		t.Errorf("second Close = %v, want the first result %v", err2, err)
	}
}

func TestRetriesAndDeadLetterReasons(t *testing.T) {
	clock := newFakeClock()
	runClock(t, clock, time.Second, 50*time.Microsecond)
	var attempts sync.Map // target → *atomic.Int64
	dl := &deadLetters{}
	p := mustPipeline(t, Config{
		Dispatcher: Func(func(_ context.Context, b batch.Batch) error {
			n, _ := attempts.LoadOrStore(b.Target, new(atomic.Int64))
			n.(*atomic.Int64).Add(1)
			switch b.Target {
			case "down":
				return errors.New("connection refused")
			case "gone":
				return Permanent(errors.New("410 Gone"))
			case "panics":
				panic("bug in a dispatcher")
			case "throttled":
				return RetryAfter(errors.New("429"), 2*time.Hour)
			case "recovers":
				if n.(*atomic.Int64).Load() < 3 {
					return errors.New("503")
				}
			}
			return nil
		}),
		DeadLetter:  dl,
		Clock:       clock,
		RetryBase:   time.Second,
		RetryMax:    time.Minute,
		MaxEventAge: time.Hour,
		Batch:       batch.Config{MaxRecords: 1},
	})
	for _, target := range []string{"down", "gone", "throttled", "recovers", "panics"} {
		if err := p.Publish(rec(target, "k", 0)); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := p.Stats()
	checkSums(t, s)
	want := map[string]struct {
		reason   DeadLetterReason
		attempts int
	}{
		"down":      {ReasonRetries, 3}, // 1 + MaxRetries (default 2)
		"gone":      {ReasonPermanent, 1},
		"throttled": {ReasonMaxAge, 1}, // Retry-After 2h > MaxEventAge 1h
		"panics":    {ReasonPermanent, 1},
	}
	for _, d := range dl.all() {
		w, ok := want[d.Batch.Target]
		if !ok {
			t.Errorf("unexpected dead letter for %s: %v", d.Batch.Target, d.Err)
			continue
		}
		delete(want, d.Batch.Target)
		if d.Reason != w.reason || d.Attempts != w.attempts || d.Err == nil ||
			d.FirstAttempt.IsZero() || d.LastAttempt.Before(d.FirstAttempt) || d.Time.Before(d.LastAttempt) {
			t.Errorf("%s: dead letter %+v, want reason %s after %d attempts with ordered timestamps", d.Batch.Target, d, w.reason, w.attempts)
		}
	}
	for target := range want {
		t.Errorf("%s: no dead letter", target)
	}
	if s.Delivered != 1 || s.DeadLettered != 4 || s.Retried != 2+2 {
		t.Errorf("stats %v, want 1 delivered (recovers), 4 dead-lettered, 4 retried", s)
	}
}

// TestDeadLetterFailure checks that a failing dead-letter dispatcher is
// counted and reported through the hook, and that nothing is held.
func TestDeadLetterFailure(t *testing.T) {
	var hooked atomic.Int64
	p := mustPipeline(t, Config{
		Dispatcher: Func(func(context.Context, batch.Batch) error { return Permanent(errors.New("400")) }),
		DeadLetter: Func(func(context.Context, batch.Batch) error { return errors.New("disk full") }),
		OnDeadLetterError: func(d DeadLetter, err error) {
			if err.Error() == "disk full" && d.Reason == ReasonPermanent {
				hooked.Add(int64(len(d.Batch.Records)))
			}
		},
		Batch: batch.Config{MaxRecords: 4},
	})
	for i := range 10 {
		_ = p.Publish(rec("fn", fmt.Sprintf("k%d", i), i))
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := p.Stats()
	checkSums(t, s)
	if s.DeadLetterFailed != 10 || hooked.Load() != 10 {
		t.Errorf("stats %v, hook saw %d records: want 10 dead-letter failures reported", s, hooked.Load())
	}
}

// TestInvalidRecordsAreDeadLettered checks that a record the Batcher refuses
// is dead-lettered with its keys rather than dropped.
func TestInvalidRecordsAreDeadLettered(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dead.jsonl")
	var got ledger
	p := mustPipeline(t, Config{
		Dispatcher:     Func(func(_ context.Context, b batch.Batch) error { got.add(b); return nil }),
		DeadLetterPath: path,
		Batch:          batch.Config{MaxBytes: 4096},
	})
	huge := rec("fn", strings.Repeat("k", 5000), 1)
	bad := rec("fn", "bad-event", 2)
	bad.Event = 0
	for _, r := range []batch.Record{huge, bad, rec("fn", "fine", 3)} {
		if err := p.Publish(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := p.Stats()
	checkSums(t, s)
	if s.Delivered != 1 || s.DeadLettered != 2 || got.count("fine#3") != 1 {
		t.Errorf("stats %v, want 1 delivered and 2 dead-lettered", s)
	}
	lines := readDeadLetterFile(t, path)
	if len(lines) != 2 {
		t.Fatalf("dead-letter file has %d lines, want 2", len(lines))
	}
	for _, l := range lines {
		if l.Reason != "invalid" || l.Error == "" || l.Payload != nil || len(l.Keys) != 1 || l.Records != 1 || l.Target != "fn" {
			t.Errorf("dead-letter line %+v, want reason invalid, an error, no payload and one key", l)
		}
	}
	if !strings.Contains(lines[0].Error+lines[1].Error, "MaxBytes") {
		t.Errorf("errors %q, %q: want one naming MaxBytes", lines[0].Error, lines[1].Error)
	}
}

// deadLetterLine is a dead-letter file line, with field names from the doc.
type deadLetterLine struct {
	Target       string          `json:"target"`
	Reason       string          `json:"reason"`
	Error        string          `json:"error"`
	Attempts     int             `json:"attempts"`
	FirstAttempt *time.Time      `json:"firstAttempt"`
	LastAttempt  *time.Time      `json:"lastAttempt"`
	DeadLettered *time.Time      `json:"deadLettered"`
	Format       string          `json:"format"`
	ContentType  string          `json:"contentType"`
	Records      int             `json:"records"`
	Opened       *time.Time      `json:"opened"`
	Payload      json.RawMessage `json:"payload"`
	Keys         []struct {
		Bucket, Key, Event, Sequencer string
	} `json:"keys"`
}

func readDeadLetterFile(t *testing.T, path string) []deadLetterLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []deadLetterLine
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var l deadLetterLine
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("dead-letter line %q: %v", sc.Text(), err)
		}
		if string(l.Payload) == "null" {
			l.Payload = nil
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPublishAllocs guards the hot path: Publish, routing and batching
// allocate less than once per record in the steady state (AllocsPerRun
// counts every goroutine, so the workers' per-batch buffers are included,
// amortised over 1000-record batches).
func TestPublishAllocs(t *testing.T) {
	p := mustPipeline(t, Config{
		Dispatcher: Func(func(context.Context, batch.Batch) error { return nil }),
		DeadLetter: &deadLetters{}, QueueRecords: 1 << 20, Workers: 2,
		Batch: batch.Config{MaxRecords: 1000, MaxBytes: 4 << 20, MaxWait: time.Hour},
	})
	defer p.Close(context.Background())
	r := rec("fn", "photos/2024/cat.jpg", 1)
	for range 5000 {
		_ = p.Publish(r)
	}
	if n := testing.AllocsPerRun(20000, func() { _ = p.Publish(r) }); n != 0 {
		t.Errorf("Publish: %v allocations per record, want 0 (amortised)", n)
	}
}

// TestBackoff checks the full-jitter bounds: below min(ceiling,
// base·2^(n-1)), spread over that range, and safe for any n.
func TestBackoff(t *testing.T) {
	base, ceiling := time.Second, 30*time.Second
	for n, limit := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 4: 8 * time.Second, 6: 30 * time.Second, 200: 30 * time.Second} {
		var sum time.Duration
		const draws = 2000
		for range draws {
			d := backoff(base, ceiling, n)
			if d < 0 || d >= limit {
				t.Fatalf("backoff(n=%d) = %v, want in [0, %v)", n, d, limit)
			}
			sum += d
		}
		if mean := sum / draws; mean < limit*4/10 || mean > limit*6/10 {
			t.Errorf("backoff(n=%d): mean %v, want about %v (uniform)", n, mean, limit/2)
		}
	}
	if d := backoff(time.Duration(1<<62), time.Duration(1<<63-1), 3); d < 0 {
		t.Errorf("backoff with huge durations = %v", d)
	}
}
