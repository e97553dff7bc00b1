// This file shrinks a failing operation sequence, so that a mismatch found by
// fuzzing can be reported as a short sequence of rules.
//
// It is greedy delta debugging: repeatedly try dropping one operation, then
// one rule of a Replace or AddAll, then simplifying one rule (clearing its
// prefix, its suffix, or narrowing its events to the lowest one), keeping
// every change after which the sequence still fails, until no single change
// helps.

package oracle

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/notifymux/notifymux/match"
)

// Minimize returns a sequence no longer than ops for which fails still
// reports true, such that no single removal or simplification described
// above keeps it failing. fails(ops) must be true.
func Minimize(ops []Op, fails func([]Op) bool) []Op {
	ops = cloneOps(ops)
	for changed := true; changed; {
		changed = false
		for i := 0; i < len(ops); i++ {
			if try := slices.Delete(cloneOps(ops), i, i+1); fails(try) {
				ops, changed = try, true
				i--
			}
		}
		for i := range ops {
			for j := 0; j < len(ops[i].Rules); j++ {
				try := cloneOps(ops)
				try[i].Rules = slices.Delete(try[i].Rules, j, j+1)
				if fails(try) {
					ops, changed = try, true
					j--
				}
			}
		}
		for i := range ops {
			for j := -1; j < len(ops[i].Rules); j++ {
				for _, simplify := range ruleSimplifications {
					try := cloneOps(ops)
					r := &try[i].Rule
					if j >= 0 {
						r = &try[i].Rules[j]
					}
					if !simplify(r) {
						continue
					}
					if fails(try) {
						ops, changed = try, true
					}
				}
			}
		}
	}
	return ops
}

// ruleSimplifications each change a rule and report whether they did.
var ruleSimplifications = []func(*match.Rule) bool{
	func(r *match.Rule) bool { c := r.Prefix != ""; r.Prefix = ""; return c },
	func(r *match.Rule) bool { c := r.Suffix != ""; r.Suffix = ""; return c },
	func(r *match.Rule) bool {
		e := r.Events.First()
		if e == 0 || r.Events == e.Set() {
			return false
		}
		r.Events = e.Set()
		return true
	},
}

func cloneOps(ops []Op) []Op {
	out := slices.Clone(ops)
	for i := range out {
		if out[i].Rules != nil {
			out[i].Rules = slices.Clone(out[i].Rules)
		}
	}
	return out
}

// Shrink returns err, which CheckOps(ops, keys) returned, followed by the
// shortest sequence Minimize finds that still fails, written as Go, ready
// to paste into a regression test. Errors other than a *MismatchError are
// returned as they are.
func Shrink(ops []Op, keys []string, err error) error {
	var me *MismatchError
	if !errors.As(err, &me) {
		return err
	}
	small := Minimize(ops, func(ops []Op) bool { return CheckOps(ops, keys) != nil })
	var b strings.Builder
	for _, op := range small {
		fmt.Fprintf(&b, "\t%#v,\n", op)
	}
	return fmt.Errorf("%w\nminimal sequence (%d ops, fails with: %v):\n%s", err, len(small), CheckOps(small, keys), b.String())
}
