package rulecache

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/notifymux/notifymux/match"
)

// put is the event set of the rules the tests generate.
var put = match.ObjectCreatedPut.Set()

// rulesOf returns n disjoint rules of bucket: prefix dir<i>/, suffix
// .<i mod 3> kinds, one target each.
func rulesOf(bucket string, n int) []match.Rule {
	rs := make([]match.Rule, n)
	for i := range rs {
		rs[i] = match.Rule{ID: fmt.Sprintf("r%d", i), Bucket: bucket, Events: put,
			Prefix: fmt.Sprintf("dir%d/", i), Suffix: []string{".jpg", ".png", ""}[i%3], Target: fmt.Sprintf("fn-%d", i%7)}
	}
	return rs
}

// store is an in-memory Loader that counts its calls; rulesPer(bucket)
// decides how many rules a bucket has (0: unconfigured).
type store struct {
	mu       sync.Mutex
	calls    map[string]int
	rulesPer func(bucket string) int
	gate     chan struct{} // if set, each call waits for a value (or its ctx)
	err      error
}

func newStore(rulesPer func(string) int) *store {
	return &store{calls: map[string]int{}, rulesPer: rulesPer}
}

func (s *store) LoadRules(ctx context.Context, bucket string) ([]match.Rule, error) {
	s.mu.Lock()
	s.calls[bucket]++
	gate, err := s.gate, s.err
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if err != nil {
		return nil, err
	}
	return rulesOf(bucket, s.rulesPer(bucket)), nil
}

func (s *store) callsOf(bucket string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[bucket]
}

