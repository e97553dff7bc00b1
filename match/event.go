// This file defines the event vocabulary: the concrete event types an object
// store reports, the wildcards that name a family of them, and their parsing.
//
// Names are parsed strictly (case-sensitive, no spaces). Both the COS and the
// S3 spelling of a type parse to the same Event; String always gives the COS
// name, or the S3 name for the S3 families COS lacks. An unknown name is an
// *EventNameError that quotes it and suggests the closest valid name, found by
// edit distance over the whole vocabulary after removing stray spaces.

package match

import (
	"errors"
	"fmt"
	"iter"
	"math/bits"
	"slices"
	"strings"
	"unicode/utf8"
)

// Event is one concrete object-storage event type, such as
// cos:ObjectCreated:Put. The zero Event is not a valid type.
type Event uint8

// The concrete event types. The first eleven are the COS types (and their S3
// spellings where S3 has them); the rest are S3 families COS lacks, which are
// types of their own.
const (
	ObjectCreatedPut                             Event = iota + 1 // cos:ObjectCreated:Put, s3:ObjectCreated:Put
	ObjectCreatedPost                                             // cos:ObjectCreated:Post, s3:ObjectCreated:Post
	ObjectCreatedCopy                                             // cos:ObjectCreated:Copy, s3:ObjectCreated:Copy
	ObjectCreatedCompleteMultipartUpload                          // cos:ObjectCreated:CompleteMultipartUpload, s3:ObjectCreated:CompleteMultipartUpload
	ObjectCreatedOrigin                                           // cos:ObjectCreated:Origin (image origin-pull)
	ObjectCreatedReplication                                      // cos:ObjectCreated:Replication (cross-region replication)
	ObjectCreatedAppend                                           // cos:ObjectCreated:Append
	ObjectRemoveDelete                                            // cos:ObjectRemove:Delete, s3:ObjectRemoved:Delete
	ObjectRemoveDeleteMarkerCreated                               // cos:ObjectRemove:DeleteMarkerCreated, s3:ObjectRemoved:DeleteMarkerCreated
	ObjectRestorePost                                             // cos:ObjectRestore:Post, s3:ObjectRestore:Post
	ObjectRestoreCompleted                                        // cos:ObjectRestore:Completed, s3:ObjectRestore:Completed
	ObjectRestoreDelete                                           // s3:ObjectRestore:Delete
	ReducedRedundancyLostObject                                   // s3:ReducedRedundancyLostObject
	ReplicationOperationFailedReplication                         // s3:Replication:OperationFailedReplication
	ReplicationOperationMissedThreshold                           // s3:Replication:OperationMissedThreshold
	ReplicationOperationReplicatedAfterThreshold                  // s3:Replication:OperationReplicatedAfterThreshold
	ReplicationOperationNotTracked                                // s3:Replication:OperationNotTracked
	LifecycleExpirationDelete                                     // s3:LifecycleExpiration:Delete
	LifecycleExpirationDeleteMarkerCreated                        // s3:LifecycleExpiration:DeleteMarkerCreated
	LifecycleTransition                                           // s3:LifecycleTransition
	IntelligentTiering                                            // s3:IntelligentTiering
	ObjectTaggingPut                                              // s3:ObjectTagging:Put
	ObjectTaggingDelete                                           // s3:ObjectTagging:Delete
	ObjectAclPut                                                  // s3:ObjectAcl:Put

	// MaxEvent is the highest valid Event. Events run from 1 to MaxEvent.
	MaxEvent = ObjectAclPut
)

