package prommetrics_test

import (
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/notifymux/notifymux/dispatch"
	"github.com/notifymux/notifymux/dispatch/gateway"
	"github.com/notifymux/notifymux/dispatch/gateway/prommetrics"
	"github.com/notifymux/notifymux/dispatch/rulecache"
)

func Example() {
	m := prommetrics.New()
	// A gateway reports to m (gateway.Config{Metrics: m, MetricsHandler:
	// m.Handler()}) and m reads its gauges at each scrape (m.Watch(g.Stats)).
	m.Request(gateway.RouteEvents, 202, 3*time.Millisecond)
	m.Records(gateway.OutcomeMatched, 5)
	m.Watch(func() gateway.Stats {
		return gateway.Stats{Buckets: 2, Rules: 3, Pipeline: dispatch.Stats{Targets: []dispatch.TargetStats{{Target: "thumbs", Queued: 5}}},
			RuleCache: rulecache.Stats{Hits: 40, Misses: 2, Buckets: 2, Rules: 3}}
	})

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for line := range strings.Lines(string(body)) {
		for _, name := range []string{"notifymux_http_requests_total{", "notifymux_records_total{", "notifymux_queue_records{", "notifymux_buckets_configured ", "notifymux_rule_cache_lookups_total{"} {
			if strings.HasPrefix(line, name) {
				fmt.Print(line)
			}
		}
	}
	// Output:
	// notifymux_buckets_configured 2
	// notifymux_http_requests_total{code="202",route="events"} 1
	// notifymux_queue_records{target="thumbs"} 5
	// notifymux_records_total{outcome="matched"} 5
	// notifymux_records_total{outcome="refused"} 0
	// notifymux_records_total{outcome="unmatched"} 0
	// notifymux_rule_cache_lookups_total{result="hit"} 40
	// notifymux_rule_cache_lookups_total{result="miss"} 2
}
