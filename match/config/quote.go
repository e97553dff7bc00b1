// This file quotes input values in error messages without echoing a huge
// value back: at most maxQuoted bytes of it, and how long it was.

package config

import (
	"fmt"
	"unicode/utf8"
)

// maxQuoted is the most bytes of an input value an error message quotes.
const maxQuoted = 200

// quote returns s quoted as by %q, cut to maxQuoted bytes (at a rune
// boundary) with its full length noted when it is longer.
func quote(s string) string {
	if len(s) <= maxQuoted {
		return fmt.Sprintf("%q", s)
	}
	n := maxQuoted
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return fmt.Sprintf("%q… (%d bytes)", s[:n], len(s))
}

// clip returns s cut to maxQuoted bytes (at a rune boundary), with its full
// length noted when it is longer, for input that an error shows unquoted,
// such as an element name.
func clip(s string) string {
	if len(s) <= maxQuoted {
		return s
	}
	n := maxQuoted
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return fmt.Sprintf("%s… (%d bytes)", s[:n], len(s))
}
