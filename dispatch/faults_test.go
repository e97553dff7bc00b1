// The proof tests: a Pipeline delivering over HTTP to a real server on
// 127.0.0.1 that fails in every way (500, 503, 429 with Retry-After, answers
// slower than the timeout, connections closed before or during the answer,
// permanent 400s, a target with no URL, a two-minute outage on a fake clock,
// a hung endpoint). The server verifies every signature and counts the
// record identities it acknowledged; the dead-letter sink counts the rest.
// Every record must leave the pipeline exactly once, delivered (and then
// seen by the server) or dead-lettered, and the statistics must add up.

package dispatch

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/notifymux/notifymux/batch"
	"github.com/notifymux/notifymux/batch/schema"
)

// cosKeys returns the object keys of a COS payload ("/<appid>/<bucket>/<key>"
// → "<key>").
func cosKeys(t *testing.T, body []byte) []string {
	var payload schema.COSPayload
	if err := json.Unmarshal(body, &payload); err != nil {
		t.Errorf("server: payload is not COS JSON: %v", err)
		return nil
	}
	var keys []string
	for _, r := range payload.Records {
		k := r.COS.Object.Key
		_, k, _ = strings.Cut(strings.TrimPrefix(k, "/"), "/") // appid
		_, k, _ = strings.Cut(k, "/")                          // bucket
		keys = append(keys, k)
	}
	return keys
}

// countingServer acknowledges (counts) records only in answers that reach
// the client as 2xx.
type countingServer struct {
	mu       sync.Mutex
	acked    map[string]int
	requests int
}

func (s *countingServer) ack(keys []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.acked == nil {
		s.acked = map[string]int{}
	}
	for _, k := range keys {
		s.acked[k]++
	}
}

func (s *countingServer) request() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	return s.requests
}

func (s *countingServer) ackedTotal() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.acked {
		n += c
	}
	return n
}

// keyLedger counts dead-lettered records by object key.
func keyLedger(dl *deadLetters) map[string]int {
	m := map[string]int{}
	for _, d := range dl.all() {
		for _, r := range d.Batch.Records {
			m[r.Key]++
		}
	}
	return m
}

