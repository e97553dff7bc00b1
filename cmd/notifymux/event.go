// This file implements `notifymux event`: print the payload a function
// receives for one object event, to test the function with (as the SCF
// console's COS test template does). The flags fill one batch.Record, which
// the batch package encodes exactly as `notifymux run` would deliver it, in
// the COS, S3 or CloudEvents format. What the flags leave out gets a fixed
// sample value, and the identifiers that vary per event (request id,
// sequencer) are derived from the event time, so that a given -time always
// prints the same payload. With -rules, the rule and target are those of the
// rule the event triggers, as `notifymux match` finds it.
//
// The output is one line (or indented with -indent). A COS or S3 payload is
// also valid input for `notifymux match` and `notifymux run`.

package main

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/notifymux/notifymux/batch"
	"github.com/notifymux/notifymux/match"
)

func init() {
	register(&command{
		name:    "event",
		usage:   "-bucket B -key K -event E [-size N] [-format cos|s3|cloudevents] [-rules FILE] [flags] | -scf-template",
		summary: "print a sample payload for one event, to test a function",
		help: `Prints the {"Records":[…]} payload (for cloudevents, the CloudEvents batch)
that notifymux run delivers for one event, to paste into a function's test
console or post to it. The event name is a concrete COS or S3 type
(cos:ObjectCreated:Put, s3:ObjectRemoved:Delete, …). With -rules, the rule id
and target come from the rule the event triggers (exit 1 if none does);
otherwise from -rule and -target. Fields without a flag get sample values; the
request id and sequencer are derived from -time, so a fixed -time gives a
fixed payload. No request header is ever put into a payload.
`,
		run: runEvent,
	})
}

// scfTemplate is the SCF console's COS test template: the sample of the COS
// trigger documentation, with the request's Authorization header that the
// sample carries removed.
//
//go:embed templates/scf-cos-test.json
var scfTemplate []byte

// scfTemplateNote explains on stderr why the template cannot be routed.
const scfTemplateNote = `notifymux event: this is the SCF console's COS test template. Its eventName is
the wildcard cos:ObjectCreated:*, the rule's event set, not an event: COS sends
one concrete type (cos:ObjectCreated:Put, …), so notifymux match and run refuse
the template. Use it to test a function by hand; to test routing, print a real
event with notifymux event -bucket B -key K -event cos:ObjectCreated:Put.
`

// Sample values of `notifymux event`.
const (
	sampleCOSAppID   = "1250000000" // the APPID of the COS documentation's examples
	sampleCOSRegion  = "ap-guangzhou"
	sampleS3Region   = "us-east-1"
	sampleTarget     = "notifymux-test"
	sampleSourceIP   = "127.0.0.1"
	maxObjectKeySize = 1024 // bytes of UTF-8: the S3 limit (COS allows 850)
)

// metaFlag collects -meta NAME=VALUE flags.
type metaFlag []batch.Meta

func (m *metaFlag) String() string {
	var parts []string
	for _, kv := range *m {
		parts = append(parts, kv.Name+"="+kv.Value)
	}
	return strings.Join(parts, ",")
}

func (m *metaFlag) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return errors.New("want NAME=VALUE")
	}
	lower := strings.ToLower(name)
	if !strings.HasPrefix(lower, "x-cos-meta-") && !strings.HasPrefix(lower, "x-amz-meta-") {
		return fmt.Errorf("%q is not user metadata: the name must start with x-cos-meta- or x-amz-meta- (other headers never go into a payload)", name)
	}
	*m = append(*m, batch.Meta{Name: name, Value: value})
	return nil
}

// timeFlag is -time: RFC 3339 or Unix seconds.
type timeFlag struct{ t time.Time }

func (f *timeFlag) String() string {
	if f.t.IsZero() {
		return ""
	}
	return f.t.Format(time.RFC3339Nano)
}

func (f *timeFlag) Set(s string) error {
	if sec, err := strconv.ParseInt(s, 10, 64); err == nil {
		f.t = time.Unix(sec, 0).UTC()
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return errors.New("want RFC 3339 (2024-05-01T10:00:00Z) or Unix seconds")
	}
	f.t = t
	return nil
}

