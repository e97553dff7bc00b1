package match

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

func mustSet(t testing.TB, names ...string) EventSet {
	t.Helper()
	s, err := ParseEventSet(names...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMatchIndependentPrefixSuffix(t *testing.T) {
	for _, limit := range []int{smallBucket, 0} {
		t.Run(fmt.Sprint("small=", limit), func(t *testing.T) {
			testMatchIndependentPrefixSuffix(t, limit)
		})
	}
}

func testMatchIndependentPrefixSuffix(t *testing.T, limit int) {
	x := newIndex(limit)
	put := mustSet(t, "cos:ObjectCreated:*")
	rules := []Rule{
		{ID: "ab-bc", Bucket: "b", Events: put, Prefix: "ab", Suffix: "bc", Target: "f1"},
		{ID: "logs", Bucket: "b", Events: put, Prefix: "logs/", Target: "f2"},
		{ID: "jpg", Bucket: "b", Events: put, Prefix: "img/", Suffix: ".jpg", Target: "f3"},
		{ID: "png", Bucket: "b", Events: put, Prefix: "img/", Suffix: ".png", Target: "f4"},
		{ID: "rm", Bucket: "b", Events: mustSet(t, "cos:ObjectRemove:*"), Target: "f5"},
		{ID: "star", Bucket: "b", Events: put, Prefix: "a*", Suffix: "?", Target: "f6"},
		{ID: "other", Bucket: "c", Events: put, Target: "f7"},
	}
	for _, r := range rules {
		if err := x.Add(r); err != nil {
			t.Fatalf("Add(%s): %v", r.ID, err)
		}
	}
	tests := []struct {
		bucket string
		e      Event
		key    string
		want   string // rule ID, "" for none
	}{
		{"b", ObjectCreatedPut, "abc", "ab-bc"},
		{"b", ObjectCreatedPut, "abxbc", "ab-bc"},
		{"b", ObjectCreatedPut, "ab", ""},
		{"b", ObjectCreatedPut, "bc", ""},
		{"b", ObjectCreatedPut, "logs/", "logs"},
		{"b", ObjectCreatedPut, "logs/x/y.txt", "logs"},
		{"b", ObjectCreatedPut, "Logs/x", ""},
		{"b", ObjectCreatedPut, "img/a.jpg", "jpg"},
		{"b", ObjectCreatedCopy, "img/a.png", "png"},
		{"b", ObjectCreatedPut, "img/a.gif", ""},
		{"b", ObjectCreatedPut, "img/.jpg", "jpg"},
		{"b", ObjectCreatedPut, "img/a.JPG", ""},
		{"b", ObjectRemoveDelete, "img/a.jpg", "rm"},
		{"b", ObjectRemoveDeleteMarkerCreated, "", "rm"},
		{"b", ObjectRestorePost, "img/a.jpg", ""},
		{"b", ObjectCreatedPut, "a*x?", "star"},
		{"b", ObjectCreatedPut, "abc?", ""},
		{"b", ObjectCreatedPut, "a*?", "star"},
		{"c", ObjectCreatedPut, "anything", "other"},
		{"c", ObjectRemoveDelete, "anything", ""},
		{"nope", ObjectCreatedPut, "abc", ""},
		{"b", 0, "abc", ""},
		{"b", MaxEvent + 1, "abc", ""},
	}
	for _, tt := range tests {
		got, ok := x.Match(tt.bucket, tt.e, tt.key)
		if ok != (tt.want != "") || got.ID != tt.want {
			t.Errorf("Match(%q, %v, %q) = %q, %v; want %q", tt.bucket, tt.e, tt.key, got.ID, ok, tt.want)
		}
		if ok && !got.Matches(tt.bucket, tt.e, tt.key) {
			t.Errorf("Match(%q, %v, %q) returned %q, which does not match", tt.bucket, tt.e, tt.key, got.ID)
		}
	}
	if got, want := x.Len(), len(rules); got != want {
		t.Errorf("Len() = %d, want %d", got, want)
	}
}

func TestAddRefusesOverlap(t *testing.T) {
	all := mustSet(t, "cos:ObjectCreated:*")
	x := New()
	held := Rule{ID: "all-images", Bucket: "photos", Events: all, Prefix: "images/", Target: "fa"}
	if err := x.Add(held); err != nil {
		t.Fatal(err)
	}
	r := Rule{ID: "thumbs", Bucket: "photos", Events: mustSet(t, "cos:ObjectCreated:Put"), Prefix: "images/", Suffix: ".jpg", Target: "fb"}
	err := x.Add(r)
	var ce *ConflictError
	if !errors.As(err, &ce) || !errors.Is(err, ErrConflict) {
		t.Fatalf("Add = %v, want a *ConflictError", err)
	}
	if ce.Existing.ID != "all-images" || ce.Rule.ID != "thumbs" || ce.Event != ObjectCreatedPut || ce.Key != "images/.jpg" {
		t.Errorf("conflict = %+v", ce)
	}
	want := `match: rule "thumbs" overlaps rule "all-images" in bucket "photos": both match cos:ObjectCreated:Put on key "images/.jpg"`
	if got := err.Error(); got != want {
		t.Errorf("Error() = %s\nwant       %s", got, want)
	}
	if x.Len() != 1 {
		t.Errorf("Len after refusal = %d, want 1", x.Len())
	}
	if got, _ := x.Match("photos", ObjectCreatedPut, "images/a.jpg"); got.ID != "all-images" {
		t.Errorf("after refusal Match = %q", got.ID)
	}
	// Same prefix, other event family: fine (AWS's documented verdict).
	if err := x.Add(Rule{ID: "rm", Bucket: "photos", Events: mustSet(t, "cos:ObjectRemove:*"), Prefix: "images/", Target: "fb"}); err != nil {
		t.Errorf("disjoint events refused: %v", err)
	}
	if err := x.Add(Rule{ID: "rm", Bucket: "photos", Events: mustSet(t, "cos:ObjectRestore:*"), Prefix: "x", Target: "fb"}); !errors.Is(err, ErrDuplicateID) {
		t.Errorf("duplicate id: got %v", err)
	}
	if err := x.Add(Rule{ID: "bad", Bucket: "photos", Events: all, Prefix: strings.Repeat("p", MaxFilterLen+1), Target: "f"}); !errors.Is(err, ErrInvalidRule) {
		t.Errorf("long prefix: got %v", err)
	}
	if got := len(x.Conflicts(Rule{Bucket: "photos", Events: AllEvents})); got != 2 {
		t.Errorf("Conflicts(no filter, all events) = %d rules, want 2", got)
	}
}

// linear is the obvious implementation the Index is compared with.
type linear map[string][]Rule

func (l linear) add(r Rule) (conflict bool) {
	for _, h := range l[r.Bucket] {
		if _, _, ok := Overlap(r, h); ok {
			return true
		}
	}
	l[r.Bucket] = append(l[r.Bucket], r)
	return false
}

func (l linear) match(bucket string, e Event, key string) []string {
	var ids []string
	for _, r := range l[bucket] {
		if r.Matches(bucket, e, key) {
			ids = append(ids, r.ID)
		}
	}
	return ids
}

// tinyString returns a string of length 0..max over {a, b, /}.
func tinyString(rng *rand.Rand, max int) string {
	n := rng.IntN(max + 1)
	b := make([]byte, n)
	for i := range b {
		b[i] = "ab/"[rng.IntN(3)]
	}
	return string(b)
}

var tinyEvents = []EventSet{ObjectCreated, ObjectCreatedPut.Set(), ObjectCreatedCopy.Set(), ObjectRemove, ObjectRemoveDelete.Set() | ObjectCreatedPost.Set()}

// TestIndexAgainstLinear adds random rules over a tiny alphabet, so overlaps
// are common, removes some, and compares every decision and every match
// with the linear implementation over all keys up to length 5.
func TestIndexAgainstLinear(t *testing.T) {
	for _, limit := range []int{smallBucket, 0} {
		t.Run(fmt.Sprint("small=", limit), func(t *testing.T) {
			testIndexAgainstLinear(t, limit)
		})
	}
}

func testIndexAgainstLinear(t *testing.T, limit int) {
	var keys []string
	var gen func(string)
	gen = func(s string) {
		keys = append(keys, s)
		if len(s) < 5 {
			for _, c := range "ab/" {
				gen(s + string(c))
			}
		}
	}
	gen("")
	for seed := uint64(0); seed < 60; seed++ {
		rng := rand.New(rand.NewPCG(seed, 1))
		x, lin := newIndex(limit), linear{}
		for i := 0; i < 40; i++ {
			r := Rule{ID: fmt.Sprint("r", i), Bucket: []string{"b1", "b2"}[rng.IntN(2)],
				Events: tinyEvents[rng.IntN(len(tinyEvents))], Prefix: tinyString(rng, 3), Suffix: tinyString(rng, 3), Target: "f"}
			err := x.Add(r)
			if want := lin.add(r); want != (err != nil) {
				t.Fatalf("seed %d: Add(%+v) = %v, linear conflict = %v", seed, r, err, want)
			}
			if err != nil {
				var ce *ConflictError
				if !errors.As(err, &ce) {
					t.Fatalf("seed %d: Add error %v is not a ConflictError", seed, err)
				}
				if !ce.Rule.Matches(r.Bucket, ce.Event, ce.Key) || !ce.Existing.Matches(r.Bucket, ce.Event, ce.Key) {
					t.Fatalf("seed %d: witness %v %q does not match both %+v and %+v", seed, ce.Event, ce.Key, ce.Rule, ce.Existing)
				}
			}
			if rng.IntN(5) == 0 && len(lin[r.Bucket]) > 0 {
				rs := lin[r.Bucket]
				k := rng.IntN(len(rs))
				if !x.Remove(r.Bucket, rs[k].ID) {
					t.Fatalf("seed %d: Remove(%s) = false", seed, rs[k].ID)
				}
				lin[r.Bucket] = append(rs[:k:k], rs[k+1:]...)
			}
		}
		n := 0
		for _, bucket := range []string{"b1", "b2"} {
			n += len(lin[bucket])
			for _, key := range keys {
				for e := Event(1); e <= ObjectRemoveDeleteMarkerCreated; e++ {
					want := lin.match(bucket, e, key)
					got, ok := x.Match(bucket, e, key)
					if len(want) > 1 {
						t.Fatalf("seed %d: linear holds overlapping rules %v", seed, want)
					}
					if ok != (len(want) == 1) || ok && got.ID != want[0] {
						t.Fatalf("seed %d: Match(%s, %v, %q) = %q %v, want %v", seed, bucket, e, key, got.ID, ok, want)
					}
				}
			}
		}
		if x.Len() != n {
			t.Fatalf("seed %d: Len = %d, want %d", seed, x.Len(), n)
		}
	}
}

func TestReplace(t *testing.T) {
	x := New()
	all := ObjectCreated
	if err := x.Add(Rule{ID: "old", Bucket: "b", Events: all, Prefix: "x/", Target: "f"}); err != nil {
		t.Fatal(err)
	}
	bad := []Rule{
		{ID: "a", Bucket: "b", Events: all, Prefix: "Log", Target: "A"},
		{ID: "c", Bucket: "b", Events: all, Prefix: "Lo", Target: "B"},
	}
	err := x.Replace("b", bad)
	var ce *ConflictError
	if !errors.As(err, &ce) || ce.Rule.ID != "c" || ce.Existing.ID != "a" || ce.Key != "Log" {
		t.Fatalf("Replace(overlapping) = %v", err)
	}
	if r, ok := x.Match("b", ObjectCreatedPut, "x/1"); !ok || r.ID != "old" || x.Len() != 1 {
		t.Fatalf("refused Replace changed the index")
	}
	if err := x.Replace("b", []Rule{{ID: "a", Bucket: "other", Events: all, Target: "A"}}); !errors.Is(err, ErrInvalidRule) {
		t.Errorf("Replace with a foreign bucket = %v", err)
	}
	if err := x.Replace("b", []Rule{{ID: "a", Bucket: "b", Events: all, Target: "A"}, {ID: "a", Bucket: "b", Events: ObjectRemove, Target: "A"}}); !errors.Is(err, ErrDuplicateID) {
		t.Errorf("Replace with duplicate ids = %v", err)
	}
	good := []Rule{bad[0], {ID: "c", Bucket: "b", Events: ObjectRemove, Prefix: "Lo", Target: "B"}}
	if err := x.Replace("b", good); err != nil {
		t.Fatal(err)
	}
	if _, ok := x.Match("b", ObjectCreatedPut, "x/1"); ok || x.Len() != 2 {
		t.Errorf("Replace kept the old rule; Len = %d", x.Len())
	}
	if r, _ := x.Match("b", ObjectRemoveDelete, "Lox"); r.ID != "c" {
		t.Errorf("Match after Replace = %q, want c", r.ID)
	}
	if err := x.Replace("b", nil); err != nil || x.Len() != 0 || len(x.Buckets()) != 0 {
		t.Errorf("Replace(nil) = %v, Len %d, Buckets %v", err, x.Len(), x.Buckets())
	}
}

func TestRemoveKeepsOthers(t *testing.T) {
	x := newIndex(0)
	for i, s := range []string{".jpg", ".png", "g", ""} {
		ev := ObjectCreatedPut.Set()
		if s == "g" || s == "" {
			ev = []EventSet{ObjectCreatedCopy.Set(), ObjectRemove}[i-2]
		}
		if err := x.Add(Rule{ID: fmt.Sprint(i), Bucket: "b", Events: ev, Prefix: "p/", Suffix: s, Target: "f"}); err != nil {
			t.Fatal(err)
		}
	}
	if !x.Remove("b", "0") || x.Remove("b", "0") || x.Remove("nobucket", "0") {
		t.Fatal("Remove results wrong")
	}
	if _, ok := x.Match("b", ObjectCreatedPut, "p/a.jpg"); ok {
		t.Error("removed rule still matches")
	}
	if r, _ := x.Match("b", ObjectCreatedPut, "p/a.png"); r.ID != "1" {
		t.Errorf("Match = %q, want 1", r.ID)
	}
	// The removed rule's space is free again.
	if err := x.Add(Rule{ID: "9", Bucket: "b", Events: ObjectCreatedPut.Set(), Prefix: "p/a", Suffix: "jpg", Target: "f"}); err != nil {
		t.Errorf("Add after Remove: %v", err)
	}
	if got := len(x.Rules("b")); got != 4 {
		t.Errorf("Rules = %d, want 4", got)
	}
}

func TestMatchAllocatesNothing(t *testing.T) {
	x := New()
	for i := 0; i < 1000; i++ {
		if err := x.Add(Rule{ID: fmt.Sprint(i), Bucket: "b", Events: ObjectCreated, Prefix: fmt.Sprintf("users/%d/", i), Suffix: ".jpg", Target: "f"}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 10; i++ { // a small bucket, matched on its view's copy
		if err := x.Add(Rule{ID: fmt.Sprint(i), Bucket: "small", Events: ObjectCreated, Prefix: fmt.Sprintf("d%d/", i), Suffix: ".jpg", Target: "f"}); err != nil {
			t.Fatal(err)
		}
	}
	var hit, hitSmall bool
	allocs := testing.AllocsPerRun(1000, func() {
		_, hit = x.Match("b", ObjectCreatedPut, "users/512/photos/2026/cat.jpg")
		x.Match("b", ObjectCreatedPut, "users/512/photos/2026/cat.png")
		x.Match("nobucket", ObjectCreatedPut, "users/512/photos/2026/cat.png")
		_, hitSmall = x.Match("small", ObjectCreatedPut, "d7/2026/cat.jpg")
		x.Match("small", ObjectCreatedPut, "d7/2026/cat.png")
	})
	if allocs != 0 || !hit || !hitSmall {
		t.Errorf("Match: %v allocations per run (hit %v, small bucket hit %v), want 0", allocs, hit, hitSmall)
	}
}

// TestMatchChecksBucketName plants a bucket's block in the bucket table
// under the hashes of other names, as a 64-bit hash collision would, and
// checks that Match answers those names with nothing, on the small path and
// on the prefix table.
func TestMatchChecksBucketName(t *testing.T) {
	for _, limit := range []int{smallBucket, 0} {
		t.Run(fmt.Sprint("smallLimit=", limit), func(t *testing.T) {
			x := newIndex(limit)
			if err := x.Add(Rule{ID: "r", Bucket: "photos", Events: ObjectCreated, Suffix: "a", Target: "f"}); err != nil {
				t.Fatal(err)
			}
			blk := x.table.Load().find("photos")
			for _, other := range []string{"otos", "s", "", "photosa", "sa", "aphotos"} {
				table := x.table.Load().grown(4)
				table.insert(slotHash(other), blk)
				y := &Index{}
				y.table.Store(table)
				if r, ok := y.Match(other, ObjectCreatedPut, "a"); ok {
					t.Errorf("Match(%q, …) with photos' block under its hash = rule %q, want none", other, r.ID)
				}
				if _, ok := y.Match("photos", ObjectCreatedPut, "a"); !ok {
					t.Errorf("Match(photos) fails once %q's hash is planted", other)
				}
			}
		})
	}
}

// TestMatchChecksPrefix plants a rule's entry in a large bucket's prefix
// table under the hashes of other prefixes of the key, as a hash collision
// would, and checks that Match does not take it for a rule of that prefix,
// for prefixes of up to 8, up to 16 and more bytes.
func TestMatchChecksPrefix(t *testing.T) {
	for _, prefix := range []string{"ab/", "abcdefgh/", "abcdefghijklmnop/", "abcdefghijklmnopqrstuvwxyz/"} {
		x := newIndex(0)
		r := Rule{ID: "r", Bucket: "b", Events: ObjectCreated, Prefix: prefix, Suffix: ".jpg", Target: "f"}
		if err := x.Add(r); err != nil {
			t.Fatal(err)
		}
		held := x.table.Load().find("b")
		for _, other := range []string{"xb/", "xbcdefgh/", "abcdefghijklmnoX/", "abcdefghijXlmnopqrstuvwxyz/", "abcdefghijklmnopqrstuvwxyZ/"} {
			key := other + "cat.jpg"
			// A rule of the other prefix's length whose prefix differs
			// from it in one byte, planted under its hash: the length is
			// probed and the hash agrees, the bytes do not.
			fake := &Rule{ID: "fake", Bucket: "b", Events: ObjectCreated, Prefix: other[:len(other)/2] + "#" + other[len(other)/2+1:], Suffix: ".jpg", Target: "f"}
			probes := append([]probe{{length: uint16(len(other)), lastBytes: [4]uint64{^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0)}, suffixEnds: ^uint64(0)}}, held.probes...)
			slices.SortFunc(probes, func(a, b probe) int { return int(a.length) - int(b.length) })
			blk := newLargeBlock(held.name, probes)
			blk.mask, blk.slotMask = held.mask, held.slotMask
			blk.prefixes = make([]prefixSlot, len(held.prefixes))
			h := slotHash(other)
			s := &blk.prefixes[h&blk.slotMask]
			s.rule = fake
			s.key.Store(slotKey(h, fake.Suffix))
			if got := blk.match(ObjectCreatedPut.Set(), key); got != nil {
				t.Errorf("prefix %q planted under %q's hash: match(%q) = rule %q, want none", prefix, other, key, got.ID)
			}
		}
		if got, ok := x.Match("b", ObjectCreatedPut, prefix+"cat.jpg"); !ok || got != r {
			t.Errorf("Match(%q) = %+v, %v; want %+v", prefix+"cat.jpg", got, ok, r)
		}
	}
}

// TestConcurrentMatch runs readers against a writer that adds, removes and
// replaces rules. Readers must only ever see rules that match, and a rule
// that is never touched must always be found.
func TestConcurrentMatch(t *testing.T) {
	for _, limit := range []int{smallBucket, 0} {
		t.Run(fmt.Sprint("small=", limit), func(t *testing.T) {
			testConcurrentMatch(t, limit)
		})
	}
}

func testConcurrentMatch(t *testing.T, limit int) {
	x := newIndex(limit)
	stable := Rule{ID: "stable", Bucket: "b", Events: ObjectRemove, Prefix: "keep/", Target: "s"}
	if err := x.Add(stable); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 2))
			for !stop.Load() {
				key := fmt.Sprintf("d%d/%d.jpg", rng.IntN(50), rng.IntN(3))
				if r, ok := x.Match("b", ObjectCreatedPut, key); ok && !r.Matches("b", ObjectCreatedPut, key) {
					errs <- fmt.Errorf("Match(%q) = %+v, which does not match", key, r)
					return
				}
				if r, ok := x.Match("b", ObjectRemoveDelete, "keep/x"); !ok || r.ID != "stable" {
					errs <- fmt.Errorf("stable rule not found: %+v %v", r, ok)
					return
				}
			}
		}(w)
	}
	rng := rand.New(rand.NewPCG(9, 9))
	for i := 0; i < 3000; i++ {
		d := rng.IntN(50)
		id := fmt.Sprint("r", d)
		switch rng.IntN(3) {
		case 0:
			_ = x.Add(Rule{ID: id, Bucket: "b", Events: ObjectCreated, Prefix: fmt.Sprintf("d%d/", d), Suffix: ".jpg", Target: "f"})
		case 1:
			x.Remove("b", id)
		case 2:
			_ = x.Replace("c", []Rule{{ID: id, Bucket: "c", Events: ObjectCreated, Target: "g"}})
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestAddAll(t *testing.T) {
	x := New()
	if err := x.Add(Rule{ID: "held", Bucket: "a", Events: ObjectCreated, Prefix: "logs/", Target: "f"}); err != nil {
		t.Fatal(err)
	}
	var rules []Rule
	for i := 0; i < 500; i++ {
		rules = append(rules, Rule{ID: fmt.Sprint("r", i), Bucket: fmt.Sprint("b", i%7), Events: ObjectCreated,
			Prefix: fmt.Sprintf("u/%d/", i), Suffix: ".jpg", Target: "f"})
	}
	bad := append(append([]Rule(nil), rules...), Rule{ID: "late", Bucket: "a", Events: ObjectCreatedPut.Set(), Prefix: "logs/x", Target: "g"})
	var ce *ConflictError
	if err := x.AddAll(bad); !errors.As(err, &ce) || ce.Existing.ID != "held" {
		t.Fatalf("AddAll(conflicting with a held rule) = %v", err)
	}
	if x.Len() != 1 || len(x.Buckets()) != 1 {
		t.Fatalf("refused AddAll changed the index: Len %d, Buckets %v", x.Len(), x.Buckets())
	}
	dup := append(append([]Rule(nil), rules...), rules[3])
	if err := x.AddAll(dup); !errors.Is(err, ErrDuplicateID) {
		t.Fatalf("AddAll(duplicate) = %v", err)
	}
	rules = append(rules, Rule{ID: "more", Bucket: "a", Events: ObjectRemove, Prefix: "logs/", Target: "g"})
	if err := x.AddAll(rules); err != nil {
		t.Fatal(err)
	}
	if x.Len() != 502 {
		t.Errorf("Len = %d, want 502", x.Len())
	}
	for i, r := range rules {
		key := r.Prefix + "x" + r.Suffix
		e := ObjectCreatedCopy
		if r.ID == "more" {
			e = ObjectRemoveDelete
		}
		if got, ok := x.Match(r.Bucket, e, key); !ok || got.ID != r.ID {
			t.Fatalf("rule %d: Match(%s, %q) = %q, %v", i, r.Bucket, key, got.ID, ok)
		}
	}
	if got, _ := x.Match("a", ObjectCreatedPut, "logs/1"); got.ID != "held" {
		t.Errorf("held rule lost: %q", got.ID)
	}
	// Later single writes must not disturb what the bulk build published.
	if !x.Remove("b3", "r3") || x.Add(Rule{ID: "r3", Bucket: "b3", Events: ObjectCreated, Prefix: "u/3/", Target: "h"}) != nil {
		t.Fatal("Remove/Add after AddAll failed")
	}
	if got, _ := x.Match("b3", ObjectCreatedPut, "u/3/a.png"); got.Target != "h" {
		t.Errorf("after re-adding r3: %+v", got)
	}
	if got, _ := x.Match("b3", ObjectCreatedPut, "u/10/a.jpg"); got.ID != "r10" {
		t.Errorf("r10 lost: %+v", got)
	}
}

// TestBucketSizeTransitions drives buckets back and forth across the
// small-bucket limit (12 rules, where a bucket gains or drops its tables)
// with Add, Remove, AddAll into buckets that hold rules and Replace, and
// after every step compares Match, Len, Conflicts and the refusals with the
// linear model. It runs with the limit and with tables for every bucket.
func TestBucketSizeTransitions(t *testing.T) {
	for _, limit := range []int{smallBucket, 0} {
		t.Run(fmt.Sprint("small=", limit), func(t *testing.T) {
			testBucketSizeTransitions(t, limit)
		})
	}
}

func testBucketSizeTransitions(t *testing.T, limit int) {
	buckets := []string{"b1", "b2"}
	up, down := 0, 0
	for seed := uint64(0); seed < 30; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		x, lin := newIndex(limit), linear{}
		nextID := 0
		rule := func(bucket string) Rule {
			nextID++
			r := Rule{ID: fmt.Sprint("r", nextID), Bucket: bucket, Events: tinyEvents[rng.IntN(len(tinyEvents))],
				Prefix: tinyString(rng, 2), Suffix: tinyString(rng, 2), Target: "f"}
			if rng.IntN(4) > 0 { // room for more than 12 disjoint rules
				r.Prefix += fmt.Sprint(rng.IntN(40), "/")
			}
			return r
		}
		for step := 0; step < 150; step++ {
			bucket := buckets[rng.IntN(2)]
			before := len(lin[bucket])
			what := ""
			switch op := rng.IntN(10); {
			case op < 5:
				r := rule(bucket)
				what = fmt.Sprintf("Add(%+v)", r)
				err := x.Add(r)
				if want := lin.add(r); want != (err != nil) {
					t.Fatalf("seed %d step %d: %s = %v, linear conflict = %v", seed, step, what, err, want)
				}
			case op < 8 && before > 0:
				for k := rng.IntN(4) + 1; k > 0 && len(lin[bucket]) > 0; k-- {
					rs := lin[bucket]
					i := rng.IntN(len(rs))
					if !x.Remove(bucket, rs[i].ID) {
						t.Fatalf("seed %d step %d: Remove(%s, %s) = false", seed, step, bucket, rs[i].ID)
					}
					lin[bucket] = append(rs[:i:i], rs[i+1:]...)
				}
				what = "Remove"
			case op < 9:
				var rs []Rule
				for k := rng.IntN(15) + 1; k > 0; k-- {
					rs = append(rs, rule(buckets[rng.IntN(2)]))
				}
				what = fmt.Sprintf("AddAll(%d rules)", len(rs))
				trial := linear{}
				for b, held := range lin {
					trial[b] = slices.Clone(held)
				}
				conflict := false
				for _, r := range rs {
					conflict = conflict || trial.add(r)
				}
				err := x.AddAll(rs)
				if conflict != (err != nil) {
					t.Fatalf("seed %d step %d: %s = %v, linear conflict = %v", seed, step, what, err, conflict)
				}
				if !conflict {
					lin = trial
				}
			default:
				// Keep some held rules, add a few new ones.
				var rs []Rule
				for _, r := range lin[bucket] {
					if rng.IntN(3) > 0 {
						rs = append(rs, r)
					}
				}
				for k := rng.IntN(6); k > 0; k-- {
					rs = append(rs, rule(bucket))
				}
				what = fmt.Sprintf("Replace(%s, %d rules)", bucket, len(rs))
				trial := linear{}
				conflict := false
				for _, r := range rs {
					conflict = conflict || trial.add(r)
				}
				err := x.Replace(bucket, rs)
				if conflict != (err != nil) {
					t.Fatalf("seed %d step %d: %s = %v, linear conflict = %v", seed, step, what, err, conflict)
				}
				if !conflict {
					lin[bucket] = trial[bucket]
				}
			}
			switch after := len(lin[bucket]); {
			case before <= smallBucket && after > smallBucket:
				up++
			case before > smallBucket && after <= smallBucket:
				down++
			}
			checkAgainstLinear(t, fmt.Sprintf("seed %d step %d after %s", seed, step, what), x, lin, buckets, rng)
		}
	}
	if up < 20 || down < 20 {
		t.Errorf("buckets crossed %d rules upwards %d times and downwards %d times; want at least 20 each", smallBucket, up, down)
	}
}

// checkAgainstLinear compares x with lin: Len, Match on short keys and on
// keys built from each held rule for every COS event, and Conflicts for a
// random rule.
func checkAgainstLinear(t *testing.T, where string, x *Index, lin linear, buckets []string, rng *rand.Rand) {
	t.Helper()
	n := 0
	for _, bucket := range buckets {
		n += len(lin[bucket])
		keys := []string{"", "a", "b", "/", "ab", "a/", "b/a", "/ab"}
		for _, r := range lin[bucket] {
			keys = append(keys, r.Prefix+r.Suffix, r.Prefix+"x"+r.Suffix, r.Prefix)
		}
		for _, key := range keys {
			for e := Event(1); e <= ObjectRemoveDeleteMarkerCreated; e++ {
				want := lin.match(bucket, e, key)
				got, ok := x.Match(bucket, e, key)
				if len(want) > 1 {
					t.Fatalf("%s: linear holds overlapping rules %v", where, want)
				}
				if ok != (len(want) == 1) || ok && got.ID != want[0] {
					t.Fatalf("%s: Match(%s, %v, %q) = %q %v, want %v", where, bucket, e, key, got.ID, ok, want)
				}
			}
		}
		probe := Rule{ID: "probe", Bucket: bucket, Events: tinyEvents[rng.IntN(len(tinyEvents))], Prefix: tinyString(rng, 2), Suffix: tinyString(rng, 2), Target: "f"}
		var want []string
		for _, h := range lin[bucket] {
			if _, _, ok := Overlap(probe, h); ok {
				want = append(want, h.ID)
			}
		}
		var got []string
		for _, ce := range x.Conflicts(probe) {
			got = append(got, ce.Existing.ID)
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("%s: Conflicts(%+v) = %v, want %v", where, probe, got, want)
		}
	}
	if x.Len() != n {
		t.Fatalf("%s: Len = %d, want %d", where, x.Len(), n)
	}
}

// TestTornReads runs readers against a writer that moves a bucket back and
// forth across the small-bucket limit with rules whose prefixes pass 16
// bytes and whose suffixes pass 8 (so Match also reads their strings),
// creates and deletes buckets (so the bucket table fills, grows and marks
// slots deleted) and commits AddAlls across buckets, on both paths. Every
// rule's Target spells its ID, prefix and suffix, so a rule assembled from
// two versions, or an entry that does not belong to its rule, shows; run it
// with -race.
func TestTornReads(t *testing.T) {
	for _, limit := range []int{smallBucket, 0} {
		t.Run(fmt.Sprint("small=", limit), func(t *testing.T) { testTornReads(t, limit) })
	}
}

func testTornReads(t *testing.T, limit int) {
	x := newIndex(limit)
	rule := func(bucket string, i int) Rule {
		r := Rule{ID: fmt.Sprint("r", i), Bucket: bucket, Events: ObjectCreated}
		switch i % 3 {
		case 0:
			r.Prefix, r.Suffix = fmt.Sprintf("d%d/", i), ".jpg"
		case 1:
			r.Prefix, r.Suffix = fmt.Sprintf("images/2026/archive/%d/", i), ".thumbnail.jpg"
		case 2:
			r.Prefix, r.Suffix = fmt.Sprintf("logs-%d/", i), ""
		}
		r.Target = r.ID + "|" + r.Prefix + "|" + r.Suffix
		return r
	}
	stable := rule("stable", 1)
	if err := x.Add(stable); err != nil {
		t.Fatal(err)
	}
	key := func(r Rule) string { return r.Prefix + "x/y" + r.Suffix }
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 5))
			for !stop.Load() {
				bucket := []string{"b", "c", fmt.Sprint("n", rng.IntN(40))}[rng.IntN(3)]
				k := key(rule(bucket, rng.IntN(30)))
				if r, ok := x.Match(bucket, ObjectCreatedPut, k); ok {
					if !r.Matches(bucket, ObjectCreatedPut, k) || r.Target != r.ID+"|"+r.Prefix+"|"+r.Suffix {
						errs <- fmt.Errorf("Match(%q, %q) = %+v: torn or wrong", bucket, k, r)
						return
					}
				}
				if r, ok := x.Match("stable", ObjectCreatedPut, key(stable)); !ok || r != stable {
					errs <- fmt.Errorf("stable rule not found: %+v %v", r, ok)
					return
				}
			}
		}(w)
	}
	rng := rand.New(rand.NewPCG(11, 11))
	for i := 0; i < 3000; i++ {
		n := rng.IntN(30)
		switch rng.IntN(5) {
		case 0, 1:
			_ = x.Add(rule("b", n))
		case 2:
			x.Remove("b", fmt.Sprint("r", n))
		case 3: // a bucket comes and goes
			name := fmt.Sprint("n", rng.IntN(40))
			if !x.Remove(name, "r1") {
				_ = x.Add(rule(name, 1))
			}
		case 4:
			_ = x.AddAll([]Rule{rule("c", n), rule(fmt.Sprint("n", rng.IntN(40)), 2)})
			if rng.IntN(4) == 0 {
				_ = x.Replace("c", nil)
			}
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestManyPrefixLengths covers a large bucket whose prefixes have up to 100
// distinct lengths, so Match passes over up to 100 probes per key, with
// keys shorter and longer than every prefix. Each result is compared with a
// linear scan.
func TestManyPrefixLengths(t *testing.T) {
	for _, n := range []int{60, 64, 65, 100} {
		x, lin := New(), linear{}
		for l := 1; l <= n; l++ {
			r := Rule{ID: fmt.Sprint("r", l), Bucket: "b", Events: ObjectCreated,
				Prefix: strings.Repeat("a", l) + "/", Suffix: []string{".jpg", ".png", ""}[l%3], Target: "f"}
			if err := x.Add(r); err != nil {
				t.Fatal(err)
			}
			lin.add(r)
		}
		for l := 0; l <= n+2; l++ {
			for _, end := range []string{"x.jpg", "x.png", "x.gif", ""} {
				key := strings.Repeat("a", l) + "/" + end
				var want string
				if ids := lin.match("b", ObjectCreatedPut, key); len(ids) > 0 {
					want = ids[0]
				}
				got, _ := x.Match("b", ObjectCreatedPut, key)
				if got.ID != want {
					t.Errorf("%d lengths: Match(%q) = %q, want %q", n, key, got.ID, want)
				}
			}
		}
	}
}

// TestAddAllParallel compares AddAll, building its buckets on several
// goroutines, with a loop of Add on a copy of the same index: both must
// refuse with the same error (that of the earliest failing rule, whichever
// goroutine met it first) or hold the same rules.
func TestAddAllParallel(t *testing.T) {
	held := []Rule{
		{ID: "held", Bucket: "b3", Events: ObjectCreated, Prefix: "logs/", Target: "f"},
		{ID: "held", Bucket: "b40", Events: ObjectRemove, Target: "f"},
	}
	for seed := uint64(0); seed < 60; seed++ {
		rng := rand.New(rand.NewPCG(seed, 11))
		var rules []Rule
		for b := 0; b < 50; b++ {
			for i := range 1 + rng.IntN(20) {
				rules = append(rules, Rule{ID: fmt.Sprint("r", i), Bucket: fmt.Sprint("b", b), Events: ObjectCreated,
					Prefix: fmt.Sprintf("u/%d/", i), Suffix: ".jpg", Target: "f"})
			}
		}
		rng.Shuffle(len(rules), func(i, j int) { rules[i], rules[j] = rules[j], rules[i] })
		// Spoil a few seeds' rules: a conflict with a held rule, a
		// duplicate ID, an invalid rule, each at a random place.
		for range rng.IntN(3) {
			i := rng.IntN(len(rules))
			switch rng.IntN(3) {
			case 0:
				rules[i] = Rule{ID: "late", Bucket: "b3", Events: ObjectCreatedPut.Set(), Prefix: "logs/x", Target: "g"}
			case 1:
				rules[i].ID = rules[rng.IntN(len(rules))].ID
			case 2:
				rules[i].Target = ""
			}
		}
		seq, par := New(), New()
		par.parallelAbove = 0
		for _, r := range held {
			if seq.Add(r) != nil || par.Add(r) != nil {
				t.Fatal("held rule refused")
			}
		}
		var want error
		for _, r := range rules {
			if want = seq.Add(r); want != nil {
				break
			}
		}
		got := par.AddAll(rules)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("seed %d: AddAll = %v, a loop of Add = %v", seed, got, want)
		}
		if want != nil {
			if par.Len() != len(held) {
				t.Fatalf("seed %d: refused AddAll left Len %d", seed, par.Len())
			}
			continue
		}
		if par.Len() != seq.Len() || !slices.Equal(par.Buckets(), seq.Buckets()) {
			t.Fatalf("seed %d: Len %d, buckets %v; want %d, %v", seed, par.Len(), par.Buckets(), seq.Len(), seq.Buckets())
		}
		for _, b := range seq.Buckets() {
			if !slices.Equal(par.Rules(b), seq.Rules(b)) {
				t.Fatalf("seed %d: bucket %s holds %v, want %v", seed, b, par.Rules(b), seq.Rules(b))
			}
			for _, r := range seq.Rules(b) {
				key := r.Prefix + "k" + r.Suffix
				e := r.Events.First()
				g, ok := par.Match(b, e, key)
				w, _ := seq.Match(b, e, key)
				if !ok || g != w {
					t.Fatalf("seed %d: Match(%s, %q) = %+v, want %+v", seed, b, key, g, w)
				}
			}
		}
	}
}

// TestSlotKeyNeverHidesAMatch checks that a prefix slot's suffix tag agrees
// with every key that the rule's suffix ends, whatever the lengths, and
// tells apart keys whose last bytes differ from the suffix's.
func TestSlotKeyNeverHidesAMatch(t *testing.T) {
	suffixes := []string{"", "g", ".jpg", "jpg", "pg", "\x00", "\x00g", "a\x00\x00", "long-suffix.tar.gz"}
	keys := []string{"", "g", "pg", "jpg", ".jpg", "x.jpg", "photos/cat.jpg", "\x00", "\x00g", "a\x00\x00", "x.png", "x.tar.gz", "long-suffix.tar.gz", "a-long-suffix.tar.gz"}
	h := slotHash("users/1/")
	for _, suffix := range suffixes {
		sk := slotKey(h, suffix)
		if sk == slotEmpty || sk == slotDeleted {
			t.Fatalf("slotKey(%q) = %d, a reserved value", suffix, sk)
		}
		for _, key := range keys {
			got := slotMatches(sk, h, trailing8(key))
			if strings.HasSuffix(key, suffix) && !got {
				t.Errorf("suffix %q ends key %q but its slot key does not match", suffix, key)
			}
			n := min(len(suffix), 3)
			if len(key) >= n && key[len(key)-n:] != suffix[len(suffix)-n:] && got {
				t.Errorf("key %q ends other than suffix %q's last %d bytes but its slot key matches", key, suffix, n)
			}
		}
		if slotMatches(sk, slotHash("users/2/"), trailing8("x"+suffix)) {
			t.Errorf("suffix %q: a slot key matched another prefix's hash", suffix)
		}
	}
}

// TestTinyBucketTable adds, removes and re-adds buckets in a table of at
// most four, whose names share their length and first 8 bytes or not, and
// checks every lookup, through the growth into a hashed table.
func TestTinyBucketTable(t *testing.T) {
	names := []string{"bucket-0001", "bucket-0002", "bucket-0003", "b", "bucket-0004", "other-name-x"}
	x := New()
	held := map[string]bool{}
	check := func(step string) {
		t.Helper()
		for _, name := range append(names, "bucket-0005", "", "bucket-000") {
			r, ok := x.Match(name, ObjectCreatedPut, "k")
			if ok != held[name] || ok && r.Bucket != name {
				t.Errorf("%s: Match(%q) = %q, %v; want held %v", step, name, r.Bucket, ok, held[name])
			}
		}
	}
	add := func(name string) {
		t.Helper()
		if err := x.Add(Rule{ID: "r", Bucket: name, Events: ObjectCreated, Target: "f"}); err != nil {
			t.Fatal(err)
		}
		held[name] = true
	}
	remove := func(name string) {
		t.Helper()
		if !x.Remove(name, "r") {
			t.Fatalf("Remove(%q) = false", name)
		}
		delete(held, name)
	}
	for _, name := range names[:4] {
		add(name)
		check("add " + name)
	}
	if n := len(x.table.Load().slots); n != tinyTable {
		t.Fatalf("four buckets in a table of %d slots, want the tiny %d", n, tinyTable)
	}
	remove("bucket-0002")
	check("remove bucket-0002")
	remove("bucket-0001")
	check("remove bucket-0001")
	add("bucket-0002")
	check("re-add bucket-0002")
	for _, name := range names[4:] {
		add(name)
		check("add " + name)
	}
	if n := len(x.table.Load().slots); n == tinyTable {
		t.Fatalf("%d buckets still in the tiny table", len(held))
	}
}
