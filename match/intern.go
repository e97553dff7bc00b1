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
