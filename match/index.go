// This file implements Index: the rules of many buckets, a lock-free Match,
// and serialised writers that check for overlap before anything changes.
//
// Read side. One immutable hash table (hamt.go), published through an
// atomic.Pointer, maps a bucket name to that bucket's current view. A view
// of a bucket of at most twelve rules holds copies of their events and
// filter bytes, which Match tests in turn. A view of a larger bucket holds
// the sorted distinct lengths of its stored prefixes and a second table from
// each stored prefix to its rule (when it has one) or to an immutable trie
// of that prefix's suffixes (trie.go), whose nodes hold the rules. Match
// loads the root once, so it sees one consistent configuration and never
// waits on a writer; it probes the prefix table once per stored length up to
// the key's length (less the lengths that cannot match, see probe) and walks
// the key backwards through the suffix trie of each prefix it finds. Rules
// never overlap, so the first rule found is the only one.
//
// Write side (guarded by Index.mu). Per bucket, a go-radix tree maps each
// stored prefix to its event union and rule count, and a map holds rules by
// ID. In a small bucket the conflict check compares the new rule with each.
// In a larger one it enumerates candidate prefixes with go-radix WalkPath
// (stored prefixes of the new prefix) and WalkPrefix (stored prefixes that
// extend it) and searches each candidate's rule or suffix trie for suffixes
// that are comparable with the new suffix, pruning by event masks and last
// bytes. Only when the rule is accepted is the new version built, by copying
// the nodes on the changed paths, and published with one atomic store; a
// refused write changes nothing. A write copies O(key length) nodes, never a
// whole bucket, except that the write that takes a bucket past twelve rules
// builds its tables from all thirteen.
//
// Locality. Match is bound by dependent cache misses, so the read side is
// laid out to take few: table nodes are allocated with their slots, trie
// nodes with their children and short labels, a view with its prefix
// lengths, and each stored rule with the bytes of its strings. A hit costs
// the table levels that are not cached, one suffix node and the rule itself.

package match

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/armon/go-radix"
	"github.com/cespare/xxhash/v2"
)

// Index holds the notification rules of many buckets and resolves an event to
// the single rule it triggers. The zero value is not usable; call New.
//
// Match is safe for concurrent use with every other method and never blocks.
// Add, AddAll, Remove and Replace are serialised with each other. Len is
// updated just after a change is published, so for a moment it may lag
// what Match sees.
type Index struct {
	views atomic.Pointer[hnode[*view]] // read side: bucket name → view

	mu      sync.Mutex         // serialises writers; guards buckets
	buckets map[string]*bucket // write side: bucket name → bucket
	n       atomic.Int64

	// smallLimit is the most rules a bucket may hold and still be
	// matched on copies in its view: smallBucket, except in tests of
	// this package, which set 0 to put every bucket on the tables.
	smallLimit int
}

// view is one immutable version of a bucket's read side.
//
// Fields are ordered for Match: the first 64 bytes hold what either path
// reads first, then the small path's rules and bytes.
type view struct {
	mask    EventSet      // every event some rule of the bucket holds
	nsmall  int32         // how many of small are in use; 0 when the tables are used
	nameAt  int32         // where the bucket's name starts in blob
	blob    string        // each small rule's prefix and suffix, then the bucket's name
	probes  []probe       // one per distinct length of stored prefixes, ascending
	tab     *hnode[pslot] // stored prefix → its rules
	small   [smallBucket]smallRule
	inblob  [smallBlob]byte // storage for blob when it fits
	name    string
	inprobe [3]probe // storage for probes when there are few
	gen     uint64   // the build that allocated the view (see hset)
}

// smallBucket is the most rules a bucket may hold for Match to test each of
// them in turn instead of probing its tables. COS allows 10 rules per
// bucket. Their events and filters are copied into the view itself (the
// filters' bytes into one string, blob), so testing all of them touches a
// few adjacent cache lines instead of one scattered rule each; only the
// rule that matches is read.
const smallBucket = 12

// smallBlob is how many bytes of filters and bucket name a view holds in
// itself; ten rules with prefixes like "images/2026/" and suffixes like
// ".jpg", and the bucket's name, fit, and Match then reads the view's own cache lines only.
const smallBlob = 184