// eventNames holds the canonical name of every Event, indexed by its value.
var eventNames = [MaxEvent + 1]string{
	ObjectCreatedPut:                             "cos:ObjectCreated:Put",
	ObjectCreatedPost:                            "cos:ObjectCreated:Post",
	ObjectCreatedCopy:                            "cos:ObjectCreated:Copy",
	ObjectCreatedCompleteMultipartUpload:         "cos:ObjectCreated:CompleteMultipartUpload",
	ObjectCreatedOrigin:                          "cos:ObjectCreated:Origin",
	ObjectCreatedReplication:                     "cos:ObjectCreated:Replication",
	ObjectCreatedAppend:                          "cos:ObjectCreated:Append",
	ObjectRemoveDelete:                           "cos:ObjectRemove:Delete",
	ObjectRemoveDeleteMarkerCreated:              "cos:ObjectRemove:DeleteMarkerCreated",
	ObjectRestorePost:                            "cos:ObjectRestore:Post",
	ObjectRestoreCompleted:                       "cos:ObjectRestore:Completed",
	ObjectRestoreDelete:                          "s3:ObjectRestore:Delete",
	ReducedRedundancyLostObject:                  "s3:ReducedRedundancyLostObject",
	ReplicationOperationFailedReplication:        "s3:Replication:OperationFailedReplication",
	ReplicationOperationMissedThreshold:          "s3:Replication:OperationMissedThreshold",
	ReplicationOperationReplicatedAfterThreshold: "s3:Replication:OperationReplicatedAfterThreshold",
	ReplicationOperationNotTracked:               "s3:Replication:OperationNotTracked",
	LifecycleExpirationDelete:                    "s3:LifecycleExpiration:Delete",
	LifecycleExpirationDeleteMarkerCreated:       "s3:LifecycleExpiration:DeleteMarkerCreated",
	LifecycleTransition:                          "s3:LifecycleTransition",
	IntelligentTiering:                           "s3:IntelligentTiering",
	ObjectTaggingPut:                             "s3:ObjectTagging:Put",
	ObjectTaggingDelete:                          "s3:ObjectTagging:Delete",
	ObjectAclPut:                                 "s3:ObjectAcl:Put",
}

// s3Names holds the S3 spelling of the COS types S3 also has.
var s3Names = map[Event]string{
	ObjectCreatedPut:                     "s3:ObjectCreated:Put",
	ObjectCreatedPost:                    "s3:ObjectCreated:Post",
	ObjectCreatedCopy:                    "s3:ObjectCreated:Copy",
	ObjectCreatedCompleteMultipartUpload: "s3:ObjectCreated:CompleteMultipartUpload",
	ObjectRemoveDelete:                   "s3:ObjectRemoved:Delete",
	ObjectRemoveDeleteMarkerCreated:      "s3:ObjectRemoved:DeleteMarkerCreated",
	ObjectRestorePost:                    "s3:ObjectRestore:Post",
	ObjectRestoreCompleted:               "s3:ObjectRestore:Completed",
}

// The event families that wildcards name.
var (
	// ObjectCreated is every cos:ObjectCreated type (cos:ObjectCreated:* and s3:ObjectCreated:*).
	ObjectCreated = eventRange(ObjectCreatedPut, ObjectCreatedAppend)
	// ObjectRemove is every cos:ObjectRemove type (cos:ObjectRemove:* and s3:ObjectRemoved:*).
	ObjectRemove = eventRange(ObjectRemoveDelete, ObjectRemoveDeleteMarkerCreated)
	// ObjectRestore is cos:ObjectRestore:*: Post and Completed.
	ObjectRestore = eventRange(ObjectRestorePost, ObjectRestoreCompleted)
	// S3ObjectRestore is s3:ObjectRestore:*: Post, Completed and Delete.
	S3ObjectRestore = eventRange(ObjectRestorePost, ObjectRestoreDelete)
	// Replication is s3:Replication:*.
	Replication = eventRange(ReplicationOperationFailedReplication, ReplicationOperationNotTracked)
	// LifecycleExpiration is s3:LifecycleExpiration:*.
	LifecycleExpiration = eventRange(LifecycleExpirationDelete, LifecycleExpirationDeleteMarkerCreated)
	// ObjectTagging is s3:ObjectTagging:*.
	ObjectTagging = eventRange(ObjectTaggingPut, ObjectTaggingDelete)
	// AllEvents holds every concrete Event.
	AllEvents = eventRange(1, MaxEvent)
)

// wildcards maps each wildcard name to its family, in a stable order for
// EventSet.String: COS names first.
var wildcards = []wildcard{
	{"cos:ObjectCreated:*", ObjectCreated},
	{"cos:ObjectRemove:*", ObjectRemove},
	{"cos:ObjectRestore:*", ObjectRestore},
	{"s3:ObjectCreated:*", ObjectCreated},
	{"s3:ObjectRemoved:*", ObjectRemove},
	{"s3:ObjectRestore:*", S3ObjectRestore},
	{"s3:Replication:*", Replication},
	{"s3:LifecycleExpiration:*", LifecycleExpiration},
	{"s3:ObjectTagging:*", ObjectTagging},
}

