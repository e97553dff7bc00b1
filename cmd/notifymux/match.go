// This file implements `notifymux match`: resolve each input event to the
// one rule (and target function) it triggers. It streams: events are read
// one line at a time (readEvents), resolved with match.Index.Match, and
// written as JSON lines built by appending into one reused buffer; output is
// flushed whenever the input has nothing more buffered, so an interactive
// user sees each answer at once and a pipe gets large writes.
//
// With -explain, a miss lists the bucket's nearest rules: its rules ranked by
// how many of the three tests (event type, prefix, suffix) they fail, then by
// how much of the key their prefix shares, then by id; the first three are
// shown with the tests they failed.

package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/notifymux/notifymux/batch"
	"github.com/notifymux/notifymux/match"
)

func init() {
	register(&command{
		name:    "match",
		usage:   "-rules FILE [-bucket NAME] [-explain] [EVENT-JSON...]",
		summary: "tell which rule and function each event triggers",
		help: `Reads events from the arguments (one JSON document each) or, without
arguments, from standard input as JSON lines. Each is either
  {"bucket":"photos","event":"cos:ObjectCreated:Put","key":"images/a.jpg"}
or a whole COS or S3 {"Records":[…]} payload (COS: bucket from cosBucket.name,
key from cosObject.key = /<appid>/<bucket>/<key>; S3: s3.bucket.name and the
URL-decoded s3.object.key). Writes one JSON line per event:
  {"bucket":…,"event":…,"key":…,"target":…,"rule":…}
with empty target and rule on a miss. With -explain a miss also carries
"nearest": the bucket's closest rules and the tests (event, prefix, suffix)
each failed. A bad input line is reported on standard error and skipped; the
exit status is then 2.
`,
		run: runMatch,
	})
}

func runMatch(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("match")
	rulesPath := fs.String("rules", "", "the configuration file (XML or JSON) holding the rules (required)")
	bucket := fs.String("bucket", "", "the bucket of events that name none, and of the rules of an XML file (default: the XML file's base name)")
	explain := fs.Bool("explain", false, "on a miss, list the bucket's nearest rules and the tests each failed")
	maxSize := maxFileSizeFlag(fs)
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	if *rulesPath == "" {
		return usageError(stderr, "match", "-rules FILE is required")
	}
	x, doc, err := loadIndex(*rulesPath, *bucket, *maxSize)
	if err != nil {
		fmt.Fprintf(stderr, "notifymux match: %v\n", err)
		return exitUsage
	}
	m := &matcher{x: x, defaultBucket: *bucket, out: newWriter(stdout), explain: *explain}
	if *explain {
		m.byBucket = map[string][]match.Rule{}
		for _, r := range doc.Rules {
			m.byBucket[r.Bucket] = append(m.byBucket[r.Bucket], r)
		}
	}
	var in io.Reader = stdin
	if fs.NArg() > 0 {
		in = argumentLines(fs.Args())
	}
	code, err := m.run(ctx, in, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "notifymux match: %v\n", err)
		return exitUsage
	}
	return code
}

// argumentLines returns the arguments as JSON lines, one per argument:
// each compacted onto one line (or, if it is not JSON, its line breaks made
// spaces, so that readEvents reports it as one bad line).
func argumentLines(args []string) io.Reader {
	var b bytes.Buffer
	for _, a := range args {
		if json.Compact(&b, []byte(a)) != nil {
			b.WriteString(strings.NewReplacer("\r", " ", "\n", " ").Replace(a))
		}
		b.WriteByte('\n')
	}
	return &b
}

// matcher resolves events and writes the answers.
type matcher struct {
	x             *match.Index
	defaultBucket string
	out           *bufio.Writer
	buf           []byte
	explain       bool
	byBucket      map[string][]match.Rule // with explain: each bucket's rules
}

// newWriter returns the buffered writer answers go through.
func newWriter(w io.Writer) *bufio.Writer { return bufio.NewWriterSize(w, 64<<10) }

