// Package rulecache keeps the compiled rules of hot buckets in memory,
// bounded by bytes, for a gateway whose configured buckets do not all fit:
// with millions of buckets, the rules of the ones receiving events are in a
// github.com/dgraph-io/ristretto/v2 cache and the rest are loaded on demand
// from a Loader (such as the JetStream key-value bucket of configurations).
//
// The load happens before matching: Load returns a bucket's Rules, loading
// and compiling them on a miss while the ingest request waits, and
// Rules.Match never waits and allocates nothing. Package match is not
// involved in caching: each bucket's rules are compiled into a match.Index
// of their own.
//
// A bucket's cost is the estimated heap size of its compiled rules
// (EstimateBytes), checked against the heap growth measured in this
// package's tests. A bucket with no rules is cached too, at a small cost, so
// that events for unconfigured buckets do not reach the Loader every time.
//
// When to turn it on: when the all-in-memory match.Index of every bucket does
// not fit the memory you give the gateway (about 2 KB per configured bucket
// plus 0.5 KB per rule). Otherwise keep the index: a hit costs a ristretto
// lookup on top of a Match on the bucket's own small index, and these small
// indexes, each a separate allocation, are further apart in memory than the
// one shared index, so with many hot buckets a hit is several times slower
// than Index.Match (BenchmarkMatch); a miss costs a Loader call and a
// compile (BenchmarkLoad).
//
// Trade-offs, as ristretto has them: Set is asynchronous and may be dropped
// by the admission policy, so a bucket loaded once may be loaded again; the
// rules Load returns are used at once either way. Invalidate (on a
// configuration change) makes the next Load reload the bucket; a load in
// flight while its bucket is invalidated is used by the Loads already
// waiting for it, but not cached, and later Loads start a new one.
package rulecache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/ristretto/v2"

	"github.com/notifymux/notifymux/dispatch"
	"github.com/notifymux/notifymux/match"
)

// Loader loads the rules of one bucket. A bucket without a configuration
// has no rules: nil and a nil error.
type Loader interface {
	LoadRules(ctx context.Context, bucket string) ([]match.Rule, error)
}

// LoaderFunc adapts a function to a Loader.
type LoaderFunc func(ctx context.Context, bucket string) ([]match.Rule, error)

// LoadRules calls f(ctx, bucket).
func (f LoaderFunc) LoadRules(ctx context.Context, bucket string) ([]match.Rule, error) {
	return f(ctx, bucket)
}

// Config configures a Cache.
type Config struct {
	// Loader loads a bucket's rules on a miss. Required.
	Loader Loader
	// MaxBytes bounds the estimated size of the cached rules. Default 256
	// MiB. Rule of thumb: the working set of buckets that receive events
	// within a few minutes, at about 2 KB per bucket plus 0.5 KB per rule.
	MaxBytes int64
	// Buckets is the number of distinct buckets you expect to see, which
	// sizes ristretto's admission counters (10 per bucket). Default 1e6.
	Buckets int64
	// LoadTimeout bounds one Loader call, whoever waits for it. Default
	// 10 s.
	LoadTimeout time.Duration
}

// ErrInvalidConfig is wrapped by the error New returns for a bad Config.
var ErrInvalidConfig = errors.New("invalid rule cache config")

// Cache is a bounded cache of compiled bucket rules. It is safe for
// concurrent use.
type Cache struct {
	cfg   Config
	c     *ristretto.Cache[string, *Rules]
	mu    sync.Mutex       // guards loads; orders a fill's Set against Invalidate's Del
	loads map[string]*load // loads in flight, one per bucket

	hits, misses, loadErrors atomic.Uint64
	// What the cache holds, counted when a Set is queued and uncounted
	// when ristretto lets the value go (OnExit: rejected, evicted,
	// replaced or deleted).
	buckets, empty, rules atomic.Int64
}

// load is one Loader call shared by the Loads of its bucket.
type load struct {
	done  chan struct{}
	rules *Rules
	err   error
	stale bool // its bucket was invalidated while it ran: not cached (guarded by Cache.mu)
}

// Rules are the compiled rules of one bucket.
type Rules struct {
	bucket string
	x      *match.Index // nil: no rules
	n      int
	cost   int64
}

