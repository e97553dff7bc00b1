// This file implements the write transaction that AddAll and Replace use:
// the buckets a call changes are built apart from what readers see, checked
// rule by rule, and published together by commit, or dropped on the first
// error, which leaves the index as it was.
//
// AddAll groups its rules by bucket, keeping their order, and builds each
// bucket it touches whole: a fresh write side holding the bucket's held
// rules (a held bucket is never changed before commit), then each new rule
// checked and inserted in turn, its strings copied into one arena per
// bucket (intern.go), then the bucket's block. Buckets do not depend on each
// other, so a large call builds them on several goroutines; the call's
// error is then that of the earliest failing rule in the call's order, which
// is the error adding the rules one by one would have met first.
//
// commit publishes a single bucket in place (one atomic store into its
// slot) and several buckets by copying the bucket table once, sized for all
// of them, and storing the copy once, so that readers see all of a call's
// rules at once.

package match

import (
	"maps"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
)

// parallelAbove is the number of rules above which AddAll builds buckets
// on several goroutines: below it, starting them costs more than it saves.
const parallelAbove = 2048

// txn is one AddAll or Replace in progress. The caller holds the Index's
// writer lock from begin to commit (Replace builds its one bucket before
// taking the lock; see Index.Replace).
type txn struct {
	x       *Index
	buckets []*bucket // the transaction's version of each bucket it touches, built
	added   int       // rules added, less rules dropped
}

// begin starts a transaction on x.
func (x *Index) begin() *txn { return &txn{x: x} }

// replace makes b, built from nothing, the transaction's version of its
// bucket, dropping the held rules.
func (t *txn) replace(b *bucket) {
	if old := t.x.buckets[b.name]; old != nil {
		t.added -= old.size()
	}
	t.added += b.size()
	t.buckets = append(t.buckets, b)
}

// batch is the part of one AddAll call that goes to one bucket.
type batch struct {
	name  string
	first int32   // index of its first rule in the call's order, then its rules' offset in t's order
	n     int32   // number of rules
	b     *bucket // the bucket built
	err   error   // the error of the rule at errAt, the first that failed
	errAt int
}

// addAll checks and adds every rule of rules, or returns the error Add
// would meet first.
func (t *txn) addAll(rules []Rule) error {
	batches, order := groupByBucket(rules)
	build := func(g *batch) { t.build(g, rules, order[g.first:g.first+g.n]) }
	workers := min(runtime.GOMAXPROCS(0), len(batches))
	if len(rules) <= t.x.parallelAbove || workers < 2 {
		for i := range batches {
			build(&batches[i])
		}
	} else {
		// Workers take batches a chunk at a time, so that the counter
		// is not contended.
		const chunk = 64
		var next atomic.Int64
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for {
					lo := int(next.Add(chunk)) - chunk
					if lo >= len(batches) {
						return
					}
					for i := lo; i < min(lo+chunk, len(batches)); i++ {
						build(&batches[i])
					}
				}
			})
		}
		wg.Wait()
	}
	var first *batch
	for i := range batches {
		if g := &batches[i]; g.err != nil && (first == nil || g.errAt < first.errAt) {
			first = g
		}
	}
	if first != nil {
		return first.err
	}
	t.buckets = make([]*bucket, len(batches))
	for i := range batches {
		t.buckets[i] = batches[i].b
		t.added += int(batches[i].n)
	}
	return nil
}

// groupByBucket returns one batch per bucket named in rules, in the order
// of each bucket's first rule, and the rules' indices grouped by batch
// (batch g's are order[g.first:g.first+g.n], in the call's order).
func groupByBucket(rules []Rule) ([]batch, []int32) {
	var batches []batch
	of := make([]int32, len(rules)) // the batch of each rule
	index := make(map[string]int32)
	for i := range rules {
		name := rules[i].Bucket
		// Configurations list a bucket's rules together: most rules
		// need no map lookup.
		if i > 0 && name == rules[i-1].Bucket {
			of[i] = of[i-1]
			batches[of[i]].n++
			continue
		}
		g, ok := index[name]
		if !ok {
			g = int32(len(batches))
			index[name] = g
			batches = append(batches, batch{name: name, first: int32(i)})
		}
		of[i] = g
		batches[g].n++
	}
	// Lay the indices out batch by batch (a counting sort, which keeps
	// each batch's rules in the call's order).
	off := int32(0)
	for i := range batches {
		batches[i].first, off = off, off+batches[i].n
	}
	order := make([]int32, len(rules))
	fill := make([]int32, len(batches))
	for i, g := range of {
		order[batches[g].first+fill[g]] = int32(i)
		fill[g]++
	}
	return batches, order
}

// build makes g.b the bucket g.name holding its held rules and the rules
// of idx (indices into rules, ascending), with its block built, or sets
// g.err to the error of the first of them that Add would refuse. It reads
// the index's held buckets and writes nothing but g, so that batches can be
// built at the same time.
func (t *txn) build(g *batch, rules []Rule, idx []int32) {
	old := t.x.buckets[g.name]
	n := len(idx)
	var a arena
	for _, i := range idx {
		a.reserve(&rules[i])
	}
	a.alloc()
	var name string
	if old != nil {
		n += old.size()
		name = old.name
	} else {
		name = strings.Clone(g.name)
	}
	b := newBucket(name, n, t.x.smallLimit)
	if old != nil {
		for r := range old.rules() {
			b.insert(r)
		}
	}
	for _, i := range idx {
		r := &rules[i]
		err := r.Validate()
		if err == nil {
			err = b.check(r)
		}
		if err != nil {
			g.err, g.errAt = err, int(i)
			return
		}
		b.insert(a.intern(r, name))
	}
	b.block = b.build()
	g.b = b
}

// commit publishes the block of every bucket of t. The caller holds the
// writer lock.
func (t *txn) commit() {
	x := t.x
	table := x.table.Load()
	if len(t.buckets) > 1 {
		table = table.grown(2 * (table.live + len(t.buckets)))
	}
	if len(t.buckets) > len(x.buckets) {
		// Grow the map once, not step by step.
		m := make(map[string]*bucket, len(x.buckets)+len(t.buckets))
		maps.Copy(m, x.buckets)
		x.buckets = m
	}
	for _, b := range t.buckets {
		if b.block == nil {
			b.block = b.build()
		}
		if b.size() == 0 {
			delete(x.buckets, b.name)
		} else {
			x.buckets[b.name] = b
		}
		table = table.set(b.name, b.block)
	}
	x.table.Store(table)
	x.n.Add(int64(t.added))
}
