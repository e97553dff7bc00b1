// Benchmarks of match.Index: lookups on four workloads against an honest
// floor and two simple alternatives, parallel lookups, loading, single Adds
// into a large bucket and among 1M buckets, and heap bytes per rule.
//
// Every workload is built once per size and cached with its baselines, so
// -count=6 measures the same index six times. Rules own their strings (as
// rules parsed from configurations do), so no lookup reads literals that all
// rules share. Key streams are 1<<16 keys drawn at random over all
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
	"time"

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

	once     [3]sync.Once // builds each baseline once
	floorMap *floorMap
	loopMap  loopMap
	radixMap radixMap
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

// w4 is n buckets of which one in a hundred holds ten rules of the W2
// shape, the common case in a real store, where most buckets have no
// notification configuration: nine events in ten go to a bucket with no
// rules, the rest as in W2. N counts buckets, not rules.
func w4(n int) *workload {
	w := &workload{}
	name := func(b int) string { return fmt.Sprintf("bucket-%d-1250000000", b) }
	var withRules []int
	for b := 0; b < n; b += 100 {
		withRules = append(withRules, b)
		for j := 0; j < 10; j++ {
			w.rules = append(w.rules, match.Rule{ID: fmt.Sprint("r", j), Bucket: name(b),
				Events: match.ObjectCreated, Prefix: dirs[j/2], Suffix: suffixes[j%2], Target: fmt.Sprint("fn", b%100)})
		}
	}
	rng := rand.New(rand.NewPCG(4, uint64(n)))
	for q := 0; q < 1<<16; q++ {
		if q%10 != 0 && n > 1 {
			b := rng.IntN(n)
			if b%100 == 0 {
				b++ // a bucket without rules
			}
			w.queries = append(w.queries, query{name(b), padKey(rng, dirs[rng.IntN(len(dirs))]+"2026/11/", suffixes[rng.IntN(2)])})
			continue
		}
		b := withRules[rng.IntN(len(withRules))]
		j := rng.IntN(10)
		key := padKey(rng, dirs[j/2]+"2026/11/", suffixes[j%2])
		if q%20 == 10 {
			key = padKey(rng, dirs[j/2]+"2026/11/", ".log")
		}
		w.queries = append(w.queries, query{name(b), key})
	}
	return w
}

var workloads = map[string]func(int) *workload{"W1": w1, "W2": w2, "W3": w3, "W4": w4}

// owned returns r with strings of its own, as rules parsed from separate
// configuration documents have, so that no baseline reads string literals
// that every rule shares and that therefore stay in cache.
func owned(r match.Rule) match.Rule {
	r.ID, r.Bucket, r.Prefix = strings.Clone(r.ID), strings.Clone(r.Bucket), strings.Clone(r.Prefix)
	r.Suffix, r.Target = strings.Clone(r.Suffix), strings.Clone(r.Target)
	return r
}

var (
	cacheMu sync.Mutex
	cache   = map[string]*workload{}
)

// load builds (once) the workload name at size n, with its index (loaded
// with AddAll). Every workload stays cached, so -count=6 builds each once.
func load(b *testing.B, name string, n int) *workload {
	cacheMu.Lock()
	defer cacheMu.Unlock()
	id := fmt.Sprint(name, n)
	if w, ok := cache[id]; ok {
		return w
	}
	w := workloads[name](n)
	for i := range w.rules {
		w.rules[i] = owned(w.rules[i])
	}
	// An event carries its own bucket name and key, read from the
	// request just before the lookup: copies in query order, as the
	// floor's whole keys are, and not the rules' strings.
	for i, q := range w.queries {
		w.queries[i] = query{strings.Clone(q.bucket), strings.Clone(q.key)}
	}
	w.index = match.New()
	if err := w.index.AddAll(w.rules); err != nil {
		b.Fatal(err)
	}
	cache[id] = w
	return w
}

// The baselines, each built once per workload.
type (
	// floorMap is the honest floor: a Go map from each event's whole key
	// (bucket/key) to a rule number, with one entry per rule and one per
	// query. The map's keys are copies of the queries made in shuffled
	// order, separate from the strings looked up, so each lookup hashes
	// the key, probes once and compares the key with a string in memory
	// at random, as a real lookup does.
	floorMap struct {
		m     map[string]int
		whole []string // the queries' bucket/key, in query order
	}
	// loopMap is the simple alternative: bucket → its rules, each rule
	// owning its strings, scanned in order.
	loopMap map[string][]match.Rule
	// radixMap is bucket → a go-radix tree of the bucket's prefixes, whose
	// values are the rules with that prefix; a lookup walks the stored
	// prefixes of the key (WalkPath) and tests each rule's events and suffix.
	radixMap map[string]*radix.Tree
)