// flushingReader flushes w before each read of r, that is, whenever the
// bufio.Reader above it has run out of buffered input.
type flushingReader struct {
	r io.Reader
	w *bufio.Writer
}

func (f flushingReader) Read(p []byte) (int, error) {
	if err := f.w.Flush(); err != nil {
		return 0, err
	}
	return f.r.Read(p)
}

// run reads every event of in and writes its answer. It returns exitUsage if
// some input was bad (reported on stderr), and an error if reading, writing
// or ctx failed.
func (m *matcher) run(ctx context.Context, in io.Reader, stderr io.Writer) (int, error) {
	code := exitOK
	err := readEvents(flushingReader{in, m.out}, func(ev *inputEvent) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if ev.Bucket == "" {
			ev.Bucket = m.defaultBucket
		}
		if ev.Bucket == "" {
			code = exitUsage
			fmt.Fprintf(stderr, "notifymux match: input line %d: no bucket (give -bucket for lines that name none)\n", ev.Line)
			return nil
		}
		return m.answer(ev)
	}, func(line int, err error) error {
		code = exitUsage
		fmt.Fprintf(stderr, "notifymux match: input line %d: %v\n", line, err)
		return nil
	})
	if ferr := m.out.Flush(); err == nil {
		err = ferr
	}
	return code, err
}

// answer writes the JSON line for ev.
func (m *matcher) answer(ev *inputEvent) error {
	r, ok := m.x.Match(ev.Bucket, ev.Event, ev.Key)
	b := append(m.buf[:0], `{"bucket":`...)
	b = batch.AppendJSONString(b, ev.Bucket)
	b = append(b, `,"event":`...)
	b = batch.AppendJSONString(b, ev.EventName)
	b = append(b, `,"key":`...)
	b = batch.AppendJSONString(b, ev.Key)
	b = append(b, `,"target":`...)
	b = batch.AppendJSONString(b, r.Target)
	b = append(b, `,"rule":`...)
	b = batch.AppendJSONString(b, r.ID)
	if m.explain && !ok {
		b = append(b, `,"nearest":[`...)
		for i, n := range nearest(m.byBucket[ev.Bucket], ev.Event, ev.Key, 3) {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"rule":`...)
			b = batch.AppendJSONString(b, n.rule.ID)
			b = append(b, `,"target":`...)
			b = batch.AppendJSONString(b, n.rule.Target)
			b = append(b, `,"failed":[`...)
			for j, f := range n.failed {
				if j > 0 {
					b = append(b, ',')
				}
				b = batch.AppendJSONString(b, f)
			}
			b = append(b, "]}"...)
		}
		b = append(b, ']')
	}
	b = append(b, "}\n"...)
	m.buf = b
	_, err := m.out.Write(b)
	return err
}

// nearRule is a rule that did not match, with the tests it failed.
type nearRule struct {
	rule   match.Rule
	failed []string // of "event", "prefix", "suffix", in that order
	shared int      // bytes of the key its prefix shares
}

// nearest returns up to n of rules ranked by fewest failed tests, then the
// longest shared prefix with key, then id.
func nearest(rules []match.Rule, e match.Event, key string, n int) []nearRule {
	out := make([]nearRule, 0, len(rules))
	for _, r := range rules {
		nr := nearRule{rule: r}
		if !r.Events.Has(e) {
			nr.failed = append(nr.failed, "event")
		}
		if !strings.HasPrefix(key, r.Prefix) {
			nr.failed = append(nr.failed, "prefix")
		}
		if !strings.HasSuffix(key, r.Suffix) {
			nr.failed = append(nr.failed, "suffix")
		}
		for nr.shared < len(key) && nr.shared < len(r.Prefix) && key[nr.shared] == r.Prefix[nr.shared] {
			nr.shared++
		}
		out = append(out, nr)
	}
	slices.SortFunc(out, func(a, b nearRule) int {
		return cmp.Or(cmp.Compare(len(a.failed), len(b.failed)), cmp.Compare(b.shared, a.shared), strings.Compare(a.rule.ID, b.rule.ID))
	})
	return out[:min(n, len(out))]
}
