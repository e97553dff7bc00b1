// This file defines a Rule, when it matches an event, and when two rules
// overlap. Overlap is the pure predicate the Index enforces; it compares the
// three parts of a rule separately (event set, prefix, suffix) and combines
// the results, as net/http's pattern conflict check does for method and path.

package match

import (
	"errors"
	"fmt"
	"strings"
)

// MaxFilterLen is the longest Prefix or Suffix a Rule may have, in bytes (S3's limit).
const MaxFilterLen = 1024

// Rule is one notification rule of a bucket: the events it reacts to, an
// optional key prefix and suffix, and the function it triggers.
type Rule struct {
	ID     string   // unique within its bucket; required
	Bucket string   // the bucket the rule belongs to; required
	Events EventSet // the event types; at least one
	Prefix string   // the key must start with it; "" matches every key
	Suffix string   // the key must end with it; "" matches every key
	Target string   // the function to invoke; required
}

// ErrInvalidRule is wrapped by the error Validate returns.
var ErrInvalidRule = errors.New("invalid rule")

// Validate reports the first field of r that breaks the rules of the package
// documentation, naming the rule and the field. The rule's ID and bucket are
// quoted and cut after 200 bytes.
func (r Rule) Validate() error {
	var reason string
	switch {
	case r.Bucket == "":
		reason = "bucket is empty"
	case r.ID == "":
		reason = "id is empty"
	case r.Events&AllEvents == 0:
		reason = "no event types"
	case r.Events&^AllEvents != 0:
		reason = fmt.Sprintf("event set %#x holds bits that are no event type", uint64(r.Events&^AllEvents))
	case len(r.Prefix) > MaxFilterLen:
		reason = fmt.Sprintf("prefix is %d bytes, over the %d-byte limit", len(r.Prefix), MaxFilterLen)
	case len(r.Suffix) > MaxFilterLen:
		reason = fmt.Sprintf("suffix is %d bytes, over the %d-byte limit", len(r.Suffix), MaxFilterLen)
	case r.Target == "":
		reason = "target is empty"
	default:
		return nil
	}
	return fmt.Errorf("match: rule %s in bucket %s: %s: %w", quote(r.ID), quote(r.Bucket), reason, ErrInvalidRule)
}

// Matches reports whether an event of type e on key in bucket triggers r: the
// bucket is r's, e is in r.Events, key starts with r.Prefix and key ends with
// r.Suffix. The prefix and suffix tests are independent, so they may share
// bytes of the key: prefix "ab" with suffix "bc" matches "abc".
func (r Rule) Matches(bucket string, e Event, key string) bool {
	return bucket == r.Bucket && r.Events.Has(e) &&
		strings.HasPrefix(key, r.Prefix) && strings.HasSuffix(key, r.Suffix)
}

// Overlap reports whether some event matches both a and b. Rules of different
// buckets never overlap. Rules of one bucket overlap exactly when their event
// sets intersect, one prefix begins with the other and one suffix ends with
// the other. When they overlap, Overlap returns a witness: the lowest event
// type both hold and a key both match, the longer prefix followed by the
// longer suffix.
func Overlap(a, b Rule) (e Event, key string, ok bool) {
	common := a.Events & b.Events & AllEvents
	if a.Bucket != b.Bucket || common == 0 {
		return 0, "", false
	}
	p, ok := longerPrefix(a.Prefix, b.Prefix)
	if !ok {
		return 0, "", false
	}
	s, ok := longerSuffix(a.Suffix, b.Suffix)
	if !ok {
		return 0, "", false
	}
	return common.First(), p + s, true
}

// longerPrefix returns the longer of a and b when the shorter begins the longer.
func longerPrefix(a, b string) (string, bool) {
	if len(a) < len(b) {
		a, b = b, a
	}
	return a, strings.HasPrefix(a, b)
}

// longerSuffix returns the longer of a and b when the shorter ends the longer.
func longerSuffix(a, b string) (string, bool) {
	if len(a) < len(b) {
		a, b = b, a
	}
	return a, strings.HasSuffix(a, b)
}

// ErrConflict is matched by errors.Is for every *ConflictError.
var ErrConflict = errors.New("rules overlap")

// ConflictError is returned when a rule would overlap one the Index holds.
// It names both rules and gives an event and a key that both match.
type ConflictError struct {
	Rule     Rule   // the rule that was refused
	Existing Rule   // the rule the index holds (or, within one Replace or AddAll, an earlier rule of the same call)
	Event    Event  // an event type both rules hold
	Key      string // a key both rules match
}

// Error names both rule IDs, the bucket, the event and the witness key,
// each quoted and cut after 200 bytes.
func (e *ConflictError) Error() string {
	return fmt.Sprintf("match: rule %s overlaps rule %s in bucket %s: both match %s on key %s",
		quote(e.Rule.ID), quote(e.Existing.ID), quote(e.Rule.Bucket), e.Event, quote(e.Key))
}

// Is reports whether target is ErrConflict.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// ErrDuplicateID is wrapped by the error Add returns when the bucket already
// holds a rule with the same ID.
var ErrDuplicateID = errors.New("duplicate rule id")
