package match_test

import (
	"fmt"

	"github.com/notifymux/notifymux/match"
)

func Example_readme() {
	x := match.New()
	created, _ := match.ParseEventSet("cos:ObjectCreated:*")
	_ = x.Add(match.Rule{ID: "thumbs", Bucket: "photos", Events: created, Prefix: "images/", Suffix: ".jpg", Target: "make-thumbnail"})
	err := x.Add(match.Rule{ID: "all", Bucket: "photos", Events: created, Prefix: "images/", Target: "other"})
	fmt.Println(err)

	r, ok := x.Match("photos", match.ObjectCreatedPut, "images/2026/cat.jpg")
	fmt.Println(r.Target, ok)
	// Output:
	// match: rule "all" overlaps rule "thumbs" in bucket "photos": both match cos:ObjectCreated:Put on key "images/.jpg"
	// make-thumbnail true
}
