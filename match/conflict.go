// This file implements the conflict search: which held rules of a bucket
// overlap a new rule (see Overlap), found without scanning the bucket.
//
// Two rules overlap when their events intersect, one prefix begins the other
// and one suffix ends the other. The candidates for the prefix part come
// from the bucket's go-radix tree: the stored prefixes of the new prefix
// (WalkPath) and the stored prefixes that extend it (WalkPrefix, which also
// visits the new prefix itself, so WalkPath skips it). A candidate is passed
// over when its rules' events miss the new rule's, or when none of its
// suffixes ends with the new suffix's last byte (two non-empty suffixes are
// comparable only if they end alike). Otherwise its rules are compared one
// by one, or, when there are more than trieAbove of them, its suffix trie is
// searched for the suffixes of the new suffix (met while walking it
// backwards) and those that end with it (the subtree where that walk ends).
//
// The cost is the length of the new prefix plus the number of stored
// prefixes that extend it, share an event with it and have a suffix ending
// like it: adding a short prefix above very many stored ones visits each.

package match

import (
	"fmt"
	"slices"
	"strings"
)

// check returns the error adding r to b would cause. The caller holds the
// writer lock (or owns b exclusively).
func (b *bucket) check(r *Rule) error {
	if b.byID(r.ID) != nil {
		return fmt.Errorf("match: rule %s in bucket %s: %w", quote(r.ID), quote(r.Bucket), ErrDuplicateID)
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

// conflicts calls fn for each rule of b that overlaps r, in prefix order,
// until fn returns false.
func (b *bucket) conflicts(r *Rule, fn func(*Rule) bool) {
	ev, end := r.Events&AllEvents, endBits(r.Suffix)
	more := true
	visit := func(_ string, v any) bool {
		pe, ok := v.(*prefixEntry)
		if !ok { // the prefix's only rule
			h := v.(*Rule)
			if h.Events&ev != 0 && (strings.HasSuffix(h.Suffix, r.Suffix) || strings.HasSuffix(r.Suffix, h.Suffix)) {
				more = fn(h)
			}
			return !more
		}
		if pe.events&ev == 0 || pe.ends&end == 0 {
			return false
		}
		if pe.suffixes != nil {
			more = suffixConflicts(pe.suffixes, r, fn)
			return !more
		}
		for _, h := range pe.rules {
			if h.Events&ev != 0 && (strings.HasSuffix(h.Suffix, r.Suffix) || strings.HasSuffix(r.Suffix, h.Suffix)) {
				if more = fn(h); !more {
					return true
				}
			}
		}
		return false
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

// suffixConflicts calls fn for each rule in the suffix trie s whose events
// meet r.Events and whose suffix is comparable with r.Suffix: a suffix of it
// (met while walking r.Suffix backwards) or one that ends with it (the
// subtree where that walk ends). It returns false if fn did.
func suffixConflicts(s *suffixTrie, r *Rule, fn func(*Rule) bool) bool {
	ev := r.Events & AllEvents
	each := func(n *suffixTrie) bool {
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

// suffixTrie is a trie of suffixes; its values are the rules whose suffix ends there.
type suffixTrie = node[ruleSet]

// ruleSet holds the rules that share one prefix and one suffix. They have
// disjoint event sets; almost always there is one.
type ruleSet struct {
	first *Rule
	more  []*Rule
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

// addSuffix returns the trie t with r added.
func addSuffix(t *suffixTrie, r *Rule) *suffixTrie {
	return update(t, r.Suffix, func(rs ruleSet, _ EventSet) (ruleSet, EventSet) {
		return newRuleSet(append(rs.list(), r))
	})
}

// removeSuffix returns the trie t without r.
func removeSuffix(t *suffixTrie, r *Rule) *suffixTrie {
	return update(t, r.Suffix, func(rs ruleSet, _ EventSet) (ruleSet, EventSet) {
		return newRuleSet(slices.DeleteFunc(rs.list(), func(h *Rule) bool { return h == r }))
	})
}

// lastBytes returns the prefixEntry.ends bits of the suffix trie s, in
// constant time: the root's label ends every suffix; else its children's
// selecting bytes (and an empty suffix stored at the root) are all the last
// bytes.
func lastBytes(s *suffixTrie) uint64 {
	switch {
	case s.label != "":
		return 1 << (s.label[len(s.label)-1] & 63)
	case s.own != 0:
		return ^uint64(0)
	}
	return s.bm[0] | s.bm[1] | s.bm[2] | s.bm[3]
}
