// This file implements `notifymux serve`: it parses the flags (each also read
// from $NOTIFYMUX_<NAME>), reads or generates the secrets, builds durable
// delivery (serve_durable.go) or the in-memory pipeline as run does, and
// serves a dispatch/gateway.Gateway with Prometheus metrics until SIGINT or
// SIGTERM. Then it stops accepting and delivers for up to -drain; what is
// left stays in the stream (durable) or is dead-lettered (in memory). The
// server itself is the gateway package; this file only wires it.

package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/notifymux/notifymux/batch"
	"github.com/notifymux/notifymux/dispatch"
	"github.com/notifymux/notifymux/dispatch/gateway"
	"github.com/notifymux/notifymux/dispatch/gateway/prommetrics"
	js "github.com/notifymux/notifymux/dispatch/jetstream"
	"github.com/notifymux/notifymux/dispatch/rulecache"
)

func init() {
	register(&command{
		name:    "serve",
		usage:   "[-addr HOST:PORT] [-data DIR] [-to -|URL|TARGETS.json] [-format cos|s3|cloudevents] [flags]",
		summary: "serve the notification gateway: S3 clients configure rules, stores post events, functions get batches",
		help: `Serves, on -addr:
  PUT|GET /{bucket}?notification   the bucket's notification configuration (S3 API,
                                   signed with AWS Signature V4)
  GET /{bucket}?location           the region (-region)
  POST /events                     events in (Authorization: Bearer <ingest token>):
                                   event lines, COS/S3 Records payloads, MinIO webhook
                                   bodies, CloudEvents batches
  GET /healthz, GET /metrics       health, and Prometheus metrics

Every flag may also be given as $NOTIFYMUX_<FLAG> (upper case, - as _); the
command line wins. Secrets come from the environment or from files, never from
flags: $NOTIFYMUX_ACCESS_KEY and $NOTIFYMUX_SECRET_KEY (the S3 credentials),
$NOTIFYMUX_INGEST_TOKEN, and $NOTIFYMUX_SECRET or -secret-file (the HMAC key of
deliveries). Each one unset is generated on first start and kept in
<data>/secrets/ (mode 0600); its path is logged, never the secret.

Delivery is durable by default (-durable): an accepted record is stored in the
NATS JetStream stream NOTIFYMUX_EVENTS before ingest answers 202, delivered from
there by every gateway that shares the stream, and acknowledged after the
function's 2xx or once its dead letter is in the stream NOTIFYMUX_DEAD (see
notifymux redrive). The NATS server is embedded, with its files in
<data>/jetstream and no port unless -nats-listen opens one (clients then need
the token of $NOTIFYMUX_NATS_TOKEN or <data>/secrets/nats-token); -nats uses an
external server or cluster instead. With -nats-cluster, -nats-cluster-listen
and -nats-routes the embedded server is one node of a NATS cluster whose other
nodes are other gateways' (every node with the same token, its own -nats-name,
and -replicas 3 to keep each record on three nodes). A full stream (-stream-max-bytes) makes
ingest answer 503 with Retry-After. Durable delivery keeps no order; payloads
carry the sequencer. -durable=false keeps records in memory, as run does: they
are lost if the process dies.

Configurations are kept in <data>/buckets/ (shard files, each write atomic) and
loaded at start. The first line on standard error is "notifymux serve: listening on
URL"; logs follow as JSON lines. Standard output carries only the payloads of
-to -. On SIGINT or SIGTERM serve stops accepting, delivers for up to -drain,
and leaves the rest in the stream (durable) or dead-letters it (in memory).

Exit status: 0 after a clean shutdown, 1 on a fatal error, 2 for bad usage.
`,
		run: runServe,
	})
}

