package oracle

import (
	"fmt"
	"testing"

	"github.com/notifymux/notifymux/match"
)

func events(t testing.TB, names ...string) match.EventSet {
	t.Helper()
	s, err := match.ParseEventSet(names...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMatches(t *testing.T) {
	put := match.ObjectCreatedPut
	r := func(prefix, suffix string) match.Rule {
		return match.Rule{ID: "r", Bucket: "b", Events: match.ObjectCreated, Prefix: prefix, Suffix: suffix, Target: "f"}
	}
	tests := []struct {
		rule   match.Rule
		bucket string
		event  match.Event
		key    string
		want   bool
	}{
		{r("ab", "bc"), "b", put, "abc", true}, // prefix and suffix share the b
		{r("ab", "bc"), "b", put, "abbc", true},
		{r("ab", "bc"), "b", put, "ab", false},
		{r("ab", "bc"), "b", put, "bc", false},
		{r("", ""), "b", put, "", true},
		{r("", ""), "b", put, "anything", true},
		{r("a", "a"), "b", put, "a", true}, // prefix == suffix, one byte serves both
		{r("aa", "aa"), "b", put, "aa", true},
		{r("aa", "aa"), "b", put, "aaa", true},
		{r("ab", "ab"), "b", put, "ab", true},
		{r("ab", "ab"), "b", put, "aba", false},
		{r("images/", ".jpg"), "b", put, "images/cat.jpg", true},
		{r("images/", ".jpg"), "b", put, "Images/cat.jpg", false}, // case matters
		{r("images/", ".jpg"), "b", put, "images/cat.JPG", false},
		{r("a*", ""), "b", put, "ab", false}, // * is an ordinary byte
		{r("a*", ""), "b", put, "a*b", true},
		{r("", "?"), "b", put, "x", false},
		{r("", "?"), "b", put, "x?", true},
		{r("", ""), "other", put, "k", false},                      // another bucket
		{r("", ""), "b", match.ObjectRemoveDelete, "k", false},     // event not in the set
		{r("", ""), "b", match.ObjectCreatedAppend, "k", true},     // last of the family
		{r("", ""), "b", 0, "k", false},                            // invalid event
		{r("", ""), "b", match.MaxEvent + 1, "k", false},           // invalid event
		{match.Rule{Bucket: "b", Events: 0}, "b", put, "k", false}, // empty set
		{match.Rule{Bucket: "b", Events: match.AllEvents}, "b", match.ObjectAclPut, "k", true},
	}
	for _, tt := range tests {
		if got := Matches(tt.rule, tt.bucket, tt.event, tt.key); got != tt.want {
			t.Errorf("Matches(%v, %q, %v, %q) = %v, want %v", ruleString(tt.rule), tt.bucket, tt.event, tt.key, got, tt.want)
		}
		if got := tt.rule.Matches(tt.bucket, tt.event, tt.key); got != tt.want {
			t.Errorf("match.Rule.Matches(%v, %q, %v, %q) = %v, want %v", ruleString(tt.rule), tt.bucket, tt.event, tt.key, got, tt.want)
		}
	}
}

// overlapCase is a pair of rules and whether they overlap.
type overlapCase struct {
	name string
	a, b match.Rule
	want bool
}

// documentedCases are the verdicts of SEMANTICS.md §3 (AWS's documented
// examples and the COS seed page's), plus edge cases of the specification.
func documentedCases(t testing.TB) []overlapCase {
	created := events(t, "s3:ObjectCreated:*")
	put := events(t, "s3:ObjectCreated:Put")
	rule := func(id string, ev match.EventSet, prefix, suffix string) match.Rule {
		return match.Rule{ID: id, Bucket: "photos", Events: ev, Prefix: prefix, Suffix: suffix, Target: "fn-" + id}
	}
	return []overlapCase{
		{"images/ vs logs/", rule("a", created, "images/", ""), rule("b", created, "logs/", ""), false},
		{".jpg vs .png", rule("a", created, "", ".jpg"), rule("b", created, "", ".png"), false},
		{"images+.jpg vs images+.png", rule("a", created, "images", ".jpg"), rule("b", created, "images", ".png"), false},
		{"no filter vs prefix images", rule("a", created, "", ""), rule("b", created, "images", ""), true},
		{"Created:*+jpg vs Created:Put+pg", rule("a", created, "", "jpg"), rule("b", put, "", "pg"), true},
		{"Created:*+images+jpg vs Created:Put+jpg", rule("a", created, "images", "jpg"), rule("b", put, "", "jpg"), true},
		{"same prefix on Created:Put and Removed:*", rule("a", put, "images/", ""), rule("b", events(t, "s3:ObjectRemoved:*"), "images/", ""), false},
		{"COS Log vs Lo", rule("a", events(t, "cos:ObjectCreated:*"), "Log", ""), rule("b", events(t, "cos:ObjectCreated:*"), "Lo", ""), true},
		{"COS no filter vs Created:Put", rule("a", events(t, "cos:ObjectCreated:*"), "", ""), rule("b", events(t, "cos:ObjectCreated:Put"), "x/", ".y"), true},
		{"COS no filter vs ObjectRemove", rule("a", events(t, "cos:ObjectCreated:*"), "", ""), rule("b", events(t, "cos:ObjectRemove:*"), "", ""), false},
		{"prefix ab vs suffix bc", rule("a", put, "ab", ""), rule("b", put, "", "bc"), true},
		{"ab+bc vs abc exact", rule("a", put, "ab", "bc"), rule("b", put, "abc", ""), true},
		{"prefix == suffix", rule("a", put, "a", "a"), rule("b", put, "a", ""), true},
		{"empty vs empty", rule("a", put, "", ""), rule("b", put, "", ""), true},
		{"disjoint events, same filters", rule("a", put, "", ""), rule("b", events(t, "cos:ObjectCreated:Post"), "", ""), false},
		{"wildcard vs member", rule("a", events(t, "cos:ObjectRestore:*"), "", ""), rule("b", events(t, "s3:ObjectRestore:Completed"), "", ""), true},
		{"S3 restore wildcard vs restore delete", rule("a", events(t, "s3:ObjectRestore:*"), "", ""), rule("b", events(t, "s3:ObjectRestore:Delete"), "", ""), true},
		{"COS restore wildcard vs restore delete", rule("a", events(t, "cos:ObjectRestore:*"), "", ""), rule("b", events(t, "s3:ObjectRestore:Delete"), "", ""), false},
		{"* is literal", rule("a", put, "a*", ""), rule("b", put, "ab", ""), false},
		{"case matters", rule("a", put, "Images", ""), rule("b", put, "images", ""), false},
		{"suffixes disjoint though prefixes nest", rule("a", put, "a", "ab"), rule("b", put, "ab", "bb"), false},
		{"long prefix, long suffix", rule("a", put, "users/42/", ""), rule("b", put, "", "/avatar.png"), true},
		{"other bucket", rule("a", put, "", ""), match.Rule{ID: "b", Bucket: "logs", Events: put, Target: "f"}, false},
	}
}

func TestDocumentedVerdicts(t *testing.T) {
	for _, tc := range documentedCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			for _, p := range [][2]match.Rule{{tc.a, tc.b}, {tc.b, tc.a}} {
				a, b := p[0], p[1]
				if got := Overlaps(a, b); got != tc.want {
					t.Errorf("oracle Overlaps(%s, %s) = %v, want %v", a.ID, b.ID, got, tc.want)
				}
				e, key, got := match.Overlap(a, b)
				if got != tc.want {
					t.Errorf("match.Overlap(%s, %s) ok = %v, want %v", a.ID, b.ID, got, tc.want)
				}
				if got && (!Matches(a, a.Bucket, e, key) || !Matches(b, a.Bucket, e, key)) {
					t.Errorf("match.Overlap(%s, %s) witness (%v, %q) does not match both", a.ID, b.ID, e, key)
				}
				if e, key, ok := Search(a, b); ok && (!Matches(a, a.Bucket, e, key) || !Matches(b, a.Bucket, e, key)) {
					t.Errorf("Search(%s, %s) witness (%v, %q) does not match both", a.ID, b.ID, e, key)
				}
			}
		})
	}
}

