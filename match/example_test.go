package match_test

import (
	"errors"
	"fmt"

	"github.com/notifymux/notifymux/match"
)

func Example() {
	x := match.New()
	created, _ := match.ParseEventSet("cos:ObjectCreated:*")
	_ = x.Add(match.Rule{ID: "thumbs", Bucket: "photos", Events: created, Prefix: "images/", Suffix: ".jpg", Target: "make-thumbnail"})
	_ = x.Add(match.Rule{ID: "logs", Bucket: "photos", Events: created, Prefix: "logs/", Target: "ship-logs"})

	r, ok := x.Match("photos", match.ObjectCreatedPut, "images/2026/cat.jpg")
	fmt.Println(r.Target, ok)
	_, ok = x.Match("photos", match.ObjectCreatedPut, "images/2026/cat.png")
	fmt.Println(ok)
	// Output:
	// make-thumbnail true
	// false
}

func ExampleIndex_Add_conflict() {
	x := match.New()
	all, _ := match.ParseEventSet("cos:ObjectCreated:*")
	put, _ := match.ParseEventSet("cos:ObjectCreated:Put")
	_ = x.Add(match.Rule{ID: "all-images", Bucket: "photos", Events: all, Prefix: "images/", Target: "a"})
	err := x.Add(match.Rule{ID: "thumbs", Bucket: "photos", Events: put, Prefix: "images/", Suffix: ".jpg", Target: "b"})

	var ce *match.ConflictError
	fmt.Println(errors.Is(err, match.ErrConflict), errors.As(err, &ce), ce.Key)
	fmt.Println(err)
	// Output:
	// true true images/.jpg
	// match: rule "thumbs" overlaps rule "all-images" in bucket "photos": both match cos:ObjectCreated:Put on key "images/.jpg"
}

func ExampleOverlap() {
	a := match.Rule{Bucket: "b", Events: match.ObjectCreated, Prefix: "ab"}
	b := match.Rule{Bucket: "b", Events: match.ObjectCreatedPut.Set(), Suffix: "bc"}
	e, key, ok := match.Overlap(a, b)
	fmt.Println(e, key, ok)
	// Output: cos:ObjectCreated:Put abbc true
}

func ExampleParseEvent() {
	_, err := match.ParseEvent("cos: ObjectCreated:Put")
	fmt.Println(err)
	e, _ := match.ParseEvent("s3:ObjectRemoved:Delete")
	fmt.Println(e)
	// Output:
	// match: unknown event "cos: ObjectCreated:Put" (did you mean "cos:ObjectCreated:Put"?)
	// cos:ObjectRemove:Delete
}

func ExampleIndex_Replace() {
	x := match.New()
	rules := []match.Rule{
		{ID: "a", Bucket: "logs", Events: match.ObjectCreated, Prefix: "Log", Target: "A"},
		{ID: "b", Bucket: "logs", Events: match.ObjectCreated, Prefix: "Lo", Target: "B"},
	}
	fmt.Println(x.Replace("logs", rules))
	fmt.Println(x.Len())
	// Output:
	// match: rule "b" overlaps rule "a" in bucket "logs": both match cos:ObjectCreated:Put on key "Log"
	// 0
}
