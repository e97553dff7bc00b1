package dispatch

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/notifymux/notifymux/batch"
	"github.com/notifymux/notifymux/match"
)

// collector is a Dispatcher that keeps a copy of every record it is given.
type collector struct {
	mu   sync.Mutex
	recs []batch.Record
}

func (c *collector) Dispatch(_ context.Context, b batch.Batch) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recs = append(c.recs, b.Records...)
	return nil
}

func (c *collector) byKey() map[string]batch.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := map[string]batch.Record{}
	for _, r := range c.recs {
		m[r.Key] = r
	}
	return m
}

// routerFixture returns an index with rules in bucket photos (short name)
// and logs-1250000000 (full COS name), a pipeline into a collector, and a
// Router over both.
func routerFixture(t *testing.T, cfg RouterConfig) (*Router, *Pipeline, *collector) {
	t.Helper()
	x := match.New()
	created, _ := match.ParseEventSet("cos:ObjectCreated:*")
	if err := x.AddAll([]match.Rule{
		{ID: "thumbs", Bucket: "photos", Events: created, Prefix: "images/", Target: "fn-thumbs"},
		{ID: "logs", Bucket: "logs-1250000000", Events: created, Suffix: ".log", Target: "fn-logs"},
	}); err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	p := mustPipeline(t, Config{Dispatcher: c, DeadLetter: &deadLetters{}, Batch: batch.Config{MaxWait: time.Millisecond}})
	cfg.Index, cfg.Pipeline = x, p
	r, err := NewRouter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r, p, c
}

func TestRouteAllCountsAndFields(t *testing.T) {
	var warned []string
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r, p, c := routerFixture(t, RouterConfig{
		DefaultBucket:   "photos",
		AppID:           "1250000000",
		Now:             func() time.Time { return now },
		OnMissingRegion: func(b string) { warned = append(warned, b) },
	})
	input := strings.Join([]string{
		`{"event":"cos:ObjectCreated:Put","key":"images/a.jpg"}`,                   // default bucket, matched
		`{"bucket":"photos","event":"cos:ObjectCreated:Put","key":"other/b.jpg"}`,  // unmatched
		`{"bucket":"nobody","event":"cos:ObjectCreated:Put","key":"images/c.jpg"}`, // a bucket with no rules: unmatched
		`{"bucket":"photos","event":"cos:ObjectCreated:Pot","key":"images/d.jpg"}`, // unknown event: refused
		`not json`, // refused
		`{"bucket":"photos","event":"cos:ObjectCreated:Put","key":"images/e.jpg"}`,                                   // matched
		`{"bucket":"photos","event":"cos:ObjectCreated:Put","key":"` + strings.Repeat("k", batch.MaxKeyLen+1) + `"}`, // refused
	}, "\n")
	var errs []*RouteError
	counts, err := r.RouteAll(t.Context(), batch.NewDecoder(strings.NewReader(input), batch.DecoderConfig{}), func(e *RouteError) error {
		errs = append(errs, e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := (Counts{Accepted: 4, Matched: 2, Unmatched: 2, Refused: 3}); counts != want {
		t.Errorf("counts %+v, want %+v", counts, want)
	}
	if len(errs) != 3 || errs[0].Line != 4 || errs[1].Line != 5 || errs[2].Line != 7 {
		t.Errorf("errors %v, want lines 4, 5 and 7", errs)
	}
	if err := p.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := c.byKey()
	a := got["images/a.jpg"]
	if a.Bucket != "photos" || a.Target != "fn-thumbs" || a.RuleID != "thumbs" || a.AppID != "1250000000" || !a.Time.Equal(now) {
		t.Errorf("record a = %+v, want bucket photos, rule thumbs, appid and time filled", a)
	}
	if len(got) != 2 {
		t.Errorf("delivered %d records, want 2", len(got))
	}
	if len(warned) != 1 || warned[0] != "photos" {
		t.Errorf("OnMissingRegion calls %v, want one, for photos", warned)
	}
	if s := p.Stats(); s.Unmatched != 2 || s.Delivered != 2 {
		t.Errorf("pipeline stats %v, want 2 unmatched, 2 delivered", s)
	}
}

// TestRouteCOSBucketForms: a COS record names its bucket by short name and
// APPID apart; rules held under the full name <name>-<appid> match it, and
// the other way round.
func TestRouteCOSBucketForms(t *testing.T) {
	r, p, c := routerFixture(t, RouterConfig{Region: "ap-guangzhou"})
	put := match.ObjectCreatedPut
	for _, in := range []batch.Inbound{
		{Line: 1, Record: batch.Record{Bucket: "logs", AppID: "1250000000", Event: put, Key: "a.log"}},
		{Line: 2, Record: batch.Record{Bucket: "photos-1250000000", Event: put, Key: "images/b.jpg"}},
		{Line: 3, Record: batch.Record{Bucket: "logs", AppID: "1259999999", Event: put, Key: "c.log"}},
	} {
		matched, err := r.Route(t.Context(), &in)
		if err != nil {
			t.Fatal(err)
		}
		if want := in.Line != 3; matched != want {
			t.Errorf("line %d (%s): matched %v, want %v", in.Line, in.Record.Bucket, matched, want)
		}
	}
	if err := p.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := c.byKey()
	if got["a.log"].Target != "fn-logs" || got["images/b.jpg"].Target != "fn-thumbs" {
		t.Errorf("records %+v", got)
	}
	if got["images/b.jpg"].Region != "ap-guangzhou" {
		t.Errorf("region %q, want the default", got["images/b.jpg"].Region)
	}
}

// TestRouteAllStopsWhenContextEnds: under the Block policy a full queue
// makes RouteAll wait; ending its context ends the wait, and the record
// it waited with is not in the pipeline.
func TestRouteAllStopsWhenContextEnds(t *testing.T) {
	x := match.New()
	all, _ := match.ParseEventSet("cos:ObjectCreated:*")
	if err := x.Add(match.Rule{ID: "r", Bucket: "b", Events: all, Target: "slow"}); err != nil {
		t.Fatal(err)
	}
	sink := newStalled()
	p := mustPipeline(t, Config{Dispatcher: sink, DeadLetter: &deadLetters{}, QueueRecords: 1, Policy: Block,
		Batch: batch.Config{MaxRecords: 1}})
	r, err := NewRouter(RouterConfig{Index: x, Pipeline: p})
	if err != nil {
		t.Fatal(err)
	}
	input := strings.Repeat(`{"bucket":"b","event":"cos:ObjectCreated:Put","key":"k"}`+"\n", 3)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	var counts Counts
	var rerr error
	go func() {
		counts, rerr = r.RouteAll(ctx, batch.NewDecoder(strings.NewReader(input), batch.DecoderConfig{}), nil)
		close(done)
	}()
	<-sink.entered
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("RouteAll still blocked 10 s after its context ended")
	}
	if !errors.Is(rerr, context.Canceled) {
		t.Errorf("RouteAll error %v, want context.Canceled", rerr)
	}
	if counts.Accepted != 1 {
		t.Errorf("counts %+v, want 1 accepted before the queue filled", counts)
	}
	cctx, ccancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer ccancel()
	_ = p.Close(cctx)
	if s := p.Stats(); s.Matched != 1 {
		t.Errorf("pipeline stats %v, want only the accepted record", s)
	}
}

func TestNewRouterNamesMissingField(t *testing.T) {
	if _, err := NewRouter(RouterConfig{}); err == nil || !strings.Contains(err.Error(), "RouterConfig.Index") {
		t.Errorf("NewRouter(RouterConfig{}) = %v, want an error naming RouterConfig.Index", err)
	}
}
