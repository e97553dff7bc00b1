// This file implements Index, its API and its locking: Match reads without
// a lock from the bucket table; writers are serialised by a mutex and check
// for overlap before anything changes.
//
// The pieces, one file each:
//
//   - table.go: the bucket table, an open-addressing hash table from bucket
//     name to block, changed in place with atomic stores;
//   - block.go: a bucket's block, which is all Match reads of the bucket, and
//     the lookup on it (small buckets: each rule's entry in turn; large
//     buckets: one probe per candidate prefix length into a prefix table
//     whose 16-byte slots hold a key of the rule's prefix and suffix and
//     the rule);
//   - entry.go: the fingerprint of a small bucket's rule that Match tests
//     instead of the rule's strings;
//   - bucket.go: the write side of a bucket (go-radix tree of prefixes,
//     rules by ID, counts) and how it keeps the block up to date;
//   - conflict.go: the conflict search on the write side;
//   - txn.go: the write transaction of AddAll and Replace;
//   - trie.go: the suffix trie the conflict search uses for prefixes that
//     many rules share;
//   - hash.go: the hash both hash tables use;
//   - intern.go: one compact copy of each held rule, and the arena that
//     holds the copies of the rules one AddAll or Replace gives a bucket.

package match

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Index holds the notification rules of many buckets and resolves an event to
// the single rule it triggers. The zero value is not usable; call New.
//
// Match is safe for concurrent use with every other method and never blocks.
// Add, AddAll, Remove and Replace are serialised with each other. Len is
// updated just after a change is published, so for a moment it may lag
// what Match sees.
type Index struct {
	table atomic.Pointer[bucketTable] // read side: bucket name → block

	mu      sync.Mutex         // serialises writers; guards buckets
	buckets map[string]*bucket // write side: bucket name → bucket
	n       atomic.Int64

	// smallLimit is the most rules a bucket may hold and still be
	// matched by testing each rule in turn: smallBucket, except in tests
	// of this package, which set 0 to put every bucket on the prefix table.
	smallLimit int
	// parallelAbove is the number of rules above which AddAll builds
	// buckets on several goroutines: parallelAbove, except in tests.
	parallelAbove int
}

// New returns an empty Index.
func New() *Index { return newIndex(smallBucket) }

// newIndex returns an empty Index whose buckets of at most smallLimit rules
// (and at most smallBucket) are matched by testing each rule in turn.
func newIndex(smallLimit int) *Index {
	x := &Index{buckets: make(map[string]*bucket), smallLimit: smallLimit, parallelAbove: parallelAbove}
	x.table.Store(newBucketTable(0))
	return x
}

// Match returns the rule that an event of type e on key in bucket triggers,
// and false when none does. Rules never overlap, so there is at most one.
// Match does not allocate and is safe to call while rules change.
func (x *Index) Match(bucket string, e Event, key string) (Rule, bool) {
	if r := x.match(bucket, e, key); r != nil {
		return *r, true
	}
	return Rule{}, false
}

func (x *Index) match(bucket string, e Event, key string) *Rule {
	t := x.table.Load()
	if len(t.slots) == tinyTable {
		if b := t.findTiny(bucket); b != nil {
			return b.match(e.Set(), key)
		}
		return nil
	}
	// t.find, written out: a lookup of a bucket without rules, the
	// common case, is a hash and one slot.
	h := slotHash(bucket)
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		switch sh := s.hash.Load(); sh {
		case slotEmpty:
			return nil
		case h:
			if b := s.block.Load(); b != nil && b.name == bucket {
				return b.match(e.Set(), key)
			}
		}
	}
}

// Len returns the number of rules in the index.
func (x *Index) Len() int { return int(x.n.Load()) }

// Add inserts r. It returns an error wrapping ErrInvalidRule when r does not
// validate, ErrDuplicateID when r.Bucket already has a rule r.ID, and a
// *ConflictError when r overlaps a rule the index holds. On error the index is
// unchanged.
func (x *Index) Add(r Rule) error {
	if err := r.Validate(); err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	b := x.buckets[r.Bucket]
	if b == nil {
		b = newBucket(r.Bucket, 0, x.smallLimit)
	}
	if err := b.check(&r); err != nil {
		return err
	}
	x.buckets[r.Bucket] = b
	h := intern(r)
	b.insert(h)
	x.publish(b, b.sync(h, true))
	x.n.Add(1)
	return nil
}

