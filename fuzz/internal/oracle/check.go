// This file is the differential driver: it applies operations to a
// match.Index and to the oracle Index side by side and compares them after
// every step.
//
// Before a change the oracle judges it. If the oracle refuses, the driver
// first records match.Index's answers over the probe (below) and Len, so it
// can show the refused change left it exactly as it was. Then it makes the
// call on match.Index and asks the verdict to explain the returned error.
// The changes are Add, AddAll and Replace (Remove is compared by its result
// alone); an AddAll is judged by the oracle's JudgeAddAll, so a refused one
// must leave match.Index as it was although earlier rules of the call were
// fine. After every step it compares Len and Match against the oracle's
// MatchAll (which must find at most one rule) for every bucket (and one
// unknown) over the probe: the Checker's Keys for every event of
// ProbeEvents, and every rule's witness keys (for every rule held or named by
// the step, including every rule of a Replace or AddAll: its prefix, its
// suffix, prefix followed by suffix, and suffix followed by prefix) for every
// event type. The invalid events 0 and MaxEvent+1 must match nothing.
//
// When the index under test also has Rules(bucket), Check(rule) or
// Conflicts(rule), the driver compares those with the oracle too.
//
// Pairwise non-overlap of what match.Index accepted follows from the checks:
// it accepted exactly what the oracle accepted, and the oracle accepts a rule
// only after Search found no overlap with any held rule (or any other rule of
// the same Replace, or any earlier rule of the same AddAll). Done checks the
// final state pairwise once more.

package oracle

import (
	"fmt"
	"slices"
	"strings"

	"github.com/notifymux/notifymux/match"
)

// Checker compares a match.Index with an oracle Index operation by operation.
type Checker struct {
	Index  *match.Index // the index under test
	Oracle *Index       // the oracle, holding what Index should hold
	Keys   []string     // keys probed after every step, besides each rule's witnesses

	Accepted, Refused int // Add, AddAll and Replace calls accepted and refused so far
	Largest           int // the most rules one bucket has held after a step

	steps    int
	snapshot []answer // match.Index's answers before a change the oracle refuses
}

// NewChecker returns a Checker over an empty match.Index and oracle that
// probes keys (and every rule's witness keys) after every step.
func NewChecker(keys []string) *Checker {
	return &Checker{Index: match.New(), Oracle: NewIndex(), Keys: keys}
}

// MismatchError reports the first step at which match.Index and the oracle
// disagreed.
type MismatchError struct {
	Step   int    // 0-based index of the operation
	Op     Op     // the operation
	Detail string // what disagreed
}

// Error names the step, the operation and the disagreement.
func (e *MismatchError) Error() string {
	return fmt.Sprintf("fuzz: step %d, %v: %s", e.Step, e.Op, e.Detail)
}

// CheckOps applies ops to a fresh Checker probing keys, and returns the first
// *MismatchError, or nil.
func CheckOps(ops []Op, keys []string) error {
	c := NewChecker(keys)
	for _, op := range ops {
		if err := c.Apply(op); err != nil {
			return err
		}
	}
	return c.Done()
}

