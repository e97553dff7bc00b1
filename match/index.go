// This file implements Index: the rules of many buckets, a lock-free Match,
// and serialised writers that check for overlap before anything changes.
//
// Layout. Buckets are spread over a fixed array of shards by an xxhash of
// their name; each shard is an immutable map from bucket name to *bucket,
// published through an atomic.Pointer and copied only when a bucket is
// created or deleted (a copy of one shard, about buckets/4096 entries). A
// bucket holds two views of its rules:
//
//   - the read side: an atomic.Pointer to the root of an immutable prefix
//     trie whose nodes, where a stored prefix ends, hold an immutable trie of
//     suffixes whose nodes hold the rules (trie.go). Match loads the root once
//     and walks it without locks, so it sees one consistent configuration and
//     never waits on a writer.
//   - the write side (guarded by Index.mu): a go-radix tree from each stored
//     prefix to its entry (event union and rule count) and a map from rule ID
//     to rule. The conflict check enumerates candidate prefixes with go-radix
//     WalkPath (stored prefixes of the new prefix) and WalkPrefix (stored
//     prefixes that extend it), then searches each candidate's suffix trie.
//
// A write validates, checks for conflicts, and only then builds the new
// version by path copying and publishes it with one atomic store. A refused
// write therefore changes nothing.

package match

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/armon/go-radix"
	"github.com/cespare/xxhash/v2"
)

// shardCount is the number of bucket shards; a power of two.
const shardCount = 4096

type (
	strie = node[[]*Rule] // a trie of suffixes; values are the rules ending there
	ptrie = node[*strie]  // a trie of prefixes; values are suffix tries
)

// Index holds the notification rules of many buckets and resolves an event to
// the single rule it triggers. The zero value is not usable; call New.
//
// Match is safe for concurrent use with every other method and never blocks.
// Add, Remove and Replace are serialised with each other.
type Index struct {
	mu     sync.Mutex // serialises writers
	shards [shardCount]atomic.Pointer[map[string]*bucket]
	n      atomic.Int64
}

// bucket is one bucket's rules.
type bucket struct {
	root atomic.Pointer[ptrie] // read side; nil when the bucket is empty

	// write side, guarded by Index.mu
	prefixes *radix.Tree      // prefix → *prefixEntry
	ids      map[string]*Rule // rule ID → rule
}

// prefixEntry describes the rules that share one prefix.
type prefixEntry struct {
	events EventSet // union of their events
	n      int      // how many rules
}

// New returns an empty Index.
func New() *Index { return new(Index) }

func newBucket() *bucket {
	return &bucket{prefixes: radix.New(), ids: make(map[string]*Rule)}
}

func shardOf(name string) uint64 { return xxhash.Sum64String(name) & (shardCount - 1) }

// lookup returns the bucket called name, or nil.
func (x *Index) lookup(name string) *bucket {
	m := x.shards[shardOf(name)].Load()
	if m == nil {
		return nil
	}
	return (*m)[name]
}

