package fuzz

import (
	"testing"

	"github.com/notifymux/notifymux/match"
)

// TestDifferential runs fixed-seed random operation sequences on match.Index
// and the oracle side by side (see Checker).
func TestDifferential(t *testing.T) {
	seqs, steps := 1500, 12
	if testing.Short() || raceEnabled {
		seqs = 400 // about 5,000 changes; the race detector slows this test tenfold
	}
	keys := ShortKeys(3)
	accepted, refused := 0, 0
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
				reportMismatch(t, ops, probe, err)
			}
		}
		if err := c.Done(); err != nil {
			reportMismatch(t, ops, probe, err)
		}
		accepted += c.Accepted
		refused += c.Refused
	}
	t.Logf("%d sequences of %d ops: %d changes accepted, %d refused", seqs, steps, accepted, refused)
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
