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

// With a RuleCache, Stats counts the buckets and rules the cache holds:
// loaded by events, dropped by a PUT and by Apply (a change another gateway
// stored), and loaded again from the store.
func TestStatsWithRuleCache(t *testing.T) {
	dir := t.TempDir()
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
	tg := startGateway(t, dir, gateway.Config{Store: st, RuleCache: c, Pipeline: httpPipeline(t, fn.URL, dispatch.Config{})})
	want := func(when string, buckets, rules int, unconfigured int64) {
		t.Helper()
		c.Wait()
		s := tg.G.Stats()
		if s.Buckets != buckets || s.Rules != rules || s.RuleCache.Unconfigured != unconfigured {
			t.Errorf("%s: stats say %d buckets, %d rules, %d unconfigured; want %d, %d, %d",
				when, s.Buckets, s.Rules, s.RuleCache.Unconfigured, buckets, rules, unconfigured)
		}
	}
	twoRules := strings.Replace(photosRules, "</CloudFunctionConfiguration>",
		"</CloudFunctionConfiguration>"+strings.NewReplacer("<Id>thumbs</Id>", "<Id>docs</Id>", "images/", "docs/").Replace(
			photosRules[len("<NotificationConfiguration>"):strings.Index(photosRules, "</NotificationConfiguration>")]), 1)
	for _, b := range []string{"photos", "videos"} {
		if code, body := putRaw(t, tg, "PUT", "/"+b+"?notification", strings.ReplaceAll(twoRules, "photos", b)); code != 200 {
			t.Fatalf("PUT %s: %d %s", b, code, body)
		}
	}
	want("after two PUTs, before any event", 0, 0, 0)
	events := eventLine("photos", "cos:ObjectCreated:Put", "images/a.jpg") +
		eventLine("videos", "cos:ObjectCreated:Put", "docs/a.pdf") + eventLine("empty", "cos:ObjectCreated:Put", "a")
	if _, res, _ := post(t, tg.URL, testToken, events); res.Matched != 2 || res.Unmatched != 1 {
		t.Fatalf("ingest: %+v, want 2 matched, 1 unmatched", res)
	}
	want("after events for both buckets and an unconfigured one", 2, 4, 1)

	// Another gateway replaces videos' rules with one rule: the watch calls Apply.
	if err := st.Put("videos", []byte(strings.ReplaceAll(photosRules, "photos", "videos"))); err != nil {
		t.Fatal(err)
	}
	if err := tg.G.Apply("videos", []byte(strings.ReplaceAll(photosRules, "photos", "videos"))); err != nil {
		t.Fatal(err)
	}
	want("after Apply dropped videos", 1, 2, 1)
	if _, res, _ := post(t, tg.URL, testToken, eventLine("videos", "cos:ObjectCreated:Put", "images/v.mp4")); res.Matched != 1 {
		t.Fatalf("ingest after Apply: %+v, want matched", res)
	}
	want("after videos was loaded again", 2, 3, 1)

	// Another gateway removes photos' configuration.
	if err := st.Delete("photos"); err != nil {
		t.Fatal(err)
	}
	if err := tg.G.Apply("photos", nil); err != nil {
		t.Fatal(err)
	}
	if _, res, _ := post(t, tg.URL, testToken, eventLine("photos", "cos:ObjectCreated:Put", "images/a.jpg")); res.Unmatched != 1 {
		t.Fatalf("ingest after the removal: %+v, want unmatched", res)
	}
	want("after photos' rules were removed and its event came", 1, 1, 2)

	// A PUT on this gateway drops the bucket too.
	if code, body := putRaw(t, tg, "PUT", "/videos?notification", `<NotificationConfiguration></NotificationConfiguration>`); code != 200 {
		t.Fatalf("PUT removing videos: %d %s", code, body)
	}
	want("after a PUT removed videos", 0, 0, 2)
	if s := tg.G.Stats(); s.RuleCache.Misses == 0 || s.RuleCache.Hits+s.RuleCache.Misses != 5 {
		t.Errorf("rule cache stats %+v: want 5 lookups, some of them misses", s.RuleCache)
	}
}
