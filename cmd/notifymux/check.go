// This file implements `notifymux check`: read every file, report every
// problem of every rule, every overlapping pair (config.Overlaps: layered
// match.Index candidate search, not a scan over all pairs), ids reused across
// files and the limits of the chosen profile, then a summary line. A file
// that is not well-formed is a problem like any other; a file that cannot be
// read at all (missing, over -max-file-size, a directory without rules
// files) is reported on standard error and keeps the verdict from being ok.

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/notifymux/notifymux/match"
	"github.com/notifymux/notifymux/match/config"
)

func init() {
	register(&command{
		name:    "check",
		usage:   "[-bucket NAME] [-region R] [-profile cos|none] [-max-file-size N] FILE...",
		summary: "check notification configurations for invalid rules, overlaps and limits",
		help: `Each FILE is a bucket notification XML document (COS or S3) or a JSON rules
file, told apart by content. XML names no bucket: its rules go to -bucket or,
without it, to the bucket named by the file's base name ("testpic.xml" holds
the rules of bucket "testpic"). All files are checked together, as one rule set.
A directory stands for its *.xml and *.json files; DIR/... also for those of
its subdirectories. A directory holding none is an error, not an empty rule set.

Output: one line per problem, such as
  rules.xml: rule "thumbs" overlaps rule "all-images" in bucket "photos": both match cos:ObjectCreated:Put on key "images/.jpg"
then a summary: "N rules in M buckets: ok", "...: K problems", or, when some
file could not be read (reported on standard error, exit status 2),
"...: F files not read". A file that is not well-formed XML or JSON is a
problem. Every overlapping pair is reported, not only the first. Events are
named as the rule's file spells them (s3:ObjectRemoved:Delete for a rule
written with S3 names). With -profile cos, targets that are not SCF functions
and events COS lacks are problems too.
`,
		run: runCheck,
	})
}

func runCheck(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	flags := newFlagSet("check")
	bucket := flags.String("bucket", "", "the bucket of the rules of XML files (default: each file's base name)")
	region := flags.String("region", "", "the region of every bucket whose region a JSON file does not give (ap-guangzhou or gz)")
	profile := flags.String("profile", "none", "the limits to check: cos (10 rules per bucket, 10 per target, same region, SCF targets, COS events) or none")
	maxSize := maxFileSizeFlag(flags)
	if code, ok := parseFlags(flags, args, stdout, stderr); !ok {
		return code
	}
	limits, err := config.Profile(*profile)
	if err != nil {
		return usageError(stderr, "check", "-profile %s: want cos or none", quote(*profile))
	}
	if flags.NArg() == 0 {
		return usageError(stderr, "check", "no FILE given")
	}
	c := &checker{out: stdout, regions: map[string]string{}}
	notRead := 0
	paths, errs := expandPaths(flags.Args())
	for _, err := range errs {
		fmt.Fprintf(stderr, "notifymux check: %v\n", err)
		notRead++
	}
	for _, path := range paths {
		if ctx.Err() != nil {
			fmt.Fprintf(stderr, "notifymux check: %v\n", ctx.Err())
			return exitUsage
		}
		doc, _, err := loadRules(path, *bucket, *maxSize)
		if doc == nil {
			if errors.Is(err, config.ErrSyntax) {
				c.report("%s", describe(path, err)) // the content is wrong: a problem
				continue
			}
			fmt.Fprintf(stderr, "notifymux check: %s\n", describe(path, err))
			notRead++
			continue
		}
		for _, e := range problems(err) {
			c.report("%s", describe(path, e))
		}
		c.add(path, doc)
	}
	c.checkIDs()
	c.checkOverlaps(ctx)
	c.checkLimits(limits, *region)
	buckets := map[string]bool{}
	for _, r := range c.rules {
		buckets[r.Bucket] = true
	}
	var verdict []string
	if c.problems > 0 {
		verdict = append(verdict, plural(c.problems, "problem"))
	}
	if notRead > 0 {
		verdict = append(verdict, plural(notRead, "file")+" not read")
	}
	if len(verdict) == 0 {
		verdict = append(verdict, "ok")
	}
	fmt.Fprintf(stdout, "%s in %s: %s\n", plural(len(c.rules), "rule"), plural(len(buckets), "bucket"), strings.Join(verdict, "; "))
	switch {
	case notRead > 0:
		return exitUsage
	case c.problems > 0:
		return exitFindings
	}
	return exitOK
}

// checker accumulates the rules of every file and counts the problems.
type checker struct {
	out      io.Writer
	rules    []match.Rule
	s3       []bool            // s3[i]: rules[i] names its events in S3 spelling
	files    []string          // files[i] is the file of rules[i]
	reads    []int             // reads[i] numbers the read of files[i] (a file may be given twice)
	regions  map[string]string // bucket → region, from JSON files
	problems int
}

func (c *checker) report(format string, args ...any) {
	c.problems++
	fmt.Fprintf(c.out, format+"\n", args...)
}