// wildcard is one wildcard name and the family it stands for.
type wildcard struct {
	name string
	set  EventSet
}

// wildcardsBySize lists the wildcards of more than one type, largest first
// (COS before S3 among equals), for Names.
var wildcardsBySize = func() []wildcard {
	ws := slices.DeleteFunc(slices.Clone(wildcards), func(w wildcard) bool { return w.set.Len() < 2 })
	slices.SortStableFunc(ws, func(a, b wildcard) int { return b.set.Len() - a.set.Len() })
	return ws
}()

// byName maps every accepted name, concrete or wildcard, to its set.
var byName = func() map[string]EventSet {
	m := make(map[string]EventSet, 64)
	for e := Event(1); e <= MaxEvent; e++ {
		m[eventNames[e]] = e.Set()
	}
	for e, n := range s3Names {
		m[n] = e.Set()
	}
	for _, w := range wildcards {
		m[w.name] = w.set
	}
	return m
}()

func eventRange(lo, hi Event) EventSet {
	var s EventSet
	for e := lo; e <= hi; e++ {
		s |= e.Set()
	}
	return s
}

// ErrUnknownEvent is wrapped by the *EventNameError that ParseEvent and
// ParseEventSet return for a name they do not know.
var ErrUnknownEvent = errors.New("unknown event name")

// EventNameError reports an event name that could not be parsed.
type EventNameError struct {
	Name       string // the name as given
	Suggestion string // the closest valid name, or "" if none is close
	Wildcard   bool   // Name is a valid wildcard where one concrete type was required
}

// Error quotes the name (its first 64 bytes when it is longer) and, when
// there is one, the suggestion.
func (e *EventNameError) Error() string {
	if e.Wildcard {
		return fmt.Sprintf("match: event %s is a wildcard; a concrete event type is required here", quoteName(e.Name))
	}
	if e.Suggestion != "" {
		return fmt.Sprintf("match: unknown event %s (did you mean %q?)", quoteName(e.Name), e.Suggestion)
	}
	return fmt.Sprintf("match: unknown event %s", quoteName(e.Name))
}

// Unwrap returns ErrUnknownEvent.
func (e *EventNameError) Unwrap() error { return ErrUnknownEvent }

// ParseEvent parses the COS or S3 name of one concrete event type. A wildcard
// such as cos:ObjectCreated:* is an error here; use ParseEventSet for those.
func ParseEvent(name string) (Event, error) {
	s, ok := byName[name]
	if !ok {
		return 0, unknownEvent(name)
	}
	if s.Len() != 1 {
		return 0, &EventNameError{Name: name, Wildcard: true}
	}
	return Event(bits.TrailingZeros64(uint64(s))), nil
}

// String returns the COS name of e (for example "cos:ObjectCreated:Put"), or
// the S3 name for the S3 types COS lacks.
func (e Event) String() string {
	if e.Valid() {
		return eventNames[e]
	}
	return fmt.Sprintf("match.Event(%d)", uint8(e))
}

// S3Name returns the S3 name of e (for example "s3:ObjectRemoved:Delete"), or
// "" for the COS types S3 lacks (Origin, Replication and Append).
func (e Event) S3Name() string {
	if n, ok := s3Names[e]; ok {
		return n
	}
	if e.Valid() && strings.HasPrefix(eventNames[e], "s3:") {
		return eventNames[e]
	}
	return ""
}

// Valid reports whether e is one of the defined event types.
func (e Event) Valid() bool { return e >= 1 && e <= MaxEvent }

// Set returns the EventSet holding only e.
func (e Event) Set() EventSet {
	if !e.Valid() {
		return 0
	}
	return 1 << e
}

// MarshalText encodes e as its name.
func (e Event) MarshalText() ([]byte, error) {
	if !e.Valid() {
		return nil, fmt.Errorf("match: cannot encode invalid event %d", uint8(e))
	}
	return []byte(eventNames[e]), nil
}

// UnmarshalText parses a name with ParseEvent.
func (e *Event) UnmarshalText(text []byte) error {
	v, err := ParseEvent(string(text))
	if err != nil {
		return err
	}
	*e = v
	return nil
}

// EventSet is a set of concrete event types: bit e is set when Event e is in it.
type EventSet uint64