// Apply makes op on both indexes and compares them; it returns a
// *MismatchError when they disagree.
func (c *Checker) Apply(op Op) error {
	step := c.steps
	c.steps++
	fail := func(format string, args ...any) error {
		return &MismatchError{Step: step, Op: op, Detail: fmt.Sprintf(format, args...)}
	}
	probe := c.probeKeys(op)
	switch op.Kind {
	case OpRemove:
		want := c.Oracle.Remove(op.Bucket, op.ID)
		if got := c.Index.Remove(op.Bucket, op.ID); got != want {
			return fail("Remove returned %v, want %v", got, want)
		}
	case OpAdd, OpAddAll, OpReplace:
		var v Verdict
		switch op.Kind {
		case OpAdd:
			v = c.Oracle.JudgeAdd(op.Rule)
			if d := c.checkOptional(op.Rule, v); d != "" {
				return fail("%s", d)
			}
		case OpAddAll:
			v = c.Oracle.JudgeAddAll(op.Rules)
		default:
			v = c.Oracle.JudgeReplace(op.Bucket, op.Rules)
		}
		beforeLen := c.Index.Len()
		if !v.Accepted() {
			c.snapshot = c.snapshot[:0]
			c.forProbe(probe, func(b string, e match.Event, k string) bool {
				r, ok := c.Index.Match(b, e, k)
				c.snapshot = append(c.snapshot, answer{r, ok})
				return true
			})
		}
		var err error
		switch op.Kind {
		case OpAdd:
			err = c.Index.Add(op.Rule)
			c.Oracle.Add(op.Rule)
		case OpAddAll:
			err = c.Index.AddAll(op.Rules)
			c.Oracle.AddAll(op.Rules)
		default:
			err = c.Index.Replace(op.Bucket, op.Rules)
			c.Oracle.Replace(op.Bucket, op.Rules)
		}
		if e := v.Explains(err); e != nil {
			return fail("%v", e)
		}
		if v.Accepted() {
			c.Accepted++
		} else {
			c.Refused++
		}
		if !v.Accepted() {
			if n := c.Index.Len(); n != beforeLen {
				return fail("refused change moved Len from %d to %d", beforeLen, n)
			}
			i, detail := 0, ""
			c.forProbe(probe, func(b string, e match.Event, k string) bool {
				r, ok := c.Index.Match(b, e, k)
				if was := c.snapshot[i]; was != (answer{r, ok}) {
					detail = fmt.Sprintf("refused change altered Match(%q, %v, %q): was %v, now %v", b, e, k, was, answer{r, ok})
					return false
				}
				i++
				return true
			})
			if detail != "" {
				return fail("%s", detail)
			}
		}
	default:
		return fail("unknown op kind %d", op.Kind)
	}
	if got, want := c.Index.Len(), c.Oracle.Len(); got != want {
		return fail("Len is %d, want %d", got, want)
	}
	for _, b := range Buckets {
		c.Largest = max(c.Largest, len(c.Oracle.Rules(b)))
	}
	if d := c.compare(probe); d != "" {
		return fail("%s", d)
	}
	if d := c.compareRules(); d != "" {
		return fail("%s", d)
	}
	return nil
}

// The optional abilities of the index under test that the Checker also
// compares with the oracle when the index has them (match.Index has had them
// beyond the fixed API; asserting them keeps this package building if they go).
type (
	ruleLister interface {
		Rules(bucket string) []match.Rule
	}
	addChecker interface {
		Check(r match.Rule) error
	}
	conflictLister interface {
		Conflicts(r match.Rule) []*match.ConflictError
	}
)

// checkOptional compares, for a rule about to be added, the index's Check
// (the error Add would return, changing nothing) and Conflicts (every held
// rule r overlaps) with the oracle's verdict v.
func (c *Checker) checkOptional(r match.Rule, v Verdict) string {
	var x any = c.Index
	if ac, ok := x.(addChecker); ok {
		n := c.Index.Len()
		if e := v.Explains(ac.Check(r)); e != nil {
			return fmt.Sprintf("Check: %v", e)
		}
		if m := c.Index.Len(); m != n {
			return fmt.Sprintf("Check moved Len from %d to %d", n, m)
		}
	}
	if cl, ok := x.(conflictLister); ok {
		var got, want []string
		for _, ce := range cl.Conflicts(r) {
			if !Matches(ce.Rule, r.Bucket, ce.Event, ce.Key) || !Matches(ce.Existing, r.Bucket, ce.Event, ce.Key) {
				return fmt.Sprintf("Conflicts gives witness (%v, %q) for %v and %v, which does not match both", ce.Event, ce.Key, ruleString(ce.Rule), ruleString(ce.Existing))
			}
			if !slices.Contains(c.Oracle.buckets[r.Bucket], ce.Existing) {
				return fmt.Sprintf("Conflicts names %v, which is not held", ruleString(ce.Existing))
			}
			got = append(got, ce.Existing.ID)
		}
		for _, cf := range v.Conflicts {
			want = append(want, cf.Existing.ID)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			return fmt.Sprintf("Conflicts names held rules %q, want %q", got, want)
		}
	}
	return ""
}

// compareRules compares the index's Rules of every bucket, when it has the
// method, with the oracle's, as sets.
func (c *Checker) compareRules() string {
	var x any = c.Index
	rl, ok := x.(ruleLister)
	if !ok {
		return ""
	}
	byID := func(a, b match.Rule) int { return strings.Compare(a.ID, b.ID) }
	for _, b := range probeBuckets {
		got, want := rl.Rules(b), c.Oracle.Rules(b)
		slices.SortFunc(got, byID)
		slices.SortFunc(want, byID)
		if !slices.Equal(got, want) {
			return fmt.Sprintf("Rules(%q) = %v, want %v", b, got, want)
		}
	}
	return ""
}

