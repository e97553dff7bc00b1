// This file is the oracle Index: each bucket's rules in a plain slice, with
// Add, AddAll, Remove, Replace and Match defined as the specification states
// them.
//
// A change is judged before it is made. Its Verdict lists every reason to
// refuse it: invalid rules, duplicate IDs, and every pair of rules that
// overlap per Overlaps (the new rule against each held rule for Add; every
// pair of the call, the later rule against the earlier, for Replace). The
// change is made exactly when the list is empty. AddAll is a sequence of
// Adds made all or nothing: its verdict is that of the first rule that would
// be refused, judged as an Add to the held rules plus the rules of the call
// before it. Match scans the slice with Matches; MatchAll returns every
// matching rule, so a second match exposes a broken invariant instead of
// hiding it.

package oracle

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/notifymux/notifymux/match"
)

// Index is the oracle for match.Index: the rules of each bucket in the order
// they were added, searched linearly. The zero Index is not ready; use NewIndex.
type Index struct {
	buckets map[string][]match.Rule
}

// NewIndex returns an empty oracle Index.
func NewIndex() *Index { return &Index{buckets: map[string][]match.Rule{}} }

// Conflict is a pair of overlapping rules: Rule is the one being refused and
// Existing the one it overlaps (a held rule, or an earlier rule of the same
// Replace or AddAll call).
type Conflict struct {
	Rule, Existing match.Rule
}

// Verdict is the oracle's judgement of one Add, AddAll or Replace: every
// reason to refuse it (for AddAll, every reason to refuse its first refused
// rule). The change is accepted exactly when there is none.
type Verdict struct {
	Faults       []string   // invalid rules, and rules naming another bucket in a Replace (ErrInvalidRule)
	DuplicateIDs []string   // IDs held or given twice (ErrDuplicateID)
	Conflicts    []Conflict // overlapping pairs (*match.ConflictError)
}

// Accepted reports whether the change has no reason to be refused.
func (v Verdict) Accepted() bool {
	return len(v.Faults) == 0 && len(v.DuplicateIDs) == 0 && len(v.Conflicts) == 0
}

// String lists the reasons, or says "accepted".
func (v Verdict) String() string {
	if v.Accepted() {
		return "accepted"
	}
	var parts []string
	for _, f := range v.Faults {
		parts = append(parts, "invalid: "+f)
	}
	for _, id := range v.DuplicateIDs {
		parts = append(parts, "duplicate id "+strconv.Quote(id))
	}
	for _, c := range v.Conflicts {
		parts = append(parts, fmt.Sprintf("%q overlaps %q", c.Rule.ID, c.Existing.ID))
	}
	return "refused (" + strings.Join(parts, "; ") + ")"
}

// Explains returns nil when err is an answer the verdict allows for the same
// change, and otherwise an error saying what is wrong with it:
//   - accepted: err must be nil;
//   - refused: err must be non-nil and justified by one of the reasons. A
//     *match.ConflictError (found with errors.As; errors.Is ErrConflict must
//     hold) must name a pair in Conflicts, with an Event both rules hold and a
//     Key both match per Matches, and its text must quote both IDs, the
//     bucket and the key. An error wrapping match.ErrDuplicateID needs a
//     duplicate ID, one wrapping match.ErrInvalidRule an invalid rule.
//
// When a change has several faults the specification does not say which one
// to report, so any true one is allowed.
func (v Verdict) Explains(err error) error {
	switch {
	case v.Accepted() && err == nil:
		return nil
	case v.Accepted():
		return fmt.Errorf("refused a change the oracle accepts: %v", err)
	case err == nil:
		return fmt.Errorf("accepted a change the oracle %s", v)
	}
	var ce *match.ConflictError
	switch {
	case errors.As(err, &ce):
		return v.explainConflict(err, ce)
	case errors.Is(err, match.ErrDuplicateID):
		if len(v.DuplicateIDs) == 0 {
			return fmt.Errorf("reported a duplicate ID, but the oracle %s: %v", v, err)
		}
	case errors.Is(err, match.ErrInvalidRule):
		if len(v.Faults) == 0 {
			return fmt.Errorf("reported an invalid rule, but the oracle %s: %v", v, err)
		}
	default:
		return fmt.Errorf("refused with an error of no documented kind (the oracle %s): %v", v, err)
	}
	return nil
}

