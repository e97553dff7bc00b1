package oracle

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/notifymux/notifymux/match"
)

// TestConcurrentMatch runs readers calling Match in a loop while one writer
// makes random Add, AddAll, Remove and Replace calls (run it with -race).
// Every rule a reader gets must truly match its event (per Matches) and must
// be, whole, a rule the index accepted at some point.
func TestConcurrentMatch(t *testing.T) {
	const readers, writes, minReads = 2, 3000, 20000
	x := match.New()
	done := make(chan struct{})
	seen := make([]map[match.Rule]int, readers)
	errs := make([]error, readers)
	var wg sync.WaitGroup
	var reads atomic.Int64
	for i := range readers {
		seen[i] = map[match.Rule]int{}
		wg.Go(func() {
			rng := newRand(uint64(100 + i))
			for n := 0; ; n++ {
				if n >= minReads {
					select {
					case <-done:
						return
					default:
					}
				}
				b := Buckets[rng.IntN(len(Buckets))]
				e := ProbeEvents[rng.IntN(len(ProbeEvents))]
				k := RandKey(rng)
				r, ok := x.Match(b, e, k)
				reads.Add(1)
				if !ok {
					continue
				}
				if !Matches(r, b, e, k) {
					errs[i] = fmt.Errorf("Match(%q, %v, %q) = %v, which does not match", b, e, k, ruleString(r))
					return
				}
				seen[i][r]++
			}
		})
	}
	accepted := map[match.Rule]bool{}
	rng := newRand(7)
	// Write at least writes times, and on until the readers have read
	// enough, so that reads and writes really interleave.
	nw := 0
	for ; nw < writes || reads.Load() < readers*minReads; nw++ {
		switch op := RandOp(rng); op.Kind {
		case OpAdd:
			if x.Add(op.Rule) == nil {
				accepted[op.Rule] = true
			}
		case OpRemove:
			x.Remove(op.Bucket, op.ID)
		case OpAddAll:
			if x.AddAll(op.Rules) == nil {
				for _, r := range op.Rules {
					accepted[r] = true
				}
			}
		case OpReplace:
			if x.Replace(op.Bucket, op.Rules) == nil {
				for _, r := range op.Rules {
					accepted[r] = true
				}
			}
		}
	}
	close(done)
	wg.Wait()
	hits := 0
	for i := range readers {
		if errs[i] != nil {
			t.Error(errs[i])
		}
		for r, n := range seen[i] {
			hits += n
			if !accepted[r] {
				t.Errorf("reader %d got %v, a rule never accepted", i, ruleString(r))
			}
		}
	}
	if hits == 0 {
		t.Fatal("readers never got a rule: the test checked nothing")
	}
	t.Logf("%d rules accepted over %d writes; readers got a rule %d times in %d reads", len(accepted), nw, hits, reads.Load())
}
