// This file implements a bucket's block, the one place Match reads a
// bucket's rules from, and the lookup on it.
//
// A small bucket (at most smallBucket rules; COS allows ten) is one
// allocation: the bucket's name, the union of its events, and a hot and a
// cold entry per rule (entry.go), which Match tests in turn. A lookup is then the
// bucket table's slot and this block: two cache misses, the block's lines
// being adjacent. A change builds a new block and swaps it in.
//
// A larger bucket's block holds, besides its name and events, the distinct
// lengths of its stored prefixes (probes) and an open-addressing table of
// 16-byte prefixSlots, each holding the hash of one rule's prefix and the
// rule; rules that share a prefix take one slot each in the same run. For a
// key, Match first takes the set of probes whose rules have a suffix that
// can end the key (suffixCands, one 64-bit word per class of the key's last
// byte), then, in ascending order of length up to the key's length, skips
// each length at which the key's byte ends no stored prefix of that length,
// and otherwise probes the table once with the hash of the key's prefix of
// that length: one far cache miss for the slot and one for the rule, which
// Match copies out anyway. Prefixes usually end in '/', so most lengths are
// skipped without a probe, and nested prefixes whose rules end in different
// suffixes are not even looked at. The probes and suffixCands are kept in
// the block's own allocation (up to 64 probes), and the slots of up to
// eight candidate lengths are touched before any is searched, so that with
// nested prefixes their misses overlap instead of following one another. A bucket with more
// than 64 distinct prefix lengths has a suffixCands group per 64 of them.
//
// The prefix table is changed in place, like the bucket table (table.go): a
// new rule's slot is filled before its key is stored, a removed rule's slot
// is marked deleted and only reused when the writer copies the table into a
// larger one, which it then publishes in a new block. A new block is also
// built when the probes or the events change; it shares the prefix table.

package match

import (
	"math/bits"
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
	small     []coldEntry // the rest of those entries, in this allocation, in the same order
	mask      EventSet    // every event some rule of the bucket holds
	starts    uint64      // small: bit c&63 set when a prefix starts with byte c; all bits for ""
	ends      uint64      // small: bit c&63 set when a suffix ends with byte c; all bits for ""
	nameBytes [48]byte    // storage for name when it fits, so comparing it costs no miss
	// A large bucket:
	probes []probe // one per distinct stored prefix length, ascending
	// suffixCands has one group per 64 probes: bit i of [g][c] is set when
	// probes[64g+i].suffixEnds has bit c, and of [g][64] always.
	suffixCands [][65]uint64
	prefixes    []prefixSlot // a power of two of slots; nil when small
	slotMask    uint64       // len(prefixes) - 1
}

// hotEntry is the part of a small bucket's rule that Match tests first:
// events, the prefix's length and its first 8 bytes, in 16 bytes.
type hotEntry struct {
	events      uint32 // the rule's events (every Event is below 32)
	prefixLen   uint16
	prefixShift uint8  // 64 - 8*min(prefixLen, 8)
	prefixHead  uint64 // the prefix's first min(prefixLen, 8) bytes, as keyBytes.head
}

// A hotEntry is 16 bytes.
const _ = uint(16 - unsafe.Sizeof(hotEntry{}))
const _ = uint(unsafe.Sizeof(hotEntry{}) - 16)

// Every event fits hotEntry.events.
const _ = uint(31 - MaxEvent)

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

// prefixSlot is one slot of a large bucket's prefix table: the rule's
// slotKey (0 empty, 1 deleted) and the rule. Four slots share a cache line,
// so a bucket's table is a quarter of the size it would be with each rule's
// entry inline, and more of it stays in cache; a probe whose key agrees
// reads the rule, which Match copies out anyway.
type prefixSlot struct {
	key  atomic.Uint64
	rule *Rule
}

