// Benchmarks of match.Index: lookups on three workloads against a floor and
// two baselines, parallel lookups, loading, a single Add into a large bucket,
// and heap bytes per rule.
//
// Every workload is built once per size and cached, so -count=6 measures the
// same index six times. Key streams are 1<<16 keys drawn at random over all
// rules, so at N=1M the lookups miss the CPU caches as real traffic would.
// Results go to package variables so the compiler cannot drop the work.
package bench

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/armon/go-radix"
	"github.com/notifymux/notifymux/match"
)

var (
	sinkRule match.Rule
	sinkOK   bool
	sinkInt  int
)

var sizes = []int{10, 1_000, 100_000, 1_000_000}

func sizeName(n int) string {
	switch {
	case n >= 1_000_000:
		return fmt.Sprintf("N=%dM", n/1_000_000)
	case n >= 1_000:
		return fmt.Sprintf("N=%dk", n/1_000)
	}
	return fmt.Sprintf("N=%d", n)
}

// query is one lookup of a key stream.
type query struct {
	bucket string
	key    string
}

// workload is a rule set and a stream of lookups against it.
type workload struct {
	rules   []match.Rule
	queries []query
	index   *match.Index
}

var suffixes = []string{".jpg", ".png", ".log"}

// padKey extends key with path bytes to a length in [27, 36], then appends ext.
func padKey(rng *rand.Rand, key, ext string) string {
	want := 27 + rng.IntN(10) - len(ext)
	var b strings.Builder
	b.WriteString(key)
	for i := 0; b.Len() < want; i++ {
		b.WriteByte("photos/2026/cat-"[i%16])
	}
	b.WriteString(ext)
	return b.String()
}

// w1 is one bucket of n rules, users/<i>/ + one of three suffixes. Half of
// the keys hit, a quarter have a known prefix and another suffix, a quarter
// an unknown prefix.
func w1(n int) *workload {
	w := &workload{}
	for i := 0; i < n; i++ {
		w.rules = append(w.rules, match.Rule{ID: fmt.Sprint("r", i), Bucket: "bkt", Events: match.ObjectCreated,
			Prefix: fmt.Sprintf("users/%d/", i), Suffix: suffixes[i%3], Target: fmt.Sprint("fn", i%100)})
	}
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	for q := 0; q < 1<<16; q++ {
		i := rng.IntN(n)
		var key string
		switch q % 4 {
		case 0, 1:
			key = padKey(rng, w.rules[i].Prefix, w.rules[i].Suffix)
		case 2:
			key = padKey(rng, w.rules[i].Prefix, suffixes[(i+1)%3])
		case 3:
			key = padKey(rng, fmt.Sprintf("users/%d/", n+i), suffixes[i%3])
		}
		w.queries = append(w.queries, query{"bkt", key})
	}
	return w
}

var dirs = []string{"images/", "logs/", "videos/", "docs/", "backup/"}

// w2 is n/10 buckets of ten rules each: five shared directory prefixes,
// each with a .jpg and a .png suffix.
func w2(n int) *workload {
	w := &workload{}
	nb := max(n/10, 1)
	for b := 0; b < nb; b++ {
		for j := 0; j < 10; j++ {
			w.rules = append(w.rules, match.Rule{ID: fmt.Sprint("r", j), Bucket: fmt.Sprintf("bucket-%d-1250000000", b),
				Events: match.ObjectCreated, Prefix: dirs[j/2], Suffix: suffixes[j%2], Target: fmt.Sprint("fn", b%100)})
		}
	}
	rng := rand.New(rand.NewPCG(2, uint64(n)))
	for q := 0; q < 1<<16; q++ {
		r := w.rules[rng.IntN(len(w.rules))]
		var key string
		switch q % 4 {
		case 0, 1:
			key = padKey(rng, r.Prefix+"2026/11/", r.Suffix)
		case 2:
			key = padKey(rng, r.Prefix+"2026/11/", ".log")
		case 3:
			key = padKey(rng, "tmp/2026/11/", r.Suffix)
		}
		w.queries = append(w.queries, query{r.Bucket, key})
	}
	return w
}

