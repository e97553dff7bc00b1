// This file implements the fingerprint of a rule that Match tests instead
// of the rule itself.
//
// A lookup is bound by dependent cache misses, and reading a rule's strings
// is one more. So each rule of a small bucket is copied into its block as a
// ruleEntry: its events, the lengths of its prefix and suffix, the first and
// last 8 bytes of its prefix and the last 8 bytes of its suffix, and the
// rule. The key is loaded the same way once per lookup (keyBytes). A prefix
// of at most 16 bytes and a suffix of at most 8 are then tested exactly with
// a few integer compares; only longer filters read the rule's strings, and
// only after their fingerprints agree. (A large bucket's prefix table holds
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

// ruleEntry is a rule as Match tests it (see the file comment).
type ruleEntry struct {
	events      EventSet
	prefixLen   uint16
	suffixLen   uint16
	prefixShift uint8  // 64 - 8*min(prefixLen, 8)
	suffixShift uint8  // 64 - 8*min(suffixLen, 8)
	prefixHead  uint64 // the prefix's first min(prefixLen, 8) bytes, as head
	prefixTail  uint64 // prefix[prefixLen-8:] as a little-endian load, when prefixLen > 8
	suffixTail  uint64 // the suffix's last min(suffixLen, 8) bytes: tail >> suffixShift
	rule        *Rule
}

// newEntry returns the entry of r.
func newEntry(r *Rule) ruleEntry {
	np, ns := len(r.Prefix), len(r.Suffix)
	e := ruleEntry{
		events: r.Events, rule: r,
		prefixLen: uint16(np), suffixLen: uint16(ns),
		prefixShift: uint8(64 - 8*min(np, 8)), suffixShift: uint8(64 - 8*min(ns, 8)),
		prefixHead: leading8(r.Prefix),
	}
	e.suffixTail = trailing8(r.Suffix) >> e.suffixShift
	if np > 8 {
		e.prefixTail = load64(r.Prefix, np-8)
	}
	return e
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

// matches reports whether the entry's rule holds an event of bit and its
// prefix and suffix both match k.
func (e *ruleEntry) matches(k *keyBytes, bit EventSet) bool {
	np, ns := int(e.prefixLen), int(e.suffixLen)
	if e.events&bit == 0 || len(k.s) < np || len(k.s) < ns ||
		k.head&(^uint64(0)>>e.prefixShift) != e.prefixHead || k.tail>>e.suffixShift != e.suffixTail {
		return false
	}
	if np > 8 {
		if load64(k.s, np-8) != e.prefixTail {
			return false
		}
		if np > 16 && k.s[8:np-8] != e.rule.Prefix[8:np-8] {
			return false
		}
	}
	return ns <= 8 || k.s[len(k.s)-ns:len(k.s)-8] == e.rule.Suffix[:ns-8]
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