// Done checks the final state: the oracle's rules are pairwise disjoint
// (Search on every pair) and match.Index answers every short key as the
// oracle does.
func (c *Checker) Done() error {
	if err := c.Oracle.CheckDisjoint(); err != nil {
		return &MismatchError{Step: c.steps, Detail: err.Error()}
	}
	p := c.probeKeys(Op{})
	p.keys = ShortKeys(MaxKeyLen - 2)
	if d := c.compare(p); d != "" {
		return &MismatchError{Step: c.steps, Detail: "final state: " + d}
	}
	return nil
}

// answer is one Match result of match.Index.
type answer struct {
	rule match.Rule
	ok   bool
}

func (a answer) String() string {
	if !a.ok {
		return "no rule"
	}
	return ruleString(a.rule)
}

// probeBuckets are the buckets probed: the generator's and one unknown.
var probeBuckets = append(slices.Clone(Buckets), "unknown")

// allEvents lists every event type.
var allEvents = func() []match.Event {
	var all []match.Event
	for e := match.Event(1); e <= match.MaxEvent; e++ {
		all = append(all, e)
	}
	return all
}()

// probe is what the Checker asks both indexes after a step: keys for every
// event of ProbeEvents, and witnesses (the keys built from rules' filters)
// for every event type, so that no event type goes untested.
type probe struct {
	keys, witnesses []string
}

// forProbe calls fn for every probed bucket, event and key, in a fixed order,
// until fn returns false.
func (c *Checker) forProbe(p probe, fn func(b string, e match.Event, k string) bool) {
	for _, b := range probeBuckets {
		for _, e := range ProbeEvents {
			for _, k := range p.keys {
				if !fn(b, e, k) {
					return
				}
			}
		}
		for _, e := range allEvents {
			for _, k := range p.witnesses {
				if !fn(b, e, k) {
					return
				}
			}
		}
	}
}

// compare returns a description of the first probe on which match.Index and
// the oracle disagree, or "".
func (c *Checker) compare(p probe) string {
	var d string
	c.forProbe(p, func(b string, e match.Event, k string) bool {
		d = c.compareOne(b, e, k)
		return d == ""
	})
	if d != "" {
		return d
	}
	for _, b := range probeBuckets {
		for _, e := range []match.Event{0, match.MaxEvent + 1} {
			for _, k := range p.witnesses {
				if r, ok := c.Index.Match(b, e, k); ok {
					return fmt.Sprintf("Match(%q, %v, %q) = %v for an invalid event", b, e, k, ruleString(r))
				}
			}
		}
	}
	return ""
}

func (c *Checker) compareOne(b string, e match.Event, k string) string {
	all := c.Oracle.MatchAll(b, e, k)
	if len(all) > 1 {
		return fmt.Sprintf("oracle holds %d rules matching (%q, %v, %q): %v and %v", len(all), b, e, k, ruleString(all[0]), ruleString(all[1]))
	}
	got, ok := c.Index.Match(b, e, k)
	switch {
	case len(all) == 0 && ok:
		return fmt.Sprintf("Match(%q, %v, %q) = %v, want no rule", b, e, k, ruleString(got))
	case len(all) == 1 && !ok:
		return fmt.Sprintf("Match(%q, %v, %q) = no rule, want %v", b, e, k, ruleString(all[0]))
	case len(all) == 1 && got != all[0]:
		return fmt.Sprintf("Match(%q, %v, %q) = %v, want %v", b, e, k, ruleString(got), ruleString(all[0]))
	}
	return ""
}

// probeKeys returns the Checker's keys, and the witness keys of every rule
// the oracle holds and every rule op names (op.Rule, and every rule of a
// Replace or AddAll: its prefix, its suffix, and both concatenations), each
// list without duplicates and in a stable order.
func (c *Checker) probeKeys(op Op) probe {
	witnesses := make([]string, 0, 64)
	seen := make(map[string]bool, 64)
	add := func(k string) {
		if !seen[k] {
			seen[k] = true
			witnesses = append(witnesses, k)
		}
	}
	of := func(r match.Rule) {
		add(r.Prefix)
		add(r.Suffix)
		add(r.Prefix + r.Suffix)
		add(r.Suffix + r.Prefix)
	}
	for _, b := range c.Oracle.Buckets() {
		for _, r := range c.Oracle.buckets[b] {
			of(r)
		}
	}
	of(op.Rule)
	for _, r := range op.Rules {
		of(r)
	}
	return probe{keys: c.Keys, witnesses: witnesses}
}
