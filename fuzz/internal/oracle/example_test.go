package oracle_test

import (
	"fmt"

	"github.com/notifymux/notifymux/fuzz/internal/oracle"
	"github.com/notifymux/notifymux/match"
)

// The oracle finds that two rules overlap by searching for a key both match,
// and judges match.Index's refusal of the second.
func ExampleOverlaps() {
	dirs := match.Rule{ID: "dirs", Bucket: "photos", Events: match.ObjectCreated, Prefix: "a/", Target: "index"}
	tails := match.Rule{ID: "tails", Bucket: "photos", Events: match.ObjectCreatedPut.Set(), Suffix: "/b", Target: "scan"}

	fmt.Println(oracle.Overlaps(dirs, tails))
	e, key, _ := oracle.Search(dirs, tails) // the shortest witness: the filters share the "/"
	fmt.Println(e, key)

	oracle := oracle.NewIndex()
	oracle.Add(dirs)
	verdict := oracle.JudgeAdd(tails)
	fmt.Println(verdict)

	x := match.New()
	_ = x.Add(dirs)
	err := x.Add(tails)
	fmt.Println(err)
	fmt.Println("explained:", verdict.Explains(err) == nil)
	// Output:
	// true
	// cos:ObjectCreated:Put a/b
	// refused ("tails" overlaps "dirs")
	// match: rule "tails" overlaps rule "dirs" in bucket "photos": both match cos:ObjectCreated:Put on key "a//b"
	// explained: true
}
