// This file implements `notifymux run`: deliver a stream of object events to
// the functions their rules name. A reader goroutine streams the input with
// readEvents (one reused line buffer), resolves each event with
// match.Index.Match, turns it into a batch.Record and publishes it to a
// dispatch.Pipeline; unmatched events are published too, so that the
// pipeline counts them. The pipeline batches records per target and delivers
// them through one Dispatcher: JSON lines on standard output (the default,
// which needs nothing else running), HTTP POSTs to one URL, or HTTP POSTs
// routed by a target → URL table. What cannot be delivered is dead-lettered
// to a JSON-lines file that is created only when the first dead letter comes.
//
// The calling goroutine waits for the reader, the interrupt and the drain;
// every 250 ms it flushes standard output (so a pipe sees batches as they
// go) and, when standard error is a terminal, redraws a progress line. At the
// end of the input, or on interrupt, it closes the pipeline: at the end of
// the input Close waits for every batch (retries are bounded by -retries and
// -timeout); after an interrupt it gets -drain more time, and what is left
// then is dead-lettered. The summary of the pipeline's statistics is always
// printed on standard error.
//
// Memory stays bounded however long the input: the reader holds one line,
// and each target holds at most -queue records; under the default policy,
// block, a full queue pauses the reader instead of dropping records.
//
// Without -rules and -in, run uses the example configuration and events
// compiled into the binary (examples/testpic.xml and examples/events.jsonl),
// so that `notifymux run` works on a fresh clone.

package main

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/notifymux/notifymux/batch"
	"github.com/notifymux/notifymux/dispatch"
	"github.com/notifymux/notifymux/match"
	"github.com/notifymux/notifymux/match/config"
)

// The example compiled in for a run without -rules and -in: the rules of
// bucket testpic-1253970026 in ap-chengdu and four events for it.
var (
	//go:embed examples/testpic.xml
	embeddedRules []byte
	//go:embed examples/events.jsonl
	embeddedEvents []byte
)

const (
	embeddedRulesName  = "examples/testpic.xml"
	embeddedEventsName = "examples/events.jsonl"
	embeddedBucket     = "testpic"
	embeddedAppID      = "1253970026"
	embeddedRegion     = "ap-chengdu"
)

func init() {
	register(&command{
		name:    "run",
		usage:   "[-rules FILE] [-bucket NAME] [-in FILE|-] [-to -|URL|TARGETS.json] [-format cos|s3|cloudevents] [flags]",
		summary: "deliver events to the functions their rules name, in batches",
		help: `Reads events as JSON lines, as notifymux match does (event lines or COS/S3
{"Records":[…]} payloads), finds the rule each one triggers, and delivers the
matched records in batches per function, with retries and a dead-letter file.

Where payloads go (-to):
  -              standard output, one JSON line per batch:
                 {"target":…,"format":…,"contentType":…,"records":N,"opened":…,"payload":{…}}
  URL            an HTTP POST of each payload to URL, for every target
  TARGETS.json   an HTTP POST to the URL of each target in a JSON object
                 {"<target>":"<url>",…}; a target missing from it is dead-lettered
HTTP requests carry X-Notifymux-Signature, an HMAC-SHA256 over the timestamp
and body with the secret of -secret-file or $NOTIFYMUX_SECRET (no flag takes
the secret itself: the process list shows command lines to every user).

Without -rules and -in, the example rules and events compiled into notifymux
are used (examples/testpic.xml, bucket testpic-1253970026 in ap-chengdu, and
examples/events.jsonl). With -rules and without -in, events are read from
standard input.

Events that carry no time get the time they are read; no appid or region,
those of -appid and -region (or the region the rules file gives the bucket).
A bad input line is reported on standard error and skipped.

Standard error shows progress when it is a terminal and always ends with a
summary: published, matched, unmatched, delivered, retried, dead-lettered,
dropped, rejected, then each target's share. On interrupt (SIGINT, SIGTERM)
run stops reading, delivers for up to -drain more, dead-letters the rest,
and prints the summary.

Exit status: 0 when every matched record was delivered; 1 when a record was
dead-lettered, dropped or refused, or the run was interrupted; 2 for bad
usage, unreadable rules, or bad input lines.
`,
		run: runRun,
	})
}

// runOptions is the parsed command line of run.
type runOptions struct {
	rulesPath  string // "" for the embedded rules
	bucket     string
	inPath     string // "" for the default input, "-" for stdin
	to         string
	format     batch.Format
	appID      string
	region     string
	secret     []byte
	deadLetter string
	policy     dispatch.QueuePolicy
	deliveryOptions
}

