// This file finds where a JSON value ends in a stream of bytes, without
// building it: a push-down automaton that takes one byte at a time, as
// encoding/json's scanner does, and says when the value is complete or the
// bytes so far cannot begin any JSON value.
//
// The Decoder uses it to tell a value that continues on the next line (a
// pretty-printed payload) from one that is complete, to skip a value larger
// than MaxValueBytes without holding it, and to notice at once that a line
// cannot continue the value before it, so that it can start over there. The
// stack holds one byte per open object or array; its depth is limited to
// maxNesting, so a line of ten million '[' is refused, not stacked.

package batch

import "fmt"

// maxNesting is the deepest nesting of objects and arrays the scanner takes
// (encoding/json's own limit is 10000).
const maxNesting = 1000

// scanResult is what one byte did to the value being scanned.
type scanResult uint8

const (
	scanContinue  scanResult = iota // the byte belongs to the value, which goes on
	scanEnd                         // the byte ended the value
	scanEndBefore                   // the value ended before the byte (a number); the byte is not part of it
	scanError                       // the byte cannot continue the value; see scanner.err
)

// scanner states.
const (
	stValue           uint8 = iota // a value must start (whitespace allowed)
	stObjectKeyOrEnd               // after '{': a key or '}'
	stObjectKey                    // after ',' in an object: a key
	stColon                        // after a key: ':'
	stAfterValue                   // after a value in a container: ',' or the closer
	stArrayValueOrEnd              // after '[': a value or ']'
	stString                       // inside a string
	stStringEscape                 // after '\' in a string
	stStringHex                    // inside \uXXXX; hexLeft digits remain
	stLiteral                      // inside true, false or null; literal[litPos:] remains
	stNegative                     // after '-': a digit
	stZero                         // after a leading 0
	stInteger                      // in the digits of the integer part
	stDot                          // after '.': a digit
	stFraction                     // in the fraction digits
	stExponentMark                 // after 'e': a sign or digit
	stExponentSign                 // after the exponent's sign: a digit
	stExponent                     // in the exponent digits
	stDone                         // the top-level value is complete
)

// scanner is the state of the scan of one JSON value.
type scanner struct {
	stack   []byte // '{' or '[' for each open container
	state   uint8
	isKey   bool   // the string being scanned is an object key
	hexLeft int    // hex digits left in a \u escape
	literal string // the literal being scanned
	litPos  int
	err     string // why the last byte was refused
}

// reset prepares s to scan a new value.
func (s *scanner) reset() {
	s.stack = s.stack[:0]
	s.state = stValue
	s.err = ""
}

// isSpace reports whether c is JSON whitespace.
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// step scans one byte.
func (s *scanner) step(c byte) scanResult {
	switch s.state {
	case stValue, stArrayValueOrEnd:
		if isSpace(c) {
			return scanContinue
		}
		if c == ']' && s.state == stArrayValueOrEnd {
			return s.closeContainer('[')
		}
		return s.beginValue(c)
	case stObjectKeyOrEnd, stObjectKey:
		switch {
		case isSpace(c):
			return scanContinue
		case c == '"':
			s.state, s.isKey = stString, true
			return scanContinue
		case c == '}' && s.state == stObjectKeyOrEnd:
			return s.closeContainer('{')
		}
		return s.fail(c, "where an object key (a string) was expected")
	case stColon:
		switch {
		case isSpace(c):
			return scanContinue
		case c == ':':
			s.state = stValue
			return scanContinue
		}
		return s.fail(c, "after an object key, where ':' was expected")
	case stAfterValue:
		top := s.stack[len(s.stack)-1]
		switch {
		case isSpace(c):
			return scanContinue
		case c == ',' && top == '{':
			s.state = stObjectKey
			return scanContinue
		case c == ',':
			s.state = stValue
			return scanContinue
		case c == '}' || c == ']':
			return s.closeContainer(c - 2) // '}'-2 == '{', ']'-2 == '['
		}
		if top == '{' {
			return s.fail(c, "after an object member, where ',' or '}' was expected")
		}
		return s.fail(c, "after an array element, where ',' or ']' was expected")
	case stString:
		switch {
		case c == '"':
			if s.isKey {
				s.state = stColon
				return scanContinue
			}
			return s.endValue()
		case c == '\\':
			s.state = stStringEscape
			return scanContinue
		case c < 0x20:
			if c == '\n' {
				s.err = "a string does not end on its line (a line break inside a string must be written \\n)"
				return scanError
			}
			return s.fail(c, "inside a string (control characters must be escaped)")
		}
		return scanContinue
	case stStringEscape:
		switch c {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			s.state = stString
			return scanContinue
		case 'u':
			s.state, s.hexLeft = stStringHex, 4
			return scanContinue
		}
		return s.fail(c, "in a string escape")
	case stStringHex:
		if isHex(c) {
			if s.hexLeft--; s.hexLeft == 0 {
				s.state = stString
			}
			return scanContinue
		}
		return s.fail(c, "in a \\u escape, where a hex digit was expected")
	case stLiteral:
		if c != s.literal[s.litPos] {
			return s.fail(c, fmt.Sprintf("in the literal %s", s.literal))
		}
		if s.litPos++; s.litPos == len(s.literal) {
			return s.endValue()
		}
		return scanContinue
	case stNegative:
		switch {
		case c == '0':
			s.state = stZero
			return scanContinue
		case '1' <= c && c <= '9':
			s.state = stInteger
			return scanContinue
		}
		return s.fail(c, "after '-' in a number")
	case stZero, stInteger:
		switch {
		case '0' <= c && c <= '9' && s.state == stInteger:
			return scanContinue
		case c == '.':
			s.state = stDot
			return scanContinue
		case c == 'e' || c == 'E':
			s.state = stExponentMark
			return scanContinue
		}
		return s.endNumber(c)
	case stDot:
		if '0' <= c && c <= '9' {
			s.state = stFraction
			return scanContinue
		}
		return s.fail(c, "after the decimal point in a number")
	case stFraction:
		switch {
		case '0' <= c && c <= '9':
			return scanContinue
		case c == 'e' || c == 'E':
			s.state = stExponentMark
			return scanContinue
		}
		return s.endNumber(c)
	case stExponentMark:
		switch {
		case c == '+' || c == '-':
			s.state = stExponentSign
			return scanContinue
		case '0' <= c && c <= '9':
			s.state = stExponent
			return scanContinue
		}
		return s.fail(c, "in the exponent of a number")
	case stExponentSign:
		if '0' <= c && c <= '9' {
			s.state = stExponent
			return scanContinue
		}
		return s.fail(c, "in the exponent of a number")
	case stExponent:
		if '0' <= c && c <= '9' {
			return scanContinue
		}
		return s.endNumber(c)
	}
	return s.fail(c, "after the end of the value")
}

