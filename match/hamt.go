// This file implements the read side's hash tables: an immutable hash array
// mapped trie (HAMT) keyed by a 64-bit xxhash. The Index uses one to find a
// bucket by name and, per bucket, one to find a stored prefix.
//
// Why hashing and not a prefix trie: Match is bound by dependent cache misses.
// A byte-wise prefix trie takes one per branching byte (users/1/2/3/4/5/ is
// six levels, measured at about 1 µs per lookup with 100k rules on the 2-core
// development machine). Here a bucket keeps the sorted set of distinct
// lengths of its stored prefixes, and Match probes this table once per length
// up to the key's length; the probes do not depend on each other, so the CPU
// overlaps their misses. A table of N entries is about log32(N) levels deep;
// a node and its slots are one allocation, and the top levels stay cached.
//
// A lookup consumes the hash five bits per level; a node's occupied slots are
// addressed through a 32-bit bitmap and a popcount. A slot holds a subtree or
// an entry; entries whose full 64-bit hashes are equal are chained through alt
// and told apart by the caller, who must verify the key of what it finds.
//
// Updates copy the nodes on one hash path (at most 13 of at most 32 slots)
// and return a new root; readers keep whatever root they loaded. Only nodes
// that a build owns and no reader can reach yet are changed in place (see
// hset).

package match

import "math/bits"

// hnode is one node of a table holding values of type V.
type hnode[V any] struct {
	bm   uint32    // bit i set when slot i is occupied
	gen  uint64    // the build that allocated the node (see hset)
	ents []hent[V] // occupied slots, in bit order (allocated with the node)
}

// hent is a slot: a subtree (sub != nil) or an entry with hash h.
type hent[V any] struct {
	h   uint64
	val V
	sub *hnode[V]
	alt *hent[V] // another entry with the same hash h
}

// find returns the entry with hash h, or nil. Entries chained through alt
// share h; the caller verifies which one holds its key.
func (n *hnode[V]) find(h uint64) *hent[V] {
	for shift := uint(0); n != nil; shift += 5 {
		bit := uint32(1) << ((h >> shift) & 31)
		if n.bm&bit == 0 {
			return nil
		}
		e := &n.ents[bits.OnesCount32(n.bm&(bit-1))]
		if e.sub == nil {
			if e.h == h {
				return e
			}
			return nil
		}
		n = e.sub
	}
	return nil
}

// lookup returns the value whose key is k (hash h), or the zero V.
func (n *hnode[V]) lookup(h uint64, k string, keyOf func(V) string) (V, bool) {
	for e := n.find(h); e != nil; e = e.alt {
		if keyOf(e.val) == k {
			return e.val, true
		}
	}
	var zero V
	return zero, false
}

// Node storage classes: a node with k slots is allocated together with an
// array of the next class size.
type (
	hslots1[V any] struct {
		n hnode[V]
		a [1]hent[V]
	}
	hslots2[V any] struct {
		n hnode[V]
		a [2]hent[V]
	}
	hslots4[V any] struct {
		n hnode[V]
		a [4]hent[V]
	}
	hslots8[V any] struct {
		n hnode[V]
		a [8]hent[V]
	}
	hslots16[V any] struct {
		n hnode[V]
		a [16]hent[V]
	}
	hslots32[V any] struct {
		n hnode[V]
		a [32]hent[V]
	}
)

// newHnode returns a node of generation gen with bitmap bm and a copy of ents.
func newHnode[V any](bm uint32, ents []hent[V], gen uint64) *hnode[V] {
	var n *hnode[V]
	var arr []hent[V]
	switch k := len(ents); {
	case k <= 1:
		x := new(hslots1[V])
		n, arr = &x.n, x.a[:]
	case k == 2:
		x := new(hslots2[V])
		n, arr = &x.n, x.a[:]
	case k <= 4:
		x := new(hslots4[V])
		n, arr = &x.n, x.a[:]
	case k <= 8:
		x := new(hslots8[V])
		n, arr = &x.n, x.a[:]
	case k <= 16:
		x := new(hslots16[V])
		n, arr = &x.n, x.a[:]
	default:
		x := new(hslots32[V])
		n, arr = &x.n, x.a[:]
	}
	n.bm, n.gen = bm, gen
	n.ents = arr[:copy(arr, ents)]
	return n
}

