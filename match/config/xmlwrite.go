// This file writes the bucket notification XML, the inverse of ReadXML. The
// configuration element is chosen from the target: an ARN of SQS becomes a
// QueueConfiguration, of SNS a TopicConfiguration, anything else (SCF QCS
// names, Lambda ARNs, URLs) a CloudFunctionConfiguration, which is both COS's
// element and S3's XML name for Lambda. Events are written with the fewest
// names (wildcards for whole families), in S3 spelling when the target is an
// AWS ARN and in COS spelling otherwise. Before writing anything the writer
// checks that every rule reads back unchanged, so a failed write emits nothing.

package config

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/notifymux/notifymux/match"
)

// XMLNamespace is the namespace S3 uses for NotificationConfiguration. ReadXML
// accepts documents with or without it; WriteXML writes it only when asked.
const XMLNamespace = "http://s3.amazonaws.com/doc/2006-03-01/"

// WriteXML writes rules, which must all belong to one bucket, as a
// NotificationConfiguration document (with xmlns=namespace unless namespace is
// ""). Every rule must validate, have an Id and target without surrounding
// white space (ReadXML trims them) and hold only characters XML can carry;
// otherwise WriteXML writes nothing and returns an error wrapping
// ErrUnencodable (or match.ErrInvalidRule). Reading the output with ReadXML
// and the same bucket gives rules equal to the input.
func WriteXML(w io.Writer, rules []match.Rule, namespace string) error {
	ids := make(map[string]bool, len(rules))
	for _, r := range rules {
		if err := r.Validate(); err != nil {
			return err
		}
		if r.Bucket != rules[0].Bucket {
			return unencodable(r, "it is in bucket %s, but an XML configuration holds one bucket (%s)", quote(r.Bucket), quote(rules[0].Bucket))
		}
		if ids[r.ID] {
			return unencodable(r, "its id is used by another rule")
		}
		ids[r.ID] = true
		for _, f := range [...]struct{ name, v string }{{"id", r.ID}, {"target", r.Target}} {
			if f.v != strings.TrimSpace(f.v) {
				return unencodable(r, "its %s has surrounding white space, which ReadXML trims", f.name)
			}
		}
		for _, f := range [...]struct{ name, v string }{{"id", r.ID}, {"prefix", r.Prefix}, {"suffix", r.Suffix}, {"target", r.Target}} {
			if !xmlString(f.v) {
				return unencodable(r, "its %s holds bytes XML cannot carry", f.name)
			}
		}
	}
	bw := bufio.NewWriter(w)
	bw.WriteString("<NotificationConfiguration")
	if namespace != "" {
		bw.WriteString(` xmlns="`)
		xml.EscapeText(bw, []byte(namespace))
		bw.WriteString(`"`)
	}
	bw.WriteString(">\n")
	for _, r := range rules {
		kind, target := xmlKindOf(r.Target)
		fmt.Fprintf(bw, "  <%s>\n", kind)
		element(bw, "    ", "Id", r.ID)
		if r.Prefix != "" || r.Suffix != "" {
			bw.WriteString("    <Filter>\n      <S3Key>\n")
			if r.Prefix != "" {
				filterRule(bw, "prefix", r.Prefix)
			}
			if r.Suffix != "" {
				filterRule(bw, "suffix", r.Suffix)
			}
			bw.WriteString("      </S3Key>\n    </Filter>\n")
		}
		for _, n := range EventNames(r.Events, strings.HasPrefix(r.Target, "arn:aws")) {
			element(bw, "    ", "Event", n)
		}
		element(bw, "    ", target, r.Target)
		fmt.Fprintf(bw, "  </%s>\n", kind)
	}
	bw.WriteString("</NotificationConfiguration>\n")
	return bw.Flush()
}

func element(w *bufio.Writer, indent, name, text string) {
	fmt.Fprintf(w, "%s<%s>", indent, name)
	xml.EscapeText(w, []byte(text))
	fmt.Fprintf(w, "</%s>\n", name)
}

func filterRule(w *bufio.Writer, name, value string) {
	w.WriteString("        <FilterRule>\n")
	element(w, "          ", "Name", name)
	element(w, "          ", "Value", value)
	w.WriteString("        </FilterRule>\n")
}

func unencodable(r match.Rule, format string, args ...any) error {
	return fmt.Errorf("config: rule %s in bucket %s: %s: %w", quote(r.ID), quote(r.Bucket), fmt.Sprintf(format, args...), ErrUnencodable)
}

// xmlKindOf returns the configuration and target element names for target.
func xmlKindOf(target string) (kind, element string) {
	if f := strings.SplitN(target, ":", 4); len(f) == 4 && f[0] == "arn" {
		switch f[2] {
		case "sqs":
			return "QueueConfiguration", "Queue"
		case "sns":
			return "TopicConfiguration", "Topic"
		}
	}
	return "CloudFunctionConfiguration", "CloudFunction"
}

// xmlString reports whether s is valid UTF-8 made only of characters XML 1.0
// allows, so that xml.EscapeText writes it without replacement.
func xmlString(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		ok := r == 0x09 || r == 0x0A || r == 0x0D ||
			r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
		if !ok {
			return false
		}
	}
	return true
}

// s3Wildcards maps the COS wildcard names to S3 names for the same set.
var s3Wildcards = map[string][]string{
	"cos:ObjectCreated:*": {"s3:ObjectCreated:*"},
	"cos:ObjectRemove:*":  {"s3:ObjectRemoved:*"},
	// s3:ObjectRestore:* also holds s3:ObjectRestore:Delete, so COS's family is spelled out.
	"cos:ObjectRestore:*": {"s3:ObjectRestore:Post", "s3:ObjectRestore:Completed"},
}

// EventNames returns the fewest names that parse back to s (wildcards for
// whole families, then single types), in S3 spelling when s3 is true and S3
// has a name for the type, and in COS spelling otherwise.
func EventNames(s match.EventSet, s3 bool) []string {
	names := s.Names()
	if !s3 {
		return names
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		if w, ok := s3Wildcards[n]; ok {
			out = append(out, w...)
			continue
		}
		if e, err := match.ParseEvent(n); err == nil && e.S3Name() != "" {
			out = append(out, e.S3Name())
			continue
		}
		out = append(out, n)
	}
	if back, err := match.ParseEventSet(out...); err != nil || back != s&match.AllEvents {
		return names // never expected; the COS names are always exact
	}
	return out
}
