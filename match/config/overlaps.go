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

// Conflict is one overlapping pair found by Overlaps.
type Conflict struct {
	Later, Earlier int                  // indexes of the two rules in the slice given to Overlaps
	Err            *match.ConflictError // Rule is rules[Later], Existing is rules[Earlier]; with an event and a key both match
}

// layer is one match.Index of mutually disjoint rules, with the index in
// the input of each rule it holds (ids are unique per bucket in a layer).
type layer struct {
	x   *match.Index
	pos map[[2]string]int
}

func (l *layer) add(r match.Rule, i int) bool {
	if l.x.Add(r) != nil {
		return false // a duplicate id: the caller checked for conflicts
	}
	l.pos[[2]string{r.Bucket, r.ID}] = i
	return true
}

// Overlaps yields every pair of rules that overlap, each pair once, in the
// order of their later rule. Rules that fail Validate are skipped; rules
// sharing an id are compared like any others.
func Overlaps(rules []match.Rule) iter.Seq[Conflict] {
	return func(yield func(Conflict) bool) {
		var layers []*layer
		depth := map[string]int{} // bucket → layers holding its rules (always a prefix of layers)
		for ri, r := range rules {
			if r.Validate() != nil {
				continue
			}
			n := depth[r.Bucket]
			placed := false
			for i := 0; i < n; i++ {
				l := layers[i]
				cs := l.x.Conflicts(r)
				for _, c := range cs {
					if !yield(Conflict{Later: ri, Earlier: l.pos[[2]string{r.Bucket, c.Existing.ID}], Err: c}) {
						return
					}
				}
				if !placed && len(cs) == 0 {
					placed = l.add(r, ri)
				}
			}
			if !placed {
				if n == len(layers) {
					layers = append(layers, &layer{x: match.New(), pos: map[[2]string]int{}})
				}
				if layers[n].add(r, ri) { // the layer holds nothing of r's bucket
					depth[r.Bucket] = n + 1
				}
			}
		}
	}
}
