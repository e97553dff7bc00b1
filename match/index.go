package match

import (
	"fmt"
	"sync"
)

// Index holds the rules of many buckets and resolves events to rules.
// (Temporary linear implementation; the tree-based index replaces it.)
type Index struct {
	mu    sync.Mutex
	rules map[string][]Rule
	n     int
}

// New returns an empty Index.
func New() *Index { return &Index{rules: map[string][]Rule{}} }

// Add inserts r, or returns an error if it is invalid, its ID is taken, or it overlaps a held rule.
func (x *Index) Add(r Rule) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if err := r.Validate(); err != nil {
		return err
	}
	for _, h := range x.rules[r.Bucket] {
		if h.ID == r.ID {
			return fmt.Errorf("match: rule %q in bucket %q: %w", r.ID, r.Bucket, ErrDuplicateID)
		}
		if e, k, ok := Overlap(r, h); ok {
			return &ConflictError{Rule: r, Existing: h, Event: e, Key: k}
		}
	}
	x.rules[r.Bucket] = append(x.rules[r.Bucket], r)
	x.n++
	return nil
}

// Remove deletes the rule id of bucket and reports whether it was held.
func (x *Index) Remove(bucket, id string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	rs := x.rules[bucket]
	for i, h := range rs {
		if h.ID == id {
			x.rules[bucket] = append(rs[:i:i], rs[i+1:]...)
			x.n--
			return true
		}
	}
	return false
}

// Replace sets the whole configuration of bucket, all or nothing.
func (x *Index) Replace(bucket string, rules []Rule) error {
	y := New()
	for _, r := range rules {
		if r.Bucket != bucket {
			return fmt.Errorf("match: rule %q names bucket %q, not %q: %w", r.ID, r.Bucket, bucket, ErrInvalidRule)
		}
		if err := y.Add(r); err != nil {
			return err
		}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.n += len(rules) - len(x.rules[bucket])
	x.rules[bucket] = y.rules[bucket]
	return nil
}

// Match returns the rule an event triggers.
func (x *Index) Match(bucket string, e Event, key string) (Rule, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, h := range x.rules[bucket] {
		if h.Matches(bucket, e, key) {
			return h, true
		}
	}
	return Rule{}, false
}

// Len returns the number of rules held.
func (x *Index) Len() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.n
}