func runRun(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("run")
	var o runOptions
	fs.StringVar(&o.rulesPath, "rules", "", "the configuration file (XML or JSON) holding the rules (default: the embedded "+embeddedRulesName+")")
	fs.StringVar(&o.bucket, "bucket", "", "the bucket of events that name none, and of the rules of an XML file (default: the XML file's base name)")
	fs.StringVar(&o.inPath, "in", "", "the events, JSON lines; - for standard input (default: standard input with -rules, else the embedded "+embeddedEventsName+")")
	fs.StringVar(&o.to, "to", "-", "where payloads go: - (standard output), an http(s) URL, or a JSON file of target → URL")
	format := fs.String("format", "cos", "payload format: cos, s3 or cloudevents")
	fs.StringVar(&o.appID, "appid", "", "the APPID of events that carry none (COS)")
	fs.StringVar(&o.region, "region", "", "the region of events that carry none (default: the bucket's region in the rules file); for -format cos a COS region, full (ap-guangzhou) or short (gz), written in full")
	secretFile := fs.String("secret-file", "", "a file holding the HMAC-SHA256 key for HTTP deliveries (trailing newline ignored)")
	fs.StringVar(&o.deadLetter, "dead-letter", "notifymux-dead-letter.jsonl", "the JSON-lines file undeliverable batches are appended to, created on the first one; - for standard error")
	policy := fs.String("policy", "block", "when a target's queue is full: block (pause reading), drop (count and go on) or reject (refuse and report)")
	fs.IntVar(&o.queue, "queue", 10000, "the most records a target holds from reading until delivered or dead-lettered")
	fs.IntVar(&o.workers, "workers", 0, "goroutines that batch records, each with its own open batches (default max(GOMAXPROCS, 4)); 1 gives the fullest batches")
	fs.IntVar(&o.maxRecords, "max-records", batch.DefaultMaxRecords, "the most records in one payload")
	fs.IntVar(&o.maxBytes, "max-bytes", batch.DefaultMaxBytes, "the largest payload in bytes; a record alone over it is dead-lettered")
	fs.DurationVar(&o.maxWait, "max-wait", batch.DefaultMaxWait, "the longest a record waits for its batch to fill")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "the time limit of one HTTP delivery attempt")
	fs.IntVar(&o.retries, "retries", 2, "delivery attempts after the first")
	fs.DurationVar(&o.backoff, "backoff", time.Second, "the backoff before the first retry (random up to this, doubling for each next retry)")
	fs.DurationVar(&o.drain, "drain", 5*time.Second, "after an interrupt, how long to go on delivering before dead-lettering the rest")
	maxSize := maxFileSizeFlag(fs)
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(stderr, "run", "unexpected argument %q (events are read from -in or standard input)", fs.Arg(0))
	}
	var err error
	if o.format, err = batch.ParseFormat(*format); err != nil {
		return usageError(stderr, "run", "-format %q: want cos, s3 or cloudevents", *format)
	}
	if o.region, err = checkRegion(o.format, o.region); err != nil {
		return usageError(stderr, "run", "%v", err)
	}
	if o.policy, err = dispatch.ParseQueuePolicy(*policy); err != nil {
		return usageError(stderr, "run", "-policy %q: want block, drop or reject", *policy)
	}
	if msg := o.invalid(fs); msg != "" {
		return usageError(stderr, "run", "%s", msg)
	}
	if o.deadLetter == "" {
		return usageError(stderr, "run", "-dead-letter: want a file name or -")
	}
	if o.to != "-" {
		if o.secret, err = readSecret(*secretFile); err != nil {
			fmt.Fprintf(stderr, "notifymux run: %v\n", err)
			return exitUsage
		}
		if o.secret == nil {
			return usageError(stderr, "run", "-to %s needs the HMAC key the functions verify: give -secret-file FILE or $NOTIFYMUX_SECRET", o.to)
		}
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	errOut := &syncWriter{w: stderr}
	var x *match.Index
	var doc *config.Document
	if o.rulesPath == "" {
		x, doc, err = embeddedIndex(o.bucket)
		if o.appID == "" {
			o.appID = embeddedAppID
		}
	} else {
		x, doc, err = loadIndex(o.rulesPath, o.bucket, *maxSize)
	}
	if err != nil {
		fmt.Fprintf(stderr, "notifymux run: %v\n", err)
		return exitUsage
	}
	var in io.Reader
	inName := o.inPath
	switch {
	case o.inPath == "" && o.rulesPath == "":
		in, inName = bytes.NewReader(embeddedEvents), embeddedEventsName
		fmt.Fprintf(stderr, "notifymux run: using the embedded example rules and events (%s, %s); give -rules and -in for yours\n", embeddedRulesName, embeddedEventsName)
	case o.inPath == "" || o.inPath == "-":
		in, inName = stdin, "standard input"
		if o.rulesPath == "" {
			fmt.Fprintf(stderr, "notifymux run: using the embedded example rules (%s)\n", embeddedRulesName)
		}
	default:
		f, err := os.Open(o.inPath)
		if err != nil {
			fmt.Fprintf(stderr, "notifymux run: %v\n", err)
			return exitUsage
		}
		defer f.Close()
		in = f
		if o.rulesPath == "" {
			fmt.Fprintf(stderr, "notifymux run: using the embedded example rules (%s)\n", embeddedRulesName)
		}
	}
	if o.rulesPath == "" && o.bucket == "" {
		o.bucket = embeddedBucket
	}
	o.bucket = defaultBucket(o.bucket, doc.Rules)

	r, err := newRunner(o, x, doc.Regions, stdout, errOut)
	if err != nil {
		fmt.Fprintf(stderr, "notifymux run: %v\n", err)
		return exitUsage
	}
	r.progress = isTerminal(stderr)
	warnUnrouted(stderr, o.to, r.table, doc.Rules)
	return r.run(ctx, in, inName)
}