// A view fits Go's 704-byte size class (the next is 768).
const _ = uint(704 - unsafe.Sizeof(view{}))

// smallRule is a rule of a small bucket as Match tests it: its filters are
// blob[p:p+np] and blob[s:s+ns]. The prefixes and suffixes of twelve
// rules, each at most MaxFilterLen bytes, fit 16-bit offsets.
type smallRule struct {
	events       EventSet
	p, np, s, ns uint16
	rule         *Rule
}

// The offsets of smallRule cannot overflow.
const _ = uint16(2 * smallBucket * MaxFilterLen)

// probe is one length at which Match looks a key's prefix up, with the last
// bytes that stored prefixes of that length end with. Prefixes usually end
// at a separator, so testing key[l-1] against last skips most lengths
// without touching the table: for users/<i>/ prefixes only the length at
// which the key has its second '/' is probed.
//
// sfx does the same for the key's last byte: bit c&63 is set when a rule whose
// prefix has length l has a suffix ending with byte c (all bits for an empty
// suffix). With nested prefixes that each have their own suffixes, it skips
// the lengths whose rules cannot end the key.
type probe struct {
	l    uint16
	last [4]uint64 // bit c set when a stored prefix of length l ends with byte c
	sfx  uint64
}

// pslot holds the rules of one stored prefix: when the prefix has exactly
// one rule, that rule, which Match checks directly (one cache miss fewer
// than a trie walk, and no trie node kept); else the trie of their suffixes.
type pslot struct {
	one  *Rule  // the prefix's only rule, or nil
	sfx  *strie // the suffix trie, when one is nil
	last uint64 // bit c&63 set when a suffix ends with byte c; all set for ""
}

// lastBytes returns the pslot.last bits of the suffix trie s, in constant
// time: the root's label ends every suffix; else its children's selecting
// bytes (and an empty suffix stored at the root) are all the last bytes.
func lastBytes(s *strie) uint64 {
	switch {
	case s.nlab > 0:
		return 1 << (s.label[len(s.label)-1] & 63)
	case s.own != 0:
		return ^uint64(0)
	}
	return s.bm[0] | s.bm[1] | s.bm[2] | s.bm[3]
}

// strie is a trie of suffixes; its values are the rules whose suffix ends there.
type strie = node[ruleSet]

// ruleSet holds the rules that share one prefix and one suffix. They have
// disjoint event sets; almost always there is one.
type ruleSet struct {
	first *Rule
	more  []*Rule
}

// find returns the rule of s holding bit, or nil.
func (s *ruleSet) find(bit EventSet) *Rule {
	if s.first != nil && s.first.Events&bit != 0 {
		return s.first
	}
	for _, r := range s.more {
		if r.Events&bit != 0 {
			return r
		}
	}
	return nil
}

// list returns the rules of s.
func (s ruleSet) list() []*Rule {
	if s.first == nil {
		return nil
	}
	return append([]*Rule{s.first}, s.more...)
}

// newRuleSet builds a ruleSet of rs and returns it with the union of their events.
func newRuleSet(rs []*Rule) (ruleSet, EventSet) {
	var ev EventSet
	for _, r := range rs {
		ev |= r.Events
	}
	if len(rs) == 0 {
		return ruleSet{}, 0
	}
	return ruleSet{first: rs[0], more: slices.Clip(rs[1:])}, ev & AllEvents
}

// bucket is the write side of one bucket.
type bucket struct {
	name       string
	prefixes   *radix.Tree       // prefix → *prefixEntry
	ids        map[string]*Rule  // rule ID → rule
	ends       map[lenByte]int32 // (length, last byte) → number of stored prefixes
	sends      map[lenByte]int32 // (prefix length, suffix's last byte&63, 64 for "") → number of rules
	reprobe    bool              // ends or sends gained or lost a key since the last view
	events     [MaxEvent + 1]int32
	cur        *view  // the newest view (what readers see, once published)
	gen        uint64 // nonzero while a bulk build owns b's new nodes
	smallLimit int    // the Index's smallLimit
}

// gens hands out build generations; see hset.
var gens atomic.Uint64

