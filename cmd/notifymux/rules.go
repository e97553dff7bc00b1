// This file reads configuration files for the commands: XML or JSON by
// content, with the bucket of an XML file taken from -bucket or, without it,
// from the file's name. loadIndex builds the match.Index that match (and run)
// use and refuses a rule set that does not fit in one.

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/notifymux/notifymux/match"
	"github.com/notifymux/notifymux/match/config"
)

// xmlBucket returns the bucket for the rules of an XML file: bucket when it
// is set, else the file's base name without its extension
// ("examples/testpic.xml" → "testpic").
func xmlBucket(path, bucket string) string {
	if bucket != "" {
		return bucket
	}
	base := filepath.Base(path)
	return strings.TrimSuffix(base, filepath.Ext(base))
}

// loadRules reads the configuration file path. err is non-nil with a nil
// document when the file cannot be opened or is not well-formed; with a
// document, err joins the problems of the rules that were left out (each a
// *config.Error).
func loadRules(path, bucket string) (*config.Document, config.Format, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	return config.Read(f, xmlBucket(path, bucket))
}

// describe formats a reading problem as "PATH:LINE: configuration "ID": ELEMENT: cause".
func describe(path string, err error) string {
	var e *config.Error
	if !errors.As(err, &e) {
		return fmt.Sprintf("%s: %v", path, err)
	}
	var b strings.Builder
	b.WriteString(path)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.ID != "" {
		fmt.Fprintf(&b, "configuration %q: ", e.ID)
	}
	if e.Element != "" {
		b.WriteString(e.Element + ": ")
	}
	b.WriteString(strings.TrimPrefix(e.Err.Error(), "match: "))
	return b.String()
}

// problems returns the individual errors joined in err.
func problems(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

// loadIndex reads the configuration file path and returns an Index holding
// all its rules. Any problem in the file, or any overlap between its rules,
// is an error (a rule set that notifymux check rejects cannot be served);
// its text lists every problem, one per line.
func loadIndex(path, bucket string) (*match.Index, *config.Document, error) {
	doc, _, err := loadRules(path, bucket)
	if err != nil {
		var lines []string
		for _, e := range problems(err) {
			lines = append(lines, describe(path, e))
		}
		return nil, nil, errors.New(strings.Join(lines, "\n"))
	}
	x := match.New()
	for _, r := range doc.Rules {
		if err := x.Add(r); err != nil {
			var ce *match.ConflictError
			if errors.As(err, &ce) {
				return nil, nil, fmt.Errorf("%s: %s (run 'notifymux check %s' to list every overlap)", path, conflictText(ce), path)
			}
			return nil, nil, fmt.Errorf("%s: %s", path, strings.TrimPrefix(err.Error(), "match: "))
		}
	}
	return x, doc, nil
}

// conflictText is the wording of an overlap:
// rule "thumbs" overlaps rule "all-images" in bucket "photos": both match cos:ObjectCreated:Put on key "images/.jpg".
func conflictText(c *match.ConflictError) string {
	return fmt.Sprintf("rule %q overlaps rule %q in bucket %q: both match %s on key %q",
		c.Rule.ID, c.Existing.ID, c.Rule.Bucket, c.Event, c.Key)
}
