// This file finds every overlapping pair in a set of rules, where
// match.Index.Add stops at the first conflict of each rule.
//
// Algorithm: rules are placed, in order, into layers, each a match.Index
// whose rules do not overlap each other. A rule is compared with every layer
// that holds rules of its bucket, using Index.Conflicts (a candidate search
// over the bucket's sorted prefixes and reversed suffixes, not a scan), which
// yields every held rule it overlaps; it is then added to the first layer
// where it conflicts with nothing and whose bucket has no rule with its id,
// opening a new layer when there is none. Every earlier rule sits in some
// layer the later rule is compared with, so each overlapping pair is found
// exactly once, when its later rule arrives.
//
// Cost: a rule placed in layer k overlaps at least one rule in each of layers
// 0..k-1, so the layers a bucket needs are bounded by one plus the largest
// number of earlier rules any of its rules overlaps. Rule sets with few
// overlaps need one or two layers: about one Conflicts and one Add per rule.
// The layer count is kept per bucket, so a crowded bucket costs other buckets
// nothing.

package config

import (
	"iter"

	"github.com/notifymux/notifymux/match"
)

// Overlaps yields every pair of rules that overlap, each pair once, as a
// *match.ConflictError whose Rule is the later of the two in rules and whose
// Existing is the earlier one, with an event and a key both match. Pairs come
// in the order of their later rule. Rules that fail Validate are skipped;
// rules sharing an id are compared like any others.
func Overlaps(rules []match.Rule) iter.Seq[*match.ConflictError] {
	return func(yield func(*match.ConflictError) bool) {
		var layers []*match.Index
		depth := map[string]int{} // bucket → layers holding its rules (always a prefix of layers)
		for _, r := range rules {
			if r.Validate() != nil {
				continue
			}
			n := depth[r.Bucket]
			placed := false
			for i := 0; i < n; i++ {
				cs := layers[i].Conflicts(r)
				for _, c := range cs {
					if !yield(c) {
						return
					}
				}
				if !placed && len(cs) == 0 {
					placed = layers[i].Add(r) == nil // fails only for a duplicate id
				}
			}
			if !placed {
				if n == len(layers) {
					layers = append(layers, match.New())
				}
				if layers[n].Add(r) == nil { // the layer holds nothing of r's bucket
					depth[r.Bucket] = n + 1
				}
			}
		}
	}
}
