// This file implements `notifymux check`: read every file, report every
// problem of every rule, every overlapping pair (config.Overlaps: layered
// match.Index candidate search, not a scan over all pairs), ids reused across
// files and the limits of the chosen profile, then a summary line.

package main

import (
	"context"
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
		usage:   "[-bucket NAME] [-region R] [-profile cos|none] FILE...",
		summary: "check notification configurations for invalid rules, overlaps and limits",
		help: `Each FILE is a bucket notification XML document (COS or S3) or a JSON rules
file, told apart by content. XML names no bucket: its rules go to -bucket or,
without it, to the bucket named by the file's base name ("testpic.xml" holds
the rules of bucket "testpic"). All files are checked together, as one rule set.
A directory stands for its *.xml and *.json files; DIR/... also for those of
its subdirectories.

Output: one line per problem, such as
  rules.xml: rule "thumbs" overlaps rule "all-images" in bucket "photos": both match cos:ObjectCreated:Put on key "images/.jpg"
then a summary: "N rules in M buckets: ok" or "...: K problems".
Every overlapping pair is reported, not only the first.
`,
		run: runCheck,
	})
}

func runCheck(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	flags := newFlagSet("check")
	bucket := flags.String("bucket", "", "the bucket of the rules of XML files (default: each file's base name)")
	region := flags.String("region", "", "the region of every bucket whose region a JSON file does not give (ap-guangzhou or gz)")
	profile := flags.String("profile", "none", "the limits to check: cos (10 rules per bucket, 10 per target, same region) or none")
	if code, ok := parseFlags(flags, args, stdout, stderr); !ok {
		return code
	}
	limits, err := config.Profile(*profile)
	if err != nil {
		return usageError(stderr, "check", "-profile %q: want cos or none", *profile)
	}
	if flags.NArg() == 0 {
		return usageError(stderr, "check", "no FILE given")
	}
	c := &checker{out: stdout, regions: map[string]string{}}
	code := exitOK
	paths, err := expandPaths(flags.Args())
	if err != nil {
		fmt.Fprintf(stderr, "notifymux check: %v\n", err)
		code = exitUsage
	}
	for _, path := range paths {
		if ctx.Err() != nil {
			fmt.Fprintf(stderr, "notifymux check: %v\n", ctx.Err())
			return exitUsage
		}
		doc, _, err := loadRules(path, *bucket)
		if doc == nil {
			fmt.Fprintf(stderr, "notifymux check: %s\n", describe(path, err))
			code = exitUsage
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
	verdict := "ok"
	if c.problems > 0 {
		verdict = plural(c.problems, "problem")
	}
	fmt.Fprintf(stdout, "%s in %s: %s\n", plural(len(c.rules), "rule"), plural(len(buckets), "bucket"), verdict)
	if code == exitOK && c.problems > 0 {
		code = exitFindings
	}
	return code
}

// checker accumulates the rules of every file and counts the problems.
type checker struct {
	out      io.Writer
	rules    []match.Rule
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
	for _, r := range doc.Rules {
		c.rules = append(c.rules, r)
		c.files = append(c.files, path)
		c.reads = append(c.reads, read)
	}
	for b, reg := range doc.Regions {
		if old, ok := c.regions[b]; ok && !config.SameRegion(old, reg) {
			c.report("%s: bucket %q is given region %q here and %q in another file", path, b, reg, old)
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
				c.report("%s: rule %q in bucket %q: id also used in %s", c.files[i], r.ID, r.Bucket, c.files[j])
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
		c.report("%s: rule %q overlaps rule %q%s in bucket %q: both match %s on key %q",
			c.files[o.Later], e.Rule.ID, e.Existing.ID, where, e.Rule.Bucket, e.Event, e.Key)
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
			c.report("%s: bucket %q has %d rules, over the %s limit of %d per bucket",
				byBucket[e.Bucket], e.Bucket, e.Count, e.Profile, e.Max)
		case config.LimitTargetRules:
			c.report("%s: target %q is named by %d rules, over the %s limit of %d per target",
				byTarget[e.Target], e.Target, e.Count, e.Profile, e.Max)
		default:
			c.report("%s: rule %q in bucket %q: target region %q (%s) differs from the bucket's region %q (%s)",
				byRule[e.Rule], e.Rule.ID, e.Bucket,
				e.TargetRegion, config.CanonicalRegion(e.TargetRegion), e.BucketRegion, config.CanonicalRegion(e.BucketRegion))
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
// order. Other arguments are kept as they are. It reports the first
// directory it cannot read, after expanding the others.
func expandPaths(args []string) ([]string, error) {
	var out []string
	var firstErr error
	for _, a := range args {
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
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return out, firstErr
}