// readSecret returns the HMAC key from -secret-file or $NOTIFYMUX_SECRET, in
// that order, or nil when neither is given. There is no flag that takes the
// key itself: a command line is visible to every user of the machine.
func readSecret(file string) ([]byte, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("-secret-file: %v", err)
		}
		b = bytes.TrimRight(b, "\r\n")
		if len(b) == 0 {
			return nil, fmt.Errorf("-secret-file %s is empty", file)
		}
		return b, nil
	}
	if s := os.Getenv("NOTIFYMUX_SECRET"); s != "" {
		return []byte(s), nil
	}
	return nil, nil
}

// embeddedIndex builds the index of the embedded example rules, in bucket
// (default testpic).
func embeddedIndex(bucket string) (*match.Index, *config.Document, error) {
	if bucket == "" {
		bucket = embeddedBucket
	}
	doc, _, err := config.Read(bytes.NewReader(embeddedRules), bucket)
	if err != nil {
		return nil, nil, fmt.Errorf("embedded %s: %v", embeddedRulesName, err)
	}
	x, err := indexOf(doc.Rules)
	if err != nil {
		return nil, nil, fmt.Errorf("embedded %s: %v", embeddedRulesName, err)
	}
	if doc.Regions == nil {
		doc.Regions = map[string]string{}
	}
	if _, ok := doc.Regions[bucket]; !ok {
		doc.Regions[bucket] = embeddedRegion
	}
	return x, doc, nil
}

