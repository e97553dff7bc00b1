// This file implements interning: the index keeps one heap copy of each
// rule it holds, whose strings live in the same allocation as the Rule, so
// that reading a matched rule and its strings touches one place in memory.

package match

import (
	"strings"
	"unsafe"
)

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

// arena interns the rules of one bucket that one AddAll or Replace adds:
// their Rules share one allocation and their strings another, and every
// rule's Bucket is the bucket's own name, so that loading a bucket of ten
// rules costs two allocations instead of ten. The memory of a rule removed
// later is freed only with the last rule of its arena.
type arena struct {
	rules []Rule // capacity for every rule of the call's bucket; never grown
	bytes []byte // capacity for all their strings; never grown
}

// newArena returns an arena with room for the given number of rules and
// bytes of strings.
func newArena(rules, size int) *arena {
	return &arena{rules: make([]Rule, 0, rules), bytes: make([]byte, 0, size)}
}

// ruleBytes returns the bytes the arena needs for r's strings other than
// its bucket.
func ruleBytes(r *Rule) int { return len(r.ID) + len(r.Prefix) + len(r.Suffix) + len(r.Target) }

// put returns a copy of s in the arena's bytes.
func (a *arena) put(s string) string {
	if s == "" {
		return ""
	}
	if cap(a.bytes)-len(a.bytes) < len(s) {
		return strings.Clone(s) // never reached when the arena was sized for its rules
	}
	a.bytes = append(a.bytes, s...)
	return unsafe.String(&a.bytes[len(a.bytes)-len(s)], len(s))
}

// intern returns a copy of r in the arena whose Bucket is bucket.
func (a *arena) intern(r *Rule, bucket string) *Rule {
	if len(a.rules) == cap(a.rules) {
		// Appending would move the rules handed out already.
		h := intern(*r)
		h.Bucket = bucket
		return h
	}
	a.rules = append(a.rules, Rule{ID: a.put(r.ID), Bucket: bucket, Events: r.Events,
		Prefix: a.put(r.Prefix), Suffix: a.put(r.Suffix), Target: a.put(r.Target)})
	return &a.rules[len(a.rules)-1]
}