// slotKey is what a prefix slot stores of its rule: the high 32 bits of
// the slotHash of its prefix (so never 0 or 1) and, below them, a tag of
// its suffix: the suffix's length, at most 3, in bits 24-31 and its last
// bytes below, as keyTag takes them from a key. A probe compares both, so
// that a key whose end differs from the suffix's does not read the rule.
func slotKey(prefixHash uint64, suffix string) uint64 {
	return prefixHash&^0xFFFF_FFFF | keyTag(trailing8(suffix), min(len(suffix), 3))
}

// keyTag returns the tag of the last n (at most 3) bytes of a string whose
// trailing8 is tail.
func keyTag(tail uint64, n int) uint64 {
	return uint64(n)<<24 | tail>>(64-8*n)
}

// slotMatches reports whether the stored slot key sk can be that of a rule
// with a prefix hashed h that ends a key whose trailing8 is tail.
func slotMatches(sk, h, tail uint64) bool {
	return sk>>32 == h>>32 && uint32(sk) == uint32(keyTag(tail, int(sk>>24&0xFF)))
}

// A prefix slot is 16 bytes.
const _ = uint(16 - unsafe.Sizeof(prefixSlot{}))
const _ = uint(unsafe.Sizeof(prefixSlot{}) - 16)

// matchesAt reports whether r, found under the hash of key[:l], holds an
// event of bit and has prefix key[:l] and a suffix that ends key.
func (r *Rule) matchesAt(key string, l int, bit EventSet) bool {
	return len(r.Prefix) == l && r.Events&bit != 0 && len(r.Suffix) <= len(key) &&
		key[len(key)-len(r.Suffix):] == r.Suffix && key[:l] == r.Prefix
}

// match returns the rule of the block that an event (bit) on key
// triggers, or nil.
func (b *block) match(bit EventSet, key string) *Rule {
	if b.mask&bit == 0 {
		return nil
	}
	if b.prefixes == nil {
		// A key whose first or last byte starts no prefix or ends no
		// suffix of the bucket is answered before any entry is read.
		if len(key) > 0 && (b.starts&(1<<(key[0]&63)) == 0 || b.ends&(1<<(key[len(key)-1]&63)) == 0) {
			return nil
		}
		var k keyBytes
		if len(key) >= 8 {
			k = keyBytes{s: key, head: load64(key, 0), tail: load64(key, len(key)-8)}
		} else {
			k = loadKey(key)
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
				if c := &small[i]; c.matches(h, &k) {
					return c.rule
				}
			}
		}
		return nil
	}
	tail := trailing8(key) // for the slots' suffix tags
	class := 64            // the suffixCands word of key's last byte
	if len(key) > 0 {
		class = int(key[len(key)-1] & 63)
	}
	// The probes whose rules have a suffix that can end key, in ascending
	// order of length, eight at a time: first each one's slot is hashed and
	// touched, so that their cache misses overlap, then the runs are
	// searched in order of length.
	for g := range b.suffixCands {
		cands := b.suffixCands[g][class]
		probes := b.probes[64*g:]
		for cands != 0 {
			var hashes [8]uint64
			var lengths [8]int
			n, longer := 0, false
			for ; cands != 0 && n < len(hashes); cands &= cands - 1 {
				p := &probes[bits.TrailingZeros64(cands)]
				l := int(p.length)
				if l > len(key) {
					longer = true // and so are all the probes after it
					break
				}
				if l > 0 {
					if c := key[l-1]; p.lastBytes[c>>6]&(1<<(c&63)) == 0 {
						continue
					}
				}
				h := slotHash(key[:l])
				b.prefixes[h&b.slotMask].key.Load()
				hashes[n], lengths[n] = h, l
				n++
			}
			for c, h := range hashes[:n] {
				l := lengths[c]
				for j := h & b.slotMask; ; j = (j + 1) & b.slotMask {
					s := &b.prefixes[j]
					sk := s.key.Load()
					if sk == slotEmpty {
						break
					}
					if slotMatches(sk, h, tail) && s.rule.matchesAt(key, l, bit) {
						return s.rule
					}
				}
			}
			if longer {
				return nil
			}
		}
	}
	return nil
}

