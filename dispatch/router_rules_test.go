package dispatch_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/notifymux/notifymux/batch"
	"github.com/notifymux/notifymux/dispatch"
	"github.com/notifymux/notifymux/dispatch/rulecache"
	"github.com/notifymux/notifymux/match"
)

// published collects what a Router publishes.
type published struct {
	mu   sync.Mutex
	recs []batch.Record
}

func (p *published) PublishContext(_ context.Context, r batch.Record) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.recs = append(p.recs, r)
	return nil
}

// A Router with a rule cache loads each bucket's rules before matching, and
// tries the other form of a COS bucket name as with an Index.
func TestRouterWithRuleCache(t *testing.T) {
	put := match.ObjectCreatedPut.Set()
	stored := map[string][]match.Rule{
		"photos":          {{ID: "jpg", Bucket: "photos", Events: put, Suffix: ".jpg", Target: "thumbs"}},
		"logs-1250000000": {{ID: "all", Bucket: "logs-1250000000", Events: put, Target: "index"}},
	}
	var loads []string
	var mu sync.Mutex
	c, err := rulecache.New(rulecache.Config{Buckets: 100, Loader: rulecache.LoaderFunc(func(_ context.Context, b string) ([]match.Rule, error) {
		mu.Lock()
		loads = append(loads, b)
		mu.Unlock()
		if b == "down" {
			return nil, errors.New("store unreachable")
		}
		return stored[b], nil
	})})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pub := &published{}
	r, err := dispatch.NewRouter(dispatch.RouterConfig{Rules: c, Pipeline: pub})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		bucket, appid, key string
		matched            bool
		target             string
	}{
		{"photos", "", "a.jpg", true, "thumbs"},
		{"photos", "", "a.png", false, ""},
		{"logs", "1250000000", "x", true, "index"}, // short name given, rules under the full one
		{"nothing", "", "x", false, ""},
	} {
		in := &batch.Inbound{Record: batch.Record{Bucket: tc.bucket, AppID: tc.appid, Key: tc.key, Event: match.ObjectCreatedPut}}
		matched, err := r.Route(ctx, in)
		if err != nil || matched != tc.matched {
			t.Errorf("%s/%s: matched %v, %v; want %v", tc.bucket, tc.key, matched, err, tc.matched)
		}
		if got := pub.recs[len(pub.recs)-1].Target; got != tc.target {
			t.Errorf("%s/%s: target %q, want %q", tc.bucket, tc.key, got, tc.target)
		}
	}
	_, err = r.Route(ctx, &batch.Inbound{Record: batch.Record{Bucket: "down", Key: "k", Event: match.ObjectCreatedPut}})
	if err == nil || !strings.Contains(err.Error(), "store unreachable") {
		t.Errorf("a failed load: err = %v, want the Loader's error", err)
	}
	if len(pub.recs) != 4 {
		t.Errorf("%d records published, want 4 (the one whose rules failed to load is refused)", len(pub.recs))
	}
	if _, err := dispatch.NewRouter(dispatch.RouterConfig{Pipeline: pub}); err == nil {
		t.Error("a Router with neither Index nor Rules was accepted")
	}
}