func runEvent(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("event")
	bucket := fs.String("bucket", "", "the bucket (required)")
	key := fs.String("key", "", "the object key, without a leading slash (required)")
	eventName := fs.String("event", "", "the event type, e.g. cos:ObjectCreated:Put or s3:ObjectRemoved:Delete (required)")
	size := fs.Int64("size", 1024, "the object size in bytes")
	format := fs.String("format", "cos", "payload format: cos, s3 or cloudevents")
	appID := fs.String("appid", "", "the APPID owning the bucket (default "+sampleCOSAppID+" for cos, none otherwise)")
	region := fs.String("region", "", "the bucket's region (default "+sampleCOSRegion+" for cos, "+sampleS3Region+" otherwise, or the bucket's region in -rules)")
	rulesPath := fs.String("rules", "", "take the rule id and target from the rule of this configuration file that the event triggers")
	ruleID := fs.String("rule", sampleTarget, "the rule id (cosNotificationId, configurationId) when -rules is not given")
	target := fs.String("target", sampleTarget, "the target function (the COS eventQueue) when -rules is not given")
	var when timeFlag
	fs.Var(&when, "time", "the event time, RFC 3339 or Unix seconds (default now)")
	etag := fs.String("etag", "", "the object's ETag, without quotes")
	versionID := fs.String("version-id", "", "the object's version id")
	requestID := fs.String("request-id", "", "the storage request's id (default derived from -time)")
	sequencer := fs.String("sequencer", "", "the S3 sequencer, hex (default derived from -time)")
	sourceIP := fs.String("source-ip", sampleSourceIP, "the requester's IP address")
	contentType := fs.String("content-type", "", "the object's Content-Type")
	var meta metaFlag
	fs.Var(&meta, "meta", "user metadata NAME=VALUE, NAME starting with x-cos-meta- or x-amz-meta- (repeatable)")
	indent := fs.Bool("indent", false, "indent the JSON")
	template := fs.Bool("scf-template", false, "print the SCF console's COS test template instead (its eventName is a wildcard: no rule can route it)")
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(stderr, "event", "unexpected argument %q", fs.Arg(0))
	}
	if *template {
		fmt.Fprint(stderr, scfTemplateNote)
		if _, err := stdout.Write(scfTemplate); err != nil {
			fmt.Fprintf(stderr, "notifymux event: %v\n", err)
			return exitUsage
		}
		return exitOK
	}
	var missing []string
	for _, f := range []struct{ name, value string }{{"-bucket", *bucket}, {"-key", *key}, {"-event", *eventName}} {
		if f.value == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		verb := "is"
		if len(missing) > 1 {
			verb = "are"
		}
		return usageError(stderr, "event", "%s %s required", strings.Join(missing, ", "), verb)
	}
	f, err := batch.ParseFormat(*format)
	if err != nil {
		return usageError(stderr, "event", "-format %q: want cos, s3 or cloudevents", *format)
	}
	e, err := match.ParseEvent(*eventName)
	if err != nil {
		return usageError(stderr, "event", "-event: %s", strings.TrimPrefix(err.Error(), "match: "))
	}
	if *region, err = checkRegion(f, *region); err != nil {
		return usageError(stderr, "event", "%v", err)
	}
	if err := checkKey(*key); err != nil {
		return usageError(stderr, "event", "-key: %v", err)
	}
	if *size < 0 {
		return usageError(stderr, "event", "-size %d: want 0 or more", *size)
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if *rulesPath != "" && (set["rule"] || set["target"]) {
		return usageError(stderr, "event", "give -rules, or -rule and -target, not both")
	}

	rec := batch.Record{
		Bucket: *bucket, AppID: *appID, Region: *region, Key: *key, Size: *size, ETag: *etag,
		VersionID: *versionID, Event: e, Time: when.t, RequestID: *requestID, SourceIP: *sourceIP,
		ContentType: *contentType, Meta: meta, Sequencer: *sequencer, RuleID: *ruleID, Target: *target,
	}
	if *rulesPath != "" {
		x, doc, err := loadIndex(*rulesPath, *bucket, defaultMaxFileSize)
		if err != nil {
			fmt.Fprintf(stderr, "notifymux event: %v\n", err)
			return exitUsage
		}
		r, ok := x.Match(*bucket, e, *key)
		if !ok {
			fmt.Fprintf(stderr, "notifymux event: no rule of %s matches %s on key %q in bucket %q (run 'notifymux match -explain' to see the nearest)\n",
				*rulesPath, e, *key, *bucket)
			return exitFindings
		}
		rec.RuleID, rec.Target = r.ID, r.Target
		if rec.Region == "" {
			rec.Region = doc.Regions[*bucket]
		}
	}
	fillSample(&rec, f)

	payload, err := batch.Encode(f, nil, []batch.Record{rec})
	if err != nil {
		fmt.Fprintf(stderr, "notifymux event: %v\n", err)
		return exitUsage
	}
	if *indent {
		var b bytes.Buffer
		if err := json.Indent(&b, payload, "", "  "); err != nil {
			fmt.Fprintf(stderr, "notifymux event: the %s encoder wrote invalid JSON: %v\n", f, err)
			return exitUsage
		}
		payload = b.Bytes()
	}
	payload = append(payload, '\n')
	if _, err := stdout.Write(payload); err != nil {
		fmt.Fprintf(stderr, "notifymux event: %v\n", err)
		return exitUsage
	}
	return exitOK
}

// checkKey reports what is wrong with an object key.
func checkKey(key string) error {
	switch {
	case len(key) > maxObjectKeySize:
		return fmt.Errorf("%d bytes, over the %d-byte limit of object keys", len(key), maxObjectKeySize)
	case !utf8.ValidString(key):
		return errors.New("not valid UTF-8")
	}
	return nil
}

// fillSample gives the fields of r that no flag set their sample values.
func fillSample(r *batch.Record, f batch.Format) {
	if r.AppID == "" && f == batch.FormatCOS {
		r.AppID = sampleCOSAppID
	}
	if r.Region == "" {
		r.Region = sampleS3Region
		if f == batch.FormatCOS {
			r.Region = sampleCOSRegion
		}
	}
	if r.Time.IsZero() {
		r.Time = time.Now().UTC()
	}
	// Derived from the time, so -time fixes them: a request id shaped like
	// COS's (base64 of hex) and an S3 sequencer (hex nanoseconds).
	nanos := uint64(r.Time.UnixNano())
	if r.RequestID == "" {
		r.RequestID = base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "%016x_%08x", nanos, uint32(nanos>>7)))
	}
	if r.Sequencer == "" {
		r.Sequencer = fmt.Sprintf("%018X", nanos)
	}
}