// beginValue starts the value whose first byte is c.
func (s *scanner) beginValue(c byte) scanResult {
	switch {
	case c == '{' || c == '[':
		if len(s.stack) >= maxNesting {
			s.err = fmt.Sprintf("objects and arrays nested deeper than %d", maxNesting)
			return scanError
		}
		s.stack = append(s.stack, c)
		if c == '{' {
			s.state = stObjectKeyOrEnd
		} else {
			s.state = stArrayValueOrEnd
		}
		return scanContinue
	case c == '"':
		s.state, s.isKey = stString, false
		return scanContinue
	case c == '-':
		s.state = stNegative
		return scanContinue
	case c == '0':
		s.state = stZero
		return scanContinue
	case '1' <= c && c <= '9':
		s.state = stInteger
		return scanContinue
	case c == 't':
		s.state, s.literal, s.litPos = stLiteral, "true", 1
		return scanContinue
	case c == 'f':
		s.state, s.literal, s.litPos = stLiteral, "false", 1
		return scanContinue
	case c == 'n':
		s.state, s.literal, s.litPos = stLiteral, "null", 1
		return scanContinue
	}
	return s.fail(c, "where a value was expected")
}

// closeContainer closes the innermost container, opened by open.
func (s *scanner) closeContainer(open byte) scanResult {
	if len(s.stack) == 0 || s.stack[len(s.stack)-1] != open {
		return s.fail(open+2, "that closes nothing open")
	}
	s.stack = s.stack[:len(s.stack)-1]
	return s.endValue()
}

// endValue records the end of a value that ended with the current byte.
func (s *scanner) endValue() scanResult {
	if len(s.stack) == 0 {
		s.state = stDone
		return scanEnd
	}
	s.state = stAfterValue
	return scanContinue
}

// endNumber handles c, the byte after a number.
func (s *scanner) endNumber(c byte) scanResult {
	if len(s.stack) == 0 {
		s.state = stDone
		return scanEndBefore
	}
	s.state = stAfterValue
	return s.step(c)
}

// atEOF reports whether the value is complete when the input ends here: a
// top-level number ends with the input, anything open does not.
func (s *scanner) atEOF() bool {
	if s.state == stDone {
		return true
	}
	if len(s.stack) == 0 {
		switch s.state {
		case stZero, stInteger, stFraction, stExponent:
			s.state = stDone
			return true
		}
	}
	s.err = "the input ends inside the value"
	return false
}

// fail records why c cannot continue the value.
func (s *scanner) fail(c byte, where string) scanResult {
	s.err = fmt.Sprintf("unexpected %s %s", describeByte(c), where)
	return scanError
}

// describeByte names a byte for an error message.
func describeByte(c byte) string {
	switch {
	case c == '\n':
		return "end of line"
	case c == '\'':
		return `character '\''`
	case 0x20 <= c && c < 0x7f:
		return fmt.Sprintf("character '%c'", c)
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

// isHex reports whether c is a hexadecimal digit.
func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