// setBucket publishes b under name (nil deletes it) by copying one shard.
// The caller holds x.mu.
func (x *Index) setBucket(name string, b *bucket) {
	s := &x.shards[shardOf(name)]
	var next map[string]*bucket
	if old := s.Load(); old != nil {
		next = make(map[string]*bucket, len(*old)+1)
		for k, v := range *old {
			next[k] = v
		}
	} else {
		next = make(map[string]*bucket, 1)
	}
	if b == nil {
		delete(next, name)
	} else {
		next[name] = b
	}
	s.Store(&next)
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

func (x *Index) match(name string, e Event, key string) *Rule {
	b := x.lookup(name)
	if b == nil {
		return nil
	}
	bit := e.Set()
	n := b.root.Load()
	if n == nil || n.mask&bit == 0 {
		return nil
	}
	i := 0
	for {
		l := n.label
		if len(key)-i < len(l) || key[i:i+len(l)] != l {
			return nil
		}
		i += len(l)
		if n.own&bit != 0 {
			if r := findSuffix(n.val, key, bit); r != nil {
				return r
			}
		}
		if i == len(key) {
			return nil
		}
		if n = n.child(key[i]); n == nil || n.mask&bit == 0 {
			return nil
		}
	}
}

// findSuffix walks key backwards through the suffix trie s and returns the
// rule holding bit whose suffix ends key, or nil.
func findSuffix(s *strie, key string, bit EventSet) *Rule {
	j := len(key)
	for {
		l := s.label
		if j < len(l) || key[j-len(l):j] != l {
			return nil
		}
		j -= len(l)
		if s.own&bit != 0 {
			for _, r := range s.val {
				if r.Events&bit != 0 {
					return r
				}
			}
		}
		if j == 0 {
			return nil
		}
		if s = s.child(key[j-1]); s == nil || s.mask&bit == 0 {
			return nil
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
	b := x.lookup(r.Bucket)
	created := b == nil
	if created {
		b = newBucket()
	}
	if err := b.check(&r); err != nil {
		return err
	}
	b.insert(&r)
	if created {
		x.setBucket(r.Bucket, b)
	}
	x.n.Add(1)
	return nil
}

// Check reports the error Add(r) would return, without changing the index.
func (x *Index) Check(r Rule) error {
	if err := r.Validate(); err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	b := x.lookup(r.Bucket)
	if b == nil {
		return nil
	}
	return b.check(&r)
}

// Conflicts returns a *ConflictError for every rule the index holds that
// overlaps r (all of them, where Add stops at the first), in prefix order.
// r need not be valid; a bucket without rules yields nothing.
func (x *Index) Conflicts(r Rule) []*ConflictError {
	x.mu.Lock()
	defer x.mu.Unlock()
	b := x.lookup(r.Bucket)
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
	b := x.lookup(bucket)
	if b == nil {
		return false
	}
	r, ok := b.ids[id]
	if !ok {
		return false
	}
	b.remove(r)
	if len(b.ids) == 0 {
		x.setBucket(bucket, nil)
	}
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
	nb := newBucket()
	for i := range rules {
		r := rules[i]
		if err := r.Validate(); err != nil {
			return err
		}
		if r.Bucket != bucket {
			return fmt.Errorf("match: rule %q names bucket %q, not %q: %w", r.ID, r.Bucket, bucket, ErrInvalidRule)
		}
		if err := nb.check(&r); err != nil {
			return err
		}
		nb.insert(&r)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	old := 0
	if b := x.lookup(bucket); b != nil {
		old = len(b.ids)
	}
	if len(rules) == 0 {
		if old > 0 {
			x.setBucket(bucket, nil)
		}
	} else {
		x.setBucket(bucket, nb)
	}
	x.n.Add(int64(len(rules) - old))
	return nil
}

// Lookup returns the rule called id in bucket.
func (x *Index) Lookup(bucket, id string) (Rule, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if b := x.lookup(bucket); b != nil {
		if r, ok := b.ids[id]; ok {
			return *r, true
		}
	}
	return Rule{}, false
}

// Rules returns the rules of bucket ordered by prefix, then suffix, then ID.
func (x *Index) Rules(bucket string) []Rule {
	x.mu.Lock()
	defer x.mu.Unlock()
	b := x.lookup(bucket)
	if b == nil {
		return nil
	}
	out := make([]Rule, 0, len(b.ids))
	for _, r := range b.ids {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b Rule) int {
		if a.Prefix != b.Prefix {
			return cmpStr(a.Prefix, b.Prefix)
		}
		if a.Suffix != b.Suffix {
			return cmpStr(a.Suffix, b.Suffix)
		}
		return cmpStr(a.ID, b.ID)
	})
	return out
}

// Buckets returns the names of the buckets that hold rules, sorted.
func (x *Index) Buckets() []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	var names []string
	for i := range x.shards {
		if m := x.shards[i].Load(); m != nil {
			for name := range *m {
				names = append(names, name)
			}
		}
	}
	slices.Sort(names)
	return names
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// check returns the error adding r to b would cause. The caller holds the
// writer lock (or owns b exclusively).
func (b *bucket) check(r *Rule) error {
	if _, dup := b.ids[r.ID]; dup {
		return fmt.Errorf("match: rule %q in bucket %q: %w", r.ID, r.Bucket, ErrDuplicateID)
	}
	var cerr *ConflictError
	b.conflicts(r, func(h *Rule) bool {
		e, k, _ := Overlap(*r, *h)
		cerr = &ConflictError{Rule: *r, Existing: *h, Event: e, Key: k}
		return false
	})
	if cerr != nil {
		return cerr
	}
	return nil
}

// conflicts calls fn for each rule of b that overlaps r until fn returns
// false. Candidates come from go-radix: the stored prefixes of r.Prefix
// (WalkPath) and the stored prefixes that extend it (WalkPrefix, which also
// visits r.Prefix itself, so WalkPath skips it). For each candidate whose
// event union meets r.Events, the suffix trie is searched for suffixes of
// r.Suffix and for suffixes that end with r.Suffix.
func (b *bucket) conflicts(r *Rule, fn func(*Rule) bool) {
	root := b.root.Load()
	more := true
	visit := func(prefix string, v any) bool {
		if v.(*prefixEntry).events&r.Events == 0 {
			return false
		}
		s := findPrefixNode(root, prefix)
		more = suffixConflicts(s, r, fn)
		return !more
	}
	b.prefixes.WalkPath(r.Prefix, func(p string, v any) bool {
		if len(p) == len(r.Prefix) {
			return false
		}
		return visit(p, v)
	})
	if more {
		b.prefixes.WalkPrefix(r.Prefix, visit)
	}
}

// findPrefixNode returns the suffix trie stored at exactly prefix, or nil.
func findPrefixNode(n *ptrie, prefix string) *strie {
	i := 0
	for n != nil {
		l := n.label
		if len(prefix)-i < len(l) || prefix[i:i+len(l)] != l {
			return nil
		}
		i += len(l)
		if i == len(prefix) {
			return n.val
		}
		n = n.child(prefix[i])
	}
	return nil
}

// suffixConflicts calls fn for each rule in the suffix trie s whose events
// meet r.Events and whose suffix is comparable with r.Suffix: a suffix of it
// (met while walking r.Suffix backwards) or one that ends with it (the
// subtree where that walk ends). It returns false if fn did.
func suffixConflicts(s *strie, r *Rule, fn func(*Rule) bool) bool {
	ev := r.Events & AllEvents
	each := func(n *strie) bool {
		for _, h := range n.val {
			if h.Events&ev != 0 && !fn(h) {
				return false
			}
		}
		return true
	}
	key, j := r.Suffix, len(r.Suffix)
	for s != nil && s.mask&ev != 0 {
		l := s.label
		if k := commonLen(l, key[:j], true); k < len(l) {
			if k == j { // r.Suffix ends inside this label: all below extend it
				return s.walk(ev, each)
			}
			return true
		}
		j -= len(l)
		if j == 0 { // this node is r.Suffix itself: it and all below
			return s.walk(ev, each)
		}
		if s.own&ev != 0 && !each(s) {
			return false
		}
		s = s.child(key[j-1])
	}
	return true
}

// insert adds r to b; r has passed check.
func (b *bucket) insert(r *Rule) {
	b.ids[r.ID] = r
	if v, ok := b.prefixes.Get(r.Prefix); ok {
		pe := v.(*prefixEntry)
		pe.events |= r.Events
		pe.n++
	} else {
		b.prefixes.Insert(r.Prefix, &prefixEntry{events: r.Events, n: 1})
	}
	b.root.Store(b.updateRules(r, func(rs []*Rule) []*Rule {
		return append(slices.Clip(rs), r)
	}))
}

// remove deletes r, which b holds.
func (b *bucket) remove(r *Rule) {
	delete(b.ids, r.ID)
	root := b.updateRules(r, func(rs []*Rule) []*Rule {
		out := make([]*Rule, 0, len(rs)-1)
		for _, h := range rs {
			if h != r {
				out = append(out, h)
			}
		}
		return out
	})
	v, _ := b.prefixes.Get(r.Prefix)
	if pe := v.(*prefixEntry); pe.n > 1 {
		pe.n--
		pe.events = findPrefixNodeEvents(root, r.Prefix)
	} else {
		b.prefixes.Delete(r.Prefix)
	}
	b.root.Store(root)
}

// findPrefixNodeEvents returns the events of every rule with exactly prefix.
func findPrefixNodeEvents(root *ptrie, prefix string) EventSet {
	if s := findPrefixNode(root, prefix); s != nil {
		return s.mask
	}
	return 0
}

// updateRules returns a new read-side root in which the rule list at
// (r.Prefix, r.Suffix) is replaced by edit(old list).
func (b *bucket) updateRules(r *Rule, edit func([]*Rule) []*Rule) *ptrie {
	return update(b.root.Load(), r.Prefix, false, func(s *strie, _ EventSet) (*strie, EventSet) {
		s = update(s, r.Suffix, true, func(rs []*Rule, _ EventSet) ([]*Rule, EventSet) {
			rs = edit(rs)
			var ev EventSet
			for _, h := range rs {
				ev |= h.Events
			}
			return rs, ev & AllEvents
		})
		if s == nil {
			return nil, 0
		}
		return s, s.mask
	})
}