// prefixEntry describes the rules that share one prefix.
type prefixEntry struct {
	events EventSet // union of their events
	last   uint64   // their suffixes' last bytes, as pslot.last
	n      int      // how many rules
}

// lastBit returns the pslot.last bits of one suffix.
func lastBit(suffix string) uint64 {
	if suffix == "" {
		return ^uint64(0)
	}
	return 1 << (suffix[len(suffix)-1] & 63)
}

// New returns an empty Index.
func New() *Index { return newIndex(smallBucket) }

// newIndex returns an empty Index whose buckets of at most smallLimit rules
// (and at most smallBucket) are matched on copies in their views.
func newIndex(smallLimit int) *Index {
	return &Index{buckets: make(map[string]*bucket), smallLimit: smallLimit}
}

// newBucket returns an empty bucket with room for about n rules.
func newBucket(name string, n, smallLimit int) *bucket {
	return &bucket{name: name, smallLimit: smallLimit, prefixes: radix.New(), ids: make(map[string]*Rule, n), ends: make(map[lenByte]int32), sends: make(map[lenByte]int32)}
}

func viewName(v *view) string { return v.name }

// prefixOf returns the prefix shared by every rule of the slot p.
func prefixOf(p pslot) string {
	if p.one != nil {
		return p.one.Prefix
	}
	s := p.sfx
	for s.val.first == nil {
		s = s.kids[0]
	}
	return s.val.first.Prefix
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
	be := x.views.Load().find(xxhash.Sum64String(name))
	if be == nil {
		return nil
	}
	v := be.val
	if be.alt != nil { // two bucket names share the hash: pick by name
		for ; be != nil && be.val.name != name; be = be.alt {
		}
		if be == nil {
			return nil
		}
		v = be.val
	}
	bit := e.Set()
	if v.mask&bit == 0 {
		return nil
	}
	if v.nsmall > 0 {
		// A lone entry of the bucket table was found by hash alone.
		if v.blob[v.nameAt:] != name {
			return nil
		}
		for i := range v.small[:v.nsmall] {
			sr := &v.small[i]
			np, ns := int(sr.np), int(sr.ns)
			if sr.events&bit != 0 && len(key) >= np && len(key) >= ns &&
				key[:np] == v.blob[sr.p:int(sr.p)+np] && key[len(key)-ns:] == v.blob[sr.s:int(sr.s)+ns] {
				return sr.rule
			}
		}
		return nil
	}
	// A slot whose suffixes cannot end key is passed over unread: with
	// nested prefixes, that skips most of the suffix tries a key passes.
	end := ^uint64(0)
	if len(key) > 0 {
		end = 1 << (key[len(key)-1] & 63)
	}
	for i := range v.probes {
		p := &v.probes[i]
		l := int(p.l)
		if l > len(key) {
			return nil
		}
		if p.sfx&end == 0 {
			continue
		}
		if l > 0 {
			if c := key[l-1]; p.last[c>>6]&(1<<(c&63)) == 0 {
				continue
			}
		}
		// Entries chained through alt share the hash; the rule found
		// tells whether its prefix is really key[:l]. Its bucket tells
		// whether v was really name's (a lone entry is not compared).
		for pe := v.tab.find(xxhash.Sum64String(key[:l])); pe != nil; pe = pe.alt {
			if pe.val.last&end == 0 {
				continue
			}
			var r *Rule
			if one := pe.val.one; one != nil {
				if one.Events&bit != 0 && strings.HasSuffix(key, one.Suffix) {
					r = one
				}
			} else if pe.val.sfx.mask&bit != 0 {
				r = findSuffix(pe.val.sfx, key, bit)
			}
			if r != nil && r.Prefix == key[:l] && r.Bucket == name {
				return r
			}
		}
	}
	return nil
}