// w3 is one bucket of n rules in chains of eight nested prefixes
// d<k>/, d<k>/s1/, …, each level with its own suffix, so a key passes up to
// eight stored prefixes and searches each one's suffixes.
func w3(n int) *workload {
	const depth = 8
	w := &workload{}
	chains := max(n/depth, 1)
	for k := 0; k < chains; k++ {
		p := fmt.Sprintf("d%d/", k)
		for l := 0; l < depth && len(w.rules) < n; l++ {
			w.rules = append(w.rules, match.Rule{ID: fmt.Sprint("r", len(w.rules)), Bucket: "bkt", Events: match.ObjectCreated,
				Prefix: p, Suffix: fmt.Sprintf(".x%d", l), Target: fmt.Sprint("fn", k%100)})
			p += fmt.Sprintf("s%d/", l+1)
		}
	}
	rng := rand.New(rand.NewPCG(3, uint64(n)))
	for q := 0; q < 1<<16; q++ {
		k := rng.IntN(chains)
		key := fmt.Sprintf("d%d/s1/s2/s3/s4/s5/s6/s7/f", k)
		switch q % 4 {
		case 0, 1:
			key += fmt.Sprintf(".x%d", rng.IntN(depth))
		case 2:
			key += ".gif"
		case 3:
			key = "e" + key[1:] + ".x1"
		}
		w.queries = append(w.queries, query{"bkt", key})
	}
	return w
}

var (
	cacheMu sync.Mutex
	cache   = map[string]*workload{}
)

// load builds (once) the workload name at size n, with its index.
func load(b *testing.B, name string, n int) *workload {
	cacheMu.Lock()
	defer cacheMu.Unlock()
	id := fmt.Sprint(name, n)
	if w, ok := cache[id]; ok {
		return w
	}
	w := map[string]func(int) *workload{"W1": w1, "W2": w2, "W3": w3}[name](n)
	w.index = match.New()
	for _, r := range w.rules {
		if err := w.index.Add(r); err != nil {
			b.Fatal(err)
		}
	}
	cache = map[string]*workload{id: w} // keep one: 1M-rule workloads are large
	return w
}

// BenchmarkMatch measures Index.Match against the floor (a map lookup of the
// whole key in a map with one entry per rule) and the baseline (a linear scan of the bucket's rules).
func BenchmarkMatch(b *testing.B) {
	for _, name := range []string{"W1", "W2", "W3"} {
		for _, n := range sizes {
			b.Run(fmt.Sprintf("%s/%s", name, sizeName(n)), func(b *testing.B) {
				w := load(b, name, n)
				b.Run("impl=index", func(b *testing.B) {
					qs := w.queries
					b.ReportAllocs()
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						q := qs[i&(len(qs)-1)]
						sinkRule, sinkOK = w.index.Match(q.bucket, match.ObjectCreatedPut, q.key)
					}
				})
				b.Run("impl=floor-map", func(b *testing.B) {
					// The whole key of an event is its bucket and object
					// key. One entry per rule plus every query, so the
					// map is as large as the rule set it stands for.
					m := make(map[string]int, len(w.rules)+len(w.queries))
					for i, r := range w.rules {
						m[r.Bucket+"/"+r.Prefix+r.Suffix] = i
					}
					whole := make([]string, len(w.queries))
					for i, q := range w.queries {
						whole[i] = q.bucket + "/" + q.key
						m[whole[i]] = i
					}
					b.ReportAllocs()
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						sinkInt, sinkOK = m[whole[i&(len(whole)-1)]]
					}
				})
				if n > 100_000 {
					return // a linear scan of 1M rules per lookup says nothing new
				}
				b.Run("impl=linear", func(b *testing.B) {
					byBucket := map[string][]match.Rule{}
					for _, r := range w.rules {
						byBucket[r.Bucket] = append(byBucket[r.Bucket], r)
					}
					qs := w.queries
					b.ReportAllocs()
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						q := qs[i&(len(qs)-1)]
						sinkOK = false
						for _, r := range byBucket[q.bucket] {
							if r.Events.Has(match.ObjectCreatedPut) && strings.HasPrefix(q.key, r.Prefix) && strings.HasSuffix(q.key, r.Suffix) {
								sinkRule, sinkOK = r, true
								break
							}
						}
					}
				})
				if name != "W1" {
					return
				}
				b.Run("impl=go-radix-walkpath", func(b *testing.B) {
					// The plain go-radix read path: WalkPath over the stored
					// prefixes of the key, then HasSuffix on each candidate.
					t := radix.New()
					for _, r := range w.rules {
						v, _ := t.Get(r.Prefix)
						rs, _ := v.([]match.Rule)
						t.Insert(r.Prefix, append(rs, r))
					}
					qs := w.queries
					b.ReportAllocs()
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						q := qs[i&(len(qs)-1)]
						sinkOK = false
						t.WalkPath(q.key, func(_ string, v any) bool {
							for _, r := range v.([]match.Rule) {
								if r.Events.Has(match.ObjectCreatedPut) && strings.HasSuffix(q.key, r.Suffix) {
									sinkRule, sinkOK = r, true
									return true
								}
							}
							return false
						})
					}
				})
			})
		}
	}
}