// explainConflict checks a *match.ConflictError against the verdict.
func (v Verdict) explainConflict(err error, ce *match.ConflictError) error {
	if !errors.Is(err, match.ErrConflict) {
		return fmt.Errorf("a *ConflictError that is not errors.Is ErrConflict: %v", err)
	}
	if !slices.Contains(v.Conflicts, Conflict{ce.Rule, ce.Existing}) {
		return fmt.Errorf("conflict names rule %+v and existing %+v, which is no overlapping pair the oracle found (the oracle %s): %v",
			ce.Rule, ce.Existing, v, err)
	}
	bucket := ce.Rule.Bucket
	if !Matches(ce.Rule, bucket, ce.Event, ce.Key) || !Matches(ce.Existing, bucket, ce.Event, ce.Key) {
		return fmt.Errorf("conflict witness (%v, key %q) does not match both %+v and %+v", ce.Event, ce.Key, ce.Rule, ce.Existing)
	}
	msg := err.Error()
	for _, want := range []string{strconv.Quote(ce.Rule.ID), strconv.Quote(ce.Existing.ID), strconv.Quote(bucket), strconv.Quote(ce.Key)} {
		if !strings.Contains(msg, want) {
			return fmt.Errorf("conflict text %q does not contain %s", msg, want)
		}
	}
	return nil
}

// JudgeAdd returns the verdict on adding r, without adding it.
func (x *Index) JudgeAdd(r match.Rule) Verdict {
	var v Verdict
	if f := Fault(r); f != "" {
		v.Faults = append(v.Faults, fmt.Sprintf("rule %q: %s", r.ID, f))
	}
	for _, h := range x.buckets[r.Bucket] {
		if h.ID == r.ID {
			v.DuplicateIDs = append(v.DuplicateIDs, r.ID)
		}
		if Overlaps(r, h) {
			v.Conflicts = append(v.Conflicts, Conflict{Rule: r, Existing: h})
		}
	}
	return v
}

// Add adds r when JudgeAdd accepts it, and returns the verdict.
func (x *Index) Add(r match.Rule) Verdict {
	v := x.JudgeAdd(r)
	if v.Accepted() {
		x.buckets[r.Bucket] = append(x.buckets[r.Bucket], r)
	}
	return v
}

// JudgeAddAll returns the verdict on adding every rule of rules at once,
// without doing it. The rules are judged in order, each as JudgeAdd would
// judge it if the rules before it in the slice were held too (whatever their
// bucket); the verdict is that of the first rule refused, or accepted when
// none is. An empty or nil rules is accepted.
func (x *Index) JudgeAddAll(rules []match.Rule) Verdict {
	v, _ := x.judgeAddAll(rules)
	return v
}

// judgeAddAll is JudgeAddAll that also returns, when the rules are accepted,
// every bucket's rules after adding them (new slices; x is not changed).
func (x *Index) judgeAddAll(rules []match.Rule) (Verdict, map[string][]match.Rule) {
	after := &Index{buckets: make(map[string][]match.Rule, len(x.buckets))}
	for b, rs := range x.buckets {
		after.buckets[b] = slices.Clone(rs)
	}
	for _, r := range rules {
		if v := after.Add(r); !v.Accepted() {
			return v, nil
		}
	}
	return Verdict{}, after.buckets
}

