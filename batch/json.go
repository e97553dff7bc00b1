// This file writes JSON strings and numbers by hand, for the payload encoders.
//
// appendString produces exactly the bytes encoding/json.Marshal produces for a
// string with its default HTML escaping: '"' and '\\' are backslash-escaped;
// \b, \f, \n, \r and \t get their short escapes; every other byte below 0x20
// and the HTML-sensitive '<', '>' and '&' become \u00XX; each byte that does not
// start a valid UTF-8 sequence becomes \ufffd (U+FFFD, the replacement
// character); U+2028 and U+2029 become \u2028 and \u2029 so the output is also
// safe in JavaScript. Everything else is copied as is. (strconv.Quote is not
// JSON: it writes \x00, \a, \v and \U0001F600 forms that JSON lacks.)
//
// The loop tests eight bytes at a time for anything that needs escaping (see
// needsEscape) and copies runs of safe bytes with one append each, so an
// ordinary key costs about one operation per byte and no allocation once dst
// has room.

package batch

import (
	"encoding/binary"
	"strconv"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// jsonSafe[b] is true for the ASCII bytes that appear unescaped inside a JSON
// string written with HTML escaping.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		switch b {
		case '"', '\\', '<', '>', '&':
		default:
			t[b] = true
		}
	}
	return t
}()

// AppendJSONString appends s to dst as a quoted JSON string, escaped exactly
// as encoding/json.Marshal escapes it (see the top of this file; FuzzEscape
// checks it). It allocates nothing once dst has room. The payload encoders,
// dispatch.JSONLines and the notifymux command all write strings with it.
func AppendJSONString(dst []byte, s string) []byte { return appendString(dst, s) }

// appendString appends s as a quoted JSON string.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = appendEscaped(dst, s)
	return append(dst, '"')
}

// appendEscaped appends the escaped contents of a JSON string for s, without
// the quotes, so that several pieces can form one string.
func appendEscaped(dst []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		// Skip safe ASCII eight bytes at a time, then byte by byte.
		for i+8 <= len(s) && !needsEscape(binary.LittleEndian.Uint64([]byte(s[i:i+8]))) {
			i += 8
		}
		for i < len(s) && s[i] < utf8.RuneSelf && jsonSafe[s[i]] {
			i++
		}
		if i == len(s) {
			break
		}
		b := s[i]
		if b < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}

// needsEscape reports whether any of the eight bytes in w is not safe ASCII:
// a byte at or above 0x80, below 0x20, or one of " \\ < > &. (SWAR: the
// "has zero byte" and "has byte less than n" tricks; exact as a yes/no.)
func needsEscape(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	q := w ^ (ones * '"')
	b := w ^ (ones * '\\')
	lt := w ^ (ones * '<')
	gt := w ^ (ones * '>')
	amp := w ^ (ones * '&')
	bad := w | (w-ones*0x20)&^w |
		(q-ones)&^q | (b-ones)&^b | (lt-ones)&^lt | (gt-ones)&^gt | (amp-ones)&^amp
	return bad&highs != 0
}

// appendInt appends n in decimal.
func appendInt(dst []byte, n int64) []byte { return strconv.AppendInt(dst, n, 10) }

// appendUint appends n in decimal.
func appendUint(dst []byte, n uint64) []byte { return strconv.AppendUint(dst, n, 10) }