// BenchmarkMatchParallel measures Match from every core at once on W1 and W2
// at N=100k; compare with BenchmarkMatch at the same N for the scaling.
func BenchmarkMatchParallel(b *testing.B) {
	for _, name := range []string{"W1", "W2"} {
		b.Run(name+"/N=100k", func(b *testing.B) {
			w := load(b, name, 100_000)
			qs := w.queries
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := rand.IntN(len(qs))
				var ok bool
				for pb.Next() {
					q := qs[i&(len(qs)-1)]
					_, ok = w.index.Match(q.bucket, match.ObjectCreatedPut, q.key)
					i++
				}
				_ = ok
			})
		})
	}
}

// BenchmarkLoad measures loading every rule of a workload, conflict checks
// included, into an empty index, rule by rule with Add and in one AddAll;
// s/load is the time for the whole set.
func BenchmarkLoad(b *testing.B) {
	for _, name := range []string{"W1", "W2"} {
		rules := map[string]func(int) *workload{"W1": w1, "W2": w2}[name](1_000_000).rules
		b.Run(name+"/N=1M/api=Add", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				x := match.New()
				for _, r := range rules {
					if err := x.Add(r); err != nil {
						b.Fatal(err)
					}
				}
				sinkInt = x.Len()
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/load")
		})
		b.Run(name+"/N=1M/api=AddAll", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				x := match.New()
				if err := x.AddAll(rules); err != nil {
					b.Fatal(err)
				}
				sinkInt = x.Len()
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/load")
		})
	}
}

// BenchmarkAddInto100k measures one Add, with its conflict check, into a
// bucket that already holds 100k rules. Each added rule is removed again
// outside the timer, so the bucket stays at 100k.
func BenchmarkAddInto100k(b *testing.B) {
	w := load(b, "W1", 100_000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := match.Rule{ID: "new", Bucket: "bkt", Events: match.ObjectCreated,
			Prefix: fmt.Sprintf("users/%d/", 100_000+i%1000), Suffix: ".jpg", Target: "fn"}
		if err := w.index.Add(r); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		w.index.Remove("bkt", "new")
		b.StartTimer()
	}
}

// BenchmarkAddAbove100k measures the conflict check's slow case: one Add
// whose prefix begins 100k stored prefixes (users/ over users/<i>/), so
// every one of them is a candidate. Its suffix (.gif) ends with a byte no
// stored suffix ends with; the other case (.jpg: each candidate's suffix
// trie is searched) is refused at the first conflict and so is not slow.
func BenchmarkAddAbove100k(b *testing.B) {
	w := load(b, "W1", 100_000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := match.Rule{ID: "above", Bucket: "bkt", Events: match.ObjectCreated, Prefix: "users/", Suffix: ".gif", Target: "fn"}
		if err := w.index.Add(r); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		w.index.Remove("bkt", "above")
		b.StartTimer()
	}
}

// BenchmarkMemory reports heap bytes per rule for 1M rules of W1 and W2:
// the live heap after loading, less the live heap of the rule slice alone.
func BenchmarkMemory(b *testing.B) {
	for _, name := range []string{"W1", "W2"} {
		b.Run(name+"/N=1M", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				rules := map[string]func(int) *workload{"W1": w1, "W2": w2}[name](1_000_000).rules
				before := liveHeap()
				x := match.New()
				for _, r := range rules {
					if err := x.Add(r); err != nil {
						b.Fatal(err)
					}
				}
				after := liveHeap()
				runtime.KeepAlive(rules)
				b.ReportMetric(float64(after-before)/float64(len(rules)), "B/rule")
				sinkInt = x.Len()
			}
		})
	}
}

func liveHeap() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
