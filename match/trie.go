// This file implements the suffix trie: an immutable, path-copying radix
// trie of the suffixes stored under one prefix, which the conflict search
// (conflict.go) walks for a prefix that many rules share.
//
// The trie consumes a key from its end, so walking a key backwards through it
// visits every stored suffix of the key, shortest first, without building a
// reversed copy of the key. Edge labels are stored in the key's own byte
// order: an edge is selected by the last byte of its label and compared with
// the bytes just before the part of the key already consumed.
//
// A node's children are found through a 256-bit bitmap of their selecting
// bytes plus a popcount, so selecting a child costs the same at fan-out 2 and
// 256. Every node carries two event masks: own (events of the value stored
// exactly here) and mask (own plus every descendant), so a walk for an event
// skips subtrees that cannot hold it.
//
// Updates never modify a node: update copies the nodes on the path from the
// root to the changed key (at most one per label on that path, each with at
// most 256 child pointers), splits or merges labels as needed, and returns a
// new root; the garbage collector frees the old nodes. A write therefore
// costs O(key length × fan-out), never O(number of rules).

package match

import "math/bits"

// node is one node of an immutable radix trie holding values of type V. The
// fields a lookup reads come first, and a node's child array is allocated
// together with the node (see build), so one step of a walk touches one or
// two adjacent cache lines.
type node[V any] struct {
	own   EventSet   // events of val; 0 when no value is stored here
	mask  EventSet   // own | every descendant's own
	base  [4]uint8   // number of children selected by bytes below 64*i
	kids  []*node[V] // children, ordered by selecting byte
	val   V
	bm    [4]uint64 // bit b set when a child is selected by byte b
	label string    // bytes consumed by the edge into this node (the root's too)
}

// child returns the child selected by byte b, or nil.
func (n *node[V]) child(b byte) *node[V] {
	w, bit := b>>6, uint64(1)<<(b&63)
	m := n.bm[w]
	if m&bit == 0 {
		return nil
	}
	return n.kids[int(n.base[w])+bits.OnesCount64(m&(bit-1))]
}

// selector returns the byte that selects the edge labelled label: its last.
func selector(label string) byte { return label[len(label)-1] }

// commonLen returns how many bytes a and b share at their ends.
func commonLen(a, b string) int {
	n := min(len(a), len(b))
	i := 0
	for i < n && a[len(a)-1-i] == b[len(b)-1-i] {
		i++
	}
	return i
}

// head returns the last k bytes of s (the first k a backward walk meets);
// rest returns the others.
func head(s string, k int) string { return s[len(s)-k:] }

func rest(s string, k int) string { return s[:len(s)-k] }

// Node storage comes in size classes: a node with k children is allocated
// together with an array for up to the next class size of child pointers.
type (
	kids1[V any] struct {
		n node[V]
		a [1]*node[V]
	}
	kids2[V any] struct {
		n node[V]
		a [2]*node[V]
	}
	kids4[V any] struct {
		n node[V]
		a [4]*node[V]
	}
	kids8[V any] struct {
		n node[V]
		a [8]*node[V]
	}
	kids16[V any] struct {
		n node[V]
		a [16]*node[V]
	}
	kids32[V any] struct {
		n node[V]
		a [32]*node[V]
	}
	kids64[V any] struct {
		n node[V]
		a [64]*node[V]
	}
	kids256[V any] struct {
		n node[V]
		a [256]*node[V]
	}
)

// build returns a new node with the fields of tmpl, the given label and the
// given children (already ordered), its bitmap and mask computed.
func build[V any](tmpl *node[V], label string, kids []*node[V]) *node[V] {
	var n *node[V]
	var arr []*node[V]
	switch k := len(kids); {
	case k == 0:
		n = new(node[V])
	case k == 1:
		x := new(kids1[V])
		n, arr = &x.n, x.a[:]
	case k == 2:
		x := new(kids2[V])
		n, arr = &x.n, x.a[:]
	case k <= 4:
		x := new(kids4[V])
		n, arr = &x.n, x.a[:]
	case k <= 8:
		x := new(kids8[V])
		n, arr = &x.n, x.a[:]
	case k <= 16:
		x := new(kids16[V])
		n, arr = &x.n, x.a[:]
	case k <= 32:
		x := new(kids32[V])
		n, arr = &x.n, x.a[:]
	case k <= 64:
		x := new(kids64[V])
		n, arr = &x.n, x.a[:]
	default:
		x := new(kids256[V])
		n, arr = &x.n, x.a[:]
	}
	n.own, n.val = tmpl.own, tmpl.val
	n.label = label
	n.kids = arr[:copy(arr, kids)]
	m := n.own
	for _, c := range n.kids {
		b := selector(c.label)
		n.bm[b>>6] |= 1 << (b & 63)
		m |= c.mask
	}
	for i := 1; i < 4; i++ {
		n.base[i] = n.base[i-1] + uint8(bits.OnesCount64(n.bm[i-1]))
	}
	n.mask = m
	return n
}

// withKid writes into buf n's children with the child selected by b
// replaced by c (nil removes it, a new byte inserts it in order).
func (n *node[V]) withKid(buf []*node[V], b byte, c *node[V]) []*node[V] {
	kids := buf[:0]
	placed := false
	for _, k := range n.kids {
		kb := selector(k.label)
		switch {
		case kb == b:
			placed = true
			if c != nil {
				kids = append(kids, c)
			}
			continue
		case kb > b && !placed:
			placed = true
			if c != nil {
				kids = append(kids, c)
			}
		}
		kids = append(kids, k)
	}
	if !placed && c != nil {
		kids = append(kids, c)
	}
	return kids
}

// update returns a trie equal to n except that the value at key is replaced by
// f(old value, old own events). f returning own == 0 removes the value. n is
// not modified; nil is the empty trie and may be returned.
func update[V any](n *node[V], key string, f func(V, EventSet) (V, EventSet)) *node[V] {
	if n == nil {
		var zero V
		v, own := f(zero, 0)
		if own == 0 {
			return nil
		}
		return build(&node[V]{own: own, val: v}, key, nil)
	}
	if k := commonLen(n.label, key); k < len(n.label) {
		// key leaves n's label part-way: split it into an upper node
		// holding the shared bytes and the old node below it.
		lower := build(n, rest(n.label, k), n.kids)
		n = build(&node[V]{}, head(n.label, k), []*node[V]{lower})
	}
	tmpl := *n
	kids := n.kids
	if tail := rest(key, len(n.label)); tail == "" {
		tmpl.val, tmpl.own = f(n.val, n.own)
		if tmpl.own == 0 {
			var zero V
			tmpl.val = zero
		}
	} else {
		var buf [257]*node[V]
		b := selector(tail)
		kids = n.withKid(buf[:], b, update(n.child(b), tail, f))
	}
	// Normalise: drop a node that holds nothing, and merge a valueless node
	// with its only child, so the trie stays compressed after removals and
	// after a split that stored nothing.
	if tmpl.own == 0 {
		switch len(kids) {
		case 0:
			return nil
		case 1:
			only := kids[0]
			return build(only, only.label+n.label, only.kids)
		}
	}
	return build(&tmpl, n.label, kids)
}

// walk calls fn for every node holding a value in the subtree of n whose own
// events intersect ev, pruning by mask. It stops when fn returns false.
func (n *node[V]) walk(ev EventSet, fn func(*node[V]) bool) bool {
	if n == nil || n.mask&ev == 0 {
		return true
	}
	if n.own&ev != 0 && !fn(n) {
		return false
	}
	for _, c := range n.kids {
		if !c.walk(ev, fn) {
			return false
		}
	}
	return true
}
