// This file implements the write side of one bucket and how it keeps the
// bucket's block (block.go) up to date.
//
// Writers find conflicts on the shape of the design card: a go-radix tree
// maps each stored prefix to its rule or, when several rules share it, to a
// prefixEntry, which holds them (sorted by suffix, then ID) and, once there
// are more than trieAbove of them, an immutable trie of their suffixes
// (trie.go). The conflict search (conflict.go) walks both. A slice (a map
// once the bucket is large) holds the rules by ID, and counts per event
// and (in large buckets) per (prefix length, byte) give the block's event
// mask and probes without a scan.
//
// After each change the bucket brings its block up to date (sync):
//
//   - an empty bucket has none;
//   - a small bucket gets a new block built from its rules;
//   - a large bucket whose block is large already has the rule's slot
//     filled or deleted in place, and gets a new block, sharing the prefix
//     table, only when its events or probes changed, or a new prefix table
//     when the old one is too full;
//   - a bucket that has just become large gets its first prefix table.
//
// Buckets built inside a write transaction (txn.go) skip the in-place steps:
// the transaction builds their first block whole before it publishes them.

package match

import (
	"iter"
	"slices"
	"strings"

	"github.com/armon/go-radix"
)

// trieAbove is the number of rules sharing a prefix above which their
// suffixes are also kept in a trie, so that the conflict search does not
// compare a new rule with each of them.
const trieAbove = 8

// bucket is the write side of one bucket. Writers only.
type bucket struct {
	name       string
	prefixes   *radix.Tree          // prefix → its only *Rule, or a *prefixEntry
	list       []*Rule              // the rules, while there are at most smallBucket and ids is nil
	ids        map[string]*Rule     // rule ID → rule, once the bucket has held more than smallBucket rules
	events     *[MaxEvent + 1]int32 // rules per event; large buckets only
	prefixEnds map[lengthByte]int32 // (prefix length, last byte) → stored prefixes; large buckets only
	suffixEnds map[lengthByte]int32 // (prefix length, suffix's last byte&63, or 64 for "") → rules; large buckets only
	reprobe    bool                 // a key of prefixEnds or suffixEnds came or went since the last block
	smallLimit int                  // the Index's smallLimit

	block     *block // the newest block; nil when empty or not built yet
	slotsUsed int    // slots of block.prefixes not empty (live and deleted)
}

// prefixEntry describes the rules that share one prefix, when there are
// at least two (a prefix with one rule maps to the rule).
type prefixEntry struct {
	events   EventSet    // union of their events
	ends     uint64      // bit c&63 set when one's suffix ends with byte c; all bits for ""
	rules    []*Rule     // sorted by suffix, then ID
	suffixes *suffixTrie // the trie of their suffixes, when there are more than trieAbove
	two      [2]*Rule    // rules' first storage, so that the usual pair takes no allocation of its own
}

// endBits returns the prefixEntry.ends bits of one suffix.
func endBits(suffix string) uint64 {
	if suffix == "" {
		return ^uint64(0)
	}
	return 1 << (suffix[len(suffix)-1] & 63)
}

// lengthByte is a key of bucket.prefixEnds and bucket.suffixEnds: a prefix
// length (at most MaxFilterLen) and a byte, packed small to keep the maps of
// the many small buckets small.
type lengthByte uint32

func newLengthByte(length, c int) lengthByte { return lengthByte(length)<<8 | lengthByte(c) }
func (k lengthByte) length() int             { return int(k >> 8) }
func (k lengthByte) byteValue() int          { return int(k & 0xFF) }

// prefixEnd returns the prefixEnds key of a stored prefix.
func prefixEnd(prefix string) lengthByte {
	if prefix == "" {
		return 0
	}
	return newLengthByte(len(prefix), int(prefix[len(prefix)-1]))
}

// suffixEnd returns the suffixEnds key of a rule.
func suffixEnd(r *Rule) lengthByte {
	if r.Suffix == "" {
		return newLengthByte(len(r.Prefix), 64)
	}
	return newLengthByte(len(r.Prefix), int(r.Suffix[len(r.Suffix)-1]&63))
}

// newBucket returns an empty bucket with room for about n rules.
func newBucket(name string, n, smallLimit int) *bucket {
	b := &bucket{name: name, smallLimit: smallLimit, prefixes: radix.New()}
	if n > smallBucket {
		b.ids = make(map[string]*Rule, n)
	} else if n > 0 {
		b.list = make([]*Rule, 0, n)
	}
	return b
}

// The rules by ID. A bucket of at most smallBucket rules (the usual case)
// keeps them in a slice, which is smaller and quicker to build than a map
// and as quick to search at that size; a bucket that grows past it moves
// them into a map for good.

// size returns the number of rules of b.
func (b *bucket) size() int {
	if b.ids != nil {
		return len(b.ids)
	}
	return len(b.list)
}