// New validates cfg and returns an empty Cache.
func New(cfg Config) (*Cache, error) {
	if cfg.Loader == nil {
		return nil, fmt.Errorf("rulecache: Config.Loader is required: %w", ErrInvalidConfig)
	}
	if cfg.MaxBytes < 0 {
		return nil, fmt.Errorf("rulecache: Config.MaxBytes = %d must not be negative: %w", cfg.MaxBytes, ErrInvalidConfig)
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = 256 << 20
	}
	if cfg.Buckets < 0 {
		return nil, fmt.Errorf("rulecache: Config.Buckets = %d must not be negative: %w", cfg.Buckets, ErrInvalidConfig)
	}
	if cfg.Buckets == 0 {
		cfg.Buckets = 1_000_000
	}
	if cfg.LoadTimeout < 0 {
		return nil, fmt.Errorf("rulecache: Config.LoadTimeout = %v must not be negative: %w", cfg.LoadTimeout, ErrInvalidConfig)
	}
	if cfg.LoadTimeout == 0 {
		cfg.LoadTimeout = 10 * time.Second
	}
	rc := &Cache{cfg: cfg, loads: map[string]*load{}}
	c, err := ristretto.NewCache(&ristretto.Config[string, *Rules]{
		NumCounters:        10 * cfg.Buckets,
		MaxCost:            cfg.MaxBytes,
		BufferItems:        64,
		IgnoreInternalCost: true,
		OnExit:             func(r *Rules) { rc.count(r, -1) },
	})
	if err != nil {
		return nil, fmt.Errorf("rulecache: %w", err)
	}
	rc.c = c
	return rc, nil
}

// count adds sign × r to the counts of what the cache holds. ristretto
// calls OnExit with a nil value when Del finds nothing.
func (c *Cache) count(r *Rules, sign int64) {
	if r == nil {
		return
	}
	if r.n == 0 {
		c.empty.Add(sign)
		return
	}
	c.buckets.Add(sign)
	c.rules.Add(sign * int64(r.n))
}

// Load returns the rules of bucket: from the cache, or on a miss from the
// Loader (one call per bucket however many Loads wait for it), compiled
// and cached. It waits for the Loader, within ctx and Config.LoadTimeout.
// A hit does not allocate.
func (c *Cache) Load(ctx context.Context, bucket string) (*Rules, error) {
	if r, ok := c.c.Get(bucket); ok {
		c.hits.Add(1)
		return r, nil
	}
	c.misses.Add(1)
	c.mu.Lock()
	l := c.loads[bucket]
	if l == nil {
		l = &load{done: make(chan struct{})}
		c.loads[bucket] = l
		go c.fill(bucket, l)
	}
	c.mu.Unlock()
	select {
	case <-l.done:
		return l.rules, l.err
	case <-ctx.Done():
		return nil, fmt.Errorf("rulecache: waiting for the rules of bucket %q: %w", bucket, ctx.Err())
	}
}

// BucketRules is Load for a dispatch.Router (RouterConfig.Rules): the
// rules of bucket, loaded before the Router matches with them.
func (c *Cache) BucketRules(ctx context.Context, bucket string) (dispatch.BucketRules, error) {
	r, err := c.Load(ctx, bucket)
	if err != nil {
		return nil, err
	}
	return r, nil
}

var _ dispatch.RuleSource = (*Cache)(nil)

