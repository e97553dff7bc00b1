package oracle

import (
	"errors"
	"testing"

	"github.com/notifymux/notifymux/match"
)

// largeBucket is the most rules match.Index scans in turn (its smallBucket);
// buckets of more rules take its other path, which the wide Replaces of the
// generator reach.
const largeBucket = 12

// TestDifferential runs fixed-seed random operation sequences on match.Index
// and the oracle side by side (see Checker).
func TestDifferential(t *testing.T) {
	seqs, steps := 1500, 12
	if testing.Short() || raceEnabled {
		seqs = 400 // about 5,000 changes; the race detector slows this test tenfold
	}
	keys := ShortKeys(3)
	accepted, refused, wide := 0, 0, 0
	for seed := range uint64(seqs) {
		rng := newRand(seed)
		ops := RandOps(rng, steps)
		probe := keys
		for range 4 {
			probe = append(probe[:len(probe):len(probe)], RandKey(rng))
		}
		c := NewChecker(probe)
		for _, op := range ops {
			if err := c.Apply(op); err != nil {
				t.Fatal(Shrink(ops, probe, err))
			}
		}
		if err := c.Done(); err != nil {
			t.Fatal(Shrink(ops, probe, err))
		}
		accepted += c.Accepted
		refused += c.Refused
		if c.Largest > largeBucket {
			wide++
		}
	}
	t.Logf("%d sequences of %d ops: %d changes accepted, %d refused; %d sequences had a bucket of over %d rules", seqs, steps, accepted, refused, wide, largeBucket)
	if wide < seqs/10 {
		t.Errorf("%d of %d sequences had a bucket of over %d rules; want at least a tenth, or match.Index's path for large buckets goes unchecked", wide, seqs, largeBucket)
	}
	if accepted < seqs || refused < seqs {
		t.Errorf("accepted %d and refused %d changes; want each at least %d (one per sequence), or the generator is not exercising both paths", accepted, refused, seqs)
	}
}

// TestIndexSharedBytes checks the specification's own example, prefix "ab"
// with suffix "bc" matching key "abc", through the index and the oracle with
// bytes outside Alphabet.
func TestIndexSharedBytes(t *testing.T) {
	put := match.ObjectCreatedPut.Set()
	r := func(id, p, s string) match.Rule {
		return match.Rule{ID: id, Bucket: "b0", Events: put, Prefix: p, Suffix: s, Target: "f0"}
	}
	ops := []Op{
		{Kind: OpAdd, Rule: r("r0", "ab", "bc")},
		{Kind: OpAdd, Rule: r("r1", "abc", "")}, // refused: "abc" matches both
		{Kind: OpAdd, Rule: r("r2", "", "c")},   // refused: "abc" matches both
		{Kind: OpAdd, Rule: r("r3", "b", "bc")}, // accepted: prefixes disjoint
		{Kind: OpAdd, Rule: r("r4", "abd", "")}, // accepted: suffixes... "" vs "bc" comparable, prefixes nest: refused
		{Kind: OpRemove, Bucket: "b0", ID: "r0"},
		{Kind: OpAdd, Rule: r("r1", "abc", "")},
	}
	keys := []string{"", "a", "ab", "abc", "abbc", "abd", "abdbc", "bc", "bbc", "c", "abcc"}
	if err := CheckOps(ops, keys); err != nil {
		t.Fatal(err)
	}
	x := match.New()
	for _, op := range ops[:1] {
		if err := x.Add(op.Rule); err != nil {
			t.Fatal(err)
		}
	}
	if got, ok := x.Match("b0", match.ObjectCreatedPut, "abc"); !ok || got.ID != "r0" {
		t.Errorf("Match(abc) = %v, %v; want r0", got.ID, ok)
	}
}