// serveOptions is the parsed command line of serve.
type serveOptions struct {
	addr, data, to    string
	format            batch.Format
	region, cosRegion string
	appID             string
	secretFile        string
	deadLetter        string
	policy            dispatch.QueuePolicy
	deliveryOptions
	maxBody          int64
	maxInflight      int
	ruleCacheBytes   int64
	tlsCert, tlsKey  string
	secret           []byte // the delivery HMAC key
	accessKey, s3Key string
	ingestToken      string
	targets          map[string]string
	generatedSecrets []string // paths of the secrets generated now
	secretsDir       string
	durable          durableOptions
}

// envName is the variable that gives flag name: NOTIFYMUX_MAX_BODY for max-body.
func envName(name string) string {
	return "NOTIFYMUX_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// setFromEnv sets every flag of fs whose variable is set; the command line,
// parsed afterwards, wins.
func setFromEnv(fs *flag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if v, ok := os.LookupEnv(envName(f.Name)); ok && err == nil {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("$%s=%q: %v", envName(f.Name), clip(v), e)
			}
		}
	})
	return err
}

func runServe(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("serve")
	var o serveOptions
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8740", "the address to listen on; port 0 lets the system pick one")
	fs.StringVar(&o.data, "data", "./notifymux-data", "the data directory: configurations, generated secrets, dead letters")
	fs.StringVar(&o.to, "to", "-", "where payloads go: - (standard output), an http(s) URL, or a JSON file of target → URL (then a rule naming another target is refused)")
	format := fs.String("format", "cos", "payload format: cos, s3 or cloudevents")
	fs.StringVar(&o.region, "region", gateway.DefaultRegion, "the region clients sign for, which ?location answers")
	fs.StringVar(&o.cosRegion, "cos-region", "", "for -format cos, the region of records that carry none: a COS region, full (ap-guangzhou) or short (gz)")
	fs.StringVar(&o.appID, "appid", "", "the APPID of events that carry none (COS)")
	fs.StringVar(&o.secretFile, "secret-file", "", "a file holding the HMAC-SHA256 key for HTTP deliveries (default $NOTIFYMUX_SECRET, else <data>/secrets/delivery-secret)")
	fs.StringVar(&o.deadLetter, "dead-letter", "", "the JSON-lines file undeliverable batches are appended to, created on the first one; - for standard error (default <data>/dead-letter.jsonl)")
	policy := fs.String("policy", "reject", "when a target's queue is full: reject (ingest counts the record as refused; 503 when none was accepted) or block (ingest waits); drop is refused")
	fs.IntVar(&o.queue, "queue", 10000, "the most records a target holds from ingest until delivered or dead-lettered")
	fs.IntVar(&o.workers, "workers", 0, "goroutines that batch records (default max(GOMAXPROCS, 4))")
	fs.IntVar(&o.maxRecords, "max-records", batch.DefaultMaxRecords, "the most records in one payload")
	fs.IntVar(&o.maxBytes, "max-bytes", batch.DefaultMaxBytes, "the largest payload in bytes; a record alone over it is dead-lettered")
	fs.DurationVar(&o.maxWait, "max-wait", batch.DefaultMaxWait, "the longest a record waits for its batch to fill")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "the time limit of one HTTP delivery attempt")
	fs.IntVar(&o.retries, "retries", 2, "delivery attempts after the first")
	fs.DurationVar(&o.backoff, "backoff", time.Second, "the backoff before the first retry (random up to this, doubling for each next retry)")
	fs.DurationVar(&o.drain, "drain", 5*time.Second, "after SIGINT or SIGTERM, how long to go on delivering before dead-lettering the rest")
	fs.Int64Var(&o.maxBody, "max-body", gateway.DefaultMaxBody, "the largest request body in bytes (413 over it)")
	fs.IntVar(&o.maxInflight, "max-inflight", gateway.DefaultMaxInflight, "ingest requests served at once (503 with Retry-After past it)")
	fs.Int64Var(&o.ruleCacheBytes, "rule-cache-bytes", 0, "if positive, keep only the rules of hot buckets in memory, in a cache of about this many bytes, and load the others from the store when their events come (for more buckets than fit in memory); 0 holds every bucket's rules")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "a PEM certificate file: serve HTTPS (with -tls-key)")
	fs.StringVar(&o.tlsKey, "tls-key", "", "the PEM key file of -tls-cert")
	o.durable.register(fs)
	if err := setFromEnv(fs); err != nil {
		return usageError(stderr, "serve", "%v", err)
	}
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(stderr, "serve", "unexpected argument %q", clip(fs.Arg(0)))
	}
	if code := o.check(fs, *format, *policy, stderr); code != 0 {
		return code
	}
	if code := o.durable.check(stderr); code != 0 {
		return code
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	// Log lines wait until the listening line is out, which must come first.
	logw := &heldWriter{w: stderr}
	log := slog.New(slog.NewJSONHandler(logw, nil))
	fail := func(format string, args ...any) int {
		logw.release()
		fmt.Fprintf(stderr, "notifymux serve: "+format+"\n", args...)
		return exitFindings
	}
	if err := o.readSecrets(); err != nil {
		return fail("%v", err)
	}
	if o.durable.on {
		path, err := o.durable.readToken(o.secretsDir)
		if err != nil {
			return fail("%v", err)
		}
		if path != "" {
			o.generatedSecrets = append(o.generatedSecrets, path)
		}
	}
	for _, p := range o.generatedSecrets {
		log.Info("generated a secret", "file", p)
	}
	var store gateway.ConfigStore
	var err error
	if !o.durable.on { // durable: the key-value bucket, once NATS runs
		if store, err = gateway.OpenStore(filepath.Join(o.data, "buckets")); err != nil {
			return fail("%v", err)
		}
	}

	// The pipeline, as run builds it.
	metrics := prommetrics.New()
	var out *bufio.Writer
	var lines *dispatch.JSONLines
	var httpd *dispatch.HTTP
	var d dispatch.Dispatcher
	if o.to == "-" {
		out = bufio.NewWriterSize(stdout, 64<<10)
		lines = dispatch.NewJSONLines(out)
		d = lines
	} else {
		cfg := dispatch.HTTPConfig{Secret: o.secret, Timeout: o.timeout, Targets: o.targets}
		if o.targets == nil {
			cfg.DefaultURL = o.to
		}
		if httpd, err = dispatch.NewHTTP(cfg); err != nil {
			return fail("-to %s: %v", clip(o.to), err)
		}
		d = httpd
	}
	var dead dispatch.Dispatcher
	deadName := o.deadLetter
	if o.deadLetter == "-" {
		dead, deadName = dispatch.NewJSONLines(&syncWriter{w: stderr}), "standard error"
	} else {
		dead = dispatch.NewDeadLetterFile(o.deadLetter)
	}
	var durable *durableStage
	var p *dispatch.Pipeline
	if o.durable.on {
		durable, err = startDurable(&o, gateway.TimeDeliveries(d, metrics), log)
	} else {
		p, err = dispatch.NewPipeline(dispatch.Config{
			Dispatcher: gateway.TimeDeliveries(d, metrics),
			DeadLetter: dead,
			OnDeadLetterError: func(dl dispatch.DeadLetter, err error) {
				log.Error("records lost: the dead-letter file failed", "records", len(dl.Batch.Records), "target", dl.Batch.Target,
					"error", err.Error(), "delivery_error", fmt.Sprint(dl.Err))
			},
			Batch:          o.batchConfig(o.format),
			QueueRecords:   o.queue,
			Workers:        o.workers,
			Policy:         o.policy,
			MaxRetries:     o.maxRetries(),
			RetryBase:      o.backoff,
			RetryMax:       o.retryMax(),
			RecycleBatches: true, // JSONLines, HTTP and the dead-letter writers keep nothing of a batch
		})
	}
	if err != nil {
		return fail("%v", err)
	}
	// stopDelivery stops the durable stage (what is undelivered stays in
	// its stream) or the pipeline (what is undelivered is dead-lettered).
	stopDelivery := func(ctx context.Context) error {
		if durable != nil {
			return durable.close(ctx, log)
		}
		return p.Close(ctx)
	}
	var publisher dispatch.Publisher
	if durable != nil {
		publisher = durable.pub
		store = js.NewGatewayStore(durable.configs, 0)
	}
	recordRegion := o.cosRegion
	if o.format != batch.FormatCOS {
		recordRegion = o.region
	}
	var missingRegion sync.Map
	var ruleCache *rulecache.Cache
	if o.ruleCacheBytes > 0 {
		if ruleCache, err = rulecache.New(rulecache.Config{Loader: gateway.StoreLoader(store), MaxBytes: o.ruleCacheBytes}); err != nil {
			stopDelivery(context.Background())
			return fail("-rule-cache-bytes: %v", err)
		}
		defer ruleCache.Close()
	}
	g, err := gateway.New(gateway.Config{
		RuleCache:    ruleCache,
		Store:        store,
		Pipeline:     p,
		Publisher:    publisher,
		Region:       o.region,
		Keys:         map[string]string{o.accessKey: o.s3Key},
		IngestToken:  o.ingestToken,
		Targets:      o.targets,
		AppID:        o.appID,
		RecordRegion: recordRegion,
		OnMissingRegion: func(bucket string) {
			if _, seen := missingRegion.LoadOrStore(bucket, true); !seen {
				log.Warn("records of this bucket carry no region; give -cos-region", "bucket", bucket)
			}
		},
		MaxBody:        o.maxBody,
		MaxInflight:    o.maxInflight,
		Logger:         log,
		Metrics:        metrics,
		MetricsHandler: metrics.Handler(),
	})
	if err != nil {
		stopDelivery(context.Background())
		return fail("%v", err)
	}
	metrics.Watch(g.Stats)
	stopWatch := func() {}
	if durable != nil { // configurations other gateways store take effect here
		stopWatch = durable.watchConfigs(g, log)
	}
	loaded := g.Loaded()
	log.Info("configurations loaded", "dir", store.Dir(), "buckets", loaded.Buckets, "rules", loaded.Rules, "duration", loaded.Duration.String())
	if o.targets != nil { // stored rules may name targets the table no longer has
		warned := map[string]bool{}
		for _, b := range g.Index().Buckets() {
			for _, r := range g.Index().Rules(b) {
				if _, ok := o.targets[r.Target]; !ok && !warned[r.Target] {
					warned[r.Target] = true
					log.Warn("a stored rule names a target the -to table lacks; its records will be dead-lettered",
						"target", r.Target, "bucket", b, "rule", r.ID)
				}
			}
		}
	}

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		stopWatch()
		stopDelivery(context.Background())
		return fail("%v", err)
	}
	srv := gateway.NewServer(g, log)
	scheme := "http"
	if o.tlsCert != "" {
		scheme = "https"
	}
	fmt.Fprintf(stderr, "notifymux serve: listening on %s://%s\n", scheme, ln.Addr())
	logw.release()
	if durable != nil {
		log.Info("serving", "to", o.to, "format", o.format.String(), "region", o.region, "durable", true,
			"nats", durable.where(&o), "fsync", o.durable.sync.String(), "stream", o.durable.names.Stream)
	} else {
		log.Info("serving", "to", o.to, "format", o.format.String(), "region", o.region, "policy", o.policy.String(), "dead_letter", deadName)
	}

	served := make(chan error, 1)
	go func() {
		if o.tlsCert != "" {
			served <- srv.ServeTLS(ln, o.tlsCert, o.tlsKey)
		} else {
			served <- srv.Serve(ln)
		}
	}()
	var flushDone chan struct{}
	stopFlush := make(chan struct{})
	if lines != nil { // payloads on standard output reach a pipe as they go
		flushDone = make(chan struct{})
		go func() {
			defer close(flushDone)
			t := time.NewTicker(250 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-t.C:
					lines.Flush(context.Background())
				case <-stopFlush:
					return
				}
			}
		}()
	}

	code := exitOK
	select {
	case <-ctx.Done():
		log.Info("shutting down", "drain", o.drain.String())
	case err := <-served:
		log.Error("server failed", "error", err.Error())
		code = exitFindings
	}
	// Stop accepting; requests in flight finish (their records are then in
	// the pipeline), bounded by -drain.
	g.SetDraining()
	stopWatch()
	start := time.Now()
	sctx, cancel := context.WithTimeout(context.Background(), o.drain)
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	cancel()
	// Deliver for what is left of -drain, then dead-letter the rest (in
	// durable mode: leave it in the stream).
	cctx, cancel := context.WithTimeout(context.Background(), max(o.drain-time.Since(start), 0))
	closeErr := stopDelivery(cctx)
	cancel()
	if flushDone != nil {
		close(stopFlush)
		<-flushDone
	}
	if lines != nil {
		lines.Flush(context.Background())
	}
	if out != nil {
		out.Flush()
	}
	if httpd != nil {
		httpd.Close(context.Background())
	}
	if c, ok := dead.(dispatch.Closer); ok {
		if err := c.Close(context.Background()); err != nil {
			log.Error("dead-letter file", "error", err.Error())
			code = exitFindings
		}
	}
	if durable != nil {
		attrs := []any{}
		if closeErr != nil {
			attrs = append(attrs, "drain", closeErr.Error())
		}
		log.Info("stopped", attrs...)
		return code
	}
	s := p.Stats()
	attrs := []any{"published", s.Published, "matched", s.Matched, "unmatched", s.Unmatched, "delivered", s.Delivered,
		"dead_lettered", s.DeadLettered, "dead_letter_failed", s.DeadLetterFailed, "rejected", s.Rejected}
	if closeErr != nil {
		attrs = append(attrs, "drain", closeErr.Error())
	}
	if s.DeadLettered > 0 {
		attrs = append(attrs, "dead_letter_file", deadName)
	}
	log.Info("stopped", attrs...)
	return code
}