func newCache(t testing.TB, cfg Config) *Cache {
	t.Helper()
	if cfg.Buckets == 0 {
		cfg.Buckets = 10_000
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestNewValidates(t *testing.T) {
	l := newStore(func(string) int { return 1 })
	for _, cfg := range []Config{
		{},
		{Loader: l, MaxBytes: -1},
		{Loader: l, Buckets: -1},
		{Loader: l, LoadTimeout: -time.Second},
	} {
		if _, err := New(cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("New(%+v): err = %v, want ErrInvalidConfig", cfg, err)
		}
	}
}

func TestLoadMissThenHit(t *testing.T) {
	l := newStore(func(string) int { return 5 })
	c := newCache(t, Config{Loader: l})
	ctx := context.Background()
	r, err := c.Load(ctx, "photos")
	if err != nil {
		t.Fatal(err)
	}
	if r.Bucket() != "photos" || r.Len() != 5 || r.Cost() != EstimateBytes("photos", rulesOf("photos", 5)) {
		t.Errorf("got bucket %q, %d rules, cost %d", r.Bucket(), r.Len(), r.Cost())
	}
	if got, ok := r.Match(match.ObjectCreatedPut, "dir1/a.png"); !ok || got.ID != "r1" {
		t.Errorf("Match(dir1/a.png) = %q, %v; want r1", got.ID, ok)
	}
	if _, ok := r.Match(match.ObjectCreatedPut, "dir1/a.jpg"); ok {
		t.Error("Match(dir1/a.jpg) matched a rule whose suffix is .png")
	}
	c.Wait()
	for range 10 {
		if _, err := c.Load(ctx, "photos"); err != nil {
			t.Fatal(err)
		}
	}
	if n := l.callsOf("photos"); n != 1 {
		t.Errorf("Loader called %d times, want 1", n)
	}
	if s := c.Stats(); s.Hits != 10 || s.Misses != 1 || s.Bytes != r.Cost() {
		t.Errorf("stats %+v: want 10 hits, 1 miss, %d bytes", s, r.Cost())
	}
}

func TestUnconfiguredBucketIsCached(t *testing.T) {
	l := newStore(func(string) int { return 0 })
	c := newCache(t, Config{Loader: l})
	for range 3 {
		r, err := c.Load(context.Background(), "empty")
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := r.Match(match.ObjectCreatedPut, "x"); ok || r.Len() != 0 {
			t.Errorf("a bucket without rules matched, or has %d rules", r.Len())
		}
		c.Wait()
	}
	if n := l.callsOf("empty"); n != 1 {
		t.Errorf("Loader called %d times for an unconfigured bucket, want 1", n)
	}
}

func TestConcurrentMissesShareOneLoad(t *testing.T) {
	l := newStore(func(string) int { return 3 })
	l.gate = make(chan struct{})
	c := newCache(t, Config{Loader: l})
	var wg sync.WaitGroup
	var failed atomic.Int32
	for range 50 {
		wg.Go(func() {
			if r, err := c.Load(context.Background(), "hot"); err != nil || r.Len() != 3 {
				failed.Add(1)
			}
		})
	}
	waitFor(t, "the first load to start", func() bool { return l.callsOf("hot") == 1 })
	time.Sleep(20 * time.Millisecond) // let the other Loads join it
	close(l.gate)
	wg.Wait()
	if failed.Load() != 0 {
		t.Errorf("%d Loads failed", failed.Load())
	}
	if n := l.callsOf("hot"); n != 1 {
		t.Errorf("Loader called %d times by 50 concurrent misses, want 1", n)
	}
}

func TestInvalidateReloads(t *testing.T) {
	n := atomic.Int32{}
	n.Store(2)
	l := newStore(func(string) int { return int(n.Load()) })
	c := newCache(t, Config{Loader: l})
	ctx := context.Background()
	if r, _ := c.Load(ctx, "b"); r.Len() != 2 {
		t.Fatalf("got %d rules, want 2", r.Len())
	}
	c.Wait()
	n.Store(4)
	c.Invalidate("b")
	r, err := c.Load(ctx, "b")
	if err != nil || r.Len() != 4 {
		t.Fatalf("after Invalidate: %d rules, err %v; want 4", r.Len(), err)
	}
	if calls := l.callsOf("b"); calls != 2 {
		t.Errorf("Loader called %d times, want 2", calls)
	}
}

// A configuration that changes while its old version is being loaded: the
// old load's result is not cached, and a Load after the Invalidate does not
// join the old load.
func TestInvalidateDuringLoad(t *testing.T) {
	var version atomic.Int32
	version.Store(1)
	l := newStore(func(string) int { return int(version.Load()) })
	l.gate = make(chan struct{}, 2)
	c := newCache(t, Config{Loader: l})
	ctx := context.Background()
	old := make(chan *Rules, 1)
	go func() { r, _ := c.Load(ctx, "b"); old <- r }()
	waitFor(t, "the first load to start", func() bool { return l.callsOf("b") == 1 })
	version.Store(3) // the stored configuration changes …
	c.Invalidate("b")
	l.gate <- struct{}{} // … and the first load finishes after the change was seen
	l.gate <- struct{}{}
	r, err := c.Load(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() != 3 {
		t.Errorf("Load after Invalidate got %d rules, want the new 3", r.Len())
	}
	<-old
	c.Wait()
	for range 5 {
		if r, _ := c.Load(ctx, "b"); r.Len() != 3 {
			t.Fatalf("cached rules have %d rules, want 3", r.Len())
		}
	}
}

func TestLoadErrors(t *testing.T) {
	boom := errors.New("kv unreachable")
	l := newStore(func(string) int { return 1 })
	l.err = boom
	c := newCache(t, Config{Loader: l})
	_, err := c.Load(context.Background(), "b")
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the Loader's error", err)
	}
	if want := `rulecache: load the rules of bucket "b": kv unreachable`; err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
	l.mu.Lock()
	l.err = nil
	l.mu.Unlock()
	if r, err := c.Load(context.Background(), "b"); err != nil || r.Len() != 1 {
		t.Errorf("after the Loader recovered: %v; an error must not be cached", err)
	}
	if s := c.Stats(); s.LoadErrors != 1 {
		t.Errorf("LoadErrors = %d, want 1", s.LoadErrors)
	}

	// Stored rules that overlap are refused by Compile, as by Index.Replace.
	bad := LoaderFunc(func(context.Context, string) ([]match.Rule, error) {
		return []match.Rule{
			{ID: "a", Bucket: "o", Events: put, Prefix: "x", Target: "f"},
			{ID: "b", Bucket: "o", Events: put, Prefix: "xy", Target: "g"},
		}, nil
	})
	c2 := newCache(t, Config{Loader: bad})
	var ce *match.ConflictError
	if _, err := c2.Load(context.Background(), "o"); !errors.As(err, &ce) {
		t.Errorf("overlapping rules: err = %v, want a *match.ConflictError", err)
	}
}

func TestLoadWaitsWithinBounds(t *testing.T) {
	l := newStore(func(string) int { return 1 })
	l.gate = make(chan struct{}) // a Loader that hangs
	c := newCache(t, Config{Loader: l, LoadTimeout: 200 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := c.Load(ctx, "b"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the caller's deadline", err)
	}
	// A caller without a deadline is freed by LoadTimeout.
	if _, err := c.Load(context.Background(), "b"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want LoadTimeout's deadline", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Loads took %v", d)
	}
}

// The cache holds at most MaxBytes of estimated cost, whatever is loaded.
func TestBoundedByBytes(t *testing.T) {
	l := newStore(func(b string) int { return 1 + len(b)%5 })
	const maxBytes = 64 << 10
	c := newCache(t, Config{Loader: l, MaxBytes: maxBytes, Buckets: 1000})
	ctx := context.Background()
	var total int64
	for i := range 2000 {
		r, err := c.Load(ctx, fmt.Sprintf("bucket-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		total += r.Cost()
		c.Wait()
		if b := c.Stats().Bytes; b > maxBytes {
			t.Fatalf("after %d buckets the cache holds %d bytes, over MaxBytes %d", i+1, b, maxBytes)
		}
	}
	if total < 10*maxBytes {
		t.Fatalf("the test loaded only %d bytes: not enough to fill the cache", total)
	}
	if b := c.Stats().Bytes; b < maxBytes/4 {
		t.Errorf("the cache holds only %d bytes of %d: it hardly caches", b, maxBytes)
	}
}

// Stats counts the buckets and rules the cache holds, through admissions,
// evictions, rejections and Invalidate, as a walk of the cache finds them.
func TestStatsCountWhatIsHeld(t *testing.T) {
	l := newStore(func(b string) int { return len(b) % 4 }) // 0 to 3 rules, 0: unconfigured
	c := newCache(t, Config{Loader: l, MaxBytes: 48 << 10, Buckets: 1000})
	ctx := context.Background()
	check := func(when string, names []string) {
		t.Helper()
		c.Wait()
		var want Stats
		for _, b := range names {
			r, ok := c.c.Get(b)
			switch {
			case !ok:
			case r.Len() == 0:
				want.Unconfigured++
			default:
				want.Buckets++
				want.Rules += int64(r.Len())
			}
		}
		got := c.Stats()
		if got.Buckets != want.Buckets || got.Rules != want.Rules || got.Unconfigured != want.Unconfigured {
			t.Errorf("%s: stats say %d buckets, %d rules, %d unconfigured; the cache holds %d, %d, %d",
				when, got.Buckets, got.Rules, got.Unconfigured, want.Buckets, want.Rules, want.Unconfigured)
		}
		if want.Buckets == 0 {
			t.Errorf("%s: the cache holds no bucket with rules: the test checks nothing", when)
		}
	}
	var names []string
	for i := range 8 {
		names = append(names, fmt.Sprintf("b%d", i)+"xyz"[:i%4])
	}
	for _, b := range names {
		if _, err := c.Load(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	check("8 buckets loaded", names)
	if s := c.Stats(); s.Buckets+s.Unconfigured != 8 {
		t.Errorf("8 small buckets loaded, the cache counts %d", s.Buckets+s.Unconfigured)
	}
	c.Invalidate(names[1])
	c.Invalidate(names[2])
	c.Invalidate("never-loaded")
	check("2 invalidated", names)

	// Far more than fits, from several goroutines: evictions and rejections.
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 300 {
				b := fmt.Sprintf("g%d-%d", g, i) + "xyz"[:i%4]
				if _, err := c.Load(ctx, b); err != nil {
					t.Error(err)
					return
				}
				if i%7 == 0 {
					c.Invalidate(b)
				}
			}
		})
	}
	wg.Wait()
	for g := range 4 {
		for i := range 300 {
			names = append(names, fmt.Sprintf("g%d-%d", g, i)+"xyz"[:i%4])
		}
	}
	check("1,200 more loaded by 4 goroutines", names)
	if s := c.Stats(); s.Buckets+s.Unconfigured >= 1208 {
		t.Errorf("the cache counts %d buckets: nothing was evicted, the test is too small", s.Buckets+s.Unconfigured)
	}
}

// The rules the cache returns match as the all-in-memory Index of every
// bucket does.
func TestMatchesLikeTheIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := match.New()
	const buckets = 300
	rulesPer := func(b string) int {
		var n int
		if _, err := fmt.Sscanf(b, "b%d", &n); err != nil || n >= buckets {
			return 0
		}
		return n % 6
	}
	for i := range buckets {
		b := fmt.Sprintf("b%d", i)
		if err := x.AddAll(rulesOf(b, rulesPer(b))); err != nil {
			t.Fatal(err)
		}
	}
	c := newCache(t, Config{Loader: newStore(rulesPer), MaxBytes: 32 << 10})
	events := []match.Event{match.ObjectCreatedPut, match.ObjectCreatedCopy}
	matched := 0
	for range 20_000 {
		b := fmt.Sprintf("b%d", rng.IntN(buckets+20)) // some never configured
		e := events[rng.IntN(len(events))]
		key := fmt.Sprintf("dir%d/f%s", rng.IntN(7), []string{".jpg", ".png", ".txt"}[rng.IntN(3)])
		r, err := c.Load(context.Background(), b)
		if err != nil {
			t.Fatal(err)
		}
		got, gok := r.Match(e, key)
		want, wok := x.Match(b, e, key)
		if gok != wok || got.ID != want.ID || got.Target != want.Target {
			t.Fatalf("%s %v %s: cache matched %q %v, index %q %v", b, e, key, got.ID, gok, want.ID, wok)
		}
		if gok {
			matched++
		}
	}
	if matched < 1000 {
		t.Errorf("only %d of 20000 lookups matched: the test compares too little", matched)
	}
}

// A hit and its Match allocate less than once per call: ristretto records
// each access in a per-stripe buffer and replaces a full buffer (one slice
// per BufferItems hits), which AllocsPerRun averages to zero.
func TestHitAllocatesNothing(t *testing.T) {
	c := newCache(t, Config{Loader: newStore(func(string) int { return 4 })})
	ctx := context.Background()
	if _, err := c.Load(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	c.Wait()
	n := testing.AllocsPerRun(1000, func() {
		r, err := c.Load(ctx, "b")
		if err != nil {
			panic(err)
		}
		r.Match(match.ObjectCreatedPut, "dir2/x")
	})
	if n != 0 {
		t.Errorf("a hit and its Match allocate %v times, want 0", n)
	}
}

// EstimateBytes is within a factor 1.5 of the heap the compiled rules take.
func TestEstimateBytes(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the heap")
	}
	for _, n := range []int{1, 4, 20} {
		const buckets = 2000
		keep := make([]*Rules, buckets)
		rules := make([][]match.Rule, buckets)
		var est int64
		for i := range rules {
			b := fmt.Sprintf("bucket-%06d", i)
			rules[i] = rulesOf(b, n)
			est += EstimateBytes(b, rules[i])
		}
		before := heapInUse()
		for i := range keep {
			r, err := Compile(fmt.Sprintf("bucket-%06d", i), rules[i])
			if err != nil {
				t.Fatal(err)
			}
			keep[i] = r
		}
		grown := heapInUse() - before
		runtime.KeepAlive(keep)
		runtime.KeepAlive(rules)
		ratio := float64(est) / float64(grown)
		t.Logf("%d rules a bucket: estimate %d B, heap grew %d B a bucket (ratio %.2f)", n, est/buckets, grown/buckets, ratio)
		if ratio < 1/1.5 || ratio > 1.5 {
			t.Errorf("%d rules a bucket: estimate %d B a bucket, measured %d B (ratio %.2f)", n, est/buckets, grown/buckets, ratio)
		}
	}
}

func heapInUse() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
