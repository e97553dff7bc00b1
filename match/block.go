// This file implements a bucket's block, the one place Match reads a
// bucket's rules from, and the lookup on it.
//
// A small bucket (at most smallBucket rules; COS allows ten) is one
// allocation: the bucket's name, the union of its events, and a ruleEntry
// per rule (entry.go), which Match tests in turn. A lookup is then the
// bucket table's slot and this block: two cache misses, the block's lines
// being adjacent. A change builds a new block and swaps it in.
//
// A larger bucket's block holds, besides its name and events, the distinct
// lengths of its stored prefixes (probes) and an open-addressing table of
// prefixSlots, each holding one rule's entry inline and the hash of its
// prefix; rules that share a prefix take one slot each in the same run.
// Match takes each length up to the key's length, skips it when the key's
// byte there ends no stored prefix of that length or when no rule of that
// length has a suffix ending in the key's last byte (probe), and otherwise
// probes the table once with the hash of the key's prefix of that length:
// one far cache miss per probe, which lands on the rule's entry. Prefixes
// usually end in '/', so most lengths are skipped. The probes are kept in
// the block's own allocation, and the slots of up to eight candidate
// lengths are touched before any is searched, so that with nested prefixes
// their misses overlap instead of following one another.
//
// The prefix table is changed in place, like the bucket table (table.go): a
// new rule's slot is filled before its hash is stored, a removed rule's slot
// is marked deleted and only reused when the writer copies the table into a
// larger one, which it then publishes in a new block. A new block is also
// built when the probes or the events change; it shares the prefix table.

package match

import (
	"sync/atomic"
	"unsafe"
)

// smallBucket is the most rules a bucket may hold for Match to test each of
// them in turn. Testing twelve entries reads 9 adjacent cache lines; a larger
// bucket pays one probe per candidate prefix length instead.
const smallBucket = 12

// block is one immutable version of a bucket's read side, except that the
// prefix table of a large bucket is changed in place (see the file comment).
type block struct {
	name      string
	hot       []hotEntry  // the first test of each rule of a small bucket, in this allocation
	small     []ruleEntry // the rules of a small bucket, in this allocation, in the order of hot
	mask      EventSet    // every event some rule of the bucket holds
	starts    uint64      // small: bit c&63 set when a prefix starts with byte c; all bits for ""
	ends      uint64      // small: bit c&63 set when a suffix ends with byte c; all bits for ""
	nameBytes [48]byte    // storage for name when it fits, so comparing it costs no miss
	// A large bucket:
	probes   []probe      // one per distinct stored prefix length, ascending
	prefixes []prefixSlot // a power of two of slots; nil when small
	slotMask uint64       // len(prefixes) - 1
}

// hotEntry is the part of a small bucket's ruleEntry that Match tests
// first: events, the prefix's length and its first 8 bytes, in 16 bytes.
type hotEntry struct {
	events      uint32 // the rule's events (every Event is below 32)
	prefixLen   uint16
	prefixShift uint8  // as ruleEntry.prefixShift
	prefixHead  uint64 // as ruleEntry.prefixHead
}

// A hotEntry is 16 bytes.
const _ = uint(16 - unsafe.Sizeof(hotEntry{}))
const _ = uint(unsafe.Sizeof(hotEntry{}) - 16)

// Every event fits hotEntry.events.
const _ = uint(31 - MaxEvent)

// hot returns e's hotEntry.
func (e *ruleEntry) hot() hotEntry {
	return hotEntry{events: uint32(e.events), prefixLen: e.prefixLen, prefixHead: e.prefixHead, prefixShift: e.prefixShift}
}

// probe is one length at which Match looks a key's prefix up, with the last
// bytes that stored prefixes of that length end with. Testing key[l-1]
// against last skips most lengths without touching the table: for
// users/<i>/ prefixes only the length at which the key has its second '/'
// is probed. suffixEnds does the same for the key's last byte: bit c&63 is
// set when a rule whose prefix has length l has a suffix ending with byte c
// (every bit for an empty suffix).
type probe struct {
	length     uint16
	lastBytes  [4]uint64 // bit c set when a stored prefix of this length ends with byte c
	suffixEnds uint64
}

// prefixSlot is one slot of a large bucket's prefix table: the hash of the
// rule's prefix (slotHash; 0 empty, 1 deleted) and the rule's entry.
type prefixSlot struct {
	hash  atomic.Uint64
	entry ruleEntry
	_     [8]byte // a slot fills one 64-byte line
}

// A prefix slot is one cache line.
const _ = uint(64 - unsafe.Sizeof(prefixSlot{}))
const _ = uint(unsafe.Sizeof(prefixSlot{}) - 64)