// TestDocumentedSingleRules checks the AWS examples that are one valid rule.
func TestDocumentedSingleRules(t *testing.T) {
	r := match.Rule{ID: "a", Bucket: "photos", Events: events(t, "s3:ObjectCreated:*"), Prefix: "images/", Suffix: "jpg", Target: "f"}
	if f := Fault(r); f != "" {
		t.Errorf("Fault(images/+jpg) = %q, want none", f)
	}
	if err := match.New().Add(r); err != nil {
		t.Errorf("Add(images/+jpg) = %v, want nil", err)
	}
}

func TestSearchWitness(t *testing.T) {
	put := match.ObjectCreatedPut.Set()
	tests := []struct {
		a, b    match.Rule
		wantKey string
		wantOK  bool
	}{
		{match.Rule{Bucket: "b", Events: put, Prefix: "ab"}, match.Rule{Bucket: "b", Events: put, Suffix: "bc"}, "abc", true},
		{match.Rule{Bucket: "b", Events: put, Prefix: "a/"}, match.Rule{Bucket: "b", Events: put, Suffix: "/b"}, "a/b", true},
		{match.Rule{Bucket: "b", Events: put}, match.Rule{Bucket: "b", Events: put}, "", true},
		{match.Rule{Bucket: "b", Events: put, Prefix: "a"}, match.Rule{Bucket: "b", Events: put, Prefix: "b"}, "", false},
		{match.Rule{Bucket: "b", Events: put, Suffix: "aa"}, match.Rule{Bucket: "b", Events: put, Suffix: "ba"}, "", false},
	}
	for _, tt := range tests {
		_, key, ok := Search(tt.a, tt.b)
		if key != tt.wantKey || ok != tt.wantOK {
			t.Errorf("Search(%v, %v) = %q, %v; want %q, %v", ruleString(tt.a), ruleString(tt.b), key, ok, tt.wantKey, tt.wantOK)
		}
	}
}

