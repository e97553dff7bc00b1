// This file is the gateway's side of metrics: a small interface the gateway
// reports to (Prometheus lives in the prommetrics subpackage, so a library
// user who wants none need not import client_golang), the snapshot of the
// gauges a metrics system reads at scrape time, and a Dispatcher wrapper
// that times deliveries.

package gateway

import (
	"context"
	"time"

	"github.com/notifymux/notifymux/batch"
	"github.com/notifymux/notifymux/dispatch"
	"github.com/notifymux/notifymux/dispatch/rulecache"
)

// Metrics receives what the gateway counts. Implementations must be safe for
// concurrent use. A nil Metrics in Config counts nothing.
type Metrics interface {
	// Request is called once per answered request with its route (one of
	// the Route constants, never a bucket or key), its status and how long
	// it took.
	Request(route string, status int, d time.Duration)
	// Records counts ingested records by outcome: OutcomeMatched,
	// OutcomeUnmatched or OutcomeRefused.
	Records(outcome string, n int)
	// Delivery is called once per delivery attempt with its duration and
	// result.
	Delivery(d time.Duration, err error)
}

// The routes passed to Metrics.Request.
const (
	RoutePutNotification = "put_notification"
	RouteGetNotification = "get_notification"
	RouteGetLocation     = "get_location"
	RouteS3Other         = "s3_other" // an S3 request the gateway does not implement
	RouteEvents          = "events"
	RouteHealthz         = "healthz"
	RouteMetrics         = "metrics"
)

// The record outcomes passed to Metrics.Records.
const (
	OutcomeMatched   = "matched"   // a rule matched: handed to the pipeline
	OutcomeUnmatched = "unmatched" // valid, but no rule matched
	OutcomeRefused   = "refused"   // unreadable, or refused by a full queue
)

// Stats is a snapshot of the gateway's gauges.
//
// Buckets and Rules count what the gateway holds compiled, which is what
// its memory follows. Without a RuleCache that is every bucket of the store
// with at least one rule, and their rules, all in the index. With a
// RuleCache it is only the cached buckets with at least one rule, and their
// rules (the same as RuleCache.Buckets and RuleCache.Rules): the gateway
// then keeps nothing per uncached bucket, so it does not know how many
// buckets the store holds; LoadStats.Buckets counted them at start.
type Stats struct {
	Buckets   int             // buckets with at least one rule held compiled
	Rules     int             // their rules
	RuleCache rulecache.Stats // with a RuleCache: its hits, misses, bytes and cached buckets; zero without
	Pipeline  dispatch.Stats  // the pipeline's counters, with each target's queue depth
}

// noMetrics is used when Config.Metrics is nil.
type noMetrics struct{}

func (noMetrics) Request(string, int, time.Duration) {}
func (noMetrics) Records(string, int)                {}
func (noMetrics) Delivery(time.Duration, error)      {}

// TimeDeliveries returns a Dispatcher that calls d and reports the duration
// of each call to m (m nil: d itself). It keeps d's abilities: it is a
// Releaser reporting what d reports (false when d is not one), and it
// forwards Flush and Close when d has them.
func TimeDeliveries(d dispatch.Dispatcher, m Metrics) dispatch.Dispatcher {
	if m == nil {
		return d
	}
	return &timedDispatcher{d: d, m: m}
}

type timedDispatcher struct {
	d dispatch.Dispatcher
	m Metrics
}

func (t *timedDispatcher) Dispatch(ctx context.Context, b batch.Batch) error {
	start := time.Now()
	err := t.d.Dispatch(ctx, b)
	t.m.Delivery(time.Since(start), err)
	return err
}

func (t *timedDispatcher) ReleasesBatches() bool {
	r, ok := t.d.(dispatch.Releaser)
	return ok && r.ReleasesBatches()
}

func (t *timedDispatcher) Flush(ctx context.Context) error {
	if f, ok := t.d.(dispatch.Flusher); ok {
		return f.Flush(ctx)
	}
	return nil
}

func (t *timedDispatcher) Close(ctx context.Context) error {
	if c, ok := t.d.(dispatch.Closer); ok {
		return c.Close(ctx)
	}
	return nil
}
