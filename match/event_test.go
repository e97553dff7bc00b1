package match

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseEvent(t *testing.T) {
	tests := []struct {
		name    string
		want    Event
		suggest string // "" when the name parses
	}{
		{"cos:ObjectCreated:Put", ObjectCreatedPut, ""},
		{"s3:ObjectCreated:Put", ObjectCreatedPut, ""},
		{"s3:ObjectRemoved:Delete", ObjectRemoveDelete, ""},
		{"cos:ObjectRemove:DeleteMarkerCreated", ObjectRemoveDeleteMarkerCreated, ""},
		{"cos:ObjectCreated:Append", ObjectCreatedAppend, ""},
		{"s3:ObjectRestore:Delete", ObjectRestoreDelete, ""},
		{"s3:ObjectAcl:Put", ObjectAclPut, ""},
		{"cos: ObjectCreated:Put", 0, "cos:ObjectCreated:Put"},
		{"cos:objectcreated:put", 0, "cos:ObjectCreated:Put"},
		{"cos:ObjectRemoved:Delete", 0, "cos:ObjectRemove:Delete"},
		{"s3:ObjectRemove:Delete", 0, "s3:ObjectRemoved:Delete"},
	}
	for _, tt := range tests {
		got, err := ParseEvent(tt.name)
		if tt.suggest == "" {
			if err != nil || got != tt.want {
				t.Errorf("ParseEvent(%q) = %v, %v; want %v", tt.name, got, err, tt.want)
			}
			continue
		}
		var ne *EventNameError
		if !errors.As(err, &ne) || !errors.Is(err, ErrUnknownEvent) || ne.Suggestion != tt.suggest {
			t.Errorf("ParseEvent(%q) error = %v; want a suggestion of %q", tt.name, err, tt.suggest)
		}
	}
	if _, err := ParseEvent("cos:ObjectCreated:*"); err == nil {
		t.Error("ParseEvent accepted a wildcard")
	}
	if _, err := ParseEvent("zzzz"); err == nil || err.Error() != `match: unknown event "zzzz"` {
		t.Errorf("ParseEvent(zzzz) = %v", err)
	}
}

func TestEventNamesRoundTrip(t *testing.T) {
	for e := Event(1); e <= MaxEvent; e++ {
		got, err := ParseEvent(e.String())
		if err != nil || got != e {
			t.Errorf("ParseEvent(%q) = %v, %v", e.String(), got, err)
		}
		if n := e.S3Name(); n != "" {
			if got, err := ParseEvent(n); err != nil || got != e {
				t.Errorf("ParseEvent(%q) = %v, %v; want %v", n, got, err, e)
			}
		}
		text, _ := e.MarshalText()
		var back Event
		if err := back.UnmarshalText(text); err != nil || back != e {
			t.Errorf("text round trip of %v = %v, %v", e, back, err)
		}
	}
	if s := Event(0).String(); s != "match.Event(0)" {
		t.Errorf("Event(0).String() = %q", s)
	}
}

func TestEventSet(t *testing.T) {
	tests := []struct {
		names []string
		len   int
		str   string
	}{
		{[]string{"cos:ObjectCreated:*"}, 7, "cos:ObjectCreated:*"},
		{[]string{"s3:ObjectCreated:*"}, 7, "cos:ObjectCreated:*"},
		{[]string{"s3:ObjectRestore:*"}, 3, "s3:ObjectRestore:*"},
		{[]string{"cos:ObjectRestore:*"}, 2, "cos:ObjectRestore:*"},
		{[]string{"cos:ObjectRemove:Delete", "s3:ObjectRemoved:DeleteMarkerCreated"}, 2, "cos:ObjectRemove:*"},
		{[]string{"cos:ObjectCreated:Put", "cos:ObjectCreated:Put"}, 1, "cos:ObjectCreated:Put"},
		{[]string{"s3:Replication:*", "s3:ObjectAcl:Put"}, 5, "s3:Replication:*,s3:ObjectAcl:Put"},
	}
	for _, tt := range tests {
		s, err := ParseEventSet(tt.names...)
		if err != nil {
			t.Fatalf("ParseEventSet(%q): %v", tt.names, err)
		}
		if s.Len() != tt.len || s.String() != tt.str {
			t.Errorf("ParseEventSet(%q) = %d events %q; want %d %q", tt.names, s.Len(), s.String(), tt.len, tt.str)
		}
		back, err := ParseEventSet(s.Names()...)
		if err != nil || back != s {
			t.Errorf("Names round trip of %q = %v, %v", tt.names, back, err)
		}
	}
	if _, err := ParseEventSet("cos:ObjectCreated:Put", "cos:ObjectCreate:*"); err == nil {
		t.Error("ParseEventSet accepted an unknown name")
	}
	got := slices.Collect(ObjectRemove.Events())
	if !slices.Equal(got, []Event{ObjectRemoveDelete, ObjectRemoveDeleteMarkerCreated}) {
		t.Errorf("ObjectRemove.Events() = %v", got)
	}
	if AllEvents.Len() != int(MaxEvent) || EventSet(0).String() != "{}" {
		t.Errorf("AllEvents.Len() = %d, empty = %q", AllEvents.Len(), EventSet(0).String())
	}
}

func TestParseEventHugeName(t *testing.T) {
	name := strings.Repeat("x", 1<<20)
	_, err := ParseEvent(name)
	var ne *EventNameError
	if !errors.As(err, &ne) || ne.Name != name || ne.Suggestion != "" {
		t.Fatalf("ParseEvent(1 MiB name) = %v", err)
	}
	if got := len(err.Error()); got > 200 {
		t.Errorf("error text is %d bytes; want the name cut short", got)
	}
	// A long but near name still gets its suggestion.
	if _, err := ParseEvent("cos:ObjectCreated:CompleteMultipartUploads"); !errors.As(err, &ne) || ne.Suggestion != "cos:ObjectCreated:CompleteMultipartUpload" {
		t.Errorf("near long name: %v", err)
	}
}

// TestSuggestionDeterministic checks that a name equally close to several
// valid names always gets the same suggestion (the one that sorts first),
// whatever order the vocabulary map is walked in.
func TestSuggestionDeterministic(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"cos:ObjectCreated:Pot", "cos:ObjectCreated:Post"}, // Post and Put are both one edit away
		{"cos:ObjectRestore:Pos", "cos:ObjectRestore:Post"},
		{"s3:ObjectCreated:Pot", "s3:ObjectCreated:Post"},
	} {
		for i := 0; i < 100; i++ {
			_, err := ParseEvent(tc.name)
			var ne *EventNameError
			if !errors.As(err, &ne) {
				t.Fatalf("ParseEvent(%q) = %v, want an *EventNameError", tc.name, err)
			}
			if ne.Suggestion != tc.want {
				t.Fatalf("ParseEvent(%q), try %d: suggestion %q, want %q", tc.name, i, ne.Suggestion, tc.want)
			}
		}
	}
}
