// This file generates random rules, keys and operation sequences, all
// deterministic from a *rand.Rand (math/rand/v2), over a domain small enough
// for brute force and dense in overlaps.
//
// Filters are 0–3 bytes over Alphabet ("ab/"), short ones likelier, so two
// filters are often comparable (one begins or ends the other); event sets come from EventSets,
// which mixes single types with whole families so that sets often intersect;
// IDs come from a pool of eight per bucket, so Remove and duplicate IDs hit.
// One operation in 24 is a wide Replace (WideRules): 10 to 17 rules
// with distinct three-byte prefixes, which never overlap, so buckets grow
// past the dozen rules up to which match.Index scans a bucket's rules in
// turn, and the oracle also checks the path for larger buckets; Adds and
// Removes then move such buckets back and forth across that size.
// About one rule in thirty is invalid (no events, no ID or no target), and
// one Replace rule in ten names the wrong bucket, to exercise refusals. The
// rules of one AddAll are spread over both buckets.

package oracle

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/notifymux/notifymux/match"
)

// Alphabet holds the bytes of generated filters and keys.
const Alphabet = "ab/"

// MaxFilterLen and MaxKeyLen bound generated filters and keys, in bytes.
const (
	MaxFilterLen = 3
	MaxKeyLen    = 7
)

// Buckets are the buckets generated rules belong to.
var Buckets = []string{"b0", "b1"}

// IDs are the rule IDs generated rules use (in every bucket).
var IDs = []string{"r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7"}

// WideIDs are the IDs of the rules of a wide Replace (see WideRules).
var WideIDs = []string{"w0", "w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8",
	"w9", "w10", "w11", "w12", "w13", "w14", "w15", "w16", "w17"}

// MinWide is the fewest rules a wide Replace holds; it holds up to MinWide+7.
const MinWide = 10

// widePrefixes are the 27 three-byte strings over Alphabet: pairwise
// incomparable prefixes.
var widePrefixes = func() []string {
	var out []string
	for _, k := range ShortKeys(3) {
		if len(k) == 3 {
			out = append(out, k)
		}
	}
	return out
}()

// widePrefix returns the i-th three-byte prefix (mod 27).
func widePrefix(i int) string { return widePrefixes[i%len(widePrefixes)] }

// WideRules returns n rules of bucket (n at most len(WideIDs)) that overlap
// neither each other nor anything but rules with shorter prefixes: rule i
// has ID WideIDs[i] and prefix widePrefix(start+i), a random suffix,
// events and target.
func WideRules(rng *rand.Rand, bucket string, start, n int) []match.Rule {
	rules := make([]match.Rule, min(n, len(WideIDs)))
	for i := range rules {
		rules[i] = match.Rule{ID: WideIDs[i], Bucket: bucket, Events: RandEvents(rng),
			Prefix: widePrefix(start + i), Suffix: RandFilter(rng), Target: Targets[rng.IntN(len(Targets))]}
	}
	return rules
}

// Targets are the functions generated rules trigger.
var Targets = []string{"f0", "f1", "f2"}

// EventSets are the event sets generated rules draw from: single types,
// pairs, whole families and everything, so that two sets often intersect.
var EventSets = []match.EventSet{
	match.ObjectCreatedPut.Set(),
	match.ObjectCreatedPost.Set(),
	match.ObjectRemoveDelete.Set(),
	match.ObjectRestorePost.Set(),
	match.ObjectCreated,
	match.ObjectRemove,
	match.ObjectRestore,
	match.ObjectCreatedPut.Set() | match.ObjectRemoveDelete.Set(),
	match.ObjectCreatedPut.Set() | match.ObjectCreatedPost.Set(),
	match.AllEvents,
}

// ProbeEvents holds one event type of each class that EventSets cannot tell
// apart (two types are in the same class when every set of EventSets holds
// both or neither), so probing these covers every event for generated rules.
var ProbeEvents = []match.Event{
	match.ObjectCreatedPut,
	match.ObjectCreatedPost,
	match.ObjectCreatedCopy,
	match.ObjectRemoveDelete,
	match.ObjectRemoveDeleteMarkerCreated,
	match.ObjectRestorePost,
	match.ObjectRestoreCompleted,
	match.LifecycleTransition,
}