// findSuffix walks key backwards through the suffix trie s and returns the
// rule holding bit whose suffix ends key, or nil.
func findSuffix(s *strie, key string, bit EventSet) *Rule {
	j := len(key)
	for {
		if !s.atBack(key, j) {
			return nil
		}
		j -= int(s.nlab)
		if s.own&bit != 0 {
			if r := s.val.find(bit); r != nil {
				return r
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
	b := x.buckets[r.Bucket]
	if b == nil {
		b = newBucket(r.Bucket, 0, x.smallLimit)
	}
	if err := b.check(&r); err != nil {
		return err
	}
	x.buckets[r.Bucket] = b
	b.insert(intern(r))
	x.views.Store(x.publish(x.views.Load(), b, 0))
	x.n.Add(1)
	return nil
}

// AddAll adds every rule of rules, all or nothing: on the first error (as
// Add would return it, with rules earlier in the slice counting as held) the
// index is left as it was. Readers see all of the new rules at once. It is
// the fast way to load many rules: the new version of each bucket is built
// in place and published once, where a loop of Add publishes, and so copies
// paths, once per rule. A bucket that already holds rules is rebuilt, which
// costs time in proportion to its size.
func (x *Index) AddAll(rules []Rule) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	gen := gens.Add(1)
	building := make(map[string]*bucket)
	// Size each bucket's ID map for what it will hold: growing a map of a
	// million entries step by step costs a tenth of a bulk load.
	sizes := make(map[string]int)
	for i := range rules {
		sizes[rules[i].Bucket]++
	}
	for i := range rules {
		r := rules[i]
		if err := r.Validate(); err != nil {
			return err
		}
		b := building[r.Bucket]
		if b == nil {
			old := x.buckets[r.Bucket]
			n := sizes[r.Bucket]
			if old != nil {
				n += len(old.ids)
			}
			b = newBucket(r.Bucket, n, x.smallLimit)
			b.gen = gen
			if old != nil {
				for _, h := range old.ids {
					b.insert(h)
				}
			}
			building[r.Bucket] = b
		}
		if err := b.check(&r); err != nil {
			return err
		}
		b.insert(intern(r))
	}
	root := x.views.Load()
	for name, b := range building {
		b.gen = 0
		x.buckets[name] = b
		root = x.publish(root, b, gen)
	}
	x.views.Store(root)
	x.n.Add(int64(len(rules)))
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
	r, ok := b.ids[id]
	if !ok {
		return false
	}
	b.remove(r)
	if len(b.ids) == 0 {
		delete(x.buckets, bucket)
	}
	x.views.Store(x.publish(x.views.Load(), b, 0))
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
	nb := newBucket(bucket, len(rules), x.smallLimit)
	nb.gen = gens.Add(1)
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
		nb.insert(intern(r))
	}
	nb.gen = 0
	x.mu.Lock()
	defer x.mu.Unlock()
	old := 0
	if b := x.buckets[bucket]; b != nil {
		old = len(b.ids)
	}
	if len(rules) == 0 {
		delete(x.buckets, bucket)
	} else {
		x.buckets[bucket] = nb
	}
	x.views.Store(x.publish(x.views.Load(), nb, 0))
	x.n.Add(int64(len(rules) - old))
	return nil
}

// publish returns a bucket table equal to root but with b's newest view
// (none when b is empty); storing it in x.views makes it what readers see.
// The caller holds x.mu.
func (x *Index) publish(root *hnode[*view], b *bucket, gen uint64) *hnode[*view] {
	return hset(root, xxhash.Sum64String(b.name), 0, b.name, b.cur, b.cur == nil, viewName, gen)
}

// Lookup returns the rule called id in bucket.
func (x *Index) Lookup(bucket, id string) (Rule, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if b := x.buckets[bucket]; b != nil {
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
	b := x.buckets[bucket]
	if b == nil {
		return nil
	}
	out := make([]Rule, 0, len(b.ids))
	for _, r := range b.ids {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b Rule) int { return compareRules(&a, &b) })
	return out
}

// compareRules orders rules by prefix, then suffix, then ID.
func compareRules(a, b *Rule) int {
	if c := strings.Compare(a.Prefix, b.Prefix); c != 0 {
		return c
	}
	if c := strings.Compare(a.Suffix, b.Suffix); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
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

// intern returns a heap copy of r whose strings live in the same allocation
// as the Rule, so that reading a matched rule and its prefix touches one
// place in memory. Short rules (the usual case) take one allocation.
func intern(r Rule) *Rule {
	n := len(r.Prefix) + len(r.Bucket) + len(r.Suffix) + len(r.ID) + len(r.Target)
	var p *Rule
	var buf []byte
	switch {
	case n <= 32:
		x := new(struct {
			r Rule
			b [32]byte
		})
		p, buf = &x.r, x.b[:0]
	case n <= 64:
		x := new(struct {
			r Rule
			b [64]byte
		})
		p, buf = &x.r, x.b[:0]
	case n <= 128:
		x := new(struct {
			r Rule
			b [128]byte
		})
		p, buf = &x.r, x.b[:0]
	default:
		p, buf = new(Rule), make([]byte, 0, n)
	}
	put := func(s string) string {
		if s == "" {
			return ""
		}
		buf = append(buf, s...)
		return unsafe.String(&buf[len(buf)-len(s)], len(s))
	}
	*p = Rule{Prefix: put(r.Prefix), Bucket: put(r.Bucket), Suffix: put(r.Suffix),
		ID: put(r.ID), Target: put(r.Target), Events: r.Events}
	return p
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
//
// The cost is the length of r.Prefix plus the number of stored prefixes
// that extend r.Prefix, share an event with r and have a suffix ending like
// r.Suffix: adding a short prefix above many stored ones visits each of
// them (about 1 ms for 100k on the development machine). A small bucket,
// which keeps no tables, compares r with each of its rules instead.
func (b *bucket) conflicts(r *Rule, fn func(*Rule) bool) {
	if b.cur == nil || b.cur.mask&r.Events == 0 {
		return
	}
	if b.cur.nsmall > 0 {
		// Sorted by prefix, suffix and ID, so the rule Add names does not
		// depend on map order. (The tables also yield prefix order, but
		// within a prefix they may name another of several overlaps.)
		var hs []*Rule
		for _, h := range b.ids {
			if _, _, ok := Overlap(*r, *h); ok {
				hs = append(hs, h)
			}
		}
		slices.SortFunc(hs, compareRules)
		for _, h := range hs {
			if !fn(h) {
				return
			}
		}
		return
	}
	// Two non-empty suffixes are comparable only if they end with the same
	// byte, so an entry none of whose suffixes ends like r.Suffix is passed
	// over without a look at its suffix trie.
	last := lastBit(r.Suffix)
	more := true
	visit := func(prefix string, v any) bool {
		if pe := v.(*prefixEntry); pe.events&r.Events == 0 || pe.last&last == 0 {
			return false
		}
		if p := b.cur.slot(prefix); p.one != nil {
			// A lone rule keeps no trie: compare it directly.
			if h := p.one; h.Events&r.Events&AllEvents != 0 &&
				(strings.HasSuffix(h.Suffix, r.Suffix) || strings.HasSuffix(r.Suffix, h.Suffix)) {
				more = fn(h)
			}
		} else {
			more = suffixConflicts(p.sfx, r, fn)
		}
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

// slotOf returns the prefix-table slot for the suffix trie sfx (nil: none).
func slotOf(sfx *strie) pslot {
	slot := pslot{sfx: sfx}
	if sfx != nil {
		slot.last = lastBytes(sfx)
		if len(sfx.kids) == 0 && len(sfx.val.more) == 0 {
			// One rule: Match checks it directly, so the slot keeps
			// no trie (a node is 144 bytes; most prefixes have one rule).
			slot.one, slot.sfx = sfx.val.first, nil
		}
	}
	return slot
}

// slot returns the slot of exactly prefix; its zero value if there is none.
func (v *view) slot(prefix string) pslot {
	if v == nil {
		return pslot{}
	}
	p, _ := v.tab.lookup(xxhash.Sum64String(prefix), prefix, prefixOf)
	return p
}

// suffixes returns the suffix trie of the rules at exactly prefix, or nil.
// A slot with one rule keeps no trie; this builds one, for writers.
func (v *view) suffixes(prefix string) *strie {
	p := v.slot(prefix)
	if p.one != nil {
		return update[ruleSet](nil, p.one.Suffix, func(ruleSet, EventSet) (ruleSet, EventSet) {
			return newRuleSet([]*Rule{p.one})
		})
	}
	return p.sfx
}

// suffixConflicts calls fn for each rule in the suffix trie s whose events
// meet r.Events and whose suffix is comparable with r.Suffix: a suffix of it
// (met while walking r.Suffix backwards) or one that ends with it (the
// subtree where that walk ends). It returns false if fn did.
func suffixConflicts(s *strie, r *Rule, fn func(*Rule) bool) bool {
	ev := r.Events & AllEvents
	each := func(n *strie) bool {
		for _, h := range n.val.list() {
			if h.Events&ev != 0 && !fn(h) {
				return false
			}
		}
		return true
	}
	key, j := r.Suffix, len(r.Suffix)
	for s != nil && s.mask&ev != 0 {
		l := s.label
		if k := commonLen(l, key[:j]); k < len(l) {
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
		pe.last |= lastBit(r.Suffix)
		pe.n++
	} else {
		b.prefixes.Insert(r.Prefix, &prefixEntry{events: r.Events, last: lastBit(r.Suffix), n: 1})
		k := endOf(r.Prefix)
		if b.ends[k]++; b.ends[k] == 1 {
			b.reprobe = true
		}
	}
	k := sendOf(r)
	if b.sends[k]++; b.sends[k] == 1 {
		b.reprobe = true
	}
	for e := range r.Events.Events() {
		b.events[e]++
	}
	b.update(r, func(rs []*Rule) []*Rule { return append(rs, r) })
}

// remove deletes r, which b holds.
func (b *bucket) remove(r *Rule) {
	delete(b.ids, r.ID)
	for e := range r.Events.Events() {
		b.events[e]--
	}
	if k := sendOf(r); b.sends[k] == 1 {
		delete(b.sends, k)
		b.reprobe = true
	} else {
		b.sends[k]--
	}
	v, _ := b.prefixes.Get(r.Prefix)
	pe := v.(*prefixEntry)
	if pe.n--; pe.n == 0 {
		b.prefixes.Delete(r.Prefix)
		k := endOf(r.Prefix)
		if b.ends[k]--; b.ends[k] == 0 {
			delete(b.ends, k)
			b.reprobe = true
		}
	}
	b.update(r, func(rs []*Rule) []*Rule {
		return slices.DeleteFunc(rs, func(h *Rule) bool { return h == r })
	})
	if pe.n == 0 {
		return
	}
	if b.cur.tab != nil {
		s := b.cur.suffixes(r.Prefix)
		pe.events, pe.last = s.mask, lastBytes(s)
		return
	}
	pe.events, pe.last = 0, 0 // a small bucket: recount from its rules
	for _, h := range b.ids {
		if h.Prefix == r.Prefix {
			pe.events |= h.Events & AllEvents
			pe.last |= lastBit(h.Suffix)
		}
	}
}

// sendOf returns the sends key of a rule: its prefix's length and its
// suffix's last byte&63, or 64 when the suffix is empty.
func sendOf(r *Rule) lenByte {
	if r.Suffix == "" {
		return mkLenByte(len(r.Prefix), 64)
	}
	return mkLenByte(len(r.Prefix), int(r.Suffix[len(r.Suffix)-1]&63))
}

// endOf returns the ends key of a stored prefix: its length and last byte.
func endOf(prefix string) lenByte {
	if prefix == "" {
		return 0
	}
	return mkLenByte(len(prefix), int(prefix[len(prefix)-1]))
}

// lenByte is a key of bucket.ends and bucket.sends: a prefix length
// (at most MaxFilterLen) and a byte, packed small to keep the maps of the
// many small buckets small.
type lenByte uint32

func mkLenByte(l, c int) lenByte { return lenByte(l)<<8 | lenByte(c) }
func (k lenByte) len() int       { return int(k >> 8) }
func (k lenByte) byte() int      { return int(k & 0xFF) }

// probes builds the probe list from b.ends, in dst when it has room.
func (b *bucket) probes(dst []probe) []probe {
	byLen := make(map[int]*probe)
	var ls []int
	for k := range b.ends {
		p := byLen[k.len()]
		if p == nil {
			p = &probe{l: uint16(k.len())}
			byLen[k.len()] = p
			ls = append(ls, k.len())
		}
		c := k.byte()
		p.last[c>>6] |= 1 << (c & 63)
	}
	for k := range b.sends {
		p := byLen[k.len()] // every rule's prefix length is in ends
		if c := k.byte(); c == 64 {
			p.sfx = ^uint64(0)
		} else {
			p.sfx |= 1 << c
		}
	}
	slices.Sort(ls)
	if len(ls) > cap(dst) {
		dst = make([]probe, 0, len(ls))
	}
	for _, l := range ls {
		dst = append(dst, *byLen[l])
	}
	return dst
}

// update sets b.cur to a new view in which the rules at (r.Prefix, r.Suffix)
// are replaced by edit(a copy of the old ones); nil when b becomes empty.
// b.ids already holds the change: a small bucket's view, and the tables of a
// bucket that has just grown past small, are built from it and edit is not
// called.
func (b *bucket) update(r *Rule, edit func([]*Rule) []*Rule) {
	if len(b.ids) == 0 {
		b.cur = nil
		return
	}
	nv := b.cur
	if nv == nil || b.gen == 0 || nv.gen != b.gen {
		nv = &view{name: b.name, gen: b.gen}
		if old := b.cur; old != nil {
			nv.tab = old.tab
		}
	}
	switch {
	case len(b.ids) <= min(b.smallLimit, smallBucket):
		// A small bucket is matched on the copies setSmall makes and
		// checked against each of its rules: it keeps no tables.
		nv.tab, nv.probes = nil, nil
		b.reprobe = true
	case nv.tab == nil:
		// Too many rules for a small bucket, and no tables yet: build
		// them from every rule (b.ids already holds the change).
		byPrefix := make(map[string][]*Rule)
		for _, h := range b.ids {
			byPrefix[h.Prefix] = append(byPrefix[h.Prefix], h)
		}
		for prefix, hs := range byPrefix {
			var sfx *strie
			for _, h := range hs {
				sfx = update(sfx, h.Suffix, func(rs ruleSet, _ EventSet) (ruleSet, EventSet) {
					return newRuleSet(append(rs.list(), h))
				})
			}
			nv.tab = hset(nv.tab, xxhash.Sum64String(prefix), 0, prefix, slotOf(sfx), false, prefixOf, b.gen)
		}
		nv.probes = b.probes(nv.inprobe[:0])
		b.reprobe = false
	default:
		sfx := update(nv.suffixes(r.Prefix), r.Suffix, func(rs ruleSet, _ EventSet) (ruleSet, EventSet) {
			return newRuleSet(edit(rs.list()))
		})
		nv.tab = hset(nv.tab, xxhash.Sum64String(r.Prefix), 0, r.Prefix, slotOf(sfx), sfx == nil, prefixOf, b.gen)
		switch old := b.cur; {
		case b.reprobe || old == nil:
			nv.probes = b.probes(nv.inprobe[:0])
			b.reprobe = false
		case nv != old && len(old.probes) <= len(nv.inprobe):
			nv.probes = append(nv.inprobe[:0], old.probes...)
		case nv != old:
			nv.probes = old.probes // immutable once published; shared
		}
	}
	nv.setSmall(b, b.smallLimit)
	nv.mask = 0
	for e, n := range b.events {
		if n > 0 {
			nv.mask |= Event(e).Set()
		}
	}
	b.cur = nv
}

// setSmall fills v's small rules from b's when b holds at most limit rules,
// and empties them otherwise.
func (v *view) setSmall(b *bucket, limit int) {
	clear(v.small[:]) // drop references to rules that may be gone
	v.nsmall, v.nameAt, v.blob = 0, 0, ""
	if len(b.ids) == 0 || len(b.ids) > min(limit, smallBucket) {
		return
	}
	n := len(b.name)
	for _, r := range b.ids {
		n += len(r.Prefix) + len(r.Suffix)
	}
	blob := v.inblob[:0]
	if n > len(v.inblob) {
		blob = make([]byte, 0, n)
	}
	for _, r := range b.ids {
		sr := smallRule{events: r.Events, rule: r, p: uint16(len(blob)), np: uint16(len(r.Prefix))}
		blob = append(blob, r.Prefix...)
		sr.s, sr.ns = uint16(len(blob)), uint16(len(r.Suffix))
		blob = append(blob, r.Suffix...)
		v.small[v.nsmall] = sr
		v.nsmall++
	}
	v.nameAt = int32(len(blob))
	blob = append(blob, b.name...)
	v.blob = unsafe.String(unsafe.SliceData(blob), len(blob))
}
