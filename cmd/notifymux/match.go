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
	"cmp"
	"context"
	"errors"
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
	m := &matcher{x: x, defaultBucket: defaultBucket(*bucket, doc.Rules), out: newWriter(stdout), explain: *explain}
	if *explain {
		m.byBucket = map[string][]match.Rule{}
		for _, r := range doc.Rules {
			m.byBucket[r.Bucket] = append(m.byBucket[r.Bucket], r)
		}
	}
	var code int
	if fs.NArg() > 0 {
		code, err = m.runArguments(ctx, fs.Args(), stderr)
	} else {
		code, err = m.run(ctx, stdin, "input ", stderr)
	}
	if err != nil {
		fmt.Fprintf(stderr, "notifymux match: %v\n", err)
		return exitUsage
	}
	return code
}

// maxLineBytes is the largest JSON value (one line, or one pretty-printed
// payload) that match and run read: a Records payload of several 1 MB
// messages fits.
const maxLineBytes = 16 << 20

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

// run reads every event of in and writes its answer. Bad input is reported
// on stderr as "<where>line N: …". It returns exitUsage if some input was
// bad, and an error if reading, writing or ctx failed.
func (m *matcher) run(ctx context.Context, in io.Reader, where string, stderr io.Writer) (int, error) {
	code := exitOK
	dec := batch.NewDecoder(flushingReader{in, m.out}, batch.DecoderConfig{MaxValueBytes: maxLineBytes})
	var err error
	for {
		if err = ctx.Err(); err != nil {
			break
		}
		var ev *batch.Inbound
		ev, err = dec.Next()
		if err == io.EOF {
			err = nil
			break
		}
		if err != nil {
			var d *batch.DecodeError
			if !errors.As(err, &d) {
				break
			}
			code = exitUsage
			fmt.Fprintf(stderr, "notifymux match: %s%v\n", where, d)
			continue
		}
		if ev.Record.Bucket == "" {
			ev.Record.Bucket = m.defaultBucket
		}
		if ev.Record.Bucket == "" {
			code = exitUsage
			fmt.Fprintf(stderr, "notifymux match: %sline %d: no bucket (give -bucket for lines that name none)\n", where, ev.Line)
			continue
		}
		if err = m.answer(ev); err != nil {
			break
		}
	}
	if ferr := m.out.Flush(); err == nil {
		err = ferr
	}
	return code, err
}

// runArguments answers the events given as arguments, one JSON document
// each; bad input is reported as "argument N: …".
func (m *matcher) runArguments(ctx context.Context, args []string, stderr io.Writer) (int, error) {
	code := exitOK
	for i, a := range args {
		c, err := m.run(ctx, strings.NewReader(a), fmt.Sprintf("argument %d: ", i+1), stderr)
		if err != nil {
			return exitUsage, err
		}
		code = max(code, c)
	}
	return code, nil
}

// answer writes the JSON line for ev.
func (m *matcher) answer(ev *batch.Inbound) error {
	rec := &ev.Record
	r, ok := m.x.Match(rec.Bucket, rec.Event, rec.Key)
	b := append(m.buf[:0], `{"bucket":`...)
	b = batch.AppendJSONString(b, rec.Bucket)
	b = append(b, `,"event":`...)
	if ev.Source == batch.SourceS3 && !strings.HasPrefix(ev.EventName, "s3:") {
		b = batch.AppendJSONString(b, "s3:"+ev.EventName) // S3 records name events without the prefix
	} else {
		b = batch.AppendJSONString(b, ev.EventName)
	}
	b = append(b, `,"key":`...)
	b = batch.AppendJSONString(b, rec.Key)
	b = append(b, `,"target":`...)
	b = batch.AppendJSONString(b, r.Target)
	b = append(b, `,"rule":`...)
	b = batch.AppendJSONString(b, r.ID)
	if m.explain && !ok {
		b = append(b, `,"nearest":[`...)
		for i, n := range nearest(m.byBucket[rec.Bucket], rec.Event, rec.Key, 3) {
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