func (w *workload) floor() *floorMap {
	w.once[0].Do(func() {
		f := &floorMap{m: make(map[string]int, len(w.rules)+len(w.queries)), whole: make([]string, len(w.queries))}
		for i, r := range w.rules {
			f.m[r.Bucket+"/"+r.Prefix+r.Suffix] = i
		}
		for i, q := range w.queries {
			f.whole[i] = q.bucket + "/" + q.key
		}
		for _, i := range rand.New(rand.NewPCG(5, uint64(len(w.rules)))).Perm(len(w.queries)) {
			f.m[strings.Clone(f.whole[i])] = i
		}
		w.floorMap = f
	})
	return w.floorMap
}

func (w *workload) loop() loopMap {
	w.once[1].Do(func() {
		m := loopMap{}
		for _, r := range w.rules {
			m[r.Bucket] = append(m[r.Bucket], owned(r))
		}
		w.loopMap = m
	})
	return w.loopMap
}

func (w *workload) radix() radixMap {
	w.once[2].Do(func() {
		m := radixMap{}
		for _, r := range w.rules {
			t := m[r.Bucket]
			if t == nil {
				t = radix.New()
				m[r.Bucket] = t
			}
			v, _ := t.Get(r.Prefix)
			rs, _ := v.([]match.Rule)
			t.Insert(r.Prefix, append(rs, owned(r)))
		}
		w.radixMap = m
	})
	return w.radixMap
}

// BenchmarkMatch measures Index.Match on four workloads at four sizes
// (every impl answers each query with a Rule and a bool, as Match does)
// beside, in the same run: the honest floor (floorMap), the map of buckets
// plus a loop (loopMap) and go-radix WalkPath (radixMap). The loop is left
// out where one lookup scans 1M rules (W1 and W3 at N=1M). Besides ns/op
// each reports cpu-ns/op (see reportCPU).
func BenchmarkMatch(b *testing.B) {
	for _, name := range []string{"W1", "W2", "W3", "W4"} {
		for _, n := range sizes {
			b.Run(fmt.Sprintf("%s/%s", name, sizeName(n)), func(b *testing.B) {
				w := load(b, name, n)
				qs := w.queries
				b.Run("impl=index", func(b *testing.B) {
					b.ReportAllocs()
					defer reportCPU(b, cpuTime())
					for i := 0; b.Loop(); i++ {
						q := qs[i&(len(qs)-1)]
						sinkRule, sinkOK = w.index.Match(q.bucket, match.ObjectCreatedPut, q.key)
					}
				})
				b.Run("impl=floor", func(b *testing.B) {
					f := w.floor()
					b.ReportAllocs()
					defer reportCPU(b, cpuTime())
					for i := 0; b.Loop(); i++ {
						sinkInt, sinkOK = f.m[f.whole[i&(len(f.whole)-1)]]
					}
				})
				if n < 1_000_000 || name == "W2" || name == "W4" {
					b.Run("impl=loop", func(b *testing.B) {
						m := w.loop()
						b.ReportAllocs()
						defer reportCPU(b, cpuTime())
						for i := 0; b.Loop(); i++ {
							q := qs[i&(len(qs)-1)]
							var found match.Rule
							ok := false
							for _, r := range m[q.bucket] {
								if r.Events.Has(match.ObjectCreatedPut) && strings.HasPrefix(q.key, r.Prefix) && strings.HasSuffix(q.key, r.Suffix) {
									found, ok = r, true
									break
								}
							}
							sinkRule, sinkOK = found, ok
						}
					})
				}
				b.Run("impl=go-radix", func(b *testing.B) {
					m := w.radix()
					b.ReportAllocs()
					defer reportCPU(b, cpuTime())
					for i := 0; b.Loop(); i++ {
						q := qs[i&(len(qs)-1)]
						var found match.Rule
						ok := false
						if t := m[q.bucket]; t != nil {
							t.WalkPath(q.key, func(_ string, v any) bool {
								for _, r := range v.([]match.Rule) {
									if r.Events.Has(match.ObjectCreatedPut) && strings.HasSuffix(q.key, r.Suffix) {
										found, ok = r, true
										return true
									}
								}
								return false
							})
						}
						sinkRule, sinkOK = found, ok
					}
				})
			})
		}
	}
}

