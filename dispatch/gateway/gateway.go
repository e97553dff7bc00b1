// Package gateway is a notification gateway: an HTTP server that S3 and COS
// clients configure with the bucket notification calls they already make,
// that object stores push their events into, and that delivers the matched
// events to functions through a dispatch.Pipeline.
//
// Endpoints (path-style, as minio-go and aws-sdk-go-v2 speak them):
//
//   - PUT /{bucket}?notification replaces the bucket's configuration, all or
//     nothing; GET /{bucket}?notification gives it back as it was sent
//     (element names, event spellings, Ids; a configuration sent without an
//     Id gets a stable one); GET /{bucket}?location answers the region. Both
//     spellings, /{bucket}?notification and /{bucket}/?notification=, work.
//     Requests are signed with AWS Signature V4 (package sigv4); errors are
//     S3 <Error> bodies with S3's codes (see APIError).
//   - POST /events with "Authorization: Bearer <token>" ingests event lines,
//     COS or S3 Records payloads or MinIO webhook bodies, and answers 202
//     with the counts of accepted, matched, unmatched and refused records.
//   - GET /healthz answers 200 once the configurations are loaded and until
//     SetDraining; GET /metrics is served by Config.MetricsHandler.
//
// Configurations persist in a Store (shard files of many buckets, each
// write a temporary file, fsync, rename and a directory fsync) and are loaded
// into the match.Index at start in one AddAll call.
//
// Every answer carries x-amz-request-id; every request that changes
// something or fails is logged as one structured line.
package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/notifymux/notifymux/dispatch"
	"github.com/notifymux/notifymux/dispatch/gateway/sigv4"
	"github.com/notifymux/notifymux/dispatch/rulecache"
	"github.com/notifymux/notifymux/match"
	"github.com/notifymux/notifymux/match/config"
)

// Defaults of Config.
const (
	DefaultRegion      = "us-east-1"
	DefaultMaxBody     = 8 << 20 // bytes per request
	DefaultMaxInflight = 256     // ingest requests at once
	MaxS3Bodies        = 64      // notification API bodies read at once
)

// Config configures a Gateway. Zero fields take the defaults given.
type Config struct {
	// Store holds the configurations: a *Store (files under a directory)
	// or another ConfigStore, such as a key-value bucket that several
	// gateways share (then call Apply with the changes the others make).
	// Required.
	Store ConfigStore
	// Index is the index the configurations are loaded into and ingest
	// matches against. Default match.New(). New adds the stored
	// configurations to it in one AddAll call.
	Index *match.Index
	// Pipeline receives the ingested records. Required for POST /events
	// (without it ingest answers 503), unless Publisher is set.
	Pipeline *dispatch.Pipeline
	// RuleCache, if set, gives ingest the rules of each bucket, loaded on
	// a miss from Store while the request waits (build it with
	// StoreLoader), instead of an Index holding every bucket's rules: for
	// more configured buckets than fit in memory. New then puts no rules
	// in Index (it only counts the stored configurations), and a PUT or
	// Apply drops the bucket's cached rules. The caller closes it.
	RuleCache *rulecache.Cache
	// Publisher, if set, receives the ingested records instead of
	// Pipeline: a durable stage such as dispatch/jetstream's Publisher,
	// whose refusal of a full stream (it matches dispatch.ErrQueueFull) is
	// counted as refused, as a full queue is. Pipeline must then be nil.
	Publisher dispatch.Publisher

	// Region is the region clients sign for and GET ?location answers.
	// Default DefaultRegion.
	Region string
	// Keys maps each access key id clients sign with to its secret key.
	// Required.
	Keys map[string]string
	// IngestToken is the bearer token of POST /events. Required.
	IngestToken string
	// Targets, if set, is the table of the targets deliveries can reach: a
	// configuration naming another target is refused (InvalidArgument,
	// "Unable to validate the following destination configurations"). Nil
	// accepts every target.
	Targets map[string]string

	// Routing of ingested events (see dispatch.RouterConfig): the APPID and
	// region given to records that carry none, and a hook called for a
	// bucket whose records have no region.
	AppID           string
	RecordRegion    string
	OnMissingRegion func(bucket string)
	// MaxValueBytes bounds one JSON value of an ingest body (an event line,
	// or one payload however many records it holds), which the decoder holds
	// in memory while it reads it. Default MaxBody.
	MaxValueBytes int

	// MaxBody bounds a request body, in bytes: over it the answer is 413.
	// Default DefaultMaxBody.
	MaxBody int64
	// MaxInflight bounds the ingest requests served at once: past it ingest
	// answers 503 with Retry-After. Default DefaultMaxInflight. (Bodies of
	// the notification API are bounded apart: at most MaxS3Bodies are read
	// at once, past which the answer is 503 SlowDown.) Memory for bodies is
	// thus at most about (MaxInflight + MaxS3Bodies) × MaxBody.
	MaxInflight int

	// Logger receives one line per request that changes something or
	// fails. Default: none.
	Logger *slog.Logger
	// Metrics receives counts and durations. Default: none.
	Metrics Metrics
	// MetricsHandler, if set, serves GET /metrics.
	MetricsHandler http.Handler
	// Now returns the current time (signature clock skew). Default time.Now.
	Now func() time.Time
}

