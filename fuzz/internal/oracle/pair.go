// This file checks match.Overlap and match.Index on one pair of rules
// against the oracle; FuzzOverlap and the oracle's tests run it.

package oracle

import (
	"fmt"

	"github.com/notifymux/notifymux/match"
)

// CheckOverlapPair checks that match.Overlap is symmetric, agrees with the
// oracle's Search, and gives a witness both rules match (the longer prefix
// followed by the longer suffix) in both argument orders; and that a
// match.Index refuses the second rule, alone or in one Replace, exactly when
// they overlap, with an error the oracle's verdict explains.
func CheckOverlapPair(a, b match.Rule) error {
	want := Overlaps(a, b)
	if rev := Overlaps(b, a); rev != want {
		return fmt.Errorf("oracle not symmetric: Overlaps(%v, %v) = %v, reversed %v", ruleString(a), ruleString(b), want, rev)
	}
	for _, p := range [][2]match.Rule{{a, b}, {b, a}} {
		x, y := p[0], p[1]
		e, key, ok := match.Overlap(x, y)
		if ok != want {
			return fmt.Errorf("match.Overlap(%v, %v) ok = %v, oracle %v", ruleString(x), ruleString(y), ok, want)
		}
		if !ok {
			continue
		}
		if !Matches(x, x.Bucket, e, key) || !Matches(y, x.Bucket, e, key) {
			return fmt.Errorf("match.Overlap(%v, %v) witness (%v, %q) does not match both", ruleString(x), ruleString(y), e, key)
		}
		if w := longer(x.Prefix, y.Prefix) + longer(x.Suffix, y.Suffix); key != w {
			return fmt.Errorf("match.Overlap(%v, %v) witness key %q, want the longer prefix and longer suffix %q", ruleString(x), ruleString(y), key, w)
		}
	}
	// The same question through an Index: a is held, b is added.
	x, oracle := match.New(), NewIndex()
	if v, err := oracle.Add(a), x.Add(a); v.Explains(err) != nil {
		return fmt.Errorf("Add(%v) into an empty index: %v", ruleString(a), v.Explains(err))
	}
	v, err := oracle.JudgeAdd(b), x.Add(b)
	if e := v.Explains(err); e != nil {
		return fmt.Errorf("Add(%v) after %v: %v", ruleString(b), ruleString(a), e)
	}
	if a.Bucket == b.Bucket && Fault(a) == "" && Fault(b) == "" && (err != nil) != want {
		return fmt.Errorf("Add(%v) after %v: err = %v, but Overlaps = %v", ruleString(b), ruleString(a), err, want)
	}
	rules := []match.Rule{a, b}
	v, err = NewIndex().JudgeReplace(a.Bucket, rules), match.New().Replace(a.Bucket, rules)
	if e := v.Explains(err); e != nil {
		return fmt.Errorf("Replace(%q, [%v %v]): %v", a.Bucket, ruleString(a), ruleString(b), e)
	}
	return nil
}

func longer(s, t string) string {
	if len(t) > len(s) {
		return t
	}
	return s
}
