package match

import (
	"errors"
	"strings"
	"testing"
)

// TestOverlapVerdicts checks the verdicts documented by AWS and COS
// (shared/SEMANTICS.md §3), each in both argument orders.
func TestOverlapVerdicts(t *testing.T) {
	created, put := ObjectCreated, ObjectCreatedPut.Set()
	tests := []struct {
		a, b Rule
		key  string // witness; "" with ok false means disjoint
		ok   bool
	}{
		{Rule{Events: created, Prefix: "images/", Suffix: "jpg"}, Rule{Events: created, Prefix: "logs/"}, "", false},
		{Rule{Events: created, Suffix: ".jpg"}, Rule{Events: created, Suffix: ".png"}, "", false},
		{Rule{Events: created, Prefix: "images", Suffix: ".jpg"}, Rule{Events: created, Prefix: "images", Suffix: ".png"}, "", false},
		{Rule{Events: created}, Rule{Events: created, Prefix: "images"}, "images", true},
		{Rule{Events: created, Suffix: "jpg"}, Rule{Events: put, Suffix: "pg"}, "jpg", true},
		{Rule{Events: created, Prefix: "images", Suffix: "jpg"}, Rule{Events: put, Suffix: "jpg"}, "imagesjpg", true},
		{Rule{Events: put, Prefix: "images/"}, Rule{Events: ObjectRemove, Prefix: "images/"}, "", false},
		{Rule{Events: created, Prefix: "Log"}, Rule{Events: created, Prefix: "Lo"}, "Log", true},
		{Rule{Events: created}, Rule{Events: put}, "", true},
		{Rule{Events: created, Prefix: "ab"}, Rule{Events: created, Suffix: "bc"}, "abbc", true},
		{Rule{Events: created, Prefix: "a*"}, Rule{Events: created, Prefix: "ab"}, "", false},
		{Rule{Events: created, Prefix: "A"}, Rule{Events: created, Prefix: "a"}, "", false},
	}
	for _, tt := range tests {
		tt.a.Bucket, tt.b.Bucket = "b", "b"
		for _, pair := range [][2]Rule{{tt.a, tt.b}, {tt.b, tt.a}} {
			e, key, ok := Overlap(pair[0], pair[1])
			if ok != tt.ok || key != tt.key {
				t.Errorf("Overlap(%+v, %+v) = %q, %v; want %q, %v", pair[0], pair[1], key, ok, tt.key, tt.ok)
			}
			if ok && (!pair[0].Matches("b", e, key) || !pair[1].Matches("b", e, key)) {
				t.Errorf("witness %v %q does not match both %+v and %+v", e, key, pair[0], pair[1])
			}
		}
	}
	if _, _, ok := Overlap(Rule{Bucket: "a", Events: created}, Rule{Bucket: "b", Events: created}); ok {
		t.Error("rules of different buckets overlap")
	}
}

func TestValidate(t *testing.T) {
	good := Rule{ID: "r", Bucket: "b", Events: ObjectCreated, Target: "f"}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		edit func(*Rule)
		want string
	}{
		{func(r *Rule) { r.ID = "" }, "id is empty"},
		{func(r *Rule) { r.Bucket = "" }, "bucket is empty"},
		{func(r *Rule) { r.Events = 0 }, "no event types"},
		{func(r *Rule) { r.Events = ObjectCreated | 1 }, "holds bits that are no event type"},
		{func(r *Rule) { r.Target = "" }, "target is empty"},
		{func(r *Rule) { r.Prefix = strings.Repeat("x", 1025) }, "prefix is 1025 bytes, over the 1024-byte limit"},
		{func(r *Rule) { r.Suffix = strings.Repeat("x", 2000) }, "suffix is 2000 bytes"},
	}
	for _, tt := range tests {
		r := good
		tt.edit(&r)
		err := r.Validate()
		if !errors.Is(err, ErrInvalidRule) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate() = %v; want it to say %q", err, tt.want)
		}
	}
	r := good
	r.Prefix = strings.Repeat("x", MaxFilterLen)
	if err := r.Validate(); err != nil {
		t.Errorf("prefix of exactly MaxFilterLen refused: %v", err)
	}
}

// TestErrorsQuoteAtMost200Bytes checks that errors about rules with huge
// IDs, bucket names and filters quote at most 200 bytes of each and say how
// long it was, and still name the field at fault.
func TestErrorsQuoteAtMost200Bytes(t *testing.T) {
	huge := func(c string) string { return strings.Repeat(c, 100_000) }
	id, bucket := huge("i"), huge("b")
	check := func(what string, err error, wants ...string) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: no error", what)
		}
		msg := err.Error()
		if len(msg) > 1500 {
			t.Errorf("%s: error is %d bytes long: %.300s…", what, len(msg), msg)
		}
		for _, want := range wants {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: error %q does not say %q", what, msg, want)
			}
		}
	}
	check("Validate", Rule{ID: id, Bucket: bucket, Events: ObjectCreated}.Validate(),
		"target is empty", "(100000 bytes)", strings.Repeat("i", 200)+`"…`)
	x := New()
	r := Rule{ID: id, Bucket: bucket, Events: ObjectCreated, Prefix: huge("p")[:MaxFilterLen], Target: "f"}
	if err := x.Add(r); err != nil {
		t.Fatal(err)
	}
	check("duplicate ID", x.Add(r), "(100000 bytes)", ErrDuplicateID.Error())
	other := r
	other.ID = id + "2"
	check("conflict", x.Add(other), "(100001 bytes)", "(1024 bytes)", "overlaps")
	check("Replace of another bucket's rule", x.Replace("b", []Rule{r}), "names bucket", "(100000 bytes)")
	// Bytes that are not UTF-8 are cut where they are, not dropped.
	if got := quote(strings.Repeat("\x80", 300)); !strings.HasPrefix(got, `"`+strings.Repeat(`\x80`, 200)+`"…`) {
		t.Errorf("quote of 300 continuation bytes: %.80s…", got)
	}
	// A cut never splits a rune: 199 ASCII bytes, then 3-byte runes.
	if got := quote(strings.Repeat("a", 199) + strings.Repeat("€", 10)); !strings.HasPrefix(got, `"`+strings.Repeat("a", 199)+`"…`) {
		t.Errorf("quote cut a rune: %s", got)
	}
}