// RandFilter returns a random prefix or suffix: 0 to MaxFilterLen bytes of
// Alphabet, shorter ones likelier (lengths 0, 1, 2, 3 in the ratio 4:3:2:1),
// since short filters are comparable with more others.
func RandFilter(rng *rand.Rand) string {
	n := 0
	switch k := rng.IntN(10); {
	case k >= 9:
		n = 3
	case k >= 7:
		n = 2
	case k >= 4:
		n = 1
	}
	return randString(rng, n)
}

// RandKey returns a random key: 0 to MaxKeyLen bytes of Alphabet.
func RandKey(rng *rand.Rand) string {
	return randString(rng, rng.IntN(MaxKeyLen+1))
}

func randString(rng *rand.Rand, n int) string {
	var b strings.Builder
	for range n {
		b.WriteByte(Alphabet[rng.IntN(len(Alphabet))])
	}
	return b.String()
}

// RandEvents returns a random member of EventSets.
func RandEvents(rng *rand.Rand) match.EventSet { return EventSets[rng.IntN(len(EventSets))] }

// RandRule returns a random rule of bucket, invalid about one time in thirty.
func RandRule(rng *rand.Rand, bucket string) match.Rule {
	r := match.Rule{
		ID:     IDs[rng.IntN(len(IDs))],
		Bucket: bucket,
		Events: RandEvents(rng),
		Prefix: RandFilter(rng),
		Suffix: RandFilter(rng),
		Target: Targets[rng.IntN(len(Targets))],
	}
	switch rng.IntN(90) {
	case 0:
		r.Events = 0
	case 1:
		r.ID = ""
	case 2:
		r.Target = ""
	}
	return r
}

// RandRules returns n random rules of bucket with distinct IDs (n at most
// len(IDs)); they may overlap or be invalid.
func RandRules(rng *rand.Rand, bucket string, n int) []match.Rule {
	n = min(n, len(IDs))
	ids := rng.Perm(len(IDs))[:n]
	rules := make([]match.Rule, n)
	for i := range rules {
		rules[i] = RandRule(rng, bucket)
		if rules[i].ID != "" {
			rules[i].ID = IDs[ids[i]]
		}
	}
	return rules
}

// OpKind says which Index method an Op calls.
type OpKind uint8

// The operations.
const (
	OpAdd     OpKind = iota // Add(Rule)
	OpRemove                // Remove(Bucket, ID)
	OpReplace               // Replace(Bucket, Rules)
	OpAddAll                // AddAll(Rules)
)

// Op is one call on an Index.
type Op struct {
	Kind   OpKind
	Rule   match.Rule   // for OpAdd
	Bucket string       // for OpRemove and OpReplace
	ID     string       // for OpRemove
	Rules  []match.Rule // for OpReplace (nil removes the bucket) and OpAddAll (of any buckets)
}

// String describes the call briefly.
func (o Op) String() string {
	switch o.Kind {
	case OpAdd:
		return "Add" + ruleString(o.Rule)
	case OpRemove:
		return fmt.Sprintf("Remove(%q, %q)", o.Bucket, o.ID)
	case OpReplace:
		parts := make([]string, len(o.Rules))
		for i, r := range o.Rules {
			parts[i] = ruleString(r)
		}
		return fmt.Sprintf("Replace(%q, [%s])", o.Bucket, strings.Join(parts, " "))
	case OpAddAll:
		parts := make([]string, len(o.Rules))
		for i, r := range o.Rules {
			parts[i] = ruleString(r)
		}
		return fmt.Sprintf("AddAll([%s])", strings.Join(parts, " "))
	}
	return fmt.Sprintf("Op(%d)", o.Kind)
}

// GoString returns the Op as a Go literal, for pasting into a regression test.
func (o Op) GoString() string {
	switch o.Kind {
	case OpAdd:
		return fmt.Sprintf("{Kind: oracle.OpAdd, Rule: %s}", ruleGo(o.Rule))
	case OpRemove:
		return fmt.Sprintf("{Kind: oracle.OpRemove, Bucket: %q, ID: %q}", o.Bucket, o.ID)
	case OpReplace:
		return fmt.Sprintf("{Kind: oracle.OpReplace, Bucket: %q, Rules: %s}", o.Bucket, rulesGo(o.Rules))
	case OpAddAll:
		return fmt.Sprintf("{Kind: oracle.OpAddAll, Rules: %s}", rulesGo(o.Rules))
	}
	return fmt.Sprintf("{Kind: %d}", o.Kind)
}

