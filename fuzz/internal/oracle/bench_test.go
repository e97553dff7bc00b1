// Benchmarks of the oracle's own cost, which bounds how many fuzz inputs run
// per second: a Search over the largest key space the generators make, a
// Search pruned for realistic filters, and one FuzzIndex input of 48 Ops.

package oracle

import (
	"testing"

	"github.com/notifymux/notifymux/match"
)

var sinkBool bool

func BenchmarkSearch(b *testing.B) {
	put := match.ObjectCreatedPut.Set()
	cases := []struct {
		name string
		a, c match.Rule
	}{
		// Disjoint, so every key up to 6 bytes over "ab/x" is tried: 5,461.
		{"tiny-disjoint", rule("a", "ab/", "/ba", put), rule("c", "aba", "/bb", put)},
		{"tiny-overlap", rule("a", "ab/", "", put), rule("c", "", "/ba", put)},
		{"pruned-realistic", rule("a", "images/2024/", ".jpg", put), rule("c", "images/", "thumb.jpg", put)},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkBool = Overlaps(tc.a, tc.c)
			}
		})
	}
}

func BenchmarkCheckOps(b *testing.B) {
	ops := RandOps(newRand(3), 48)
	data, err := EncodeOps(ops)
	if err != nil {
		b.Fatal(err)
	}
	keys := KeysFor(data)
	b.ReportAllocs()
	for b.Loop() {
		if err := CheckOps(ops, keys); err != nil {
			b.Fatal(err)
		}
	}
}