// hset returns a table equal to n except that key k (hash h) maps to v, or
// is absent when del. keyOf gives the key of a stored value. shift is the
// number of hash bits consumed above n.
//
// Nodes of generation gen (when gen is not 0) belong to a build that no
// reader can see yet, so hset changes them in place instead of copying;
// every node it allocates is of generation gen. Callers that publish after
// every change pass 0.
func hset[V any](n *hnode[V], h uint64, shift uint, k string, v V, del bool, keyOf func(V) string, gen uint64) *hnode[V] {
	bit := uint32(1) << ((h >> shift) & 31)
	if n == nil {
		if del {
			return nil
		}
		return newHnode(bit, []hent[V]{{h: h, val: v}}, gen)
	}
	owned := gen != 0 && n.gen == gen
	pos := bits.OnesCount32(n.bm & (bit - 1))
	var buf [33]hent[V]
	if n.bm&bit == 0 {
		if del {
			return n
		}
		if owned && len(n.ents) < cap(n.ents) {
			n.ents = n.ents[:len(n.ents)+1]
			copy(n.ents[pos+1:], n.ents[pos:])
			n.ents[pos] = hent[V]{h: h, val: v}
			n.bm |= bit
			return n
		}
		ents := append(append(append(buf[:0], n.ents[:pos]...), hent[V]{h: h, val: v}), n.ents[pos:]...)
		return newHnode(n.bm|bit, ents, gen)
	}
	e := n.ents[pos]
	var ne *hent[V]
	switch {
	case e.sub != nil:
		sub := hset(e.sub, h, shift+5, k, v, del, keyOf, gen)
		switch {
		case sub == nil:
		case len(sub.ents) == 1 && sub.ents[0].sub == nil:
			ne = &sub.ents[0] // pull a lone entry back up
		default:
			ne = &hent[V]{sub: sub}
		}
	case e.h == h:
		ne = rechain(&e, k, v, del, keyOf)
	default:
		if del {
			return n
		}
		// Two hashes share this slot: move the old entry one level down
		// and insert the new one there.
		sub := newHnode(uint32(1)<<((e.h>>(shift+5))&31), []hent[V]{e}, gen)
		ne = &hent[V]{sub: hset(sub, h, shift+5, k, v, false, keyOf, gen)}
	}
	if ne == nil {
		if len(n.ents) == 1 {
			return nil
		}
		if owned {
			copy(n.ents[pos:], n.ents[pos+1:])
			n.ents[len(n.ents)-1] = hent[V]{}
			n.ents = n.ents[:len(n.ents)-1]
			n.bm &^= bit
			return n
		}
		ents := append(append(buf[:0], n.ents[:pos]...), n.ents[pos+1:]...)
		return newHnode(n.bm&^bit, ents, gen)
	}
	if owned {
		n.ents[pos] = *ne
		return n
	}
	ents := append(buf[:0], n.ents...)
	ents[pos] = *ne
	return newHnode(n.bm, ents, gen)
}

// rechain returns a copy of the chain starting at e in which key k maps to v
// (or is removed when del); nil when the chain empties.
func rechain[V any](e *hent[V], k string, v V, del bool, keyOf func(V) string) *hent[V] {
	if e == nil {
		if del {
			return nil
		}
		return &hent[V]{val: v}
	}
	if keyOf(e.val) == k {
		if del {
			if e.alt == nil {
				return nil
			}
			c := *e.alt
			c.h = e.h
			return &c
		}
		return &hent[V]{h: e.h, val: v, alt: e.alt}
	}
	c := *e
	c.alt = rechain(e.alt, k, v, del, keyOf)
	if c.alt != nil {
		c.alt.h = e.h
	}
	return &c
}
