// This file holds the readable seeds of FuzzIndex and the keys a fuzz input
// is probed with.

package oracle

import (
	"hash/fnv"
	"math/rand/v2"

	"github.com/notifymux/notifymux/match"
)

// SeedOps are FuzzIndex seeds kept as readable Ops: the files of these names
// in testdata/fuzz/FuzzIndex hold their EncodeOps encodings.
func SeedOps() map[string][]Op {
	put := match.ObjectCreatedPut.Set()
	r := func(bucket, id, prefix, suffix string) match.Rule {
		return match.Rule{ID: id, Bucket: bucket, Events: put, Prefix: prefix, Suffix: suffix, Target: "f0"}
	}
	wide := func(bucket string, n int) []match.Rule {
		rules := make([]match.Rule, n)
		for i := range rules {
			rules[i] = r(bucket, WideIDs[i], widePrefix(i), "")
		}
		return rules
	}
	return map[string][]Op{
		// A wide Replace puts 13 rules in b0, one over the size up to
		// which match.Index scans a bucket's rules; Removes and Adds
		// move it across that size, and a rule above the wide prefixes
		// is refused on the path for larger buckets.
		"wide_bucket_crosses_scan_limit": {
			{Kind: OpReplace, Bucket: "b0", Rules: wide("b0", 13)},
			{Kind: OpRemove, Bucket: "b0", ID: "w12"},
			{Kind: OpAdd, Rule: r("b0", "r0", "///", "")},
			{Kind: OpAdd, Rule: r("b0", "r1", "a", "")},
			{Kind: OpAdd, Rule: r("b0", "r2", "b//", "a")},
			{Kind: OpReplace, Bucket: "b1", Rules: wide("b1", 17)},
			{Kind: OpAdd, Rule: r("b1", "r0", "//", "")},
			{Kind: OpRemove, Bucket: "b1", ID: "w3"},
		},
		// An AddAll over both buckets is accepted (the same ID and
		// filters in two buckets do not clash); then an Add that
		// overlaps one of its rules is refused.
		"addall_two_buckets_then_conflict": {
			{Kind: OpAddAll, Rules: []match.Rule{r("b0", "r0", "a", ""), r("b1", "r0", "a", ""), r("b0", "r1", "b", "")}},
			{Kind: OpAdd, Rule: r("b1", "r1", "ab", "")},
			{Kind: OpAdd, Rule: r("b1", "r2", "b", "")},
		},
		// The third rule of an AddAll overlaps its first ("a/" begins
		// with "a"), so the whole call is refused and the index keeps
		// only r0: afterwards r1 and r2 are added on their own, which a
		// leftover of the call would refuse as a duplicate ID.
		"addall_third_overlaps_first": {
			{Kind: OpAdd, Rule: r("b0", "r0", "b", "")},
			{Kind: OpAddAll, Rules: []match.Rule{r("b0", "r1", "a", ""), r("b1", "r2", "", ""), r("b0", "r3", "a/", "/")}},
			{Kind: OpAdd, Rule: r("b0", "r1", "a", "")},
			{Kind: OpAdd, Rule: r("b1", "r2", "", "")},
		},
	}
}

// KeysFor returns the keys FuzzIndex probes after every step (besides every
// rule's witness keys): every key of up to 3 bytes over Alphabet and 16
// random keys of up to 7 bytes drawn from data.
func KeysFor(data []byte) []string {
	keys := ShortKeys(3)
	rng := randFor(data)
	for range 16 {
		keys = append(keys, RandKey(rng))
	}
	return keys
}

// newRand returns a generator seeded by seed.
func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }

// randFor returns a generator seeded by data, so fuzz inputs stay deterministic.
func randFor(data []byte) *rand.Rand {
	h := fnv.New64a()
	h.Write(data)
	return newRand(h.Sum64())
}
