// Package prommetrics exposes a gateway's metrics in the Prometheus text
// format, with github.com/prometheus/client_golang and a registry of its own
// (never the global one). It is a separate package so that users of package
// gateway who want no Prometheus need not import client_golang.
//
// Metrics (all prefixed notifymux_, counters ending in _total, durations in
// seconds; no label ever holds a bucket name or an object key):
//
//	notifymux_http_requests_total{route,code}          requests answered
//	notifymux_http_request_duration_seconds{route}     histogram
//	notifymux_records_total{outcome}                   ingested records: matched, unmatched, refused
//	notifymux_pipeline_records_total{outcome}          delivered, dead_lettered, dead_letter_failed, retried
//	notifymux_queue_records{target}                    records held per target, from publish to delivered or dead-lettered
//	notifymux_delivery_duration_seconds                histogram of delivery attempts
//	notifymux_delivery_attempts_total{result}          ok, error
//	notifymux_buckets_configured                       buckets with at least one rule held compiled (see gateway.Stats)
//	notifymux_rules                                    their rules
//	notifymux_rule_cache_lookups_total{result}         rule cache lookups: hit, miss (0 without a rule cache)
//	notifymux_rule_cache_load_errors_total             rule cache loads that failed
//	notifymux_rule_cache_bytes                         estimated size of the cached rules
//	notifymux_rule_cache_unconfigured_buckets          cached buckets without rules
//
// The target label takes the names of the configured functions, which an
// operator bounds through the targets the gateway accepts.
package prommetrics

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/notifymux/notifymux/dispatch/gateway"
)

// Metrics implements gateway.Metrics with Prometheus collectors. Its
// methods are safe for concurrent use and on a nil *Metrics (they do
// nothing).
type Metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	records   *prometheus.CounterVec
	delivery  prometheus.Histogram
	attempts  *prometheus.CounterVec
	stats     atomic.Pointer[func() gateway.Stats]
	gaugeDesc struct {
		queue, buckets, rules, pipeline                      *prometheus.Desc
		cacheLookups, cacheErrors, cacheBytes, cacheUnconfig *prometheus.Desc
	}
}

var _ gateway.Metrics = (*Metrics)(nil)