// AddAll adds every rule of rules when JudgeAddAll accepts them, and none
// otherwise, and returns the verdict.
func (x *Index) AddAll(rules []match.Rule) Verdict {
	v, after := x.judgeAddAll(rules)
	if v.Accepted() {
		x.buckets = after
	}
	return v
}

// JudgeReplace returns the verdict on replacing bucket's rules by rules,
// without doing it: every rule must be valid and name bucket, IDs must be
// distinct, and no two rules may overlap.
func (x *Index) JudgeReplace(bucket string, rules []match.Rule) Verdict {
	var v Verdict
	for i, r := range rules {
		if f := Fault(r); f != "" {
			v.Faults = append(v.Faults, fmt.Sprintf("rule %q: %s", r.ID, f))
		}
		if r.Bucket != bucket {
			v.Faults = append(v.Faults, fmt.Sprintf("rule %q names bucket %q, not %q", r.ID, r.Bucket, bucket))
		}
		for _, h := range rules[:i] {
			if h.ID == r.ID {
				v.DuplicateIDs = append(v.DuplicateIDs, r.ID)
			}
			if Overlaps(r, h) {
				v.Conflicts = append(v.Conflicts, Conflict{Rule: r, Existing: h})
			}
		}
	}
	return v
}

// Replace sets bucket's rules to a copy of rules when JudgeReplace accepts
// them (an empty list removes the bucket), and returns the verdict.
func (x *Index) Replace(bucket string, rules []match.Rule) Verdict {
	v := x.JudgeReplace(bucket, rules)
	if v.Accepted() {
		if len(rules) == 0 {
			delete(x.buckets, bucket)
		} else {
			x.buckets[bucket] = slices.Clone(rules)
		}
	}
	return v
}

// Remove deletes the rule id of bucket and reports whether it was held.
func (x *Index) Remove(bucket, id string) bool {
	rs := x.buckets[bucket]
	for i, r := range rs {
		if r.ID == id {
			rs = slices.Delete(slices.Clone(rs), i, i+1)
			if len(rs) == 0 {
				delete(x.buckets, bucket)
			} else {
				x.buckets[bucket] = rs
			}
			return true
		}
	}
	return false
}

// Match returns the first held rule that Matches the event, if any.
func (x *Index) Match(bucket string, e match.Event, key string) (match.Rule, bool) {
	for _, r := range x.buckets[bucket] {
		if Matches(r, bucket, e, key) {
			return r, true
		}
	}
	return match.Rule{}, false
}

// MatchAll returns every held rule that Matches the event. More than one
// means the oracle's own invariant is broken.
func (x *Index) MatchAll(bucket string, e match.Event, key string) []match.Rule {
	var all []match.Rule
	for _, r := range x.buckets[bucket] {
		if Matches(r, bucket, e, key) {
			all = append(all, r)
		}
	}
	return all
}

// Len returns the number of rules held in all buckets.
func (x *Index) Len() int {
	n := 0
	for _, rs := range x.buckets {
		n += len(rs)
	}
	return n
}

// Rules returns a copy of bucket's rules in the order they were added.
func (x *Index) Rules(bucket string) []match.Rule { return slices.Clone(x.buckets[bucket]) }

// Buckets returns the names of the buckets holding rules, sorted.
func (x *Index) Buckets() []string {
	var names []string
	for b := range x.buckets {
		names = append(names, b)
	}
	slices.Sort(names)
	return names
}

// CheckDisjoint returns an error naming the first two rules of one bucket
// that overlap per Search, or nil when every bucket's rules are pairwise
// non-overlapping.
func (x *Index) CheckDisjoint() error {
	for _, b := range x.Buckets() {
		rs := x.buckets[b]
		for i := range rs {
			for j := range i {
				if e, key, ok := Search(rs[i], rs[j]); ok {
					return fmt.Errorf("bucket %q holds rules %q and %q that both match %v on key %q", b, rs[j].ID, rs[i].ID, e, key)
				}
			}
		}
	}
	return nil
}
