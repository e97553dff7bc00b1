// This file implements the bucket table: an open-addressing hash table from
// a bucket's name to its block (block.go), which Match reads without locks
// while one writer at a time changes it in place.
//
// A slot holds the name's 64-bit hash (hash.go; top bit set, so 0 means empty and 1
// deleted) and an atomic pointer to the bucket's block; a lookup probes
// slots linearly from the hash, compares hashes, and confirms the name on
// the block, which it reads anyway. One lookup therefore costs one cache
// miss for the slot (two when the run of slots crosses a line) and one for
// the block. A table of at most four buckets (tiny) is searched without a
// hash: its buckets take slots from the first on, in the order they came,
// and a lookup compares the name with each block up to the first empty
// slot.
//
// Writers change the table in place, so that a write costs O(1) and never
// copies the table:
//
//   - a bucket whose rules change gets a new block, stored into its slot
//     with one atomic store: a reader sees the old block or the new one;
//   - a new bucket takes the first empty slot of its probe run: the block is
//     stored before the hash, so a reader that sees the hash sees the block;
//   - a removed bucket's slot is marked deleted (hash 1), never reused in
//     place, so a reader that loaded the old hash finds at worst nil or the
//     old block, never another bucket's.
//
// When used and deleted slots pass half the table, the writer copies the
// live slots into a table twice the live size and publishes it with one
// atomic store; readers that hold the old table keep reading it, and it is
// never written again. That copy costs O(buckets) once per doubling.

package match

import "sync/atomic"

// Reserved slot hashes.
const (
	slotEmpty   = 0
	slotDeleted = 1
	hashTopBit  = 1 << 63 // set in every stored hash, so it is never 0 or 1
)

// bucketTable is one generation of the bucket table.
type bucketTable struct {
	slots []bucketSlot // a power of two of them
	mask  uint64       // len(slots) - 1
	used  int          // slots not empty (live and deleted); writers only
	live  int          // slots holding a bucket; writers only
}

// bucketSlot is one slot of a bucketTable.
type bucketSlot struct {
	hash  atomic.Uint64
	block atomic.Pointer[block]
}

// tinyTable is the size of the smallest table, which holds up to four
// buckets: find compares the name with each of its blocks instead of
// hashing it, which is cheaper for so few.
const tinyTable = 8

// newBucketTable returns an empty table with room for n buckets.
func newBucketTable(n int) *bucketTable {
	size := tinyTable
	for size < 2*n+1 {
		size *= 2
	}
	return &bucketTable{slots: make([]bucketSlot, size), mask: uint64(size - 1)}
}

// find returns the block of the bucket name, or nil.
func (t *bucketTable) find(name string) *block {
	if len(t.slots) == tinyTable {
		return t.findTiny(name)
	}
	h := slotHash(name)
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		switch sh := s.hash.Load(); sh {
		case slotEmpty:
			return nil
		case h:
			if b := s.block.Load(); b != nil && b.name == name {
				return b
			}
		}
	}
}

// findTiny returns the block of the bucket name in a tiny table, or nil.
func (t *bucketTable) findTiny(name string) *block {
	for i := range t.slots {
		s := &t.slots[i]
		b := s.block.Load()
		if b == nil {
			if s.hash.Load() == slotEmpty {
				return nil
			}
			continue // a removed bucket's slot
		}
		// The first 8 bytes tell most names of one length apart
		// without a call to compare them.
		if len(b.name) == len(name) && (len(name) < 8 || load64(b.name, 0) == load64(name, 0)) && b.name == name {
			return b
		}
	}
	return nil
}

// start returns the slot at which the run of a name hashed h starts: the
// first slot in a tiny table, whose buckets are kept in order of arrival.
func (t *bucketTable) start(h uint64) uint64 {
	if len(t.slots) == tinyTable {
		return 0
	}
	return h & t.mask
}

// slot returns the slot holding the bucket name, or nil. Writers only.
func (t *bucketTable) slot(name string, h uint64) *bucketSlot {
	for i := t.start(h); ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		switch sh := s.hash.Load(); sh {
		case slotEmpty:
			return nil
		case h:
			if b := s.block.Load(); b != nil && b.name == name {
				return s
			}
		}
	}
}

// set makes b the block of the bucket b.name, in place, and returns the
// table readers should use: t, or a larger copy when t had to grow. A nil b
// (with name) removes the bucket. Writers only, one at a time.
func (t *bucketTable) set(name string, b *block) *bucketTable {
	h := slotHash(name)
	if s := t.slot(name, h); s != nil {
		if b != nil {
			s.block.Store(b)
			return t
		}
		s.hash.Store(slotDeleted)
		s.block.Store(nil)
		t.live--
		return t
	}
	if b == nil {
		return t
	}
	if 2*(t.used+1) > len(t.slots) {
		t = t.grown(2 * (t.live + 1))
	}
	t.insert(h, b)
	return t
}

// insert puts b, hashed h, into the first empty slot of its run.
func (t *bucketTable) insert(h uint64, b *block) {
	for i := t.start(h); ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		if s.hash.Load() == slotEmpty {
			s.block.Store(b)
			s.hash.Store(h)
			t.used++
			t.live++
			return
		}
	}
}

// grown returns a copy of t's live buckets with room for n, which no reader
// has seen yet.
func (t *bucketTable) grown(n int) *bucketTable {
	nt := newBucketTable(n)
	for i := range t.slots {
		s := &t.slots[i]
		if h := s.hash.Load(); h != slotEmpty && h != slotDeleted {
			nt.insert(h, s.block.Load())
		}
	}
	return nt
}