// match returns the rule of the block that an event (bit) on key
// triggers, or nil.
func (b *block) match(bit EventSet, key string) *Rule {
	if b.mask&bit == 0 {
		return nil
	}
	var k keyBytes
	if len(key) >= 8 {
		k = keyBytes{s: key, head: load64(key, 0), tail: load64(key, len(key)-8)}
	} else {
		k = loadKey(key)
	}
	if b.prefixes == nil {
		// A key whose first or last byte starts no prefix or ends no
		// suffix of the bucket is answered before any entry is read.
		if len(key) > 0 && (b.starts&(1<<(key[0]&63)) == 0 || b.ends&(1<<(key[len(key)-1]&63)) == 0) {
			return nil
		}
		// The hot entries of ten rules fill three cache lines; the full
		// entry is read only for the rules that pass them.
		bit32 := uint32(bit)
		small := b.small[:len(b.hot)]
		for i := range b.hot {
			h := &b.hot[i]
			// The lengths are tested by matches: a key shorter than the
			// prefix reads as zero bytes past its end, which may pass here.
			if h.events&bit32 != 0 && k.head&(^uint64(0)>>h.prefixShift) == h.prefixHead {
				if e := &small[i]; e.matches(&k, bit) {
					return e.rule
				}
			}
		}
		return nil
	}
	end := ^uint64(0) // suffixEnds bits that can end key
	if len(key) > 0 {
		end = 1 << (key[len(key)-1] & 63)
	}
	// The candidate lengths are taken eight at a time: first each one's
	// slot is hashed and touched, so that their cache misses overlap,
	// then the runs are searched in order of length.
	var hashes [8]uint64
	var lengths [8]int
	for i := 0; i < len(b.probes); {
		n := 0
		for ; i < len(b.probes) && n < len(hashes); i++ {
			p := &b.probes[i]
			l := int(p.length)
			if l > len(key) {
				i = len(b.probes)
				break
			}
			if p.suffixEnds&end == 0 {
				continue
			}
			if l > 0 {
				if c := key[l-1]; p.lastBytes[c>>6]&(1<<(c&63)) == 0 {
					continue
				}
			}
			h := slotHash(key[:l])
			b.prefixes[h&b.slotMask].hash.Load()
			hashes[n], lengths[n] = h, l
			n++
		}
		for c := range n {
			h, l := hashes[c], lengths[c]
			for j := h & b.slotMask; ; j = (j + 1) & b.slotMask {
				s := &b.prefixes[j]
				sh := s.hash.Load()
				if sh == slotEmpty {
					break
				}
				if sh == h && int(s.entry.prefixLen) == l && s.entry.matches(&k, bit) {
					return s.entry.rule
				}
			}
		}
	}
	return nil
}

// newLargeBlock returns a block for the large bucket name, allocated with
// room for its probes so that they share its cache lines.
func newLargeBlock(name string, probes []probe) *block {
	var b *block
	var room []probe
	switch n := len(probes); {
	case n <= 4:
		x := new(struct {
			b block
			p [4]probe
		})
		b, room = &x.b, x.p[:0]
	case n <= 8:
		x := new(struct {
			b block
			p [8]probe
		})
		b, room = &x.b, x.p[:0]
	case n <= 16:
		x := new(struct {
			b block
			p [16]probe
		})
		b, room = &x.b, x.p[:0]
	case n <= 32:
		x := new(struct {
			b block
			p [32]probe
		})
		b, room = &x.b, x.p[:0]
	default:
		b, room = new(block), make([]probe, 0, n)
	}
	b.setName(name)
	b.probes = append(room, probes...)
	return b
}

// newBlock returns a block for the small bucket name with room for n
// entries, allocated with its entries so that a small
// bucket is one piece of memory: the header, the hot entries, the entries.
func newBlock(name string, n int) *block {
	var b *block
	var hot []hotEntry
	var entries []ruleEntry
	switch {
	case n <= 2:
		x := new(struct {
			b block
			h [2]hotEntry
			e [2]ruleEntry
		})
		b, hot, entries = &x.b, x.h[:0], x.e[:0]
	case n <= 4:
		x := new(struct {
			b block
			h [4]hotEntry
			e [4]ruleEntry
		})
		b, hot, entries = &x.b, x.h[:0], x.e[:0]
	case n <= 6:
		x := new(struct {
			b block
			h [6]hotEntry
			e [6]ruleEntry
		})
		b, hot, entries = &x.b, x.h[:0], x.e[:0]
	case n <= 8:
		x := new(struct {
			b block
			h [8]hotEntry
			e [8]ruleEntry
		})
		b, hot, entries = &x.b, x.h[:0], x.e[:0]
	case n <= 10:
		x := new(struct {
			b block
			h [10]hotEntry
			e [10]ruleEntry
		})
		b, hot, entries = &x.b, x.h[:0], x.e[:0]
	default:
		x := new(struct {
			b block
			h [smallBucket]hotEntry
			e [smallBucket]ruleEntry
		})
		b, hot, entries = &x.b, x.h[:0], x.e[:0]
	}
	b.hot, b.small = hot, entries
	b.setName(name)
	return b
}

// setName sets b.name to a copy of name in b.nameBytes when it fits.
func (b *block) setName(name string) {
	b.name = name
	if name != "" && len(name) <= len(b.nameBytes) {
		copy(b.nameBytes[:], name)
		b.name = unsafe.String(&b.nameBytes[0], len(name))
	}
}
