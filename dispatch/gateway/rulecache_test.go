package gateway_test

import (
	"strings"
	"testing"

	"github.com/notifymux/notifymux/dispatch"
	"github.com/notifymux/notifymux/dispatch/gateway"
	"github.com/notifymux/notifymux/dispatch/rulecache"
)

// With a RuleCache, ingest loads a bucket's rules from the store when its
// events come, a PUT takes effect at once, and a restart loads no rules.
func TestIngestWithRuleCache(t *testing.T) {
	dir := t.TempDir()
	start := func() *testGateway {
		st, err := gateway.OpenStore(dir)
		if err != nil {
			t.Fatal(err)
		}
		c, err := rulecache.New(rulecache.Config{Loader: gateway.StoreLoader(st), MaxBytes: 1 << 20, Buckets: 1000})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		fn := newFunctionServer(t)
		return startGateway(t, dir, gateway.Config{Store: st, RuleCache: c, Pipeline: httpPipeline(t, fn.URL, dispatch.Config{})})
	}
	tg := start()
	images := eventLine("photos", "cos:ObjectCreated:Put", "images/cat.jpg")
	docs := eventLine("photos", "cos:ObjectCreated:Put", "docs/a.pdf")
	if _, res, _ := post(t, tg.URL, testToken, images); res.Unmatched != 1 {
		t.Fatalf("before any configuration: %+v, want unmatched", res)
	}
	if code, body := putRaw(t, tg, "PUT", "/photos?notification", photosRules); code != 200 {
		t.Fatalf("PUT: %d %s", code, body)
	}
	if _, res, _ := post(t, tg.URL, testToken, images); res.Matched != 1 {
		t.Fatalf("after the PUT: %+v, want matched (the cached empty rules were dropped)", res)
	}
	if code, body := putRaw(t, tg, "PUT", "/photos?notification", strings.Replace(photosRules, "images/", "docs/", 1)); code != 200 {
		t.Fatalf("second PUT: %d %s", code, body)
	}
	if _, res, _ := post(t, tg.URL, testToken, images+docs); res.Matched != 1 || res.Unmatched != 1 {
		t.Fatalf("after the second PUT: %+v, want docs/ matched and images/ not", res)
	}
	tg.Stop()

	tg = start()
	if l, s := tg.G.Loaded(), tg.G.Stats(); l.Buckets != 1 || l.Rules != 0 || s.Rules != 0 {
		t.Errorf("restart: loaded %+v, stats %+v; want 1 bucket counted, no rules in the index", l, s)
	}
	if _, res, _ := post(t, tg.URL, testToken, docs); res.Matched != 1 {
		t.Fatalf("after the restart: %+v, want matched from the store", res)
	}
}