// check validates the parsed options; it returns 0 or the exit status.
func (o *serveOptions) check(fs *flag.FlagSet, format, policy string, stderr io.Writer) int {
	var err error
	if o.format, err = batch.ParseFormat(format); err != nil {
		return usageError(stderr, "serve", "-format %q: want cos, s3 or cloudevents", clip(format))
	}
	if o.policy, err = dispatch.ParseQueuePolicy(policy); err != nil {
		return usageError(stderr, "serve", "-policy %q: want reject or block", clip(policy))
	}
	if o.policy == dispatch.DropNewest {
		return usageError(stderr, "serve", "-policy drop is refused: the gateway must not lose records it answered 202 for; use reject or block")
	}
	if o.cosRegion != "" {
		if o.format != batch.FormatCOS {
			return usageError(stderr, "serve", "-cos-region is for -format cos")
		}
		r, err := checkRegion(batch.FormatCOS, o.cosRegion)
		if err != nil {
			return usageError(stderr, "serve", "-cos-%v", err)
		}
		o.cosRegion = r
	}
	if o.region == "" {
		return usageError(stderr, "serve", "-region: want a region name such as us-east-1")
	}
	if msg := o.invalid(fs); msg != "" {
		return usageError(stderr, "serve", "%s", msg)
	}
	for _, c := range []struct {
		name string
		bad  bool
		want string
	}{
		{"-max-body", o.maxBody < 1, "at least 1"},
		{"-max-inflight", o.maxInflight < 1, "at least 1"},
		{"-rule-cache-bytes", o.ruleCacheBytes < 0, "0 (off) or more"},
	} {
		if c.bad {
			return usageError(stderr, "serve", "%s %s: want %s", c.name, fs.Lookup(c.name[1:]).Value, c.want)
		}
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return usageError(stderr, "serve", "give -tls-cert and -tls-key together")
	}
	if o.tlsCert != "" {
		if _, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey); err != nil {
			return usageError(stderr, "serve", "-tls-cert/-tls-key: %v", err)
		}
	}
	if o.data == "" {
		return usageError(stderr, "serve", "-data: want a directory")
	}
	if o.deadLetter == "" {
		o.deadLetter = filepath.Join(o.data, "dead-letter.jsonl")
	}
	switch {
	case o.to == "-":
	case strings.HasPrefix(o.to, "http://") || strings.HasPrefix(o.to, "https://"):
	default:
		t, err := dispatch.LoadTargetsFile(o.to)
		if err != nil {
			return usageError(stderr, "serve", "-to: %v", err)
		}
		o.targets = t
	}
	return 0
}