// TestAddAll runs the two AddAll seeds of FuzzIndex through the Checker and
// checks by hand what they are about: an AddAll spanning both buckets is
// accepted whole, so a later conflicting Add is refused; and an AddAll whose
// third rule overlaps its first is refused with a *match.ConflictError naming
// those two rules, leaving the index as it was.
func TestAddAll(t *testing.T) {
	seeds := SeedOps()
	for _, name := range []string{"addall_two_buckets_then_conflict", "addall_third_overlaps_first"} {
		if err := CheckOps(seeds[name], ShortKeys(3)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	put := match.ObjectCreatedPut

	// Accepted across both buckets, then a conflicting Add.
	ops := seeds["addall_two_buckets_then_conflict"]
	x := match.New()
	if err := x.AddAll(ops[0].Rules); err != nil {
		t.Fatalf("%v = %v, want accepted", ops[0], err)
	}
	if x.Len() != 3 {
		t.Errorf("Len after AddAll of 3 rules = %d, want 3", x.Len())
	}
	for _, want := range ops[0].Rules {
		if got, ok := x.Match(want.Bucket, put, want.Prefix+"x"); !ok || got != want {
			t.Errorf("Match(%q, %q) = %v, %v; want %v", want.Bucket, want.Prefix+"x", ruleString(got), ok, ruleString(want))
		}
	}
	var ce *match.ConflictError
	if err := x.Add(ops[1].Rule); !errors.As(err, &ce) || ce.Existing != ops[0].Rules[1] {
		t.Errorf("%v = %v, want a conflict with %v", ops[1], err, ruleString(ops[0].Rules[1]))
	}

	// Refused because the third rule overlaps the first: nothing changes.
	ops = seeds["addall_third_overlaps_first"]
	x = match.New()
	if err := x.Add(ops[0].Rule); err != nil {
		t.Fatal(err)
	}
	all := ops[1].Rules
	oracle := NewIndex()
	oracle.Add(ops[0].Rule)
	v := oracle.JudgeAddAll(all)
	if want := (Verdict{Conflicts: []Conflict{{Rule: all[2], Existing: all[0]}}}); v.String() != want.String() || v.Conflicts[0] != want.Conflicts[0] {
		t.Errorf("oracle JudgeAddAll = %v, want %v", v, want)
	}
	err := x.AddAll(all)
	if !errors.As(err, &ce) || ce.Rule != all[2] || ce.Existing != all[0] {
		t.Errorf("AddAll = %v, want a conflict of %v with %v", err, ruleString(all[2]), ruleString(all[0]))
	}
	if e := v.Explains(err); e != nil {
		t.Errorf("verdict %v does not explain %v: %v", v, err, e)
	}
	if x.Len() != 1 || oracle.Len() != 1 {
		t.Errorf("Len after a refused AddAll = %d (oracle %d), want 1", x.Len(), oracle.Len())
	}
	for _, r := range all {
		for _, k := range []string{r.Prefix, r.Prefix + r.Suffix, "a/x/"} {
			if got, ok := x.Match(r.Bucket, put, k); ok {
				t.Errorf("after a refused AddAll, Match(%q, %q) = %v, want no rule", r.Bucket, k, ruleString(got))
			}
		}
	}
	if got, ok := x.Match("b0", put, "bx"); !ok || got != ops[0].Rule {
		t.Errorf("after a refused AddAll, Match(b0, bx) = %v, %v; want %v", ruleString(got), ok, ruleString(ops[0].Rule))
	}
	if got := x.Rules("b1"); len(got) != 0 {
		t.Errorf("after a refused AddAll, Rules(b1) = %v, want none", got)
	}

	// An empty AddAll is accepted and changes nothing.
	for _, rules := range [][]match.Rule{nil, {}} {
		if err := x.AddAll(rules); err != nil || x.Len() != 1 {
			t.Errorf("AddAll(%#v) = %v with Len %d, want nil and 1", rules, err, x.Len())
		}
		if v := oracle.AddAll(rules); !v.Accepted() || oracle.Len() != 1 {
			t.Errorf("oracle AddAll(%#v) = %v with Len %d, want accepted and 1", rules, v, oracle.Len())
		}
	}
}
