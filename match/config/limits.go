// This file checks a set of rules against a store's quotas, given as a named
// profile. Counting is one pass over the rules with a map per quota; the
// findings come out in the order the buckets, targets and rules first appear
// (bucket counts, then target counts, then each rule's events, target and
// region in rule order), so the output is stable.

package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/notifymux/notifymux/match"
)

// ErrLimit is wrapped by every *LimitError.
var ErrLimit = errors.New("over a limit")

// ErrUnknownProfile is returned by Profile for a name it does not know.
var ErrUnknownProfile = errors.New("unknown limits profile")

// Limits are the quotas of an object store. The zero value has no limits.
type Limits struct {
	Name              string // the profile's name, used in messages ("cos")
	MaxRulesPerBucket int    // most rules one bucket may hold; 0 means no limit
	MaxRulesPerTarget int    // most rules, across all buckets, that may name one target; 0 means no limit
	// SameRegion requires a rule whose target is a QCS function name
	// (qcs:0:lambda:REGION:…) to be in a bucket of the same region, when the
	// bucket's region is known. Regions are compared with SameRegion.
	SameRegion bool
	// Events, when not zero, is the set of event types the store has; a
	// rule naming others (S3 families COS lacks, such as s3:ObjectTagging:*)
	// is reported.
	Events match.EventSet
	// SCFTargets requires every target to be an SCF function's QCS name
	// (qcs::scf:REGION:… or qcs:0:lambda:REGION:…, see TargetRegion).
	SCFTargets bool
}

// COSEvents holds the event types COS has: cos:ObjectCreated:*,
// cos:ObjectRemove:* and cos:ObjectRestore:*.
const COSEvents = match.EventSet(1<<(match.ObjectRestoreCompleted+1) - 1<<match.ObjectCreatedPut)

// The profiles.
var (
	// COS is Tencent COS: at most 10 rules (triggers) per bucket, at most 10
	// COS triggers per function, a function only in its bucket's region,
	// only SCF functions as targets and only the COS event types.
	COS = Limits{Name: "cos", MaxRulesPerBucket: 10, MaxRulesPerTarget: 10, SameRegion: true, Events: COSEvents, SCFTargets: true}
	// None has no limits. It is the default.
	None = Limits{Name: "none"}
)

// Profile returns the limits called name: "cos", or "none" (also "").
func Profile(name string) (Limits, error) {
	switch name {
	case "cos":
		return COS, nil
	case "none", "":
		return None, nil
	}
	return Limits{}, fmt.Errorf("config: limits profile %s (want cos or none): %w", quote(name), ErrUnknownProfile)
}

// LimitKind says which limit a LimitError is about.
type LimitKind uint8

// The kinds of limit.
const (
	LimitBucketRules LimitKind = iota + 1 // Limits.MaxRulesPerBucket
	LimitTargetRules                      // Limits.MaxRulesPerTarget
	LimitRegion                           // Limits.SameRegion
	LimitEvents                           // Limits.Events
	LimitTarget                           // Limits.SCFTargets
)

// LimitError is one rule, bucket or target over a limit.
type LimitError struct {
	Profile      string         // Limits.Name
	Kind         LimitKind      // which limit
	Bucket       string         // every kind but LimitTargetRules: the bucket
	Target       string         // LimitTargetRules, LimitRegion and LimitTarget: the target
	Count, Max   int            // LimitBucketRules and LimitTargetRules: how many rules, and the limit
	Rule         match.Rule     // LimitRegion, LimitEvents and LimitTarget: the rule
	Events       match.EventSet // LimitEvents: the rule's events the store lacks
	BucketRegion string         // LimitRegion: the bucket's region as given
	TargetRegion string         // LimitRegion: the target's region as given
}

