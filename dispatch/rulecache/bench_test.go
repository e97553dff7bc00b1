// Benchmarks of the rule cache against the all-in-memory match.Index.
//
//   - Match/index: Index.Match over every bucket in one Index (baseline).
//   - Match/cache-hit: Cache.Load of a cached bucket, then Rules.Match.
//   - Load/miss: Cache.Load of a bucket not cached, from an in-memory
//     Loader: the cache's own cost of a miss (a goroutine, Compile, Set),
//     without the Loader's round trip to a store.
//
// Each sub-benchmark warms up outside the timer, reports allocations and
// keeps its results in a package variable so that the work is not dropped.
package rulecache

import (
	"context"
	"fmt"
	"testing"

	"github.com/notifymux/notifymux/match"
)

var sinkRule match.Rule
var sinkOK bool

// benchKeys are the (bucket, key) pairs the Match benchmarks look up.
func benchKeys(buckets int) (names, keys []string) {
	const n = 4096
	names, keys = make([]string, n), make([]string, n)
	for i := range n {
		names[i] = fmt.Sprintf("bucket-%d", (i*7919)%buckets)
		keys[i] = fmt.Sprintf("dir%d/photo%d%s", i%5, i, []string{".jpg", ".png", ".txt"}[i%3])
	}
	return names, keys
}

func BenchmarkMatch(b *testing.B) {
	const rulesPer = 4
	for _, buckets := range []int{100, 10_000} {
		names, keys := benchKeys(buckets)
		b.Run(fmt.Sprintf("index/N=%d", buckets), func(b *testing.B) {
			x := match.New()
			for i := range buckets {
				if err := x.AddAll(rulesOf(fmt.Sprintf("bucket-%d", i), rulesPer)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				j := i & (len(names) - 1)
				sinkRule, sinkOK = x.Match(names[j], match.ObjectCreatedPut, keys[j])
			}
		})
		b.Run(fmt.Sprintf("cache-hit/N=%d", buckets), func(b *testing.B) {
			c := newCache(b, Config{Loader: newStore(func(string) int { return rulesPer }), Buckets: int64(buckets)})
			ctx := context.Background()
			for i := range buckets {
				if _, err := c.Load(ctx, fmt.Sprintf("bucket-%d", i)); err != nil {
					b.Fatal(err)
				}
			}
			c.Wait()
			for _, name := range names { // every looked-up bucket is cached
				if _, err := c.Load(ctx, name); err != nil {
					b.Fatal(err)
				}
			}
			c.Wait()
			misses := c.Stats().Misses
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				j := i & (len(names) - 1)
				r, err := c.Load(ctx, names[j])
				if err != nil {
					b.Fatal(err)
				}
				sinkRule, sinkOK = r.Match(match.ObjectCreatedPut, keys[j])
			}
			b.StopTimer()
			if m := c.Stats().Misses - misses; m > 0 {
				b.ReportMetric(float64(m)/float64(b.N), "misses/op")
			}
		})
	}
}

func BenchmarkLoad(b *testing.B) {
	for _, rulesPer := range []int{1, 4, 20} {
		b.Run(fmt.Sprintf("miss/rules=%d", rulesPer), func(b *testing.B) {
			rules := map[string][]match.Rule{}
			const n = 1 << 14
			names := make([]string, n)
			for i := range names {
				names[i] = fmt.Sprintf("bucket-%d", i)
				rules[names[i]] = rulesOf(names[i], rulesPer)
			}
			l := LoaderFunc(func(_ context.Context, bucket string) ([]match.Rule, error) { return rules[bucket], nil })
			c := newCache(b, Config{Loader: l, Buckets: n})
			ctx := context.Background()
			var r *Rules
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				name := names[i&(n-1)]
				if i >= n { // every name was loaded once: drop it so this Load misses too
					c.Invalidate(name)
				}
				var err error
				if r, err = c.Load(ctx, name); err != nil {
					b.Fatal(err)
				}
			}
			sinkRule, sinkOK = r.Match(match.ObjectCreatedPut, "dir0/x.jpg")
			b.StopTimer()
			if h := c.Stats().Hits; h > 0 {
				b.Fatalf("%d Loads hit the cache", h)
			}
		})
	}
}