// warnUnrouted warns about each rule whose target has no URL in table (read
// from the file path): its records will be dead-lettered.
func warnUnrouted(w io.Writer, path string, table map[string]string, rules []match.Rule) {
	if table == nil {
		return
	}
	warned := map[string]bool{}
	for _, rule := range rules {
		if _, ok := table[rule.Target]; !ok && !warned[rule.Target] {
			warned[rule.Target] = true
			fmt.Fprintf(w, "notifymux run: warning: %s has no URL for target %q of rule %q; its records will be dead-lettered\n", path, rule.Target, rule.ID)
		}
	}
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// syncWriter serialises writes to w: the reader, the pipeline's goroutines
// and the progress line all write to standard error.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// runner is one run: the index, the pipeline and its dispatchers, and the
// counters of the input.
type runner struct {
	opts     runOptions
	x        *match.Index
	regions  map[string]string // bucket → region, from the rules file
	p        *dispatch.Pipeline
	router   *dispatch.Router
	out      *bufio.Writer       // standard output, when -to -
	lines    *dispatch.JSONLines // writes to out, when -to -
	http     *dispatch.HTTP      // when -to is a URL or a table
	table    map[string]string   // target → URL, when -to is a table
	dead     *dispatch.DeadLetterFile
	deadJL   *dispatch.JSONLines // dead letters on standard error, with -dead-letter -
	stderr   io.Writer
	progress bool             // draw a progress line on stderr
	now      func() time.Time // the time of events that carry none
	tick     time.Duration    // how often to flush stdout and draw progress

	// publishing is held by the reader while it routes one record, and
	// taken by the interrupt before it closes the pipeline: so no record
	// is half-published when Close begins, and the resume point is exact.
	publishing sync.Mutex
	stopped    bool         // set under publishing by the interrupt
	line       atomic.Int64 // the input line being read
	resumeLine int          // set when the reader stops early: the line of the first record not handled
	resumeRec  int          // and its index in that line's Records; -1 for an event line
	events     atomic.Int64 // records handed to the pipeline (matched or not)
	bad        atomic.Int64 // bad lines or records, and records without a bucket
	refused    atomic.Int64 // records the pipeline refused (reject policy)
	badShown   int          // bad-input messages printed; only the reader touches it
}

// maxReported is how many bad input lines, and how many refused records, are
// reported one by one; the summary counts them all.
const maxReported = 20

// newRunner builds the dispatchers and the pipeline of a run.
func newRunner(o runOptions, x *match.Index, regions map[string]string, stdout, stderr io.Writer) (*runner, error) {
	r := &runner{opts: o, x: x, regions: regions, stderr: stderr, now: time.Now, tick: 250 * time.Millisecond}
	var d dispatch.Dispatcher
	switch {
	case o.to == "-":
		r.out = bufio.NewWriterSize(stdout, 64<<10)
		r.lines = dispatch.NewJSONLines(r.out)
		d = r.lines
	default:
		cfg := dispatch.HTTPConfig{Secret: o.secret, Timeout: o.timeout}
		if strings.HasPrefix(o.to, "http://") || strings.HasPrefix(o.to, "https://") {
			cfg.DefaultURL = o.to
		} else {
			t, err := dispatch.LoadTargetsFile(o.to)
			if err != nil {
				return nil, fmt.Errorf("-to: %v", err)
			}
			cfg.Targets, r.table = t, t
		}
		h, err := dispatch.NewHTTP(cfg)
		if err != nil {
			return nil, fmt.Errorf("-to %s: %v", o.to, err)
		}
		r.http, d = h, h
	}
	var dead dispatch.Dispatcher
	if o.deadLetter == "-" {
		r.deadJL = dispatch.NewJSONLines(stderr)
		dead = r.deadJL
	} else {
		r.dead = dispatch.NewDeadLetterFile(o.deadLetter)
		dead = r.dead
	}
	p, err := dispatch.NewPipeline(dispatch.Config{
		Dispatcher: d,
		DeadLetter: dead,
		OnDeadLetterError: func(dl dispatch.DeadLetter, err error) {
			fmt.Fprintf(stderr, "notifymux run: %d records for %s are lost: the dead-letter file failed: %v (delivery failed with: %v)\n",
				len(dl.Batch.Records), dl.Batch.Target, err, dl.Err)
		},
		Batch:        o.batchConfig(o.format),
		QueueRecords: o.queue,
		Workers:      o.workers,
		Policy:       o.policy,
		MaxRetries:   o.maxRetries(),
		RetryBase:    o.backoff,
		RetryMax:     o.retryMax(),
		// JSONLines, HTTP and deadLetterFile keep nothing of a batch
		// once they return, and OnDeadLetterError above only counts.
		RecycleBatches: true,
	})
	if err != nil {
		if r.http != nil {
			r.http.Close(context.Background())
		}
		return nil, err
	}
	r.p = p
	r.router, err = dispatch.NewRouter(dispatch.RouterConfig{
		Index: x, Pipeline: p, DefaultBucket: o.bucket, AppID: o.appID, Regions: regions, Region: o.region,
		Now: func() time.Time { return r.now() },
		OnMissingRegion: func(bucket string) {
			fmt.Fprintf(stderr, "notifymux run: warning: no region for bucket %q (the event carries none, the rules file gives none, and -region is not set); payloads will name no region\n", bucket)
		},
	})
	if err != nil {
		p.Close(context.Background())
		return nil, err
	}
	return r, nil
}

// run delivers the events of in (called name in messages) and prints the
// summary. It returns the exit status.
func (r *runner) run(ctx context.Context, in io.Reader, name string) int {
	readDone := make(chan error, 1)
	go func() { readDone <- r.read(ctx, in) }()

	// closeCtx ends -drain after an interrupt; until then Close waits for
	// every batch.
	closeCtx, cancelClose := context.WithCancel(context.Background())
	defer cancelClose()
	var closeDone chan error
	startClose := func() {
		if closeDone == nil {
			closeDone = make(chan error, 1)
			go func() { closeDone <- r.p.Close(closeCtx) }()
		}
	}
	ticker := time.NewTicker(r.tick)
	defer ticker.Stop()

	var readErr, closeErr error
	interrupted, reading := false, true
	interrupt := ctx.Done()
wait:
	for {
		select {
		case err := <-readDone:
			readErr, reading = err, false
			startClose()
		case <-interrupt:
			interrupted, interrupt = true, nil
			time.AfterFunc(r.opts.drain, cancelClose)
			// ctx has ended, so a reader waiting for room returns; once
			// it lets go of publishing, no record is half-published.
			r.publishing.Lock()
			r.stopped = true
			r.publishing.Unlock()
			startClose()
		case closeErr = <-closeDone:
			break wait
		case <-ticker.C:
			r.flushOutput()
			r.drawProgress()
		}
	}
	if reading { // the reader is blocked reading the input, or just ending
		select {
		case readErr = <-readDone:
		case <-time.After(100 * time.Millisecond):
		}
	}
	if interrupted && (errors.Is(readErr, context.Canceled) || errors.Is(readErr, context.DeadlineExceeded) || errors.Is(readErr, dispatch.ErrClosed)) {
		readErr = nil // the interrupt stopped the reader
	}
	r.flushOutput()
	if r.http != nil {
		r.http.Close(context.Background())
	}
	var deadErr error
	if r.dead != nil {
		deadErr = r.dead.Close(context.Background())
	}
	if r.progress {
		fmt.Fprint(r.stderr, "\r\033[K")
	}

	code := r.summary(name, interrupted)
	if readErr != nil {
		fmt.Fprintf(r.stderr, "notifymux run: reading %s: %v\n", name, readErr)
		code = exitUsage
	}
	if closeErr != nil && !interrupted {
		fmt.Fprintf(r.stderr, "notifymux run: %v\n", closeErr)
		code = max(code, exitFindings)
	}
	if deadErr != nil {
		fmt.Fprintf(r.stderr, "notifymux run: dead-letter file %s: %v\n", r.dead.Path(), deadErr)
		code = max(code, exitFindings)
	}
	return code
}

// read routes every record of in. It returns nil at the end of the input,
// the error reading it, or the error that stopped it (ctx's, ErrClosed).
// When it stops early it records the first record it did not handle.
func (r *runner) read(ctx context.Context, in io.Reader) error {
	dec := batch.NewDecoder(in, batch.DecoderConfig{MaxValueBytes: maxLineBytes})
	for {
		ev, err := dec.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var d *batch.DecodeError
			if !errors.As(err, &d) {
				return err
			}
			r.line.Store(int64(d.Line))
			r.badInput(d)
			continue
		}
		r.line.Store(int64(ev.Line))
		if err := r.route(ctx, ev); err != nil {
			r.resumeLine, r.resumeRec = ev.Line, -1
			if ev.Source != batch.SourceLine {
				r.resumeRec = ev.Index
			}
			return err
		}
	}
}

