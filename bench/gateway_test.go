// Benchmarks of the gateway's ingest endpoint under a bounded loopback load:
// a real http.Server on 127.0.0.1 serving dispatch/gateway, posted COS
// payloads of 100 records (the input of BenchmarkRoute's input=cos100, for
// the same bucket of 10 rules), delivered into an in-process sink. Each
// iteration is one load run that stops by itself:
//
//   - mode=closed: 4 clients post 250 requests (25,000 records) back to
//     back: the most the gateway takes in, in records/s.
//   - mode=offered-5k and mode=offered-20k: an open loop sends one request
//     every 20 ms (5,000 records/s offered) or every 5 ms (20,000) for 1 s,
//     whatever the answers; latency is counted from each request's
//     scheduled time, so a stall is not hidden.
//
// Each reports records/s accepted and the p50 and p99 latency of a request.
// Compare with BenchmarkRoute/input=cos100 (the routing step alone, as
// `notifymux run` uses it) in the same run:
//
//	go test ./bench -run='^$' -bench='Route/input=cos100|GatewayIngest' -count=6
package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/notifymux/notifymux/batch"
	"github.com/notifymux/notifymux/dispatch"
	"github.com/notifymux/notifymux/dispatch/gateway"
)

// ingestServer serves a gateway on loopback with the rules of routeIndex and
// a pipeline that delivers into a sink. It returns the URL and a stop
// function.
func ingestServer(b *testing.B) (string, func()) {
	p, err := dispatch.NewPipeline(dispatch.Config{
		Dispatcher:     dispatch.Func(func(context.Context, batch.Batch) error { return nil }),
		DeadLetter:     dispatch.NewJSONLines(io.Discard),
		Policy:         dispatch.Reject,
		QueueRecords:   100_000,
		RecycleBatches: true,
	})
	if err != nil {
		b.Fatal(err)
	}
	st, err := gateway.OpenStore(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	g, err := gateway.New(gateway.Config{Store: st, Index: routeIndex(b), Pipeline: p,
		Keys: map[string]string{"AKID": "secret"}, IngestToken: "token", RecordRegion: "ap-guangzhou"})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := gateway.NewServer(g, nil)
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() {
		srv.Shutdown(context.Background())
		p.Close(context.Background())
	}
}

// loadRun is the outcome of one load run.
type loadRun struct {
	accepted  atomic.Int64
	failed    atomic.Int64
	mu        sync.Mutex
	latencies []time.Duration
}

func (l *loadRun) send(c *http.Client, url string, body []byte, from time.Time) {
	req, _ := http.NewRequest("POST", url+"/events", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer token")
	resp, err := c.Do(req)
	if err != nil {
		l.failed.Add(1)
		return
	}
	var res struct{ Accepted int }
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(from)
	if resp.StatusCode != http.StatusAccepted {
		l.failed.Add(1)
		return
	}
	fmt.Sscanf(string(b), `{"accepted":%d`, &res.Accepted)
	l.accepted.Add(int64(res.Accepted))
	l.mu.Lock()
	l.latencies = append(l.latencies, d)
	l.mu.Unlock()
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

func BenchmarkGatewayIngest(b *testing.B) {
	benchGatewayIngest(b, ingestServer)
}

// benchGatewayIngest runs the load modes against the gateway serve starts.
func benchGatewayIngest(b *testing.B, serve func(*testing.B) (string, func())) {
	benchGatewaysIngest(b, func(b *testing.B) ([]string, func()) {
		url, stop := serve(b)
		return []string{url}, stop
	})
}

// benchGatewaysIngest runs the load modes against the gateways serve
// starts, spreading the requests over them in turn.
func benchGatewaysIngest(b *testing.B, serve func(*testing.B) ([]string, func())) {
	const perRequest = 100
	body := routeInput(b, perRequest, perRequest) // one COS payload of 100 records
	// Every request gets a request id of its own: a durable stage stores a
	// record whose request id, sequencer, bucket, key and event repeat
	// one within its duplicate window only once, so repeating one body
	// would measure duplicates dropped, not records stored.
	const requestID = "NWMxOWY4MGFfMjViMjU4NjRfMTUyMV8yNzhhZjM="
	if !bytes.Contains(body, []byte(requestID)) {
		b.Fatalf("the COS payload does not carry request id %s", requestID)
	}
	made := 0
	bodies := func(n int) [][]byte {
		out := make([][]byte, n)
		for i := range out {
			made++
			out[i] = bytes.ReplaceAll(body, []byte(requestID), fmt.Appendf(nil, "req-%0*d", len(requestID)-4, made))
		}
		return out
	}
	for _, mode := range []string{"closed", "offered-5k", "offered-20k"} {
		b.Run("mode="+mode, func(b *testing.B) {
			urls, stop := serve(b)
			defer stop()
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 30 * time.Second}
			var all []time.Duration
			var accepted, failed int64
			var elapsed time.Duration
			for b.Loop() {
				b.StopTimer()
				reqs := bodies(250)
				b.StartTimer()
				l := &loadRun{}
				start := time.Now()
				var wg sync.WaitGroup
				switch mode {
				case "closed":
					const clients, requests = 4, 250
					var next atomic.Int64
					for range clients {
						wg.Go(func() {
							for i := next.Add(1); i <= requests; i = next.Add(1) {
								l.send(c, urls[int(i)%len(urls)], reqs[i-1], time.Now())
							}
						})
					}
				case "offered-5k", "offered-20k":
					interval, requests := 20*time.Millisecond, 50
					if mode == "offered-20k" {
						interval, requests = 5*time.Millisecond, 200
					}
					for i := range requests {
						at := start.Add(time.Duration(i) * interval)
						time.Sleep(time.Until(at))
						wg.Go(func() { l.send(c, urls[i%len(urls)], reqs[i], at) })
					}
				}
				wg.Wait()
				elapsed += time.Since(start)
				accepted += l.accepted.Load()
				failed += l.failed.Load()
				all = append(all, l.latencies...)
			}
			slices.Sort(all)
			b.ReportMetric(float64(accepted)/elapsed.Seconds(), "records/s")
			b.ReportMetric(float64(percentile(all, 0.50).Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(percentile(all, 0.99).Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(failed), "failed")
		})
	}
}
