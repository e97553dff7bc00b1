package oracle

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/notifymux/notifymux/match"
)

func rule(id, prefix, suffix string, ev match.EventSet) match.Rule {
	return match.Rule{ID: id, Bucket: "b0", Events: ev, Prefix: prefix, Suffix: suffix, Target: "f0"}
}

// TestOracleVerdicts checks the oracle Index's judgements on its own.
func TestOracleVerdicts(t *testing.T) {
	put, del := match.ObjectCreatedPut.Set(), match.ObjectRemoveDelete.Set()
	x := NewIndex()
	for _, r := range []match.Rule{rule("r0", "a", "", put), rule("r1", "b", "", put)} {
		if v := x.Add(r); !v.Accepted() {
			t.Fatalf("Add(%v) = %v, want accepted", r.ID, v)
		}
	}
	tests := []struct {
		name string
		v    Verdict
		want string
	}{
		{"overlap", x.JudgeAdd(rule("r2", "ab", "", put)), `refused ("r2" overlaps "r0")`},
		{"two overlaps", x.JudgeAdd(rule("r2", "", "", put)), `refused ("r2" overlaps "r0"; "r2" overlaps "r1")`},
		{"disjoint events", x.JudgeAdd(rule("r2", "", "", del)), "accepted"},
		{"duplicate", x.JudgeAdd(rule("r0", "/", "", put)), `refused (duplicate id "r0")`},
		{"duplicate and overlap", x.JudgeAdd(rule("r1", "a", "", put)), `refused (duplicate id "r1"; "r1" overlaps "r0")`},
		{"invalid", x.JudgeAdd(rule("r2", "/", "", 0)), `refused (invalid: rule "r2": event set is empty)`},
		{"replace later overlaps earlier", x.JudgeReplace("b0", []match.Rule{rule("r5", "a", "", put), rule("r6", "", "", put)}), `refused ("r6" overlaps "r5")`},
		{"replace ignores held rules", x.JudgeReplace("b0", []match.Rule{rule("r5", "a", "", put)}), "accepted"},
		{"replace duplicate", x.JudgeReplace("b0", []match.Rule{rule("r5", "a", "", put), rule("r5", "b", "", put)}), `refused (duplicate id "r5")`},
		{"replace other bucket", x.JudgeReplace("b1", []match.Rule{rule("r5", "a", "", put)}), `refused (invalid: rule "r5" names bucket "b0", not "b1")`},
		{"replace nil", x.JudgeReplace("b0", nil), "accepted"},
		{"addall accepted", x.JudgeAddAll([]match.Rule{rule("r5", "/", "", put), rule("r6", "", "", del)}), "accepted"},
		{"addall later overlaps earlier", x.JudgeAddAll([]match.Rule{rule("r5", "/", "", put), rule("r6", "ba", "", del), rule("r7", "/a", "", put)}), `refused ("r7" overlaps "r5")`},
		{"addall overlaps held", x.JudgeAddAll([]match.Rule{rule("r5", "/", "", put), rule("r6", "ab", "", put)}), `refused ("r6" overlaps "r0")`},
		{"addall first refusal only", x.JudgeAddAll([]match.Rule{rule("r5", "", "", put), rule("r6", "/", "", 0)}), `refused ("r5" overlaps "r0"; "r5" overlaps "r1")`},
		{"addall duplicate in call", x.JudgeAddAll([]match.Rule{rule("r5", "/", "", put), rule("r5", "/", "", del)}), `refused (duplicate id "r5")`},
		{"addall duplicate held", x.JudgeAddAll([]match.Rule{rule("r0", "/", "", put)}), `refused (duplicate id "r0")`},
		{"addall same id, other bucket", x.JudgeAddAll([]match.Rule{{ID: "r0", Bucket: "b1", Events: put, Prefix: "a", Target: "f0"}}), "accepted"},
		{"addall invalid", x.JudgeAddAll([]match.Rule{rule("r5", "/", "", put), rule("r6", "//", "", 0)}), `refused (invalid: rule "r6": event set is empty)`},
		{"addall nil", x.JudgeAddAll(nil), "accepted"},
	}
	for _, tt := range tests {
		if got := tt.v.String(); got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
		}
	}
	if got := x.Len(); got != 2 {
		t.Errorf("Len after judging = %d, want 2 (judging must not change the oracle)", got)
	}
	if v := x.AddAll([]match.Rule{rule("r5", "/", "", put), rule("r6", "/", "", put)}); v.Accepted() || x.Len() != 2 {
		t.Errorf("refused AddAll: %v, Len %d; want refused and 2 (all or nothing)", v, x.Len())
	}
	if v := x.AddAll([]match.Rule{rule("r5", "/", "", put), {ID: "r5", Bucket: "b1", Events: put, Target: "f0"}}); !v.Accepted() || x.Len() != 4 || len(x.Rules("b1")) != 1 {
		t.Errorf("AddAll over two buckets: %v, Len %d, Rules(b1) %v; want accepted, 4, one rule", v, x.Len(), x.Rules("b1"))
	}
	x.Remove("b0", "r5")
	x.Replace("b1", nil)
	if !x.Remove("b0", "r0") || x.Remove("b0", "r0") || x.Len() != 1 {
		t.Errorf("Remove r0 twice: want true then false and Len 1, got Len %d", x.Len())
	}
	if v := x.Replace("b0", nil); !v.Accepted() || x.Len() != 0 || len(x.Buckets()) != 0 {
		t.Errorf("Replace(b0, nil): %v, Len %d, buckets %v; want accepted, 0, none", v, x.Len(), x.Buckets())
	}
}