// rulesGo returns rules as a Go literal ("nil" for a nil slice).
func rulesGo(rules []match.Rule) string {
	if rules == nil {
		return "nil"
	}
	parts := make([]string, len(rules))
	for i, r := range rules {
		parts[i] = ruleGo(r)
	}
	return "[]match.Rule{" + strings.Join(parts, ", ") + "}"
}

func ruleString(r match.Rule) string {
	return fmt.Sprintf("{%s/%s %v prefix=%q suffix=%q -> %q}", r.Bucket, r.ID, r.Events, r.Prefix, r.Suffix, r.Target)
}

func ruleGo(r match.Rule) string {
	return fmt.Sprintf("{ID: %q, Bucket: %q, Events: %#x, Prefix: %q, Suffix: %q, Target: %q}",
		r.ID, r.Bucket, uint64(r.Events), r.Prefix, r.Suffix, r.Target)
}

// RandOp returns a random operation: one time in 24 a wide Replace of
// MinWide to MinWide+7 rules (WideRules); else Add five times in ten, Remove
// (of a wide rule's ID one time in three) and Replace twice each, AddAll once. An AddAll holds 0 to 4 rules with
// distinct IDs, each in the other bucket one time in three, and one time in
// ten its last rule takes the first one's ID.
func RandOp(rng *rand.Rand) Op {
	bucket := Buckets[rng.IntN(len(Buckets))]
	if rng.IntN(24) == 0 {
		n := MinWide + rng.IntN(8)
		return Op{Kind: OpReplace, Bucket: bucket, Rules: WideRules(rng, bucket, rng.IntN(len(widePrefixes)), n)}
	}
	switch k := rng.IntN(10); {
	case k < 5:
		return Op{Kind: OpAdd, Rule: RandRule(rng, bucket)}
	case k < 7:
		if rng.IntN(3) == 0 {
			return Op{Kind: OpRemove, Bucket: bucket, ID: WideIDs[rng.IntN(len(WideIDs))]}
		}
		return Op{Kind: OpRemove, Bucket: bucket, ID: IDs[rng.IntN(len(IDs))]}
	case k < 8:
		n := rng.IntN(5)
		if n == 0 {
			return Op{Kind: OpAddAll}
		}
		rules := RandRules(rng, bucket, n)
		for i := range rules {
			if rng.IntN(3) == 0 {
				rules[i].Bucket = otherBucket(bucket)
			}
		}
		if rng.IntN(10) == 0 && n > 1 {
			rules[n-1].ID = rules[0].ID
		}
		return Op{Kind: OpAddAll, Rules: rules}
	default:
		n := rng.IntN(5)
		if n == 0 {
			return Op{Kind: OpReplace, Bucket: bucket}
		}
		rules := RandRules(rng, bucket, n)
		if rng.IntN(10) == 0 {
			i := rng.IntN(n)
			rules[i].Bucket = otherBucket(bucket)
		}
		if rng.IntN(10) == 0 && n > 1 {
			rules[n-1].ID = rules[0].ID
		}
		return Op{Kind: OpReplace, Bucket: bucket, Rules: rules}
	}
}

// RandOps returns n random operations.
func RandOps(rng *rand.Rand, n int) []Op {
	ops := make([]Op, n)
	for i := range ops {
		ops[i] = RandOp(rng)
	}
	return ops
}

func otherBucket(b string) string {
	if b == Buckets[0] {
		return Buckets[1]
	}
	return Buckets[0]
}

// ShortKeys returns every key over Alphabet of length 0 to n, shortest first.
func ShortKeys(n int) []string {
	keys := []string{""}
	level := []string{""}
	for range n {
		var next []string
		for _, k := range level {
			for i := 0; i < len(Alphabet); i++ {
				next = append(next, k+Alphabet[i:i+1])
			}
		}
		keys = append(keys, next...)
		level = next
	}
	return keys
}