// newLargeBlock returns a block for the large bucket name, allocated with
// room for its probes and their suffixCands so that they share its memory
// (past 64 probes, they are allocated apart).
func newLargeBlock(name string, probes []probe) *block {
	var b *block
	var room []probe
	var cands [][65]uint64
	switch n := len(probes); {
	case n <= 4:
		b, room, cands = largeBlockWith[[4]probe]()
	case n <= 8:
		b, room, cands = largeBlockWith[[8]probe]()
	case n <= 16:
		b, room, cands = largeBlockWith[[16]probe]()
	case n <= 32:
		b, room, cands = largeBlockWith[[32]probe]()
	case n <= 64:
		b, room, cands = largeBlockWith[[64]probe]()
	default:
		b, room, cands = new(block), make([]probe, 0, n), make([][65]uint64, (n+63)/64)
	}
	b.setName(name)
	b.probes = append(room, probes...)
	for i, p := range probes {
		g, bit := i/64, uint64(1)<<(i%64)
		for c := range 64 {
			if p.suffixEnds&(1<<c) != 0 {
				cands[g][c] |= bit
			}
		}
		cands[g][64] |= bit
	}
	b.suffixCands = cands
	return b
}

// probeRoom is the array of probes a large block is allocated with.
type probeRoom interface {
	[4]probe | [8]probe | [16]probe | [32]probe | [64]probe
}

// largeBlockWith allocates a block, an array P of probes and one group of
// suffixCands as one piece of memory, and returns the block and the other
// two as empty slices of it.
func largeBlockWith[P probeRoom]() (*block, []probe, [][65]uint64) {
	x := new(struct {
		b block
		p P
		c [1][65]uint64
	})
	return &x.b, unsafe.Slice(&x.p[0], len(x.p))[:0], x.c[:]
}

// newBlock returns a block for the small bucket name with room for n
// entries, allocated with its entries so that a small bucket is one piece
// of memory: the header, the hot entries, the cold entries.
func newBlock(name string, n int) *block {
	var b *block
	switch {
	case n <= 2:
		b = smallBlockWith[[2]hotEntry, [2]coldEntry]()
	case n <= 4:
		b = smallBlockWith[[4]hotEntry, [4]coldEntry]()
	case n <= 6:
		b = smallBlockWith[[6]hotEntry, [6]coldEntry]()
	case n <= 8:
		b = smallBlockWith[[8]hotEntry, [8]coldEntry]()
	case n <= 10:
		b = smallBlockWith[[10]hotEntry, [10]coldEntry]()
	default:
		b = smallBlockWith[[smallBucket]hotEntry, [smallBucket]coldEntry]()
	}
	b.setName(name)
	return b
}

// hotRoom and coldRoom are the arrays of entries a small block is
// allocated with; smallBlockWith takes two of the same length.
type (
	hotRoom interface {
		[2]hotEntry | [4]hotEntry | [6]hotEntry | [8]hotEntry | [10]hotEntry | [smallBucket]hotEntry
	}
	coldRoom interface {
		[2]coldEntry | [4]coldEntry | [6]coldEntry | [8]coldEntry | [10]coldEntry | [smallBucket]coldEntry
	}
)

// smallBlockWith allocates a block and its arrays of hot and cold entries
// as one piece of memory, and returns the block with b.hot and b.small set
// to empty slices of them.
func smallBlockWith[H hotRoom, C coldRoom]() *block {
	x := new(struct {
		b block
		h H
		c C
	})
	x.b.hot = unsafe.Slice(&x.h[0], len(x.h))[:0]
	x.b.small = unsafe.Slice(&x.c[0], len(x.c))[:0]
	return &x.b
}

// setName sets b.name to a copy of name in b.nameBytes when it fits.
func (b *block) setName(name string) {
	b.name = name
	if name != "" && len(name) <= len(b.nameBytes) {
		copy(b.nameBytes[:], name)
		b.name = unsafe.String(&b.nameBytes[0], len(name))
	}
}
