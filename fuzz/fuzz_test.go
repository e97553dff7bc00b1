package fuzz

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/notifymux/notifymux/match"
)

// fuzzKeys returns the keys FuzzIndex probes after every step (besides every
// rule's witness keys): every key of up to 3 bytes over Alphabet and 16
// random keys of up to 7 bytes drawn from data.
func fuzzKeys(data []byte) []string {
	keys := ShortKeys(3)
	rng := randFor(data)
	for range 16 {
		keys = append(keys, RandKey(rng))
	}
	return keys
}

// reportMismatch fails t with err and a minimised sequence that still fails.
func reportMismatch(t *testing.T, ops []Op, keys []string, err error) {
	t.Helper()
	var me *MismatchError
	if !errors.As(err, &me) {
		t.Fatal(err)
	}
	small := Minimize(ops, func(ops []Op) bool { return CheckOps(ops, keys) != nil })
	var b strings.Builder
	for _, op := range small {
		fmt.Fprintf(&b, "\t%#v,\n", op)
	}
	t.Fatalf("%v\nminimal sequence (%d ops, fails with: %v):\n%s", err, len(small), CheckOps(small, keys), b.String())
}

// FuzzIndex decodes data into Add, AddAll, Remove and Replace calls (see DecodeOps),
// makes them on a match.Index and the oracle Index side by side, and checks
// after every step (see Checker): decisions and errors agree and explain
// themselves, refused changes change nothing, Len and Match agree.
func FuzzIndex(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		ops := DecodeOps(data)
		keys := fuzzKeys(data)
		if err := CheckOps(ops, keys); err != nil {
			reportMismatch(t, ops, keys, err)
		}
	})
}

// FuzzOverlap decodes two rules (see DecodeRulePair) and checks match.Overlap
// against the oracle.
func FuzzOverlap(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		a, b := DecodeRulePair(data)
		if err := checkOverlapPair(a, b); err != nil {
			t.Fatal(err)
		}
	})
}

// checkOverlapPair checks that match.Overlap is symmetric, agrees with the
// oracle's Search, and gives a witness both rules match (the longer prefix
// followed by the longer suffix) in both argument orders; and that a
// match.Index refuses the second rule, alone or in one Replace, exactly when
// they overlap, with an error the oracle's verdict explains.
func checkOverlapPair(a, b match.Rule) error {
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

// updateSeeds makes TestFuzzIndexSeeds write the seed files it checks.
var updateSeeds = flag.Bool("update-seeds", false, "write the FuzzIndex seeds of seedOps to testdata/fuzz/FuzzIndex")

// seedOps are FuzzIndex seeds kept as readable Ops: the files of these names
// in testdata/fuzz/FuzzIndex hold their EncodeOps encodings.
func seedOps() map[string][]Op {
	put := match.ObjectCreatedPut.Set()
	r := func(bucket, id, prefix, suffix string) match.Rule {
		return match.Rule{ID: id, Bucket: bucket, Events: put, Prefix: prefix, Suffix: suffix, Target: "f0"}
	}
	return map[string][]Op{
		// An AddAll over both buckets is accepted (the same ID and
		// filters in two buckets do not clash); then an Add that
		// overlaps one of its rules is refused.
		"addall_two_buckets_then_conflict": {
			{Kind: OpAddAll, Rules: []match.Rule{r("b0", "r0", "a", ""), r("b1", "r0", "a", ""), r("b0", "r1", "b", "")}},
			{Kind: OpAdd, Rule: r("b1", "r1", "ab", "")},
			{Kind: OpAdd, Rule: r("b1", "r2", "b", "")},
		},
		// The third rule of an AddAll overlaps its first ("a/" begins
		// with "a"), so the whole call is refused and the index keeps
		// only r0: afterwards r1 and r2 are added on their own, which a
		// leftover of the call would refuse as a duplicate ID.
		"addall_third_overlaps_first": {
			{Kind: OpAdd, Rule: r("b0", "r0", "b", "")},
			{Kind: OpAddAll, Rules: []match.Rule{r("b0", "r1", "a", ""), r("b1", "r2", "", ""), r("b0", "r3", "a/", "/")}},
			{Kind: OpAdd, Rule: r("b0", "r1", "a", "")},
			{Kind: OpAdd, Rule: r("b1", "r2", "", "")},
		},
	}
}

// TestFuzzIndexSeeds checks that the seed files of seedOps hold their
// encodings (with -update-seeds, writes them), and that they decode back
// to the same Ops.
func TestFuzzIndexSeeds(t *testing.T) {
	for name, ops := range seedOps() {
		data, err := EncodeOps(ops)
		if err != nil {
			t.Fatal(err)
		}
		if got := DecodeOps(data); fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", ops) {
			t.Fatalf("%s: DecodeOps(EncodeOps(ops)) = %v, want %v", name, got, ops)
		}
		want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
		path := filepath.Join("testdata", "fuzz", "FuzzIndex", name)
		if *updateSeeds {
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if got, err := os.ReadFile(path); err != nil || string(got) != want {
			t.Errorf("%s does not hold the encoding of seedOps()[%q] (rerun with -update-seeds): %v", path, name, err)
		}
	}
}
