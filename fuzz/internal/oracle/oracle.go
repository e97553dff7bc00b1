// This file is the brute-force oracle for matching and overlap, written from
// the specification's sentences and not from package match's code.
//
// Matches is the literal four-part test. Search decides overlap by trying
// keys: it enumerates every key over the bytes that occur in the two rules'
// filters plus one byte that occurs in none, shortest first and in byte order
// within a length, up to the length of the longer prefix plus the longer
// suffix, and returns the first key that matches both rules. Why that bound
// is exact is explained on Search.

package oracle

import (
	"slices"

	"github.com/notifymux/notifymux/match"
)

// MaxSearchKeys is the largest key space Search enumerates key by key. Rules
// over the tiny alphabets of this package stay far below it (at most 5,461
// keys for filters of up to 3 bytes over "ab/"); beyond it Search prunes.
const MaxSearchKeys = 1 << 14

// maxFilterLen is the specification's limit on a Prefix or Suffix, in bytes.
const maxFilterLen = 1024

// Matches reports whether rule r is triggered by an event of type e on key in
// bucket, decided from the specification alone: the bucket is r's, e is one
// of the event types in r.Events, key begins with r.Prefix and key ends with
// r.Suffix. The two filter tests are independent, so they may share bytes of
// the key. It does not call match.Rule.Matches.
func Matches(r match.Rule, bucket string, e match.Event, key string) bool {
	return matches(r, bucket, e, key)
}

// matches is Matches for a key held as a string or as bytes, so that Search
// can test keys in a reused buffer without converting them.
func matches[K ~string | ~[]byte](r match.Rule, bucket string, e match.Event, key K) bool {
	return bucket == r.Bucket && holds(r.Events, e) && beginsWith(key, r.Prefix) && endsWith(key, r.Suffix)
}

// holds reports whether bit e of s is set and e is an event type (1..MaxEvent).
func holds(s match.EventSet, e match.Event) bool {
	return e >= 1 && e <= match.MaxEvent && uint64(s)>>uint(e)&1 == 1
}

// beginsWith reports whether the first len(p) bytes of key are p.
func beginsWith[K ~string | ~[]byte](key K, p string) bool {
	if len(key) < len(p) {
		return false
	}
	for i := 0; i < len(p); i++ {
		if key[i] != p[i] {
			return false
		}
	}
	return true
}

// endsWith reports whether the last len(s) bytes of key are s.
func endsWith[K ~string | ~[]byte](key K, s string) bool {
	off := len(key) - len(s)
	if off < 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if key[off+i] != s[i] {
			return false
		}
	}
	return true
}

// Overlaps reports whether some key and event type match both a and b: it
// reports whether Search finds a witness.
func Overlaps(a, b match.Rule) bool {
	_, _, ok := Search(a, b)
	return ok
}

// Search looks for an event type and a key that match both a and b (per
// Matches) and returns the first it finds: the lowest common event type and,
// for it, the shortest key, lowest in byte order among those.
//
// It enumerates keys over an alphabet made of every byte occurring in a's and
// b's prefixes and suffixes plus one byte occurring in none of them, of every
// length from 0 to len(longer prefix)+len(longer suffix). This bounded search
// is exact because the prefix and suffix tests are independent: if any key k
// matches both rules, k begins with both prefixes, so the shorter prefix
// begins the longer one P, and k ends with both suffixes, so the shorter
// suffix ends the longer one S; then the key P+S begins with both prefixes
// and ends with both suffixes, so it matches both rules too, and it is
// within the length bound and made only of filter bytes. So if no enumerated
// key matches both, no key at all does. (The extra byte is not needed for
// exactness; it keeps the alphabet non-empty and makes the search try keys
// that hold bytes foreign to every filter.)
//
// When the key space is at most MaxSearchKeys, every key is built and tested
// with Matches. Beyond it (realistic filters such as "images/" and ".jpg"),
// the enumeration skips, while building a key byte by byte, a byte at
// position i that differs from byte i of a prefix (or from the byte a suffix
// puts at position i of a key of that length): every key so skipped fails
// Matches, so the same keys are found in the same order, only faster.
//
// The bucket searched is a's: Matches accepts no other bucket for a, so when
// b's bucket differs no pair can match both and Search reports false at once.
// Event types are tried in ascending order, skipping those one rule lacks
// (Matches rejects them whatever the key). The key tests of Matches do not
// depend on the event type, so once the key search has failed for one event
// type both rules hold, it fails for all of them and Search stops there.
func Search(a, b match.Rule) (e match.Event, key string, ok bool) {
	alphabet := keyAlphabet(a, b)
	maxLen := max(len(a.Prefix), len(b.Prefix)) + max(len(a.Suffix), len(b.Suffix))
	n := keySpace(len(alphabet), maxLen)
	return search(a, b, n < 0 || n > MaxSearchKeys)
}