// route routes one record under the publishing lock. It returns an error
// only when reading must stop (ctx ended, the pipeline closed); the record
// was then not handled.
func (r *runner) route(ctx context.Context, ev *batch.Inbound) error {
	r.publishing.Lock()
	defer r.publishing.Unlock()
	if r.stopped {
		return context.Canceled
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	where := &dispatch.RouteError{Line: ev.Line, Index: ev.Index, InRecords: ev.Source != batch.SourceLine}
	_, err := r.router.Route(ctx, ev)
	switch {
	case err == nil:
		r.events.Add(1)
	case errors.Is(err, dispatch.ErrClosed) || ctx.Err() != nil:
		return err
	case errors.Is(err, dispatch.ErrNoBucket):
		where.Err = errors.New("no bucket (give -bucket for lines that name none)")
		r.badInput(where)
	case errors.Is(err, batch.ErrKeyTooLong):
		where.Err = err
		r.badInput(where)
	default: // the reject policy: report, and go on
		if r.refused.Add(1) <= maxReported {
			where.Err = err
			fmt.Fprintf(r.stderr, "notifymux run: input %v\n", where)
		}
	}
	return nil
}

// badInput reports a bad input line or record, up to maxReported of them.
func (r *runner) badInput(err error) {
	r.bad.Add(1)
	if r.badShown++; r.badShown <= maxReported {
		fmt.Fprintf(r.stderr, "notifymux run: input %v\n", err)
	} else if r.badShown == maxReported+1 {
		fmt.Fprintf(r.stderr, "notifymux run: more bad input; only the number of bad lines and records is reported\n")
	}
}

// flushOutput writes out what standard output holds.
func (r *runner) flushOutput() {
	if r.lines != nil {
		// A write error also fails the next Dispatch, which retries and
		// dead-letters; nothing to do here.
		_ = r.lines.Flush(context.Background())
	}
}

// drawProgress redraws the progress line when stderr is a terminal. It is
// kept short, so that it fits on one line of a narrow terminal.
func (r *runner) drawProgress() {
	if !r.progress {
		return
	}
	s := r.p.Stats()
	b := fmt.Appendf(nil, "\r\033[Knotifymux run: line %d, delivered %d, queued %d", r.line.Load(), s.Delivered, s.Queued)
	if n := s.DeadLettered + s.DeadLetterFailed; n > 0 {
		b = fmt.Appendf(b, ", dead-lettered %d", n)
	}
	if s.Dropped > 0 {
		b = fmt.Appendf(b, ", dropped %d", s.Dropped)
	}
	r.stderr.Write(b)
}

// maxTargetLines is how many targets the summary lists one by one.
const maxTargetLines = 20

// summary prints the statistics and returns the exit status they call for.
func (r *runner) summary(name string, interrupted bool) int {
	s := r.p.Stats()
	w := r.stderr
	var b strings.Builder
	fmt.Fprintf(&b, "notifymux run: %s: %s", name, count(uint64(r.events.Load()), "event", "events"))
	if n := r.bad.Load(); n > 0 {
		fmt.Fprintf(&b, ", %s skipped", count(uint64(n), "bad line or record", "bad lines or records"))
	}
	if interrupted {
		switch {
		case r.resumeLine == 0:
			fmt.Fprintf(&b, "; interrupted after line %d, which was handled: resume after it", r.line.Load())
		case r.resumeRec <= 0:
			fmt.Fprintf(&b, "; interrupted at line %d, which was not handled: resume from it", r.resumeLine)
		default:
			fmt.Fprintf(&b, "; interrupted at record %d of line %d: its records 0-%d were handled; resume from line %d (they will be sent again)",
				r.resumeRec, r.resumeLine, r.resumeRec-1, r.resumeLine)
		}
	}
	fmt.Fprintf(&b, "\nnotifymux run: %s\n", s)
	for i, t := range s.Targets {
		if i == maxTargetLines {
			fmt.Fprintf(&b, "  … and %d more targets\n", len(s.Targets)-i)
			break
		}
		fmt.Fprintf(&b, "  %s: matched %d, delivered %d in %s", t.Target, t.Matched, t.Delivered, count(t.Batches, "batch", "batches"))
		if t.Retried > 0 {
			fmt.Fprintf(&b, ", retried %s in %s", count(t.Retried, "record", "records"), count(t.RetryAttempts, "attempt", "attempts"))
		}
		for _, f := range []struct {
			n    int64
			what string
		}{
			{int64(t.DeadLettered), "dead-lettered"},
			{int64(t.DeadLetterFailed), "dead-letter failed"},
			{int64(t.Dropped), "dropped"},
			{int64(t.Rejected), "rejected"},
			{t.Queued, "queued"},
		} {
			if f.n != 0 {
				fmt.Fprintf(&b, ", %s %d", f.what, f.n)
			}
		}
		b.WriteByte('\n')
	}
	if r.dead != nil && r.dead.Records() > 0 {
		fmt.Fprintf(&b, "notifymux run: %s dead-lettered to %s\n", count(uint64(r.dead.Records()), "record", "records"), r.dead.Path())
	}
	io.WriteString(w, b.String())

	switch {
	case s.DeadLettered+s.DeadLetterFailed+s.Dropped+s.Rejected > 0, interrupted:
		return max(exitFindings, r.inputCode())
	}
	return r.inputCode()
}

// inputCode is exitUsage when some input was bad, else exitOK.
func (r *runner) inputCode() int {
	if r.bad.Load() > 0 {
		return exitUsage
	}
	return exitOK
}

// count returns "1 batch" or "n batches".
func count(n uint64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