func TestFaultyServer(t *testing.T) {
	clock := newFakeClock()
	runClock(t, clock, time.Second, 200*time.Microsecond)
	const timeout = 300 * time.Millisecond
	var srv countingServer
	var faults sync.Map // fault name → *atomic.Int64
	count := func(name string) {
		n, _ := faults.LoadOrStore(name, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	var rndMu sync.Mutex
	hijack := func(w http.ResponseWriter, reply string) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		buf.WriteString(reply)
		buf.Flush()
		conn.Close()
	}
	ts := httptest.NewServer(verifyingHandler(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		srv.request()
		keys := cosKeys(t, body)
		for _, k := range keys {
			if strings.HasPrefix(k, "poison") {
				count("400")
				http.Error(w, "cannot process "+k, http.StatusBadRequest)
				return
			}
		}
		rndMu.Lock()
		x := rnd.IntN(100)
		rndMu.Unlock()
		switch {
		case x < 10:
			count("500")
			http.Error(w, "internal error", http.StatusInternalServerError)
		case x < 18:
			count("503")
			w.WriteHeader(http.StatusServiceUnavailable)
		case x < 28:
			count("429")
			w.Header().Set("Retry-After", fmt.Sprint(1+x%3))
			w.WriteHeader(http.StatusTooManyRequests)
		case x < 31:
			count("slow")
			select { // answers after the client gave up: not acknowledged
			case <-time.After(3 * timeout):
			case <-r.Context().Done():
			}
		case x < 38:
			count("cut-status")
			hijack(w, "HTTP/1.1 2")
		case x < 44:
			count("cut-body")
			srv.ack(keys) // the 200 status reaches the client
			hijack(w, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"ok\":")
		default:
			count("ok")
			srv.ack(keys)
			w.WriteHeader(http.StatusOK)
		}
	}))
	defer ts.Close()
	targets := map[string]string{}
	for i := range 4 {
		targets[fmt.Sprintf("fn-%d", i)] = ts.URL + fmt.Sprintf("/fn-%d", i)
	}
	h := newHTTP(t, HTTPConfig{Targets: targets, Timeout: timeout, MaxInFlight: 4})
	// okSide records, on the client side, every batch HTTP.Dispatch
	// reported delivered.
	okSide := &deadLetters{}
	dl := &deadLetters{}
	p := mustPipeline(t, Config{
		Dispatcher: Func(func(ctx context.Context, b batch.Batch) error {
			err := h.Dispatch(ctx, b)
			if err == nil {
				okSide.DispatchDeadLetter(ctx, DeadLetter{Batch: b})
			}
			return err
		}),
		DeadLetter:  dl,
		Workers:     4,
		Concurrency: 3,
		MaxRetries:  4,
		RetryBase:   time.Second,
		RetryMax:    10 * time.Second,
		MaxEventAge: 24 * time.Hour,
		Clock:       clock,
		Batch:       batch.Config{MaxRecords: 10},
	})
	const n = 1500
	for i := range n {
		target := fmt.Sprintf("fn-%d", i%5) // fn-4 has no URL: permanent
		key := fmt.Sprintf("obj-%d", i)
		if i%97 == 0 {
			key = fmt.Sprintf("poison-%d", i)
		}
		if err := p.Publish(rec(target, key, i)); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Logf("drained in %v real time, %v fake time", time.Since(start), clock.Now().Sub(newFakeClock().Now()))
	s := p.Stats()
	checkSums(t, s)

	// Each record left the pipeline exactly once: delivered (the client saw
	// a 2xx) or dead-lettered. The server saw every delivered record at
	// least once; it may have seen more (at least once: an answer lost to a
	// timeout or a broken connection after the function acted).
	dead := keyLedger(dl)
	delivered := keyLedger(okSide)
	srv.mu.Lock()
	acked := srv.acked
	srv.mu.Unlock()
	duplicates := 0
	for i := range n {
		key := fmt.Sprintf("obj-%d", i)
		if i%97 == 0 {
			key = fmt.Sprintf("poison-%d", i)
		}
		if c, d := delivered[key], dead[key]; c+d != 1 {
			t.Errorf("record %s: delivered %d times, dead-lettered %d times; want exactly one of them", key, c, d)
		}
		if delivered[key] == 1 && acked[key] == 0 {
			t.Errorf("record %s: delivered, but the server never acknowledged it", key)
		}
		duplicates += max(acked[key]-delivered[key], 0)
	}
	if got := uint64(len(delivered)); got != s.Delivered {
		t.Errorf("the client saw %d records delivered, Stats.Delivered = %d", got, s.Delivered)
	}
	if s.DeadLettered != uint64(len(dead)) || s.Matched != n {
		t.Errorf("stats %v, dead-letter sink holds %d records", s, len(dead))
	}
	reasons := map[DeadLetterReason]int{}
	for _, d := range dl.all() {
		reasons[d.Reason] += len(d.Batch.Records)
		if d.Err == nil || d.Attempts < 1 {
			t.Errorf("dead letter %+v: want the last error and attempts", d)
		}
		if d.Reason == ReasonRetries && d.Attempts != 5 {
			t.Errorf("dead letter after %d attempts, want 1+MaxRetries = 5", d.Attempts)
		}
	}
	if reasons[ReasonPermanent] < n/5 { // fn-4 and the poison batches
		t.Errorf("dead letters by reason %v: want at least %d permanent", reasons, n/5)
	}
	var summary []string
	faults.Range(func(k, v any) bool {
		summary = append(summary, fmt.Sprintf("%s=%d", k, v.(*atomic.Int64).Load()))
		return true
	})
	t.Logf("faults: %v; dead letters by reason: %v; %d duplicates at the server; %v", summary, reasons, duplicates, s)
	for _, f := range []string{"500", "503", "429", "slow", "cut-status", "cut-body", "400", "ok"} {
		if v, ok := faults.Load(f); !ok || v.(*atomic.Int64).Load() == 0 {
			t.Errorf("fault %s never happened", f)
		}
	}
	if s.Retried == 0 || s.Delivered < n/3 {
		t.Errorf("stats %v: want retries and most records delivered", s)
	}
}

// outageServer answers 503 (without Retry-After) until the fake clock
// reaches end, and acknowledges afterwards.
func outageServer(t *testing.T, clock *fakeClock, end time.Time, srv *countingServer, firstOK *atomic.Pointer[time.Time]) *httptest.Server {
	return httptest.NewServer(verifyingHandler(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		srv.request()
		now := clock.Now()
		if now.Before(end) {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		firstOK.CompareAndSwap(nil, &now)
		srv.ack(cosKeys(t, body))
	}))
}

// TestOutage rides out a two-minute outage, compressed by the fake clock:
// with enough retries every record is delivered after the outage; with a
// MaxEventAge shorter than the outage every record is dead-lettered.
func TestOutage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		maxAge time.Duration
	}{
		{"rides-out", time.Hour},
		{"max-age", time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			outageEnd := clock.Now().Add(2 * time.Minute)
			var srv countingServer
			var firstOK atomic.Pointer[time.Time]
			ts := outageServer(t, clock, outageEnd, &srv, &firstOK)
			defer ts.Close()
			h := newHTTP(t, HTTPConfig{Targets: map[string]string{"fn": ts.URL}, Timeout: 5 * time.Second})
			dl := &deadLetters{}
			p := mustPipeline(t, Config{
				Dispatcher: h, DeadLetter: dl, Clock: clock,
				MaxRetries: 40, RetryBase: time.Second, RetryMax: 20 * time.Second, MaxEventAge: tc.maxAge,
				Batch: batch.Config{MaxRecords: 25},
			})
			const n = 500
			for i := range n {
				if err := p.Publish(rec("fn", fmt.Sprintf("obj-%d", i), i)); err != nil {
					t.Fatal(err)
				}
			}
			start := time.Now()
			runClock(t, clock, 100*time.Millisecond, 100*time.Microsecond)
			if err := p.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			s := p.Stats()
			checkSums(t, s)
			t.Logf("%v of fake time in %v: %d requests; %v", clock.Now().Sub(outageEnd.Add(-2*time.Minute)), time.Since(start), srv.requests, s)
			switch tc.name {
			case "rides-out":
				if s.Delivered != n || srv.ackedTotal() != n || s.Retried == 0 {
					t.Errorf("stats %v, server acknowledged %d: want all %d delivered after retries", s, srv.ackedTotal(), n)
				}
				if ok := firstOK.Load(); ok == nil || ok.Before(outageEnd) {
					t.Errorf("first delivery at %v, outage ends %v", ok, outageEnd)
				}
			case "max-age":
				if s.DeadLettered != n || srv.ackedTotal() != 0 || s.Retried == 0 {
					t.Errorf("stats %v: want all %d dead-lettered after retries", s, n)
				}
				for _, d := range dl.all() {
					// The last attempt started within MaxEventAge; the next
					// would not have (the clock runs on while it is made).
					if d.Reason != ReasonMaxAge || !strings.Contains(d.Err.Error(), "503") || !strings.Contains(d.Err.Error(), "MaxEventAge 1m0s") ||
						d.Attempts < 1 || d.Attempts > 40 {
						t.Errorf("dead letter %s after %d attempts: %v; want max-age naming the 503", d.Reason, d.Attempts, d.Err)
					}
				}
			}
		})
	}
}