// ParseEventSet parses one or more event names, concrete or wildcard, and
// returns their union. The first unknown name is an *EventNameError.
func ParseEventSet(names ...string) (EventSet, error) {
	var s EventSet
	for _, n := range names {
		v, ok := byName[n]
		if !ok {
			return 0, unknownEvent(n)
		}
		s |= v
	}
	return s, nil
}

// Has reports whether e is in s.
func (s EventSet) Has(e Event) bool { return e.Valid() && s&(1<<e) != 0 }

// Len returns the number of event types in s.
func (s EventSet) Len() int { return bits.OnesCount64(uint64(s & AllEvents)) }

// Intersect returns the events in both s and t.
func (s EventSet) Intersect(t EventSet) EventSet { return s & t }

// Union returns the events in s or t.
func (s EventSet) Union(t EventSet) EventSet { return s | t }

// Events yields the events of s in ascending order.
func (s EventSet) Events() iter.Seq[Event] {
	return func(yield func(Event) bool) {
		for v := uint64(s & AllEvents); v != 0; v &= v - 1 {
			if !yield(Event(bits.TrailingZeros64(v))) {
				return
			}
		}
	}
}

// First returns the lowest event in s, or 0 when s is empty.
func (s EventSet) First() Event {
	v := uint64(s & AllEvents)
	if v == 0 {
		return 0
	}
	return Event(bits.TrailingZeros64(v))
}

// Names returns the shortest list of names that parses back to s: a wildcard
// for each whole family, then the remaining concrete types.
func (s EventSet) Names() []string {
	s &= AllEvents
	var names []string
	rest := s
	for _, w := range wildcardsBySize {
		if rest&w.set == w.set {
			names = append(names, w.name)
			rest &^= w.set
		}
	}
	for e := range rest.Events() {
		names = append(names, eventNames[e])
	}
	return names
}

// String returns the names of s joined by commas, or "{}" when it is empty.
func (s EventSet) String() string {
	if s&AllEvents == 0 {
		return "{}"
	}
	return strings.Join(s.Names(), ",")
}

// unknownEvent builds the error for a name not in the vocabulary, with the
// closest valid name as a suggestion.
func unknownEvent(name string) error {
	err := &EventNameError{Name: name}
	compact := strings.Join(strings.Fields(name), "")
	if _, ok := byName[compact]; ok {
		err.Suggestion = compact
		return err
	}
	if len(compact) > 2*longestName {
		return err // nothing is close; do not spend time on a huge name
	}
	lower := strings.ToLower(compact)
	best, bestDist := "", len(compact)/3+2
	for n := range byName {
		// The length difference is a lower bound of the distance. A name
		// as close as the best so far is still compared: ties go to the
		// name that sorts first, whatever order the map yields.
		if d := len(lower) - len(n); d > bestDist || -d > bestDist {
			continue
		}
		if d := editDistance(lower, strings.ToLower(n)); d < bestDist || d == bestDist && best != "" && n < best {
			best, bestDist = n, d
		}
	}
	err.Suggestion = best
	return err
}

// longestName is the length of the longest event name.
var longestName = func() int {
	l := 0
	for n := range byName {
		l = max(l, len(n))
	}
	return l
}()

// quoteName quotes an event name for an error, cutting it after 64 bytes.
func quoteName(name string) string { return quoteCut(name, 64) }

// maxQuoted is the most bytes of an ID, bucket name or key that an error
// of this package quotes.
const maxQuoted = 200

// quote quotes s for an error, cutting it after maxQuoted bytes.
func quote(s string) string { return quoteCut(s, maxQuoted) }

// quoteCut returns s quoted as by %q, cut to at most n bytes (at a rune
// boundary) with its full length noted when it is longer, so that an error
// about a huge value does not repeat it.
func quoteCut(s string, n int) string {
	if len(s) <= n {
		return fmt.Sprintf("%q", s)
	}
	// Back up to the start of the rune that the cut would split, if
	// there is one within a rune's length: bytes that are not UTF-8 are
	// cut where they are.
	for i := n; i > 0 && i > n-utf8.UTFMax; i-- {
		if utf8.RuneStart(s[i]) {
			n = i
			break
		}
	}
	return fmt.Sprintf("%q… (%d bytes)", s[:n], len(s))
}

// editDistance is the Levenshtein distance between a and b in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