// reportCPU reports cpu-ns/op: the process's CPU time since start per
// iteration. Unlike ns/op, which is wall time, it leaves out the time the
// benchmark waits for a core that other processes hold, so on a shared
// machine it is the steadier measure of the work a lookup does (cache
// misses included). Each benchmark runs on one goroutine that allocates
// nothing, so the process's CPU time is the benchmark's.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// BenchmarkMatchParallel measures Match from every core at once on W1, W2 and W4
// at N=100k; compare with BenchmarkMatch at the same N for the scaling.
// cpu-ns/op is CPU time per lookup summed over the cores: equal to the
// single-core figure when lookups do not slow each other down.
func BenchmarkMatchParallel(b *testing.B) {
	for _, name := range []string{"W1", "W2", "W4"} {
		b.Run(name+"/N=100k", func(b *testing.B) {
			w := load(b, name, 100_000)
			qs := w.queries
			b.ReportAllocs()
			b.ResetTimer()
			defer reportCPU(b, cpuTime())
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
// s/load is the time for the whole set, cpu-s/load the process's CPU time
// for it (the garbage collector's included). W2 at N=1M is the bulk load of a
// gateway that starts: 100k buckets of 10 rules.
func BenchmarkLoad(b *testing.B) {
	for _, name := range []string{"W1", "W2"} {
		rules := workloads[name](1_000_000).rules
		for i := range rules {
			rules[i] = owned(rules[i])
		}
		b.Run(name+"/N=1M/api=Add", func(b *testing.B) {
			b.ReportAllocs()
			start := cpuTime()
			for b.Loop() {
				x := match.New()
				for _, r := range rules {
					if err := x.Add(r); err != nil {
						b.Fatal(err)
					}
				}
				sinkInt = x.Len()
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/load")
			b.ReportMetric((cpuTime()-start).Seconds()/float64(b.N), "cpu-s/load")
		})
		b.Run(name+"/N=1M/api=AddAll", func(b *testing.B) {
			b.ReportAllocs()
			start := cpuTime()
			for b.Loop() {
				x := match.New()
				if err := x.AddAll(rules); err != nil {
					b.Fatal(err)
				}
				sinkInt = x.Len()
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/load")
			b.ReportMetric((cpuTime()-start).Seconds()/float64(b.N), "cpu-s/load")
		})
	}
}

// BenchmarkAdd measures one Add, with its conflict check, and the Remove
// that undoes it outside the timer, so every Add meets the same index:
//
//   - into=bucket-of-100k: into W1's bucket of 100k rules;
//   - among=1M-buckets/into=existing: into a bucket of one rule, among 1M
//     buckets of one rule each;
//   - among=1M-buckets/into=new: the first rule of a new bucket, among the
//     same 1M buckets (the Remove then deletes the bucket again).
func BenchmarkAdd(b *testing.B) {
	b.Run("into=bucket-of-100k", func(b *testing.B) {
		x := load(b, "W1", 100_000).index
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			r := match.Rule{ID: "new", Bucket: "bkt", Events: match.ObjectCreated,
				Prefix: fmt.Sprintf("users/%d/", 100_000+i%1000), Suffix: ".jpg", Target: "fn"}
			addRemove(b, x, r)
		}
	})
	const nb = 1_000_000
	bucket := func(i int) string { return fmt.Sprintf("bucket-%d-1250000000", i) }
	var x *match.Index
	among := func(b *testing.B) *match.Index {
		if x == nil {
			rules := make([]match.Rule, nb)
			for i := range rules {
				rules[i] = match.Rule{ID: "r0", Bucket: bucket(i), Events: match.ObjectCreated, Prefix: "images/", Suffix: ".jpg", Target: "fn"}
			}
			x = match.New()
			if err := x.AddAll(rules); err != nil {
				b.Fatal(err)
			}
		}
		return x
	}
	b.Run("among=1M-buckets/into=existing", func(b *testing.B) {
		x := among(b)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			addRemove(b, x, match.Rule{ID: "new", Bucket: bucket(i * 7919 % nb), Events: match.ObjectCreated, Prefix: "logs/", Target: "fn"})
		}
	})
	b.Run("among=1M-buckets/into=new", func(b *testing.B) {
		x := among(b)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			addRemove(b, x, match.Rule{ID: "new", Bucket: bucket(nb + i%1000), Events: match.ObjectCreated, Prefix: "logs/", Target: "fn"})
		}
	})
}

// addRemove adds r to x, timed, then removes it untimed.
func addRemove(b *testing.B, x *match.Index, r match.Rule) {
	if err := x.Add(r); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	x.Remove(r.Bucket, r.ID)
	b.StartTimer()
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
				rules := workloads[name](1_000_000).rules
				for i := range rules {
					rules[i] = owned(rules[i])
				}
				before := liveHeap()
				x := match.New()
				if err := x.AddAll(rules); err != nil {
					b.Fatal(err)
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
