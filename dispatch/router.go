// This file is the routing step: a decoded object event is matched against
// the rule index, turned into the batch.Record its function receives, and
// published to the Pipeline. It is the one path from an object store's event
// to a queued record, shared by `notifymux run`, the gateway's ingest
// endpoint and any program that embeds notifymux.
//
// Filling a record: the fields the event carries are kept as they are (an
// incoming record's url, size, eTag, request id, sequencer, time and
// metadata). What it lacks is filled in: the bucket from
// RouterConfig.DefaultBucket; the APPID from the bucket's own name when it
// is a full COS name <name>-<appid>, else from RouterConfig.AppID; the
// region from RouterConfig.Regions, else RouterConfig.Region; the time from
// RouterConfig.Now.
//
// COS names a bucket two ways: its records carry the short name and the
// APPID apart (cosBucket.name "testpic", appid "1253970026"), while its
// API addresses the full name "testpic-1253970026". Rules may be held under
// either, so when the name as given holds no matching rule, Route also tries
// the other form. A name given in full is tried first as it is.

package dispatch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/notifymux/notifymux/batch"
	"github.com/notifymux/notifymux/match"
)

// ErrNoBucket is wrapped by Route's error for a record that names no bucket
// when RouterConfig.DefaultBucket is empty.
var ErrNoBucket = errors.New("the record names no bucket and no default bucket is set")

// RouterConfig configures a Router.
type RouterConfig struct {
	// Index holds the rules. Required unless Rules is set. It may change
	// while the Router runs (Add, Replace, …): each record is matched
	// against the rules of the moment.
	Index *match.Index
	// Rules, if set, gives the rules of each record's bucket instead of
	// Index: a cache of the hot buckets' rules (dispatch/rulecache) that
	// loads a missing bucket while Route waits, before matching. A load
	// that fails refuses the record with its error.
	Rules RuleSource
	// Pipeline receives every routed record, matched or not (an unmatched
	// record is only counted there): a *Pipeline, or a durable stage such
	// as dispatch/jetstream's. Required. The Router does not close it.
	Pipeline Publisher
	// DefaultBucket is the bucket of records that name none. Default "":
	// such records are refused with ErrNoBucket.
	DefaultBucket string
	// AppID is the COS APPID of matched records that carry none and whose
	// bucket name does not end in one. Default "".
	AppID string
	// Regions maps a bucket to its region, for matched records of that
	// bucket that carry no region. It is read, never written, while the
	// Router runs. Default nil.
	Regions map[string]string
	// Region is the region of matched records that carry none and whose
	// bucket is not in Regions. For the COS format give the full name
	// (ap-guangzhou); the payload's url is built from it. Default "".
	Region string
	// Now gives the time of matched records that carry none. Default
	// time.Now.
	Now func() time.Time
	// OnMissingRegion, if set, is called once per Router, the first time a
	// matched record has no region of its own and Region is empty, with
	// that record's bucket: its payload will carry no region.
	OnMissingRegion func(bucket string)
}

// Publisher is the stage a Router hands records to: the in-memory
// *Pipeline, or a durable one. PublishContext takes r (with or without a
// Target) or returns an error saying why it refused it; a record it took
// must be delivered or dead-lettered, never dropped without a trace.
type Publisher interface {
	PublishContext(ctx context.Context, r batch.Record) error
}

// BatchPublisher is a Publisher that also takes several records at once:
// a durable stage whose every acknowledgement waits for storage can then
// store the records of one request together instead of one after another.
// RouteAll uses PublishBatch when its Pipeline has it.
type BatchPublisher interface {
	Publisher
	// PublishBatch publishes recs, within ctx, and sets errs[i] (len(errs)
	// is len(recs)) to nil when it took recs[i], or else to why it refused
	// it, as PublishContext would. recs and errs are not kept.
	PublishBatch(ctx context.Context, recs []batch.Record, errs []error)
}