// publish makes blk the block readers find for b, if it is not already.
// The caller holds x.mu.
func (x *Index) publish(b *bucket, blk *block) {
	t := x.table.Load()
	if blk != nil && t.find(b.name) == blk {
		return // changed in place
	}
	if nt := t.set(b.name, blk); nt != t {
		x.table.Store(nt)
	}
}

// AddAll adds every rule of rules, all or nothing: on the first error (as
// Add would return it, with rules earlier in the slice counting as held) the
// index is left as it was. Readers see all of the new rules at once. It is
// the fast way to load many rules: each bucket is built once and published
// once, where a loop of Add publishes once per rule, and a call of more
// than a few thousand rules builds its buckets on up to GOMAXPROCS
// goroutines, which end before AddAll returns. A bucket that already
// holds rules is rebuilt, which costs time in proportion to its size. A
// call that spans several buckets copies the bucket table once, so that
// readers see all its rules at once; that costs time in proportion to the
// number of buckets the index holds, so to change a few buckets among very
// many, call AddAll (or Replace) once per bucket, which changes the table
// in place.
func (x *Index) AddAll(rules []Rule) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	t := x.begin()
	if err := t.addAll(rules); err != nil {
		return err
	}
	t.commit()
	return nil
}

// Check reports the error Add(r) would return, without changing the index.
func (x *Index) Check(r Rule) error {
	if err := r.Validate(); err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if b := x.buckets[r.Bucket]; b != nil {
		return b.check(&r)
	}
	return nil
}

// Conflicts returns a *ConflictError for every rule the index holds that
// overlaps r (all of them, where Add stops at the first), in prefix order.
// r need not be valid.
func (x *Index) Conflicts(r Rule) []*ConflictError {
	x.mu.Lock()
	defer x.mu.Unlock()
	b := x.buckets[r.Bucket]
	if b == nil {
		return nil
	}
	var out []*ConflictError
	b.conflicts(&r, func(h *Rule) bool {
		e, k, _ := Overlap(r, *h)
		out = append(out, &ConflictError{Rule: r, Existing: *h, Event: e, Key: k})
		return true
	})
	return out
}

// Remove deletes the rule called id from bucket and reports whether it was there.
func (x *Index) Remove(bucket, id string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	b := x.buckets[bucket]
	if b == nil {
		return false
	}
	r := b.byID(id)
	if r == nil {
		return false
	}
	b.remove(r)
	if b.size() == 0 {
		delete(x.buckets, bucket)
	}
	x.publish(b, b.sync(r, false))
	x.n.Add(-1)
	return true
}

// Replace sets the whole configuration of bucket to rules, as a
// PutBucketNotification does: all or nothing. Every rule must name bucket,
// validate, have a unique ID and overlap no other rule of the call (the
// *ConflictError then names the earlier rule as Existing). On error the index
// is unchanged. An empty or nil rules removes the bucket's configuration.
// Matches running during Replace see either the old rules or the new ones.
func (x *Index) Replace(bucket string, rules []Rule) error {
	// The new bucket is built before the lock is taken: it reads nothing
	// the index holds.
	var a arena
	for i := range rules {
		a.reserve(&rules[i])
	}
	a.alloc()
	name := strings.Clone(bucket)
	nb := newBucket(name, len(rules), x.smallLimit)
	for i := range rules {
		r := &rules[i]
		if err := r.Validate(); err != nil {
			return err
		}
		if r.Bucket != bucket {
			return fmt.Errorf("match: rule %s names bucket %s, not %s: %w", quote(r.ID), quote(r.Bucket), quote(bucket), ErrInvalidRule)
		}
		if err := nb.check(r); err != nil {
			return err
		}
		nb.insert(a.intern(r, name))
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	t := x.begin()
	t.replace(nb)
	t.commit()
	return nil
}

// Lookup returns the rule called id in bucket.
func (x *Index) Lookup(bucket, id string) (Rule, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if b := x.buckets[bucket]; b != nil {
		if r := b.byID(id); r != nil {
			return *r, true
		}
	}
	return Rule{}, false
}

// Rules returns the rules of bucket ordered by prefix, then suffix, then ID.
func (x *Index) Rules(bucket string) []Rule {
	x.mu.Lock()
	defer x.mu.Unlock()
	b := x.buckets[bucket]
	if b == nil {
		return nil
	}
	out := make([]Rule, 0, b.size())
	for r := range b.rules() {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b Rule) int { return compareRules(&a, &b) })
	return out
}

// Buckets returns the names of the buckets that hold rules, sorted.
func (x *Index) Buckets() []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	names := make([]string, 0, len(x.buckets))
	for name := range x.buckets {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}
