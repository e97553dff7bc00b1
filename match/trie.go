// This file implements the read-side trie: an immutable, path-copying radix
// trie that Match walks without locks.
//
// One type serves two directions. A prefix trie consumes a key from its
// front; a suffix trie consumes it from its end, so walking a key backwards
// through a trie of suffixes visits every stored suffix of the key, longest
// path first, without building a reversed copy of the key. Edge labels are
// stored in the key's own byte order in both directions: a suffix-trie edge
// is selected by the last byte of its label and compared with the bytes just
// before the part of the key already consumed.
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
// new root. Readers holding the old root keep a consistent old version; the
// garbage collector frees it when they are done. A write therefore costs
// O(key length × fan-out), never O(number of rules).

package match

import "math/bits"

// node is one node of an immutable radix trie holding values of type V.
type node[V any] struct {
	label string     // bytes consumed by the edge into this node (the root's too)
	kids  []*node[V] // children, ordered by selecting byte
	bm    [4]uint64  // bit b set when a child is selected by byte b
	base  [4]uint8   // number of children selected by bytes below 64*i
	own   EventSet   // events of val; 0 when no value is stored here
	mask  EventSet   // own | every descendant's own
	val   V
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

// selector returns the byte that selects the edge labelled label: its first
// byte in a prefix trie, its last in a suffix trie.
func selector(label string, rev bool) byte {
	if rev {
		return label[len(label)-1]
	}
	return label[0]
}

// commonLen returns how many bytes a and b share from the front (or, when
// rev, from the back).
func commonLen(a, b string, rev bool) int {
	n := min(len(a), len(b))
	i := 0
	if rev {
		for i < n && a[len(a)-1-i] == b[len(b)-1-i] {
			i++
		}
		return i
	}
	for i < n && a[i] == b[i] {
		i++
	}
	return i
}

// head returns the first k bytes of s in walk order; rest returns the others.
func head(s string, k int, rev bool) string {
	if rev {
		return s[len(s)-k:]
	}
	return s[:k]
}

func rest(s string, k int, rev bool) string {
	if rev {
		return s[:len(s)-k]
	}
	return s[k:]
}

// join concatenates an upper label and a lower label in walk order.
func join(upper, lower string, rev bool) string {
	if rev {
		return lower + upper
	}
	return upper + lower
}

// setKids installs kids (already ordered) and rebuilds the bitmap.
func (n *node[V]) setKids(kids []*node[V], rev bool) {
	n.kids = kids
	n.bm = [4]uint64{}
	for _, c := range kids {
		b := selector(c.label, rev)
		n.bm[b>>6] |= 1 << (b & 63)
	}
	n.base[0] = 0
	for i := 1; i < 4; i++ {
		n.base[i] = n.base[i-1] + uint8(bits.OnesCount64(n.bm[i-1]))
	}
	n.remask()
}

// remask recomputes mask from own and the children.
func (n *node[V]) remask() {
	m := n.own
	for _, c := range n.kids {
		m |= c.mask
	}
	n.mask = m
}

// withKid returns a copy of n's children in which the child selected by b is
// replaced by c (nil removes it, a new byte inserts it in order).
func (n *node[V]) withKid(b byte, c *node[V], rev bool) []*node[V] {
	kids := make([]*node[V], 0, len(n.kids)+1)
	placed := false
	for _, k := range n.kids {
		kb := selector(k.label, rev)
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
func update[V any](n *node[V], key string, rev bool, f func(V, EventSet) (V, EventSet)) *node[V] {
	if n == nil {
		var zero V
		v, own := f(zero, 0)
		if own == 0 {
			return nil
		}
		return &node[V]{label: key, own: own, mask: own, val: v}
	}
	c := *n // the copy this update returns (unless normalised away)
	if k := commonLen(n.label, key, rev); k < len(n.label) {
		// key leaves n's label part-way: split it into an upper node
		// holding the shared bytes and the old node below it.
		lower := *n
		lower.label = rest(n.label, k, rev)
		c = node[V]{label: head(n.label, k, rev)}
		c.setKids([]*node[V]{&lower}, rev)
	}
	tail := rest(key, len(c.label), rev)
	if tail == "" {
		c.val, c.own = f(c.val, c.own)
		if c.own == 0 {
			var zero V
			c.val = zero
		}
		c.remask()
	} else {
		b := selector(tail, rev)
		old := c.child(b)
		c.setKids(c.withKid(b, update(old, tail, rev, f), rev), rev)
	}
	return normalise(&c, rev)
}

// normalise removes a node that holds nothing and merges a valueless node
// with its only child, so the trie stays compressed after removals and after
// a split that stored nothing.
func normalise[V any](n *node[V], rev bool) *node[V] {
	if n.own != 0 {
		return n
	}
	switch len(n.kids) {
	case 0:
		return nil
	case 1:
		only := *n.kids[0]
		only.label = join(n.label, only.label, rev)
		return &only
	}
	return n
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

// count returns the number of nodes in the subtree of n (for memory reports).
func (n *node[V]) count() int {
	if n == nil {
		return 0
	}
	t := 1
	for _, c := range n.kids {
		t += c.count()
	}
	return t
}
