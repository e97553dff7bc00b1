// This file precomputes, for every match.Event, the names the three payload
// formats print, so an encoder indexes an array instead of building strings.
//
// S3 and CloudEvents name the S3 types without the "s3:" prefix
// (ObjectCreated:Put). COS types that S3 lacks (cos:ObjectCreated:Origin,
// :Replication, :Append) keep their COS name without "cos:", so they stay in
// the ObjectCreated family that S3 consumers test for with a prefix
// comparison. CloudEvents types are com.amazonaws.s3.<eventName> for S3 types
// and, for those COS-only types, com.tencent.cos.<eventName>
// (com.tencent.cos.ObjectCreated:Origin), because AWS defines no such type.

package batch

import (
	"strings"

	"github.com/notifymux/notifymux/match"
)

var (
	cosNames [match.MaxEvent + 1]string // cos:ObjectCreated:Put
	s3Names  [match.MaxEvent + 1]string // ObjectCreated:Put
	ceTypes  [match.MaxEvent + 1]string // com.amazonaws.s3.ObjectCreated:Put
	removals [match.MaxEvent + 1]bool   // events after which the object is gone (no size, no eTag)

	// bareEventNames maps the names S3 records carry without a vocabulary
	// prefix (s3Names, and the COS names of the types S3 lacks) to their
	// Event, for the decoder.
	bareEventNames = map[string]match.Event{}
)

func init() {
	for e := match.Event(1); e <= match.MaxEvent; e++ {
		cosNames[e] = e.String()
		if n := e.S3Name(); n != "" {
			s3Names[e] = strings.TrimPrefix(n, "s3:")
			ceTypes[e] = "com.amazonaws.s3." + s3Names[e]
		} else {
			s3Names[e] = strings.TrimPrefix(e.String(), "cos:")
			ceTypes[e] = "com.tencent.cos." + s3Names[e]
		}
	}
	for e := match.Event(1); e <= match.MaxEvent; e++ {
		bareEventNames[s3Names[e]] = e
		if n := e.S3Name(); n != "" {
			bareEventNames[strings.TrimPrefix(n, "s3:")] = e
		}
	}
	for _, s := range []match.EventSet{match.ObjectRemove, match.LifecycleExpiration} {
		for e := range s.Events() {
			removals[e] = true
		}
	}
}

// cosEventName returns the COS name of e, or "" for an invalid e.
func cosEventName(e match.Event) string {
	if e.Valid() {
		return cosNames[e]
	}
	return ""
}

// s3EventName returns the S3 eventName of e, or "" for an invalid e.
func s3EventName(e match.Event) string {
	if e.Valid() {
		return s3Names[e]
	}
	return ""
}

// cloudEventType returns the CloudEvents type of e, or "" for an invalid e.
func cloudEventType(e match.Event) string {
	if e.Valid() {
		return ceTypes[e]
	}
	return ""
}

// isRemoval reports whether e removes the object.
func isRemoval(e match.Event) bool { return e.Valid() && removals[e] }