// TestRetryAfterHonoured checks that a 429 with Retry-After: 30 delays the
// next attempt by at least 30 s of pipeline time, although the backoff alone
// would be at most 1 s.
func TestRetryAfterHonoured(t *testing.T) {
	clock := newFakeClock()
	var mu sync.Mutex
	var attempts []time.Time
	ts := httptest.NewServer(verifyingHandler(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		mu.Lock()
		defer mu.Unlock()
		attempts = append(attempts, clock.Now())
		if len(attempts) == 1 {
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(http.StatusTooManyRequests)
		}
	}))
	defer ts.Close()
	h := newHTTP(t, HTTPConfig{Targets: map[string]string{"fn": ts.URL}})
	p := mustPipeline(t, Config{Dispatcher: h, DeadLetter: &deadLetters{}, Clock: clock,
		RetryBase: time.Second, RetryMax: time.Second, Batch: batch.Config{MaxRecords: 1}})
	if err := p.Publish(rec("fn", "k", 0)); err != nil {
		t.Fatal(err)
	}
	runClock(t, clock, 100*time.Millisecond, 50*time.Microsecond)
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(attempts) != 2 || attempts[1].Sub(attempts[0]) < 30*time.Second {
		t.Errorf("attempts at %v, want two, 30 s or more apart", attempts)
	}
	if s := p.Stats(); s.Delivered != 1 || s.Retried != 1 {
		t.Errorf("stats %v, want 1 delivered after 1 retry", s)
	}
}

// TestHungTargetDoesNotBlockOthers runs a pipeline over HTTP where one
// target does not answer until released: the other target's records are all
// delivered meanwhile, the hung one never has more than MaxInFlight requests
// open, and after the release everything is accounted for.
func TestHungTargetDoesNotBlockOthers(t *testing.T) {
	const maxInFlight = 2
	release := make(chan struct{})
	var srv countingServer
	ts := httptest.NewServer(verifyingHandler(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.Header.Get(TargetHeader) == "hung" {
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		srv.ack(cosKeys(t, body))
	}))
	defer ts.Close()
	tr := newCountingTransport()
	h := newHTTP(t, HTTPConfig{Targets: map[string]string{"hung": ts.URL + "/hung", "ok": ts.URL + "/ok"},
		Timeout: 200 * time.Millisecond, MaxInFlight: maxInFlight, Transport: tr})
	dl := &deadLetters{}
	p := mustPipeline(t, Config{Dispatcher: h, DeadLetter: dl, Workers: 4, Concurrency: 4,
		RetryBase: time.Millisecond, RetryMax: 10 * time.Millisecond,
		Batch: batch.Config{MaxRecords: 5, MaxWait: time.Millisecond}})
	for i := range 200 {
		if err := p.Publish(rec("hung", fmt.Sprintf("h%d", i), i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 300 {
		if err := p.Publish(rec("ok", fmt.Sprintf("o%d", i), i)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { return p.Stats().Targets[1].Delivered == 300 })
	if pending := p.Stats().Targets[0].Queued; pending == 0 {
		t.Errorf("hung target holds no records while hung")
	}
	close(release)
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := p.Stats()
	checkSums(t, s)
	if s.Delivered+s.DeadLettered != 500 || s.Targets[1].Delivered != 300 || srv.ackedTotal() < int(s.Delivered) {
		t.Errorf("stats %+v, server acknowledged %d: want all 300 of ok delivered and the rest accounted for", s, srv.ackedTotal())
	}
	if pk := tr.peakOf("hung"); pk > maxInFlight {
		t.Errorf("%d requests open to the hung target, want at most %d", pk, maxInFlight)
	}
}