// byID returns b's rule called id, or nil.
func (b *bucket) byID(id string) *Rule {
	if b.ids != nil {
		return b.ids[id]
	}
	for _, r := range b.list {
		if r.ID == id {
			return r
		}
	}
	return nil
}

// rules returns every rule of b, in no particular order.
func (b *bucket) rules() iter.Seq[*Rule] {
	return func(yield func(*Rule) bool) {
		if b.ids == nil {
			for _, r := range b.list {
				if !yield(r) {
					return
				}
			}
			return
		}
		for _, r := range b.ids {
			if !yield(r) {
				return
			}
		}
	}
}

// addID records r under its ID.
func (b *bucket) addID(r *Rule) {
	switch {
	case b.ids != nil:
		b.ids[r.ID] = r
	case len(b.list) < smallBucket:
		b.list = append(b.list, r)
	default:
		b.ids = make(map[string]*Rule, 2*smallBucket)
		for _, h := range b.list {
			b.ids[h.ID] = h
		}
		b.ids[r.ID] = r
		b.list = nil
	}
}

// removeID forgets r's ID.
func (b *bucket) removeID(r *Rule) {
	if b.ids != nil {
		delete(b.ids, r.ID)
		return
	}
	b.list = slices.DeleteFunc(b.list, func(h *Rule) bool { return h == r })
}

// small reports whether the bucket's block tests each rule in turn.
func (b *bucket) small() bool { return b.size() <= min(b.smallLimit, smallBucket) }

// countEnds fills events, prefixEnds and suffixEnds from b's rules. Only a
// large bucket keeps them (they give its mask and probes without a scan),
// so a small one, the common case, spends no memory on them.
func (b *bucket) countEnds() {
	b.events = new([MaxEvent + 1]int32)
	for r := range b.rules() {
		for e := range r.Events.Events() {
			b.events[e]++
		}
	}
	b.prefixEnds, b.suffixEnds = make(map[lengthByte]int32), make(map[lengthByte]int32)
	b.prefixes.Walk(func(prefix string, _ any) bool {
		b.prefixEnds[prefixEnd(prefix)]++
		return false
	})
	for r := range b.rules() {
		b.suffixEnds[suffixEnd(r)]++
	}
	b.reprobe = true
}

// count adds d to m[k] (when b keeps the counts) and notes when k comes or goes.
func (b *bucket) count(m map[lengthByte]int32, k lengthByte, d int32) {
	if m == nil {
		return
	}
	n := m[k] + d
	if n == 0 {
		delete(m, k)
	} else {
		m[k] = n
	}
	if n == 0 || n == d {
		b.reprobe = true
	}
}

// insert adds r, which has passed check, to the write side. A prefix with
// one rule maps to the rule itself in the go-radix tree; a prefixEntry is
// made when a second rule shares it.
func (b *bucket) insert(r *Rule) {
	b.addID(r)
	if b.events != nil {
		for e := range r.Events.Events() {
			b.events[e]++
		}
	}
	b.count(b.suffixEnds, suffixEnd(r), 1)
	v, ok := b.prefixes.Get(r.Prefix)
	if !ok {
		b.prefixes.Insert(r.Prefix, r)
		b.count(b.prefixEnds, prefixEnd(r.Prefix), 1)
		return
	}
	pe, ok := v.(*prefixEntry)
	if !ok {
		one := v.(*Rule)
		pe = &prefixEntry{events: one.Events & AllEvents, ends: endBits(one.Suffix)}
		pe.two[0] = one
		pe.rules = pe.two[:1]
		b.prefixes.Insert(r.Prefix, pe)
	}
	pe.events |= r.Events
	pe.ends |= endBits(r.Suffix)
	i, _ := slices.BinarySearchFunc(pe.rules, r, compareRules)
	pe.rules = slices.Insert(pe.rules, i, r)
	switch {
	case pe.suffixes != nil:
		pe.suffixes = addSuffix(pe.suffixes, r)
	case len(pe.rules) > trieAbove:
		for _, h := range pe.rules {
			pe.suffixes = addSuffix(pe.suffixes, h)
		}
	}
}