// fill runs the Loader for bucket and caches the result, unless the bucket
// was invalidated meanwhile. It does not use the context of the Load that
// started it, so a caller that gives up does not fail the others; the
// Loader call is bounded by LoadTimeout instead.
func (c *Cache) fill(bucket string, l *load) {
	defer close(l.done)
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.LoadTimeout)
	rules, err := c.cfg.Loader.LoadRules(ctx, bucket)
	cancel()
	if err == nil {
		l.rules, err = Compile(bucket, rules)
	} else {
		err = fmt.Errorf("rulecache: load the rules of bucket %q: %w", bucket, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loads[bucket] == l {
		delete(c.loads, bucket)
	}
	if err != nil {
		c.loadErrors.Add(1)
		l.err = err
		return
	}
	if !l.stale {
		// Under mu, so that an Invalidate either marks l stale before
		// this Set or queues its Del after it. Counted before the Set, so
		// that an OnExit of this value (a rejection) never comes first.
		c.count(l.rules, +1)
		if !c.c.Set(bucket, l.rules, l.rules.cost) {
			c.count(l.rules, -1) // dropped: ristretto's buffer was full
		}
	}
}

// Invalidate drops the cached rules of bucket, so that the next Load
// reloads them; a load of bucket in flight is used by the Loads already
// waiting for it, but not cached, and later Loads start a new one. Call it
// when the bucket's configuration changes.
func (c *Cache) Invalidate(bucket string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l := c.loads[bucket]; l != nil {
		l.stale = true
		delete(c.loads, bucket)
	}
	c.c.Del(bucket)
}

// Wait waits until every Set made so far is applied (for tests and
// benchmarks: ristretto applies them asynchronously).
func (c *Cache) Wait() { c.c.Wait() }

// Close stops the cache's goroutines. The Cache must not be used after.
func (c *Cache) Close() { c.c.Close() }

// Stats counts Loads and what the cache holds.
type Stats struct {
	Hits, Misses, LoadErrors uint64
	Bytes                    int64 // estimated size of the cached rules
	// Buckets counts the cached buckets with at least one rule, Rules their
	// rules, and Unconfigured the cached buckets without rules. A bucket
	// is counted from the moment its rules are handed to ristretto, which
	// admits or rejects them asynchronously: after Wait the counts are
	// those of the admitted buckets.
	Buckets, Rules, Unconfigured int64
}

// Stats returns the counts so far.
func (c *Cache) Stats() Stats {
	return Stats{Hits: c.hits.Load(), Misses: c.misses.Load(), LoadErrors: c.loadErrors.Load(),
		Bytes:   c.cfg.MaxBytes - c.c.RemainingCost(),
		Buckets: c.buckets.Load(), Rules: c.rules.Load(), Unconfigured: c.empty.Load()}
}

// Compile compiles the rules of one bucket. Every rule must name bucket;
// overlapping rules are refused as match.Index.Replace refuses them.
func Compile(bucket string, rules []match.Rule) (*Rules, error) {
	r := &Rules{bucket: bucket, n: len(rules), cost: EstimateBytes(bucket, rules)}
	if len(rules) == 0 {
		return r, nil
	}
	r.x = match.New()
	if err := r.x.Replace(bucket, rules); err != nil {
		return nil, fmt.Errorf("rulecache: compile the rules of bucket %q: %w", bucket, err)
	}
	return r, nil
}

// EstimateBytes estimates the heap size of the compiled rules of a bucket:
// a fixed size per bucket and per rule, fitted to the heap growth of
// compiled indexes (see TestEstimateBytes), plus the bytes of the strings.
// A rule costs more past the first 12 of a bucket, where match keeps a
// prefix table for the bucket instead of testing each rule in its block.
func EstimateBytes(bucket string, rules []match.Rule) int64 {
	const perEmpty, perBucket, perSmallRule, perLargeRule, small = 96, 880, 265, 540, 12
	n := int64(perEmpty + len(bucket))
	if len(rules) == 0 {
		return n
	}
	k := int64(len(rules))
	n += perBucket + perSmallRule*min(k, small) + perLargeRule*max(0, k-small)
	for _, r := range rules {
		n += int64(len(r.ID) + len(r.Prefix) + len(r.Suffix) + len(r.Target))
	}
	return n
}

// Bucket returns the bucket the rules belong to.
func (r *Rules) Bucket() string { return r.bucket }

// Len returns the number of rules.
func (r *Rules) Len() int { return r.n }

// Cost returns the estimated size charged to the cache.
func (r *Rules) Cost() int64 { return r.cost }

// Match returns the rule of the bucket that matches event e on key, as
// match.Index.Match does. It never waits and does not allocate.
func (r *Rules) Match(e match.Event, key string) (match.Rule, bool) {
	if r.x == nil {
		return match.Rule{}, false
	}
	return r.x.Match(r.bucket, e, key)
}
