// This file reads configuration files for the commands: XML or JSON by
// content, at most -max-file-size bytes, with the bucket of an XML file taken
// from -bucket or, without it, from the file's name. loadIndex builds the
// match.Index that match (and run) use, with one AddAll, and refuses a rule
// set that does not fit in one.

package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

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

// defaultMaxFileSize is the default of -max-file-size.
const defaultMaxFileSize = config.DefaultMaxSize

// fileSize is the value of -max-file-size: a number of bytes, with an
// optional suffix KiB, MiB or GiB.
type fileSize int64

// maxFileSizeFlag defines -max-file-size on fs and returns its value.
func maxFileSizeFlag(fs *flag.FlagSet) *fileSize {
	v := fileSize(defaultMaxFileSize)
	fs.Var(&v, "max-file-size", "the largest rules file read, in bytes or with a suffix KiB, MiB or GiB")
	return &v
}

func (s *fileSize) String() string {
	for _, u := range []struct {
		suffix string
		size   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if *s != 0 && int64(*s)%u.size == 0 {
			return strconv.FormatInt(int64(*s)/u.size, 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(*s), 10)
}

func (s *fileSize) Set(v string) error {
	num, unit := v, int64(1)
	for suffix, size := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if n, ok := strings.CutSuffix(v, suffix); ok {
			num, unit = n, size
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 1 || n > (1<<62)/unit {
		return errors.New("want a positive number of bytes, optionally with a suffix KiB, MiB or GiB")
	}
	*s = fileSize(n * unit)
	return nil
}

// tooLargeError is a rules file over -max-file-size.
type tooLargeError struct {
	size  int64 // the file's size, or -1 when unknown
	limit fileSize
}

func (e *tooLargeError) Error() string {
	size := "over"
	if e.size >= 0 {
		size = fmt.Sprintf("%d bytes, over", e.size)
	}
	return fmt.Sprintf("%s the -max-file-size limit of %d bytes (%s); give a larger -max-file-size to read it", size, int64(e.limit), &e.limit)
}

func (e *tooLargeError) Unwrap() error { return config.ErrTooLarge }

// loadRules reads the configuration file path, of at most maxSize bytes. err
// is non-nil with a nil document when the file cannot be opened, is over
// maxSize (a *tooLargeError, refused before reading when the file says its
// size) or is not well-formed (a *config.Error wrapping config.ErrSyntax);
// with a document, err joins the problems of the rules that were left out
// (each a *config.Error).
func loadRules(path, bucket string, maxSize fileSize) (*config.Document, config.Format, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > int64(maxSize) {
		return nil, 0, &tooLargeError{size: fi.Size(), limit: maxSize}
	}
	doc, format, err := config.ReadLimit(f, xmlBucket(path, bucket), int64(maxSize))
	if errors.Is(err, config.ErrTooLarge) {
		return nil, format, &tooLargeError{size: -1, limit: maxSize}
	}
	return doc, format, err
}

// quote returns s quoted as by %q, cut to 200 bytes (at a rune boundary)
// with its length noted when it is longer, as match/config quotes input.
func quote(s string) string {
	const max = 200
	if len(s) <= max {
		return strconv.Quote(s)
	}
	n := max
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return fmt.Sprintf("%q… (%d bytes)", s[:n], len(s))
}

// clip is quote for text shown without quotes, such as an element name.
func clip(s string) string {
	const max = 200
	if len(s) <= max {
		return s
	}
	n := max
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return fmt.Sprintf("%s… (%d bytes)", s[:n], len(s))
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
		fmt.Fprintf(&b, "configuration %s: ", quote(e.ID))
	}
	if e.Element != "" {
		b.WriteString(clip(e.Element) + ": ") // element names are input
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

// loadIndex reads the configuration file path (at most maxSize bytes) and
// returns an Index holding all its rules, added with one AddAll. Any problem
// in the file, or any overlap between its rules, is an error (a rule set
// that notifymux check rejects cannot be served); its text lists every
// problem, one per line.
func loadIndex(path, bucket string, maxSize fileSize) (*match.Index, *config.Document, error) {
	doc, _, err := loadRules(path, bucket, maxSize)
	if err != nil {
		var lines []string
		for _, e := range problems(err) {
			lines = append(lines, describe(path, e))
		}
		return nil, nil, errors.New(strings.Join(lines, "\n"))
	}
	x, err := indexOf(doc.Rules)
	if err != nil {
		var ce *match.ConflictError
		if errors.As(err, &ce) {
			return nil, nil, fmt.Errorf("%s: %s (run 'notifymux check %s' to list every overlap)", path, conflictText(ce), path)
		}
		return nil, nil, fmt.Errorf("%s: %s", path, strings.TrimPrefix(err.Error(), "match: "))
	}
	return x, doc, nil
}

// indexOf returns a new Index holding rules, added in one AddAll: all or
// nothing, with the error Add would give for the first rule that fails.
func indexOf(rules []match.Rule) (*match.Index, error) {
	x := match.New()
	if err := x.AddAll(rules); err != nil {
		return nil, err
	}
	return x, nil
}

// conflictText words an overlap as notifymux check does:
// rule "thumbs" overlaps rule "all-images" in bucket "photos": both match cos:ObjectCreated:Put on key "images/.jpg".
func conflictText(c *match.ConflictError) string {
	return fmt.Sprintf("rule %s overlaps rule %s in bucket %s: both match %s on key %s",
		quote(c.Rule.ID), quote(c.Existing.ID), quote(c.Rule.Bucket), c.Event, quote(c.Key))
}