// The secret files under <data>/secrets/.
const (
	secretAccessKey   = "access-key"
	secretSecretKey   = "secret-key"
	secretIngestToken = "ingest-token"
	secretDelivery    = "delivery-secret"
)

// readSecrets takes each secret from its variable (or -secret-file), else
// from its file under <data>/secrets/, else generates and stores it.
func (o *serveOptions) readSecrets() error {
	o.secretsDir = filepath.Join(o.data, "secrets")
	get := func(env, file string, gen func() string) (string, error) {
		if v := os.Getenv(env); v != "" {
			return v, nil
		}
		path := filepath.Join(o.secretsDir, file)
		b, err := os.ReadFile(path)
		if err == nil {
			v := string(bytes.TrimRight(b, "\r\n"))
			if v == "" {
				return "", fmt.Errorf("%s is empty; remove it to have a new secret generated", path)
			}
			return v, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		v := gen()
		if err := writeSecret(o.secretsDir, file, v); err != nil {
			return "", err
		}
		o.generatedSecrets = append(o.generatedSecrets, path)
		return v, nil
	}
	var err error
	if o.accessKey, err = get("NOTIFYMUX_ACCESS_KEY", secretAccessKey, func() string { return randomKey(20, upperAlnum) }); err != nil {
		return err
	}
	if o.s3Key, err = get("NOTIFYMUX_SECRET_KEY", secretSecretKey, func() string { return randomBase64(30) }); err != nil {
		return err
	}
	if o.ingestToken, err = get("NOTIFYMUX_INGEST_TOKEN", secretIngestToken, func() string { return randomBase64(32) }); err != nil {
		return err
	}
	if o.secretFile != "" {
		if o.secret, err = readSecret(o.secretFile); err != nil {
			return err
		}
		return nil
	}
	s, err := get("NOTIFYMUX_SECRET", secretDelivery, func() string { return randomBase64(32) })
	o.secret = []byte(s)
	return err
}

const upperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// randomKey returns n random characters of alphabet.
func randomKey(n int, alphabet string) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// randomBase64 returns n random bytes in URL-safe base64.
func randomBase64(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// writeSecret writes v to dir/name, mode 0600, through a temporary file.
func writeSecret(dir, name, v string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+name+"-*")
	if err != nil {
		return err
	}
	_, err = f.WriteString(v + "\n")
	if err == nil {
		err = f.Chmod(0o600)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// heldWriter holds what is written until release, then writes through.
type heldWriter struct {
	mu       sync.Mutex
	w        io.Writer
	held     bytes.Buffer
	released bool
}

func (h *heldWriter) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.released {
		return h.held.Write(p)
	}
	return h.w.Write(p)
}

func (h *heldWriter) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.released {
		h.released = true
		h.w.Write(h.held.Bytes())
		h.held.Reset()
	}
}