// Error says what is over which limit, quoting at most 200 bytes of each
// name.
func (e *LimitError) Error() string {
	switch e.Kind {
	case LimitBucketRules:
		return fmt.Sprintf("config: bucket %s has %d rules, over the %s limit of %d per bucket", quote(e.Bucket), e.Count, e.Profile, e.Max)
	case LimitTargetRules:
		return fmt.Sprintf("config: target %s is named by %d rules, over the %s limit of %d per target", quote(e.Target), e.Count, e.Profile, e.Max)
	case LimitEvents:
		return fmt.Sprintf("config: rule %s in bucket %s: %s, which the %s profile lacks", quote(e.Rule.ID), quote(e.Bucket), EventList(e.Events), e.Profile)
	case LimitTarget:
		return fmt.Sprintf("config: rule %s in bucket %s: target %s is not an SCF function (qcs::scf:REGION:… or qcs:0:lambda:REGION:…), which the %s profile requires",
			quote(e.Rule.ID), quote(e.Bucket), quote(e.Target), e.Profile)
	}
	return fmt.Sprintf("config: rule %s in bucket %s: target region %s (%s) differs from the bucket's region %s (%s), which the %s profile forbids",
		quote(e.Rule.ID), quote(e.Bucket), quote(e.TargetRegion), clip(CanonicalRegion(e.TargetRegion)), quote(e.BucketRegion), clip(CanonicalRegion(e.BucketRegion)), e.Profile)
}

// EventList names the events of s as "event NAME" or "events NAME, NAME",
// in S3 spelling where S3 has a name (COS spelling otherwise), with the
// fewest names.
func EventList(s match.EventSet) string {
	names := EventNames(s, true)
	if len(names) == 1 {
		return "event " + names[0]
	}
	return "events " + strings.Join(names, ", ")
}

// Unwrap returns ErrLimit.
func (e *LimitError) Unwrap() error { return ErrLimit }

// Check returns every limit that rules break. regionOf gives the region of a
// bucket, or "" when it is unknown; it may be nil.
func (l Limits) Check(rules []match.Rule, regionOf func(bucket string) string) []*LimitError {
	var out []*LimitError
	type count struct{ n int }
	counter := func(max int, key func(match.Rule) string, mk func(k string, n int) *LimitError) {
		if max <= 0 {
			return
		}
		counts := map[string]*count{}
		var order []string
		for _, r := range rules {
			k := key(r)
			c := counts[k]
			if c == nil {
				c = &count{}
				counts[k] = c
				order = append(order, k)
			}
			c.n++
		}
		for _, k := range order {
			if n := counts[k].n; n > max {
				out = append(out, mk(k, n))
			}
		}
	}
	counter(l.MaxRulesPerBucket, func(r match.Rule) string { return r.Bucket }, func(k string, n int) *LimitError {
		return &LimitError{Profile: l.Name, Kind: LimitBucketRules, Bucket: k, Count: n, Max: l.MaxRulesPerBucket}
	})
	counter(l.MaxRulesPerTarget, func(r match.Rule) string { return r.Target }, func(k string, n int) *LimitError {
		return &LimitError{Profile: l.Name, Kind: LimitTargetRules, Target: k, Count: n, Max: l.MaxRulesPerTarget}
	})
	for _, r := range rules {
		if l.Events != 0 && r.Events&^l.Events&match.AllEvents != 0 {
			out = append(out, &LimitError{Profile: l.Name, Kind: LimitEvents, Bucket: r.Bucket, Rule: r, Events: r.Events &^ l.Events & match.AllEvents})
		}
		tr, ok := TargetRegion(r.Target)
		if !ok {
			if l.SCFTargets {
				out = append(out, &LimitError{Profile: l.Name, Kind: LimitTarget, Bucket: r.Bucket, Target: r.Target, Rule: r})
			}
			continue
		}
		if !l.SameRegion || regionOf == nil {
			continue
		}
		br := regionOf(r.Bucket)
		if br == "" || SameRegion(br, tr) {
			continue
		}
		out = append(out, &LimitError{Profile: l.Name, Kind: LimitRegion, Bucket: r.Bucket, Target: r.Target,
			Rule: r, BucketRegion: br, TargetRegion: tr})
	}
	return out
}