func (c *checker) add(path string, doc *config.Document) {
	read := 1
	if n := len(c.reads); n > 0 {
		read = c.reads[n-1] + 1
	}
	for i, r := range doc.Rules {
		c.rules = append(c.rules, r)
		c.s3 = append(c.s3, i < len(doc.S3Spelling) && doc.S3Spelling[i])
		c.files = append(c.files, path)
		c.reads = append(c.reads, read)
	}
	for b, reg := range doc.Regions {
		if old, ok := c.regions[b]; ok && !config.SameRegion(old, reg) {
			c.report("%s: bucket %s is given region %s here and %s in another file", path, quote(b), quote(reg), quote(old))
			continue
		}
		c.regions[b] = reg
	}
}

// checkIDs reports ids used twice in one bucket by different reads (the
// readers report those within one file).
func (c *checker) checkIDs() {
	seen := map[[2]string]int{}
	for i, r := range c.rules {
		k := [2]string{r.Bucket, r.ID}
		if j, dup := seen[k]; dup {
			if c.reads[j] != c.reads[i] {
				c.report("%s: rule %s in bucket %s: id also used in %s", c.files[i], quote(r.ID), quote(r.Bucket), c.files[j])
			}
			continue
		}
		seen[k] = i
	}
}

func (c *checker) checkOverlaps(ctx context.Context) {
	for o := range config.Overlaps(c.rules) {
		if ctx.Err() != nil {
			return
		}
		where := ""
		if c.files[o.Earlier] != c.files[o.Later] {
			where = " (" + c.files[o.Earlier] + ")"
		}
		e := o.Err
		event := e.Event.String()
		if n := e.Event.S3Name(); n != "" && c.s3[o.Later] {
			event = n
		}
		c.report("%s: rule %s overlaps rule %s%s in bucket %s: both match %s on key %s",
			c.files[o.Later], quote(e.Rule.ID), quote(e.Existing.ID), where, quote(e.Rule.Bucket), event, quote(e.Key))
	}
}

func (c *checker) checkLimits(l config.Limits, defaultRegion string) {
	// The file named in a finding: the first holding the bucket, target or rule.
	byBucket, byTarget, byRule := map[string]string{}, map[string]string{}, map[match.Rule]string{}
	for i := len(c.rules) - 1; i >= 0; i-- {
		r, f := c.rules[i], c.files[i]
		byBucket[r.Bucket], byTarget[r.Target], byRule[r] = f, f, f
	}
	regionOf := func(b string) string {
		if r, ok := c.regions[b]; ok {
			return r
		}
		return defaultRegion
	}
	for _, e := range l.Check(c.rules, regionOf) {
		switch e.Kind {
		case config.LimitBucketRules:
			c.report("%s: bucket %s has %d rules, over the %s limit of %d per bucket",
				byBucket[e.Bucket], quote(e.Bucket), e.Count, e.Profile, e.Max)
		case config.LimitTargetRules:
			c.report("%s: target %s is named by %d rules, over the %s limit of %d per target",
				byTarget[e.Target], quote(e.Target), e.Count, e.Profile, e.Max)
		case config.LimitEvents:
			list, verb := config.EventList(e.Events), "is not a "+strings.ToUpper(e.Profile)+" event"
			if strings.HasPrefix(list, "events ") {
				verb = "are not " + strings.ToUpper(e.Profile) + " events"
			}
			c.report("%s: rule %s in bucket %s: %s %s", byRule[e.Rule], quote(e.Rule.ID), quote(e.Bucket), list, verb)
		case config.LimitTarget:
			c.report("%s: rule %s in bucket %s: target %s is not an SCF function (qcs::scf:REGION:… or qcs:0:lambda:REGION:…), which the %s profile requires",
				byRule[e.Rule], quote(e.Rule.ID), quote(e.Bucket), quote(e.Target), e.Profile)
		default:
			c.report("%s: rule %s in bucket %s: target region %s (%s) differs from the bucket's region %s (%s)",
				byRule[e.Rule], quote(e.Rule.ID), quote(e.Bucket),
				quote(e.TargetRegion), clip(config.CanonicalRegion(e.TargetRegion)), quote(e.BucketRegion), clip(config.CanonicalRegion(e.BucketRegion)))
		}
	}
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// expandPaths replaces each directory argument by its *.xml and *.json
// files, and DIR/... by those of DIR and all its subdirectories, in lexical
// order. Other arguments are kept as they are. It returns an error for each
// directory it cannot read and each that holds no such file, after
// expanding the others.
func expandPaths(args []string) ([]string, []error) {
	var out []string
	var errs []error
	for _, a := range args {
		before := len(out)
		root, recursive := strings.CutSuffix(a, "/...")
		if !recursive {
			if fi, err := os.Stat(a); err != nil || !fi.IsDir() {
				out = append(out, a) // loadRules reports a missing file
				continue
			}
		}
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if path != root && !recursive {
					return filepath.SkipDir
				}
				return nil
			}
			if ext := filepath.Ext(path); ext == ".xml" || ext == ".json" {
				out = append(out, path)
			}
			return nil
		})
		switch {
		case err != nil:
			errs = append(errs, err)
		case len(out) == before && recursive:
			errs = append(errs, fmt.Errorf("%s: no .xml or .json file in %s or its subdirectories", a, root))
		case len(out) == before:
			errs = append(errs, fmt.Errorf("%s: no .xml or .json file in the directory (DIR/... also reads its subdirectories)", a))
		}
	}
	return out, errs
}