// search is Search, pruning or not.
func search(a, b match.Rule, prune bool) (match.Event, string, bool) {
	if a.Bucket != b.Bucket {
		return 0, "", false
	}
	s := &keySearch{a: a, b: b, alphabet: keyAlphabet(a, b), prune: prune}
	maxLen := max(len(a.Prefix), len(b.Prefix)) + max(len(a.Suffix), len(b.Suffix))
	buf := make([]byte, maxLen)
	for e := match.Event(1); e <= match.MaxEvent; e++ {
		if !holds(a.Events, e) || !holds(b.Events, e) {
			continue // Matches rejects e for one rule, whatever the key
		}
		s.event = e
		for n := 0; n <= maxLen; n++ {
			s.key = buf[:n]
			if s.fill(0) {
				return e, string(s.key), true
			}
		}
		return 0, "", false // no key for e, hence none for any event
	}
	return 0, "", false
}

// keySearch enumerates the keys of one length in byte order.
type keySearch struct {
	a, b     match.Rule
	event    match.Event
	alphabet []byte
	prune    bool
	key      []byte // the key being built; its length is the length searched
}

// fill tries every byte at position i and beyond, in order, and reports
// whether it completed a key that matches both rules (left in s.key).
func (s *keySearch) fill(i int) bool {
	if i == len(s.key) {
		return matches(s.a, s.a.Bucket, s.event, s.key) && matches(s.b, s.a.Bucket, s.event, s.key)
	}
	for _, c := range s.alphabet {
		if s.prune && !s.fits(i, c) {
			continue
		}
		s.key[i] = c
		if s.fill(i + 1) {
			return true
		}
	}
	return false
}

// fits reports whether byte c at position i agrees with every filter that
// fixes that position in a key of length len(s.key).
func (s *keySearch) fits(i int, c byte) bool {
	n := len(s.key)
	for _, p := range []string{s.a.Prefix, s.b.Prefix} {
		if i < len(p) && p[i] != c {
			return false
		}
	}
	for _, x := range []string{s.a.Suffix, s.b.Suffix} {
		if off := n - len(x); i >= off && x[i-off] != c {
			return false
		}
	}
	return true
}

// keyAlphabet returns, sorted, every byte in a's and b's filters plus the
// first byte from 'x' upwards (wrapping) that occurs in none of them.
func keyAlphabet(a, b match.Rule) []byte {
	var seen [256]bool
	for _, s := range []string{a.Prefix, a.Suffix, b.Prefix, b.Suffix} {
		for i := 0; i < len(s); i++ {
			seen[s[i]] = true
		}
	}
	var alphabet []byte
	for c := 'x'; c < 'x'+256; c++ {
		if !seen[byte(c)] {
			alphabet = append(alphabet, byte(c))
			break
		}
	}
	for c := 0; c < 256; c++ {
		if seen[c] {
			alphabet = append(alphabet, byte(c))
		}
	}
	slices.Sort(alphabet)
	return alphabet
}

// keySpace returns the number of keys of length 0..n over k bytes, or -1 when
// it exceeds MaxSearchKeys.
func keySpace(k, n int) int {
	total, level := 0, 1
	for i := 0; i <= n; i++ {
		total += level
		if total > MaxSearchKeys {
			return -1
		}
		level *= k
		if level > MaxSearchKeys {
			level = MaxSearchKeys + 1
		}
	}
	return total
}

// Fault returns why r is not a valid rule according to the specification
// (item 2: an ID, a bucket, a non-empty set of event types, filters of at
// most 1024 bytes, a target), or "" when it is valid. It does not call
// match.Rule.Validate.
func Fault(r match.Rule) string {
	var any bool
	for e := match.Event(1); e <= match.MaxEvent; e++ {
		any = any || holds(r.Events, e)
	}
	var valid uint64
	for e := match.Event(1); e <= match.MaxEvent; e++ {
		valid |= 1 << uint(e)
	}
	switch {
	case r.ID == "":
		return "id is empty"
	case r.Bucket == "":
		return "bucket is empty"
	case !any:
		return "event set is empty"
	case uint64(r.Events)&^valid != 0:
		return "event set holds bits that are no event type"
	case len(r.Prefix) > maxFilterLen:
		return "prefix is over 1024 bytes"
	case len(r.Suffix) > maxFilterLen:
		return "suffix is over 1024 bytes"
	case r.Target == "":
		return "target is empty"
	}
	return ""
}
