// This file defines Metadata, a JSON object of strings that keeps its members
// in the order written. encoding/json decodes an object into a map, which
// forgets the order; a payload decoded and encoded again would then not come
// out the same.

package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Metadata is a JSON object whose values are strings, in the order written;
// a name given twice appears twice. null and {} decode to an empty Metadata.
type Metadata []MetaField

// MetaField is one member of a Metadata object.
type MetaField struct {
	Name  string
	Value string
}

// Get returns the value of the first member named name, exactly.
func (m Metadata) Get(name string) (string, bool) {
	for _, f := range m {
		if f.Name == name {
			return f.Value, true
		}
	}
	return "", false
}

// MarshalJSON writes m as a JSON object, members in order.
func (m Metadata) MarshalJSON() ([]byte, error) {
	if m == nil {
		return []byte("{}"), nil
	}
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, f := range m {
		if i > 0 {
			buf.WriteByte(',')
		}
		name, _ := json.Marshal(f.Name)
		value, _ := json.Marshal(f.Value)
		buf.Write(name)
		buf.WriteByte(':')
		buf.Write(value)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// UnmarshalJSON reads a JSON object of strings, or null, keeping the order of
// its members. A value that is not a string is an error naming the member.
func (m *Metadata) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		*m = nil
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("metadata is a JSON %s, want an object of strings", kindOf(tok))
	}
	out := (*m)[:0]
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := tok.(string)
		tok, err = dec.Token()
		if err != nil {
			return err
		}
		value, ok := tok.(string)
		if !ok {
			return fmt.Errorf("metadata member %s is a JSON %s, want a string", quote(name), kindOf(tok))
		}
		out = append(out, MetaField{Name: name, Value: value})
	}
	if _, err := dec.Token(); err != nil {
		return err
	}
	*m = out
	return nil
}

// kindOf names the JSON kind of a token from json.Decoder.Token.
func kindOf(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			return "array"
		}
		return "object"
	case bool:
		return "boolean"
	case float64, json.Number:
		return "number"
	case string:
		return "string"
	case nil:
		return "null"
	}
	return "value"
}

// quote quotes s as %q does, cut to 64 bytes with its length noted.
func quote(s string) string {
	const maxQuoted = 64
	if len(s) <= maxQuoted {
		return fmt.Sprintf("%q", s)
	}
	n := maxQuoted
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return fmt.Sprintf("%q… (%d bytes)", s[:n], len(s))
}