// remove deletes r, which b holds, from the write side.
func (b *bucket) remove(r *Rule) {
	b.removeID(r)
	if b.events != nil {
		for e := range r.Events.Events() {
			b.events[e]--
		}
	}
	b.count(b.suffixEnds, suffixEnd(r), -1)
	v, _ := b.prefixes.Get(r.Prefix)
	pe, ok := v.(*prefixEntry)
	if !ok { // r was the prefix's only rule
		b.prefixes.Delete(r.Prefix)
		b.count(b.prefixEnds, prefixEnd(r.Prefix), -1)
		return
	}
	pe.rules = slices.DeleteFunc(pe.rules, func(h *Rule) bool { return h == r })
	if len(pe.rules) == 1 {
		b.prefixes.Insert(r.Prefix, pe.rules[0])
		return
	}
	if pe.suffixes != nil {
		pe.suffixes = removeSuffix(pe.suffixes, r)
		if len(pe.rules) <= trieAbove/2 {
			pe.suffixes = nil
		}
	}
	pe.events, pe.ends = 0, 0
	if pe.suffixes != nil {
		pe.events, pe.ends = pe.suffixes.mask, lastBytes(pe.suffixes)
		return
	}
	for _, h := range pe.rules {
		pe.events |= h.Events & AllEvents
		pe.ends |= endBits(h.Suffix)
	}
}

// mask returns the union of the events of b's rules.
func (b *bucket) mask() EventSet {
	var m EventSet
	if b.events == nil { // a small bucket
		for r := range b.rules() {
			m |= r.Events
		}
		return m & AllEvents
	}
	for e, n := range b.events {
		if n > 0 {
			m |= Event(e).Set()
		}
	}
	return m
}

// probes returns the probe list of b's stored prefixes, ascending by length.
func (b *bucket) probes() []probe {
	byLen := make(map[int]*probe)
	var ls []int
	for k := range b.prefixEnds {
		p := byLen[k.length()]
		if p == nil {
			p = &probe{length: uint16(k.length())}
			byLen[k.length()] = p
			ls = append(ls, k.length())
		}
		c := k.byteValue()
		p.lastBytes[c>>6] |= 1 << (c & 63)
	}
	for k := range b.suffixEnds {
		p := byLen[k.length()] // every rule's prefix length is in prefixEnds
		if c := k.byteValue(); c == 64 {
			p.suffixEnds = ^uint64(0)
		} else {
			p.suffixEnds |= 1 << c
		}
	}
	slices.Sort(ls)
	out := make([]probe, len(ls))
	for i, l := range ls {
		out[i] = *byLen[l]
	}
	b.reprobe = false
	return out
}

// build returns a new block holding every rule of b, or nil when b is empty.
func (b *bucket) build() *block {
	b.slotsUsed = 0
	if b.size() == 0 {
		return nil
	}
	if b.small() {
		nb := newBlock(b.name, b.size())
		for r := range b.rules() {
			h, c := newEntry(r)
			nb.hot, nb.small = append(nb.hot, h), append(nb.small, c)
			nb.ends |= endBits(r.Suffix)
			if r.Prefix == "" {
				nb.starts = ^uint64(0)
			} else {
				nb.starts |= 1 << (r.Prefix[0] & 63)
			}
		}
		nb.mask = b.mask()
		b.events, b.prefixEnds, b.suffixEnds = nil, nil, nil
		return nb
	}
	if b.prefixEnds == nil {
		b.countEnds()
	}
	nb := newLargeBlock(b.name, b.probes())
	nb.mask = b.mask()
	size := 16
	for size < 2*b.size() {
		size *= 2
	}
	nb.prefixes, nb.slotMask = make([]prefixSlot, size), uint64(size-1)
	for r := range b.rules() {
		b.fillSlot(nb, r)
	}
	return nb
}

// fillSlot puts r into the first empty slot of its run in nb's prefix table:
// the rule first, then the slot key that makes readers see it.
func (b *bucket) fillSlot(nb *block, r *Rule) {
	h := slotHash(r.Prefix)
	for j := h & nb.slotMask; ; j = (j + 1) & nb.slotMask {
		if s := &nb.prefixes[j]; s.key.Load() == slotEmpty {
			s.rule = r
			s.key.Store(slotKey(h, r.Suffix))
			b.slotsUsed++
			return
		}
	}
}

// sync brings b.block up to date after r was inserted (added true) or
// removed, and returns it. The table readers use must then be given the
// returned block when it is not the one they have.
func (b *bucket) sync(r *Rule, added bool) *block {
	old := b.block
	if b.size() == 0 || b.small() || old == nil || old.prefixes == nil ||
		(added && 4*(b.slotsUsed+1) > 3*len(old.prefixes)) {
		b.block = b.build()
		return b.block
	}
	if added {
		b.fillSlot(old, r)
	} else {
		h := slotHash(r.Prefix)
		for j := h & old.slotMask; ; j = (j + 1) & old.slotMask {
			if s := &old.prefixes[j]; s.key.Load() == slotKey(h, r.Suffix) && s.rule == r {
				s.key.Store(slotDeleted)
				break
			}
		}
	}
	if m := b.mask(); m != old.mask || b.reprobe {
		probes := old.probes
		if b.reprobe {
			probes = b.probes()
		}
		nb := newLargeBlock(b.name, probes)
		nb.mask = m
		nb.prefixes, nb.slotMask = old.prefixes, old.slotMask
		b.block = nb
	}
	return b.block
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