// Gateway is the HTTP handler of the notification gateway. It is safe for
// concurrent use.
type Gateway struct {
	cfg      Config
	index    *match.Index
	verifier *sigv4.Verifier
	log      *slog.Logger
	metrics  Metrics
	inflight chan struct{}
	s3Bodies chan struct{}
	ingest   *ingester

	locks   [64]sync.Mutex // serialise writes to one bucket: locks[hash(bucket)%64]
	seed    maphash.Seed
	buckets atomic.Int64 // buckets with rules in the index (not kept with a RuleCache)

	draining atomic.Bool
	ids      atomic.Uint64
	idBase   uint64
	loaded   LoadStats
}

// LoadStats describes the start-up load of the stored configurations.
type LoadStats struct {
	Buckets  int           // configurations read
	Rules    int           // rules added to the index in one AddAll
	Duration time.Duration // reading, parsing and adding
}

// New checks cfg, loads every stored configuration into the index in one
// AddAll call, and returns the Gateway. Errors name the Config field or the
// stored file at fault.
func New(cfg Config) (*Gateway, error) {
	if cfg.Store == nil {
		return nil, errors.New("gateway: Config.Store is required")
	}
	if len(cfg.Keys) == 0 {
		return nil, errors.New("gateway: Config.Keys is required (the access keys clients sign with)")
	}
	for k, s := range cfg.Keys {
		if k == "" || s == "" {
			return nil, errors.New("gateway: Config.Keys holds an empty access key or secret key")
		}
	}
	if cfg.IngestToken == "" {
		return nil, errors.New("gateway: Config.IngestToken is required")
	}
	if cfg.Index == nil {
		cfg.Index = match.New()
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if cfg.MaxBody < 0 || cfg.MaxInflight < 0 {
		return nil, fmt.Errorf("gateway: Config.MaxBody (%d) and Config.MaxInflight (%d) must not be negative", cfg.MaxBody, cfg.MaxInflight)
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.MaxInflight == 0 {
		cfg.MaxInflight = DefaultMaxInflight
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxValueBytes <= 0 {
		cfg.MaxValueBytes = int(min(cfg.MaxBody, 1<<30))
	}
	g := &Gateway{
		cfg:      cfg,
		index:    cfg.Index,
		verifier: &sigv4.Verifier{Keys: cfg.Keys, Region: cfg.Region, Now: cfg.Now},
		log:      cfg.Logger,
		metrics:  cfg.Metrics,
		inflight: make(chan struct{}, cfg.MaxInflight),
		s3Bodies: make(chan struct{}, MaxS3Bodies),
		seed:     maphash.MakeSeed(),
		idBase:   uint64(time.Now().UnixNano()),
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	if g.metrics == nil {
		g.metrics = noMetrics{}
	}
	if err := g.load(); err != nil {
		return nil, err
	}
	if cfg.Pipeline != nil && cfg.Publisher != nil {
		return nil, errors.New("gateway: Config.Pipeline and Config.Publisher are both set; give one")
	}
	if cfg.Pipeline != nil || cfg.Publisher != nil {
		ing, err := newIngester(g)
		if err != nil {
			return nil, err
		}
		g.ingest = ing
	}
	return g, nil
}

// load reads every stored configuration, several files at once, and adds
// all their rules to the index in one AddAll call. Only the rules are read
// (config.ReadXML): GET answers the stored document itself.
func (g *Gateway) load() error {
	start := time.Now()
	var (
		mu  sync.Mutex
		all []match.Rule
		n   int
	)
	err := g.cfg.Store.All(4*runtime.GOMAXPROCS(0), func(bucket string, doc []byte) error {
		if g.cfg.RuleCache != nil { // rules are loaded when events come
			mu.Lock()
			n++
			mu.Unlock()
			return nil
		}
		rules, err := config.ReadXML(bytes.NewReader(doc), bucket)
		if err != nil {
			return fmt.Errorf("gateway: stored configuration of bucket %q (%s): %w", bucket, g.cfg.Store.Dir(), err)
		}
		if len(rules) > 0 {
			mu.Lock()
			n++
			all = append(all, rules...)
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := g.index.AddAll(all); err != nil {
		return fmt.Errorf("gateway: loading the stored configurations: %w", err)
	}
	g.buckets.Store(int64(n))
	g.loaded = LoadStats{Buckets: n, Rules: len(all), Duration: time.Since(start)}
	return nil
}

// Loaded returns what New loaded from the store.
func (g *Gateway) Loaded() LoadStats { return g.loaded }

// Index returns the index the gateway matches against.
func (g *Gateway) Index() *match.Index { return g.index }

// Stats returns a snapshot of the gauges: the buckets and rules the
// gateway holds compiled (without a RuleCache every configured bucket, in
// the index; with one, the cached buckets), the rule cache's counts and the
// pipeline's counters.
func (g *Gateway) Stats() Stats {
	var s Stats
	if c := g.cfg.RuleCache; c != nil {
		s.RuleCache = c.Stats()
		s.Buckets, s.Rules = int(s.RuleCache.Buckets), int(s.RuleCache.Rules)
	} else {
		s.Buckets, s.Rules = int(g.buckets.Load()), g.index.Len()
	}
	if g.cfg.Pipeline != nil {
		s.Pipeline = g.cfg.Pipeline.Stats()
	}
	return s
}

// SetDraining makes /healthz answer 503 (the gateway is shutting down) and
// ingest refuse new requests with 503, while the notification API goes on.
func (g *Gateway) SetDraining() { g.draining.Store(true) }

// NewServer returns an http.Server for h with the timeouts a server facing
// the network needs (slow clients cannot hold connections forever) and its
// errors logged to log (nil: discarded).
func NewServer(h http.Handler, log *slog.Logger) *http.Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// request is the state of one request: its id, route and what the log line
// says about it.
type request struct {
	id     string
	route  string
	start  time.Time
	attrs  []slog.Attr
	err    string
	change bool // the request changed something: log it even when it succeeded
}

// statusWriter records the status a handler writes.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// ServeHTTP answers one request.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req := &request{id: fmt.Sprintf("%016X", g.idBase+g.ids.Add(1)), start: time.Now()}
	w.Header().Set("x-amz-request-id", req.id)
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			req.err = fmt.Sprint("panic: ", p)
			if sw.status == 0 {
				ErrInternal.write(sw, r.URL.Path, req.id)
			}
		}
		g.finish(r, req, sw.status)
	}()
	q := r.URL.Query()
	switch {
	case q.Has("notification") || q.Has("location"):
		g.serveS3(sw, r, req, q)
	case r.URL.Path == "/events":
		req.route = RouteEvents
		g.serveIngest(sw, r, req)
	case r.URL.Path == "/healthz":
		req.route = RouteHealthz
		if g.draining.Load() {
			http.Error(sw, "draining\n", http.StatusServiceUnavailable)
			return
		}
		sw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		sw.Write([]byte("ok\n"))
	case r.URL.Path == "/metrics" && g.cfg.MetricsHandler != nil:
		req.route = RouteMetrics
		g.cfg.MetricsHandler.ServeHTTP(sw, r)
	default:
		g.serveS3(sw, r, req, q)
	}
}

// finish counts and logs req.
func (g *Gateway) finish(r *http.Request, req *request, status int) {
	if status == 0 {
		status = http.StatusOK
	}
	if req.route == "" {
		req.route = RouteS3Other
	}
	d := time.Since(req.start)
	g.metrics.Request(req.route, status, d)
	if !req.change && status < 400 {
		return
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	} else if status >= 400 {
		level = slog.LevelWarn
	}
	attrs := append([]slog.Attr{
		slog.String("request_id", req.id),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("route", req.route),
		slog.Int("status", status),
		slog.Duration("duration", d),
		slog.String("remote", r.RemoteAddr),
	}, req.attrs...)
	if req.err != "" {
		attrs = append(attrs, slog.String("error", req.err))
	}
	g.log.LogAttrs(context.Background(), level, "request", attrs...)
}

// lock locks the writes to bucket and returns the unlock function.
func (g *Gateway) lock(bucket string) func() {
	m := &g.locks[maphash.String(g.seed, bucket)%uint64(len(g.locks))]
	m.Lock()
	return m.Unlock
}
