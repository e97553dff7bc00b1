package gateway_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/notifymux/notifymux/dispatch"
	"github.com/notifymux/notifymux/dispatch/gateway"
	"github.com/notifymux/notifymux/dispatch/gateway/prommetrics"
)

// scrape returns the value of the metric line that starts with name (with
// its labels), or -1 when there is none.
func scrape(t testing.TB, url, name string) float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			var v float64
			fmt.Sscan(rest, &v)
			return v
		}
	}
	return -1
}

// TestBadInputSurvives sends each kind of bad input, then 2,000 requests
// over 2,000 concurrent connections, and checks that every one gets its
// status and its metric, that the server still answers, and that its heap
// comes back down.
func TestBadInputSurvives(t *testing.T) {
	url, release, _ := hangingFunction(t)
	defer release()
	m := prommetrics.New()
	p := httpPipeline(t, url, dispatch.Config{QueueRecords: 100, Batch: batchCfg(1)})
	tg := startGateway(t, t.TempDir(), gateway.Config{Pipeline: p, Metrics: m, MetricsHandler: m.Handler(), MaxBody: 64 << 10, MaxInflight: 64})
	m.Watch(tg.G.Stats)
	if code, body := putRaw(t, tg, "PUT", "/photos?notification", photosRules); code != 200 {
		t.Fatalf("PUT: %d %s", code, body)
	}

	kinds := []struct {
		name   string
		send   func() int
		status int
		metric string
	}{
		{"malformed XML", func() int { c, _ := putRaw(t, tg, "PUT", "/photos?notification", "<Notif"); return c }, 400,
			`notifymux_http_requests_total{code="400",route="put_notification"}`},
		{"over the limit", func() int {
			c, _ := putRaw(t, tg, "PUT", "/photos?notification", strings.Repeat("x", 70<<10))
			return c
		}, 413, `notifymux_http_requests_total{code="413",route="put_notification"}`},
		{"unknown bucket", func() int { c, _ := putRaw(t, tg, "GET", "/never-seen?notification", ""); return c }, 200,
			`notifymux_http_requests_total{code="200",route="get_notification"}`},
		{"wrong signature", func() int {
			req, _ := http.NewRequest("GET", tg.URL+"/photos?notification", nil)
			signRequest(t, req, nil, "wrong-secret", "us-east-1")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}, 403, `notifymux_http_requests_total{code="403",route="get_notification"}`},
		{"wrong token", func() int { c, _, _ := post(t, tg.URL, "nope", "{}"); return c }, 401,
			`notifymux_http_requests_total{code="401",route="events"}`},
		{"a hanging function", func() int {
			c, _, _ := post(t, tg.URL, testToken, eventLine("photos", "cos:ObjectCreated:Put", "images/a.jpg"))
			return c
		}, 202, `notifymux_records_total{outcome="matched"}`},
	}
	for _, k := range kinds {
		if got := k.send(); got != k.status {
			t.Errorf("%s: got status %d, want %d", k.name, got, k.status)
		}
		if v := scrape(t, tg.URL, k.metric); v < 1 {
			t.Errorf("%s: metric %s = %v, want ≥ 1", k.name, k.metric, v)
		}
	}

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	// 2,000 connections at once, each sending one request of a bad kind
	// (unsigned, wrong token, malformed ingest body) and reading the answer.
	const conns = 2000
	requests := []string{
		"GET /photos?notification HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nope\r\nContent-Length: 2\r\n\r\n{}",
		"POST /events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + testToken + "\r\nContent-Length: 9\r\n\r\nnot json\n",
		"GARBAGE\r\n\r\n",
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[string]int{}
	start := make(chan struct{})
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", tg.Addr, 10*time.Second)
			if err != nil {
				mu.Lock()
				statuses["dial error"]++
				mu.Unlock()
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(30 * time.Second))
			<-start
			io.WriteString(c, requests[i%len(requests)])
			line, err := bufio.NewReader(c).ReadString('\n')
			status := "read error"
			if err == nil && len(line) >= 12 {
				status = line[9:12]
			}
			mu.Lock()
			statuses[status]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	t.Logf("2,000 concurrent connections: %v", statuses)
	// 401 for the wrong token, 403 unsigned, 400 for the malformed body and
	// the garbage request line; 503 when an ingest request found 64 in flight.
	for s := range statuses {
		switch s {
		case "400", "401", "403", "503":
		default:
			t.Errorf("%d connections got %q", statuses[s], s)
		}
	}
	if statuses["403"] != conns/4 {
		t.Errorf("unsigned requests: %d got 403, want %d", statuses["403"], conns/4)
	}
	if v := scrape(t, tg.URL, `notifymux_http_requests_total{code="403",route="get_notification"}`); v < conns/4 {
		t.Errorf("403 metric %v, want ≥ %d", v, conns/4)
	}
	// The server still serves.
	if code, _ := putRaw(t, tg, "GET", "/photos?notification", ""); code != 200 {
		t.Fatalf("after the load: GET got %d", code)
	}
	tg.srv.SetKeepAlivesEnabled(false)
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	t.Logf("heap in use: %d KiB before, %d KiB after", before.HeapInuse>>10, after.HeapInuse>>10)
	if after.HeapInuse > before.HeapInuse+64<<20 {
		t.Errorf("heap grew from %d to %d bytes", before.HeapInuse, after.HeapInuse)
	}
}