// TestSearchPruningIsExact checks, over every pair of filters of up to two
// bytes over Alphabet, that the pruned enumeration finds the same witness as
// the plain one, and that match.Overlap agrees with both (like net/http's
// TestIndex over a tiny alphabet).
func TestSearchPruningIsExact(t *testing.T) {
	filters := ShortKeys(2)
	put := match.ObjectCreatedPut.Set()
	pairs, overlapping := 0, 0
	for _, ap := range filters {
		for _, as := range filters {
			a := match.Rule{ID: "a", Bucket: "b", Events: put, Prefix: ap, Suffix: as, Target: "f"}
			for _, bp := range filters {
				for _, bs := range filters {
					b := match.Rule{ID: "b", Bucket: "b", Events: put, Prefix: bp, Suffix: bs, Target: "f"}
					e1, k1, ok1 := search(a, b, false)
					e2, k2, ok2 := search(a, b, true)
					if e1 != e2 || k1 != k2 || ok1 != ok2 {
						t.Fatalf("%v vs %v: plain search = (%v, %q, %v), pruned = (%v, %q, %v)", ruleString(a), ruleString(b), e1, k1, ok1, e2, k2, ok2)
					}
					if _, _, got := match.Overlap(a, b); got != ok1 {
						t.Fatalf("match.Overlap(%v, %v) = %v, oracle %v (witness %q)", ruleString(a), ruleString(b), got, ok1, k1)
					}
					pairs++
					if ok1 {
						overlapping++
					}
				}
			}
		}
	}
	t.Logf("%d pairs, %d overlapping", pairs, overlapping)
}

