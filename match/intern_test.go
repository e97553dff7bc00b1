package match

import (
	"strings"
	"testing"
	"unsafe"
)

// TestArena interns rules whose strings take every size from 0 to 200
// bytes, so that each slab and the fallback to intern are used, and
// checks that every copy equals its rule, names the given bucket and
// shares no bytes with the rule it was copied from.
func TestArena(t *testing.T) {
	var rules []Rule
	for n := 0; n <= 200; n += 3 {
		rules = append(rules, Rule{ID: "i" + strings.Repeat("d", n/4), Bucket: "caller's", Events: ObjectCreated,
			Prefix: strings.Repeat("p", n/4), Suffix: strings.Repeat("s", n/4), Target: strings.Repeat("t", n-3*(n/4))})
	}
	var a arena
	for i := range rules {
		a.reserve(&rules[i])
	}
	a.alloc()
	// One more rule than reserved takes the fallback.
	extra := Rule{ID: "x", Events: ObjectCreated, Target: "t"}
	rules = append(rules, extra)
	for i := range rules {
		r := &rules[i]
		got := a.intern(r, "bkt")
		want := *r
		want.Bucket = "bkt"
		if *got != want {
			t.Fatalf("intern(%+v) = %+v", want, *got)
		}
		for _, pair := range [][2]string{{got.ID, r.ID}, {got.Prefix, r.Prefix}, {got.Suffix, r.Suffix}, {got.Target, r.Target}} {
			if pair[0] != "" && unsafe.StringData(pair[0]) == unsafe.StringData(pair[1]) {
				t.Fatalf("rule %d: the copy shares bytes with the original", i)
			}
		}
	}
	if len(a.s24) == 0 || len(a.s32) == 0 || len(a.s64) == 0 || len(a.s128) == 0 {
		t.Errorf("slabs used: 24:%d 32:%d 64:%d 128:%d; want every one", len(a.s24), len(a.s32), len(a.s64), len(a.s128))
	}
}