// New returns Metrics registered in a new registry, with the Go runtime and
// process collectors.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "notifymux_http_requests_total", Help: "HTTP requests answered, by route and status code.",
	}, []string{"route", "code"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "notifymux_http_request_duration_seconds", Help: "Time to answer an HTTP request, by route.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 4, 9),
	}, []string{"route"})
	m.records = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "notifymux_records_total", Help: "Ingested records by outcome (matched, unmatched, refused).",
	}, []string{"outcome"})
	m.delivery = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "notifymux_delivery_duration_seconds", Help: "Duration of one delivery attempt of a batch.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 9),
	})
	m.attempts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "notifymux_delivery_attempts_total", Help: "Delivery attempts of batches, by result (ok, error).",
	}, []string{"result"})
	m.gaugeDesc.queue = prometheus.NewDesc("notifymux_queue_records", "Records a target holds, from publish until delivered or dead-lettered.", []string{"target"}, nil)
	m.gaugeDesc.buckets = prometheus.NewDesc("notifymux_buckets_configured", "Buckets with at least one rule whose rules the gateway holds: every configured bucket, or with a rule cache the cached ones.", nil, nil)
	m.gaugeDesc.rules = prometheus.NewDesc("notifymux_rules", "Rules the gateway holds: in the index, or with a rule cache in the cached buckets.", nil, nil)
	m.gaugeDesc.cacheLookups = prometheus.NewDesc("notifymux_rule_cache_lookups_total", "Lookups of a bucket's rules in the rule cache, by result (hit, miss).", []string{"result"}, nil)
	m.gaugeDesc.cacheErrors = prometheus.NewDesc("notifymux_rule_cache_load_errors_total", "Loads of a bucket's rules into the rule cache that failed.", nil, nil)
	m.gaugeDesc.cacheBytes = prometheus.NewDesc("notifymux_rule_cache_bytes", "Estimated size of the rules in the rule cache.", nil, nil)
	m.gaugeDesc.cacheUnconfig = prometheus.NewDesc("notifymux_rule_cache_unconfigured_buckets", "Buckets without rules in the rule cache (cached so that their events skip the store).", nil, nil)
	m.gaugeDesc.pipeline = prometheus.NewDesc("notifymux_pipeline_records_total", "Records through the delivery pipeline, by outcome (delivered, dead_lettered, dead_letter_failed, retried).", []string{"outcome"}, nil)
	for _, o := range []string{gateway.OutcomeMatched, gateway.OutcomeUnmatched, gateway.OutcomeRefused} {
		m.records.WithLabelValues(o) // present from the start, at 0
	}
	m.reg.MustRegister(m.requests, m.latency, m.records, m.delivery, m.attempts, (*gauges)(m),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Watch makes the gauges (queue depth per target, buckets configured, rules)
// and the pipeline counters read stats at each scrape, typically
// (*gateway.Gateway).Stats.
func (m *Metrics) Watch(stats func() gateway.Stats) {
	if m != nil {
		m.stats.Store(&stats)
	}
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Registry returns the registry, to register more collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Request counts one answered request.
func (m *Metrics) Request(route string, status int, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

// Records counts n ingested records with outcome.
func (m *Metrics) Records(outcome string, n int) {
	if m == nil || n <= 0 {
		return
	}
	m.records.WithLabelValues(outcome).Add(float64(n))
}

// Delivery observes one delivery attempt.
func (m *Metrics) Delivery(d time.Duration, err error) {
	if m == nil {
		return
	}
	m.delivery.Observe(d.Seconds())
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.attempts.WithLabelValues(result).Inc()
}

// gauges collects what Watch's function reports, at scrape time.
type gauges Metrics

func (g *gauges) Describe(ch chan<- *prometheus.Desc) {
	ch <- g.gaugeDesc.queue
	ch <- g.gaugeDesc.buckets
	ch <- g.gaugeDesc.rules
	ch <- g.gaugeDesc.pipeline
	ch <- g.gaugeDesc.cacheLookups
	ch <- g.gaugeDesc.cacheErrors
	ch <- g.gaugeDesc.cacheBytes
	ch <- g.gaugeDesc.cacheUnconfig
}

func (g *gauges) Collect(ch chan<- prometheus.Metric) {
	f := g.stats.Load()
	if f == nil {
		return
	}
	s := (*f)()
	ch <- prometheus.MustNewConstMetric(g.gaugeDesc.buckets, prometheus.GaugeValue, float64(s.Buckets))
	ch <- prometheus.MustNewConstMetric(g.gaugeDesc.rules, prometheus.GaugeValue, float64(s.Rules))
	for _, t := range s.Pipeline.Targets {
		ch <- prometheus.MustNewConstMetric(g.gaugeDesc.queue, prometheus.GaugeValue, float64(t.Queued), t.Target)
	}
	p := s.Pipeline
	for _, o := range []struct {
		name string
		n    uint64
	}{{"delivered", p.Delivered}, {"dead_lettered", p.DeadLettered}, {"dead_letter_failed", p.DeadLetterFailed}, {"retried", p.Retried}} {
		ch <- prometheus.MustNewConstMetric(g.gaugeDesc.pipeline, prometheus.CounterValue, float64(o.n), o.name)
	}
	c := s.RuleCache
	ch <- prometheus.MustNewConstMetric(g.gaugeDesc.cacheLookups, prometheus.CounterValue, float64(c.Hits), "hit")
	ch <- prometheus.MustNewConstMetric(g.gaugeDesc.cacheLookups, prometheus.CounterValue, float64(c.Misses), "miss")
	ch <- prometheus.MustNewConstMetric(g.gaugeDesc.cacheErrors, prometheus.CounterValue, float64(c.LoadErrors))
	ch <- prometheus.MustNewConstMetric(g.gaugeDesc.cacheBytes, prometheus.GaugeValue, float64(c.Bytes))
	ch <- prometheus.MustNewConstMetric(g.gaugeDesc.cacheUnconfig, prometheus.GaugeValue, float64(c.Unconfigured))
}