func TestFault(t *testing.T) {
	ok := match.Rule{ID: "r", Bucket: "b", Events: match.ObjectCreated, Target: "f"}
	long := string(make([]byte, 1025))
	tests := []struct {
		name  string
		edit  func(*match.Rule)
		valid bool
	}{
		{"valid", func(*match.Rule) {}, true},
		{"no id", func(r *match.Rule) { r.ID = "" }, false},
		{"no bucket", func(r *match.Rule) { r.Bucket = "" }, false},
		{"no events", func(r *match.Rule) { r.Events = 0 }, false},
		{"bit 0", func(r *match.Rule) { r.Events = 1 }, false},
		{"bit 63", func(r *match.Rule) { r.Events |= 1 << 63 }, false},
		{"no target", func(r *match.Rule) { r.Target = "" }, false},
		{"prefix 1024", func(r *match.Rule) { r.Prefix = long[:1024] }, true},
		{"prefix 1025", func(r *match.Rule) { r.Prefix = long }, false},
		{"suffix 1025", func(r *match.Rule) { r.Suffix = long }, false},
	}
	for _, tt := range tests {
		r := ok
		tt.edit(&r)
		f := Fault(r)
		if got := f == ""; got != tt.valid {
			t.Errorf("%s: Fault = %q, want valid %v", tt.name, f, tt.valid)
		}
		if got := r.Validate() == nil; got != tt.valid {
			t.Errorf("%s: match Validate = %v, want valid %v", tt.name, r.Validate(), tt.valid)
		}
	}
}

// TestGeneratorOverlapRate guards the generators' purpose: random rules of
// one bucket must overlap often, but not always.
func TestGeneratorOverlapRate(t *testing.T) {
	rng := newRand(1)
	n, hits := 2000, 0
	for range n {
		if Overlaps(RandRule(rng, "b0"), RandRule(rng, "b0")) {
			hits++
		}
	}
	if rate := float64(hits) / float64(n); rate < 0.2 || rate > 0.7 {
		t.Errorf("overlap rate of random rule pairs = %.2f, want between 0.2 and 0.7", rate)
	} else {
		t.Logf("overlap rate %.2f", rate)
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	rng := newRand(2)
	for i := range 500 {
		ops := RandOps(rng, 1+i%20)
		data, err := EncodeOps(ops)
		if err != nil {
			t.Fatal(err)
		}
		got := DecodeOps(data)
		if fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", ops) {
			t.Fatalf("DecodeOps(EncodeOps(ops)) differs:\n got %v\nwant %v", got, ops)
		}
		a, b := RandRule(rng, "b0"), RandRule(rng, Buckets[rng.IntN(2)])
		a.ID, a.Target, b.ID, b.Target = "x", "f0", "y", "f0"
		data, err = EncodeRulePair(a, b)
		if err != nil {
			t.Fatal(err)
		}
		if ga, gb := DecodeRulePair(data); ga != a || gb != b {
			t.Fatalf("DecodeRulePair(EncodeRulePair(%v, %v)) = %v, %v", a, b, ga, gb)
		}
	}
}

// TestOverlapWideAlphabet compares match.Overlap with the oracle on random
// rules whose filters are too long and varied for plain enumeration (0–8
// bytes over "ab/.jpgI*"), so Search prunes; TestSearchPruningIsExact shows
// pruning finds what plain enumeration finds.
func TestOverlapWideAlphabet(t *testing.T) {
	const alphabet = "ab/.jpgI*"
	rng := newRand(4)
	filter := func() string {
		b := make([]byte, rng.IntN(9))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(b)
	}
	// Derive b's filters from a's half the time, so that they often overlap.
	related := func(s string) string {
		switch rng.IntN(4) {
		case 0:
			return s[:rng.IntN(len(s)+1)]
		case 1:
			return s[rng.IntN(len(s)+1):]
		case 2:
			return s + filter()
		}
		return filter() + s
	}
	n, hits := 3000, 0
	for range n {
		a := match.Rule{ID: "a", Bucket: "b0", Events: RandEvents(rng), Prefix: filter(), Suffix: filter(), Target: "f"}
		b := match.Rule{ID: "b", Bucket: "b0", Events: RandEvents(rng), Prefix: filter(), Suffix: filter(), Target: "f"}
		if rng.IntN(2) == 0 {
			b.Prefix, b.Suffix = related(a.Prefix), related(a.Suffix)
		}
		if err := CheckOverlapPair(a, b); err != nil {
			t.Fatal(err)
		}
		if Overlaps(a, b) {
			hits++
		}
	}
	if hits < n/10 {
		t.Errorf("%d of %d pairs overlap; want at least %d, or the test compares mostly disjoint pairs", hits, n, n/10)
	}
	t.Logf("%d of %d pairs overlap", hits, n)
}