// TestExplains checks that Verdict.Explains rejects every wrong answer, so
// the differential checks can fail.
func TestExplains(t *testing.T) {
	put := match.ObjectCreatedPut.Set()
	a, b, c := rule("a", "x", "", put), rule("b", "", "", put), rule("c", "y", "", put)
	x := NewIndex()
	x.Add(a)
	x.Add(c)
	refused := x.JudgeAdd(b) // b overlaps a and c
	accepted := x.JudgeAdd(rule("d", "z", "", put))
	dup := x.JudgeAdd(rule("a", "z", "", put))
	good := &match.ConflictError{Rule: b, Existing: a, Event: match.ObjectCreatedPut, Key: "x"}
	all := []match.Rule{rule("e", "e", "", put), rule("f", "f", "", put), rule("g", "e/", "", put)}
	addAll := x.JudgeAddAll(all)
	if want := `refused ("g" overlaps "e")`; addAll.String() != want {
		t.Fatalf("JudgeAddAll = %v, want %s", addAll, want)
	}
	tests := []struct {
		name string
		v    Verdict
		err  error
		ok   bool
	}{
		{"accepted, nil", accepted, nil, true},
		{"accepted, error", accepted, good, false},
		{"refused, nil", refused, nil, false},
		{"refused, good conflict", refused, good, true},
		{"refused, wrapped conflict", refused, fmt.Errorf("wrapped: %w", good), true},
		{"refused, other held rule", refused, &match.ConflictError{Rule: b, Existing: c, Event: match.ObjectCreatedPut, Key: "y"}, true},
		{"existing not held", refused, &match.ConflictError{Rule: b, Existing: rule("z", "x", "", put), Event: match.ObjectCreatedPut, Key: "x"}, false},
		{"existing altered", refused, &match.ConflictError{Rule: b, Existing: rule("a", "x", "", put|match.ObjectCreatedPost.Set()), Event: match.ObjectCreatedPut, Key: "x"}, false},
		{"wrong refused rule", refused, &match.ConflictError{Rule: c, Existing: a, Event: match.ObjectCreatedPut, Key: "x"}, false},
		{"witness key misses", refused, &match.ConflictError{Rule: b, Existing: a, Event: match.ObjectCreatedPut, Key: "y"}, false},
		{"witness event misses", refused, &match.ConflictError{Rule: b, Existing: a, Event: match.ObjectCreatedPost, Key: "x"}, false},
		{"duplicate claimed", refused, fmt.Errorf("x: %w", match.ErrDuplicateID), false},
		{"invalid claimed", refused, fmt.Errorf("x: %w", match.ErrInvalidRule), false},
		{"duplicate", dup, fmt.Errorf("x: %w", match.ErrDuplicateID), true},
		{"undocumented error", refused, errors.New("boom"), false},
		{"ErrConflict without a ConflictError", refused, fmt.Errorf("x: %w", match.ErrConflict), false},
		// An AddAll's third rule overlaps its first (and not the held
		// rules or its second): the first is Existing though not held.
		{"addall, earlier rule of the call", addAll, &match.ConflictError{Rule: all[2], Existing: all[0], Event: match.ObjectCreatedPut, Key: "e/"}, true},
		{"addall, rule of the call that does not overlap", addAll, &match.ConflictError{Rule: all[2], Existing: all[1], Event: match.ObjectCreatedPut, Key: "e/"}, false},
		{"addall, later rule as refused", addAll, &match.ConflictError{Rule: all[0], Existing: all[2], Event: match.ObjectCreatedPut, Key: "e/"}, false},
		{"addall, held rule that does not overlap", addAll, &match.ConflictError{Rule: all[2], Existing: a, Event: match.ObjectCreatedPut, Key: "e/"}, false},
		{"addall, witness misses", addAll, &match.ConflictError{Rule: all[2], Existing: all[0], Event: match.ObjectCreatedPut, Key: "e"}, false},
	}
	for _, tt := range tests {
		e := tt.v.Explains(tt.err)
		if got := e == nil; got != tt.ok {
			t.Errorf("%s: Explains(%v) = %v, want ok %v", tt.name, tt.err, e, tt.ok)
		}
	}
}

func TestMinimize(t *testing.T) {
	rng := newRand(5)
	ops := RandOps(rng, 40)
	// Fails when some Add has a prefix of "a/" and some Remove names r3.
	fails := func(ops []Op) bool {
		add, rm := false, false
		for _, op := range ops {
			add = add || op.Kind == OpAdd && strings.HasPrefix(op.Rule.Prefix, "a/")
			rm = rm || op.Kind == OpRemove && op.ID == "r3"
		}
		return add && rm
	}
	ops = append(ops, Op{Kind: OpAdd, Rule: rule("r1", "a/b", "b", match.ObjectCreated)}, Op{Kind: OpRemove, Bucket: "b0", ID: "r3"})
	got := Minimize(ops, fails)
	if len(got) != 2 || !fails(got) {
		t.Errorf("Minimize left %d ops (%v), want the 2 that fail together", len(got), got)
	}
	if r := got[0].Rule; got[0].Kind == OpAdd && (r.Suffix != "" || r.Events.Len() != 1) {
		t.Errorf("Minimize left rule %v, want its suffix cleared and one event", ruleString(r))
	}
}
