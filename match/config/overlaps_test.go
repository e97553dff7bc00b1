package config

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/notifymux/notifymux/match"
)

// randomRules builds n rules over a tiny alphabet, so that overlaps are common.
func randomRules(rng *rand.Rand, n, buckets int) []match.Rule {
	str := func() string {
		b := make([]byte, rng.IntN(3))
		for i := range b {
			b[i] = "ab"[rng.IntN(2)]
		}
		return string(b)
	}
	sets := []match.EventSet{match.ObjectCreated, match.ObjectCreatedPut.Set(), match.ObjectCreatedCopy.Set(), match.ObjectRemove, match.ObjectCreatedPut.Set() | match.ObjectRemoveDelete.Set()}
	rules := make([]match.Rule, n)
	for i := range rules {
		rules[i] = match.Rule{ID: fmt.Sprint("r", rng.IntN(n)), Bucket: fmt.Sprint("b", rng.IntN(buckets)),
			Events: sets[rng.IntN(len(sets))], Prefix: str(), Suffix: str(), Target: "f"}
	}
	return rules
}

// TestOverlapsAgainstBruteForce compares Overlaps with a check of every pair.
func TestOverlapsAgainstBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 300; round++ {
		rules := randomRules(rng, 1+rng.IntN(30), 1+rng.IntN(3))
		if round%10 == 0 {
			rules = append(rules, match.Rule{ID: "invalid", Bucket: "b0", Events: match.ObjectCreated}) // no target: skipped
		}
		var want []string
		for j := range rules {
			for i := 0; i < j; i++ {
				if rules[i].Validate() != nil || rules[j].Validate() != nil {
					continue
				}
				if e, k, ok := match.Overlap(rules[j], rules[i]); ok {
					want = append(want, fmt.Sprintf("%d/%d %v %q", j, i, e, k))
				}
			}
		}
		var got []string
		for c := range Overlaps(rules) {
			if c.Err.Rule != rules[c.Later] || c.Err.Existing != rules[c.Earlier] || c.Earlier >= c.Later {
				t.Fatalf("round %d: indexes %d, %d do not name %+v", round, c.Later, c.Earlier, c.Err)
			}
			got = append(got, fmt.Sprintf("%d/%d %v %q", c.Later, c.Earlier, c.Err.Event, c.Err.Key))
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(want, got) {
			t.Fatalf("round %d: rules %+v\ngot  %v\nwant %v", round, rules, got, want)
		}
	}
}

func TestOverlapsStops(t *testing.T) {
	r := match.Rule{ID: "a", Bucket: "b", Events: match.ObjectCreated, Target: "f"}
	rules := []match.Rule{r, r, r, r}
	n := 0
	for range Overlaps(rules) {
		n++
		break
	}
	if n != 1 {
		t.Errorf("got %d pairs after break, want 1", n)
	}
	all := 0
	for range Overlaps(rules) {
		all++
	}
	if all != 6 {
		t.Errorf("4 identical rules: got %d pairs, want 6", all)
	}
}

// benchRules returns n rules in n/10 buckets, 10 per bucket, with about one
// overlapping pair per bucket.
func benchRules(n int) []match.Rule {
	rules := make([]match.Rule, 0, n)
	for i := 0; len(rules) < n; i++ {
		b := fmt.Sprintf("bucket-%d", i)
		for j := 0; j < 10 && len(rules) < n; j++ {
			r := match.Rule{ID: fmt.Sprint("r", j), Bucket: b, Events: match.ObjectCreated,
				Prefix: fmt.Sprintf("dir%d/", j), Suffix: ".jpg", Target: fmt.Sprintf("fn-%d", j)}
			if j == 9 {
				r.Prefix = "dir1" // overlaps r1
			}
			rules = append(rules, r)
		}
	}
	return rules
}

var sinkPairs int

// BenchmarkOverlaps measures finding every overlapping pair among N rules.
func BenchmarkOverlaps(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		rules := benchRules(n)
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkPairs = 0
				for range Overlaps(rules) {
					sinkPairs++
				}
			}
			if sinkPairs != n/10 {
				b.Fatalf("got %d pairs, want %d", sinkPairs, n/10)
			}
		})
	}
}

// BenchmarkOverlapsCrowded measures one bucket where every rule overlaps
// the first (a catch-all) and no other: N-1 pairs, two layers.
func BenchmarkOverlapsCrowded(b *testing.B) {
	const n = 10000
	rules := []match.Rule{{ID: "all", Bucket: "b", Events: match.ObjectCreated, Target: "f"}}
	for i := 1; i < n; i++ {
		rules = append(rules, match.Rule{ID: fmt.Sprint("r", i), Bucket: "b", Events: match.ObjectCreatedPut.Set(), Prefix: fmt.Sprintf("p%d/", i), Target: "g"})
	}
	b.ReportAllocs()
	for b.Loop() {
		sinkPairs = 0
		for range Overlaps(rules) {
			sinkPairs++
		}
	}
	if sinkPairs != n-1 {
		b.Fatalf("got %d pairs, want %d", sinkPairs, n-1)
	}
}
