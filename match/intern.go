// This file implements interning: the index keeps one heap copy of each
// rule it holds, whose strings live in the same allocation as the Rule, so
// that reading a matched rule and its strings touches one place in memory.

package match

import "unsafe"

// intern returns a heap copy of r whose strings live in the same allocation
// as the Rule, so that reading a matched rule and its prefix touches one
// place in memory. Short rules (the usual case) take one allocation.
func intern(r Rule) *Rule {
	n := len(r.Prefix) + len(r.Bucket) + len(r.Suffix) + len(r.ID) + len(r.Target)
	var p *Rule
	var buf []byte
	switch {
	case n <= 32:
		x := new(struct {
			r Rule
			b [32]byte
		})
		p, buf = &x.r, x.b[:0]
	case n <= 64:
		x := new(struct {
			r Rule
			b [64]byte
		})
		p, buf = &x.r, x.b[:0]
	case n <= 128:
		x := new(struct {
			r Rule
			b [128]byte
		})
		p, buf = &x.r, x.b[:0]
	default:
		p, buf = new(Rule), make([]byte, 0, n)
	}
	put := func(s string) string {
		if s == "" {
			return ""
		}
		buf = append(buf, s...)
		return unsafe.String(&buf[len(buf)-len(s)], len(s))
	}
	*p = Rule{Prefix: put(r.Prefix), Bucket: put(r.Bucket), Suffix: put(r.Suffix),
		ID: put(r.ID), Target: put(r.Target), Events: r.Events}
	return p
}

// arena interns the rules of one bucket that one AddAll or Replace adds.
// Like intern, it keeps each rule's strings just after the Rule, so that
// matching a long prefix reads one place in memory; but it takes the rules
// from a few slabs, one per size of string storage (24, 32, 64 or 128
// bytes), so that a bucket of ten rules costs one allocation instead of ten. Rules whose strings fit none
// of the sizes are interned one by one. The memory of a rule removed later
// is freed only with the last rule of its slab.
type arena struct {
	n24, n32, n64, n128 int // rules reserved in each slab
	s24                 []internedRule[[24]byte]
	s32                 []internedRule[[32]byte]
	s64                 []internedRule[[64]byte]
	s128                []internedRule[[128]byte]
}

// internedRule is a Rule and the storage of its strings.
type internedRule[B [24]byte | [32]byte | [64]byte | [128]byte] struct {
	r Rule
	b B
}

// ruleBytes returns the bytes r's strings other than its bucket take.
func ruleBytes(r *Rule) int { return len(r.ID) + len(r.Prefix) + len(r.Suffix) + len(r.Target) }

// reserve makes room in a for r; call it for each rule before alloc.
func (a *arena) reserve(r *Rule) {
	switch n := ruleBytes(r); {
	case n <= 24:
		a.n24++
	case n <= 32:
		a.n32++
	case n <= 64:
		a.n64++
	case n <= 128:
		a.n128++
	}
}

// alloc allocates the room reserved.
func (a *arena) alloc() {
	if a.n24 > 0 {
		a.s24 = make([]internedRule[[24]byte], 0, a.n24)
	}
	if a.n32 > 0 {
		a.s32 = make([]internedRule[[32]byte], 0, a.n32)
	}
	if a.n64 > 0 {
		a.s64 = make([]internedRule[[64]byte], 0, a.n64)
	}
	if a.n128 > 0 {
		a.s128 = make([]internedRule[[128]byte], 0, a.n128)
	}
}

// intern returns a copy of r in the arena whose Bucket is bucket.
func (a *arena) intern(r *Rule, bucket string) *Rule {
	var p *Rule
	var buf []byte
	switch n := ruleBytes(r); {
	case n <= 24 && len(a.s24) < cap(a.s24):
		a.s24 = a.s24[:len(a.s24)+1]
		x := &a.s24[len(a.s24)-1]
		p, buf = &x.r, x.b[:0]
	case n > 24 && n <= 32 && len(a.s32) < cap(a.s32):
		a.s32 = a.s32[:len(a.s32)+1]
		x := &a.s32[len(a.s32)-1]
		p, buf = &x.r, x.b[:0]
	case n > 32 && n <= 64 && len(a.s64) < cap(a.s64):
		a.s64 = a.s64[:len(a.s64)+1]
		x := &a.s64[len(a.s64)-1]
		p, buf = &x.r, x.b[:0]
	case n > 64 && n <= 128 && len(a.s128) < cap(a.s128):
		a.s128 = a.s128[:len(a.s128)+1]
		x := &a.s128[len(a.s128)-1]
		p, buf = &x.r, x.b[:0]
	default: // not reserved
		p = intern(*r)
		p.Bucket = bucket
		return p
	}
	put := func(s string) string {
		if s == "" {
			return ""
		}
		buf = append(buf, s...)
		return unsafe.String(&buf[len(buf)-len(s)], len(s))
	}
	*p = Rule{ID: put(r.ID), Bucket: bucket, Events: r.Events,
		Prefix: put(r.Prefix), Suffix: put(r.Suffix), Target: put(r.Target)}
	return p
}
