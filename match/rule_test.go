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
