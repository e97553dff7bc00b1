// This file implements the fingerprint of a rule that Match tests instead
// of the rule itself.
//
// A lookup is bound by dependent cache misses, and reading a rule's strings
// is one more. So each rule of a small bucket is copied into its block as
// two entries: a hotEntry of 16 bytes (its events, the length of its prefix
// and the prefix's first 8 bytes), which Match tests for every rule, and a
// coldEntry of 32 bytes (the length of its suffix, the last 8 bytes of its
// prefix and of its suffix, and the rule), read only when the hot one
// agrees. The key is loaded the same way once per lookup (keyBytes). A
// prefix of at most 16 bytes and a suffix of at most 8 are then tested
// exactly with a few integer compares; only longer filters read the rule's
// strings, and only after their fingerprints agree. (A large bucket's prefix table holds
// less, see prefixSlot: the slot is found by the prefix's hash, so only the
// rule that Match returns, or one whose suffix tag agrees, is read.)
//
// Byte order: head holds s[0] in its low byte (a little-endian load of the
// first 8 bytes, zero-padded), tail holds s[len(s)-1] in its high byte (the
// last 8 bytes, zero-padded below). So the first n bytes of s are
// head & (all ones >> (64-8n)) and the last n are tail >> (64-8n); Go
// defines a shift by 64 as giving 0, which makes n = 0 work too.

package match

import (
	"encoding/binary"
	"unsafe"
)

// coldEntry is the part of a small bucket's rule that Match tests after
// its hotEntry (block.go) agrees: the suffix, the rest of the prefix, and
// the rule. The two together are the rule's fingerprint (see the file
// comment); kept apart, the entries of ten rules take 480 bytes, not 640.
type coldEntry struct {
	suffixLen   uint16
	suffixShift uint8  // 64 - 8*min(suffixLen, 8)
	prefixTail  uint64 // prefix[prefixLen-8:] as a little-endian load, when prefixLen > 8
	suffixTail  uint64 // the suffix's last min(suffixLen, 8) bytes: tail >> suffixShift
	rule        *Rule
}

// A coldEntry is at most 32 bytes (exactly 32 with 8-byte pointers).
const _ = uint(32 - unsafe.Sizeof(coldEntry{}))

// newEntry returns the hot and cold entries of r.
func newEntry(r *Rule) (hotEntry, coldEntry) {
	np, ns := len(r.Prefix), len(r.Suffix)
	h := hotEntry{events: uint32(r.Events & AllEvents), prefixLen: uint16(np),
		prefixShift: uint8(64 - 8*min(np, 8)), prefixHead: leading8(r.Prefix)}
	c := coldEntry{rule: r, suffixLen: uint16(ns), suffixShift: uint8(64 - 8*min(ns, 8))}
	c.suffixTail = trailing8(r.Suffix) >> c.suffixShift
	if np > 8 {
		c.prefixTail = load64(r.Prefix, np-8)
	}
	return h, c
}

// keyBytes is a key loaded once for testing many entries.
type keyBytes struct {
	s          string
	head, tail uint64
}

// loadKey is written out in block.match, where the common case, a key of
// at least 8 bytes, is two loads.
func loadKey(key string) keyBytes {
	return keyBytes{s: key, head: leading8(key), tail: trailing8(key)}
}

// matches reports whether the prefix and suffix of the rule of h and c
// both match k, given that k passed h's test (block.match): the rule holds
// the event, and k.head agrees with the prefix's first 8 bytes.
func (c *coldEntry) matches(h *hotEntry, k *keyBytes) bool {
	np, ns := int(h.prefixLen), int(c.suffixLen)
	if len(k.s) < np || len(k.s) < ns || k.tail>>c.suffixShift != c.suffixTail {
		return false
	}
	if np > 8 {
		if load64(k.s, np-8) != c.prefixTail {
			return false
		}
		if np > 16 && k.s[8:np-8] != c.rule.Prefix[8:np-8] {
			return false
		}
	}
	return ns <= 8 || k.s[len(k.s)-ns:len(k.s)-8] == c.rule.Suffix[:ns-8]
}

// load64 returns s[i:i+8] as a little-endian integer; s has those bytes.
// It reads the string's bytes in place (one load where the CPU allows it).
func load64(s string, i int) uint64 {
	return binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(s), len(s))[i:])
}

// leading8 returns the first min(len(s), 8) bytes of s, s[0] lowest.
func leading8(s string) uint64 {
	if len(s) >= 8 {
		return load64(s, 0)
	}
	var h uint64
	for i := len(s) - 1; i >= 0; i-- {
		h = h<<8 | uint64(s[i])
	}
	return h
}

// trailing8 returns the last min(len(s), 8) bytes of s, s[len(s)-1] highest.
func trailing8(s string) uint64 {
	if len(s) >= 8 {
		return load64(s, len(s)-8)
	}
	return leading8(s) << (64 - 8*len(s))
}