// MaxRouteBatch is the most records RouteAll hands to PublishBatch at once.
const MaxRouteBatch = 256

// RuleSource gives the compiled rules of one bucket, loading them if
// needed, within ctx. A bucket without rules has rules that match nothing.
type RuleSource interface {
	BucketRules(ctx context.Context, bucket string) (BucketRules, error)
}

// BucketRules are the compiled rules of one bucket. Match returns the rule
// that an event of type e on key triggers; it never waits.
type BucketRules interface {
	Match(e match.Event, key string) (match.Rule, bool)
}

// Router matches decoded events against an Index and publishes the records
// to a Pipeline. It is safe for concurrent use.
type Router struct {
	cfg           RouterConfig
	missingRegion sync.Once
}

// NewRouter validates cfg and returns a Router. Errors name the field at
// fault.
func NewRouter(cfg RouterConfig) (*Router, error) {
	if cfg.Index == nil && cfg.Rules == nil {
		return nil, &ConfigError{Field: "RouterConfig.Index", Value: nil, Reason: "required (or RouterConfig.Rules)"}
	}
	if cfg.Pipeline == nil {
		return nil, &ConfigError{Field: "RouterConfig.Pipeline", Value: nil, Reason: "required"}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Router{cfg: cfg}, nil
}

// Counts are what routing some input did, in records. Accepted = Matched +
// Unmatched: every record the Pipeline took. Refused counts the records that
// could not be read and those the Pipeline refused (a full queue under the
// Reject policy, a context that ended while waiting under Block, Close).
type Counts struct {
	Accepted  int // records handed to the Pipeline: Matched + Unmatched
	Matched   int // records a rule matched, queued for its target
	Unmatched int // valid records no rule matched (their bucket may have no rules at all)
	Refused   int // records not read (bad input) or not accepted by the Pipeline
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.Accepted += o.Accepted
	c.Matched += o.Matched
	c.Unmatched += o.Unmatched
	c.Refused += o.Refused
}

// RouteError is a record that RouteAll could not route: a *batch.DecodeError
// for input it could not read, or the reason Route refused a record.
type RouteError struct {
	Line      int   // 1-based input line where the record's JSON value starts
	Index     int   // the record's index in its payload's Records (when InRecords)
	InRecords bool  // whether the record was one of a Records payload
	Err       error // why
}

// Error returns "line 3: record 2 of Records: cause" or "line 3: cause".
func (e *RouteError) Error() string {
	var d *batch.DecodeError
	if errors.As(e.Err, &d) {
		return d.Error() // it says where already
	}
	if e.InRecords {
		return fmt.Sprintf("line %d: record %d of Records: %v", e.Line, e.Index, e.Err)
	}
	return fmt.Sprintf("line %d: %v", e.Line, e.Err)
}

// Unwrap returns the cause.
func (e *RouteError) Unwrap() error { return e.Err }

// Route matches in against the Index and publishes its record with
// PublishContext: with the rule's ID and target when a rule matched, and
// without a target (counted as unmatched) when none did. It reports whether
// a rule matched. An error means the record was refused and is not in the
// Pipeline: no bucket (ErrNoBucket), a key over batch.MaxKeyLen, or the
// Pipeline's refusal (*QueueFullError, ErrClosed, or ctx's error while the
// Block policy waited), or the error of RouterConfig.Rules loading the
// bucket's rules. in is not kept.
func (r *Router) Route(ctx context.Context, in *batch.Inbound) (matched bool, err error) {
	rec, matched, err := r.prepare(ctx, in)
	if err != nil {
		return false, err
	}
	if err := r.cfg.Pipeline.PublishContext(ctx, rec); err != nil {
		return false, err
	}
	return matched, nil
}

// prepare matches in's record and fills what it lacks, ready to publish.
func (r *Router) prepare(ctx context.Context, in *batch.Inbound) (rec batch.Record, matched bool, err error) {
	rec = in.Record
	if rec.Bucket == "" {
		rec.Bucket = r.cfg.DefaultBucket
		if rec.Bucket == "" {
			return rec, false, ErrNoBucket
		}
	}
	if len(rec.Key) > batch.MaxKeyLen {
		return rec, false, fmt.Errorf("key is %d bytes, over the %d-byte limit of COS and S3: %w", len(rec.Key), batch.MaxKeyLen, batch.ErrKeyTooLong)
	}
	var rule match.Rule
	var ok bool
	if r.cfg.Rules != nil {
		if rule, ok, err = r.matchLoaded(ctx, &rec); err != nil {
			return rec, false, err
		}
	} else {
		rule, ok = r.match(&rec)
	}
	if !ok {
		rec.RuleID, rec.Target = "", ""
		return rec, false, nil
	}
	rec.RuleID, rec.Target = rule.ID, rule.Target
	if rec.AppID == "" {
		if _, appid := batch.SplitCOSBucket(rec.Bucket); appid == "" {
			rec.AppID = r.cfg.AppID
		}
	}
	if rec.Region == "" {
		rec.Region = r.cfg.Regions[rec.Bucket]
	}
	if rec.Region == "" {
		rec.Region = r.cfg.Region
		if rec.Region == "" && r.cfg.OnMissingRegion != nil {
			r.missingRegion.Do(func() { r.cfg.OnMissingRegion(rec.Bucket) })
		}
	}
	if rec.Time.IsZero() {
		rec.Time = r.cfg.Now()
	}
	return rec, true, nil
}

// match finds the rule of rec, trying the other form of a COS bucket name
// when the name as given has none.
func (r *Router) match(rec *batch.Record) (match.Rule, bool) {
	x := r.cfg.Index
	if rule, ok := x.Match(rec.Bucket, rec.Event, rec.Key); ok {
		return rule, true
	}
	if name, appid := batch.SplitCOSBucket(rec.Bucket); appid != "" {
		return x.Match(name, rec.Event, rec.Key) // full name given, rules under the short one
	}
	if rec.AppID != "" && !strings.HasSuffix(rec.Bucket, "-"+rec.AppID) {
		return x.Match(rec.Bucket+"-"+rec.AppID, rec.Event, rec.Key) // short name given, rules under the full one
	}
	return match.Rule{}, false
}

// matchLoaded is match with the rules of RouterConfig.Rules, loaded first.
func (r *Router) matchLoaded(ctx context.Context, rec *batch.Record) (match.Rule, bool, error) {
	try := func(bucket string) (match.Rule, bool, error) {
		rules, err := r.cfg.Rules.BucketRules(ctx, bucket)
		if err != nil {
			return match.Rule{}, false, err
		}
		rule, ok := rules.Match(rec.Event, rec.Key)
		return rule, ok, nil
	}
	if rule, ok, err := try(rec.Bucket); ok || err != nil {
		return rule, ok, err
	}
	if name, appid := batch.SplitCOSBucket(rec.Bucket); appid != "" {
		return try(name)
	}
	if rec.AppID != "" && !strings.HasSuffix(rec.Bucket, "-"+rec.AppID) {
		return try(rec.Bucket + "-" + rec.AppID)
	}
	return match.Rule{}, false, nil
}

// RouteAll reads every record of dec and routes it. Each record that cannot
// be read or is refused is counted as refused and passed to onError (if not
// nil) as a *RouteError, in the order of the input; RouteAll goes on with
// the next record unless onError returns an error, which RouteAll then
// returns. It also stops, and returns the error, when ctx ends, when the
// Pipeline is closed, or when reading dec's input fails. At the end of the
// input it returns nil.
//
// When the Pipeline is a BatchPublisher, RouteAll hands it the records in
// batches of at most MaxRouteBatch, in the order read: a batch is
// published when it is full, before a record that cannot be read is
// reported, and at the end of the input. It returns only after its last
// batch was answered, so every record counted as accepted was taken. It
// stops when the Pipeline refused every record of a batch with
// ErrQueueFull (full, or not answering within its wait), and returns an
// error that wraps that refusal: the records after the batch are not read.
func (r *Router) RouteAll(ctx context.Context, dec *batch.Decoder, onError func(*RouteError) error) (Counts, error) {
	var c Counts
	report := func(e *RouteError) error {
		c.Refused++
		if onError != nil {
			return onError(e)
		}
		return nil
	}
	bp, batching := r.cfg.Pipeline.(BatchPublisher)
	type pending struct {
		line, index int
		inRecords   bool
		matched     bool
	}
	var (
		recs []batch.Record
		pend []pending
		errs []error
	)
	// flush publishes the pending records and accounts for each.
	flush := func() error {
		if len(recs) == 0 {
			return nil
		}
		errs = append(errs[:0], make([]error, len(recs))...)
		bp.PublishBatch(ctx, recs, errs)
		var stop, lastFull error
		full := 0
		for i, p := range pend {
			if err := errs[i]; err != nil {
				if errors.Is(err, ErrQueueFull) {
					full, lastFull = full+1, err
				}
				if stop == nil {
					if rerr := report(&RouteError{Line: p.line, Index: p.index, InRecords: p.inRecords, Err: err}); rerr != nil {
						stop = rerr
					} else if errors.Is(err, ErrClosed) || ctx.Err() != nil {
						stop = err
					}
				} else {
					c.Refused++ // counted, not reported: RouteAll is stopping
				}
				continue
			}
			c.Accepted++
			if p.matched {
				c.Matched++
			} else {
				c.Unmatched++
			}
		}
		if stop == nil && full == len(recs) {
			// The stage took none of them: full, or not answering. The
			// rest would meet the same, after as long a wait.
			stop = fmt.Errorf("dispatch: all %d records of a batch were refused, the records after them not read: %w", full, lastFull)
		}
		clear(recs) // drop the references to keys and metadata
		recs, pend = recs[:0], pend[:0]
		return stop
	}
	for {
		if err := ctx.Err(); err != nil {
			if batching {
				if ferr := flush(); ferr != nil {
					return c, ferr
				}
			}
			return c, err
		}
		in, err := dec.Next()
		if err == io.EOF {
			if batching {
				return c, flush()
			}
			return c, nil
		}
		if err != nil {
			if batching {
				if ferr := flush(); ferr != nil {
					return c, ferr
				}
			}
			var d *batch.DecodeError
			if !errors.As(err, &d) {
				return c, err
			}
			if err := report(&RouteError{Line: d.Line, Index: d.Index, InRecords: d.InRecords, Err: d}); err != nil {
				return c, err
			}
			continue
		}
		inRecords := in.Source != batch.SourceLine
		if batching {
			rec, matched, err := r.prepare(ctx, in)
			if err != nil {
				if ferr := flush(); ferr != nil {
					return c, ferr
				}
				if rerr := report(&RouteError{Line: in.Line, Index: in.Index, InRecords: inRecords, Err: err}); rerr != nil {
					return c, rerr
				}
				if ctx.Err() != nil {
					return c, err
				}
				continue
			}
			recs = append(recs, rec)
			pend = append(pend, pending{line: in.Line, index: in.Index, inRecords: inRecords, matched: matched})
			if len(recs) == MaxRouteBatch {
				if err := flush(); err != nil {
					return c, err
				}
			}
			continue
		}
		matched, err := r.Route(ctx, in)
		if err != nil {
			if rerr := report(&RouteError{Line: in.Line, Index: in.Index, InRecords: inRecords, Err: err}); rerr != nil {
				return c, rerr
			}
			if errors.Is(err, ErrClosed) || ctx.Err() != nil {
				return c, err
			}
			continue
		}
		c.Accepted++
		if matched {
			c.Matched++
		} else {
			c.Unmatched++
		}
	}
}
