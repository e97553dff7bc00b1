//go:build unix

// Benchmarks of dispatch.Pipeline: end-to-end events per second into an
// in-process sink and into a loopback HTTP function, and heap held while one
// target is stalled.
//
// Each benchmark builds a fresh Pipeline, publishes b.N records and calls
// Close, and the timer covers all of it: Publish, routing, batching and
// encoding (COS format), delivery, and the drain at Close. events/s is b.N
// divided by that wall time. cpu-ns/event is the process's user+system CPU
// time (getrusage) per record: on a shared machine it is the steadier
// number, and 2e9 / cpu-ns/event is the rate two fully available cores
// would reach. Records are prebuilt (1024 keys, 10 targets) so the
// benchmark measures the pipeline, not record construction. The Block
// policy makes the publisher wait instead of dropping, so every record is
// delivered and counted; QueueRecords 1000 per target bounds how far it
// runs ahead.
package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/notifymux/notifymux/batch"
	"github.com/notifymux/notifymux/dispatch"
	"github.com/notifymux/notifymux/match"
)

var sinkStats dispatch.Stats

// benchRecords returns n records over 10 targets fn-0 … fn-9 with realistic
// keys and metadata.
func benchRecords(n int) []batch.Record {
	recs := make([]batch.Record, n)
	for i := range recs {
		recs[i] = batch.Record{
			Bucket: "photos-1250000000", AppID: "1250000000", Region: "ap-guangzhou",
			Key: fmt.Sprintf("users/%d/uploads/2024/05/IMG_%04d.jpg", i%97, i), Size: int64(1000 + i),
			ETag: "d41d8cd98f00b204e9800998ecf8427e", Event: match.ObjectCreatedPut,
			Time: time.Unix(1700000000, 0), RequestID: "NWMxOWY4MGFfMjViMjU4NjRfMTUyMV8yNzhhZjM=",
			SourceIP: "10.0.0.1", ContentType: "image/jpeg",
			Meta:      []batch.Meta{{Name: "x-cos-meta-origin", Value: "camera"}},
			Sequencer: "0055AED6DCD90281E5", RuleID: "thumbnails",
			Target: "fn-" + strconv.Itoa(i%10),
		}
	}
	return recs
}

// cpuTime returns the user+system CPU time of the process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runPipeline publishes b.N records from publishers goroutines and closes p.
func runPipeline(b *testing.B, p *dispatch.Pipeline, publishers int) {
	recs := benchRecords(1024)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	if publishers <= 1 {
		for i := range b.N {
			if err := p.Publish(recs[i&1023]); err != nil {
				b.Fatal(err)
			}
		}
	} else {
		b.SetParallelism(publishers / runtime.GOMAXPROCS(0))
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			i := int(next.Add(1) * 7919)
			for pb.Next() {
				i++
				if err := p.Publish(recs[i&1023]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	if err := p.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/event")
	sinkStats = p.Stats()
	if sinkStats.Delivered != uint64(b.N) {
		b.Fatalf("delivered %d of %d records: %v", sinkStats.Delivered, b.N, sinkStats)
	}
}

// BenchmarkPipelineFunc: 10 targets into an in-process sink that counts
// records. Block policy, so every record is delivered and counted. With
// recycle=true the Pipeline recycles each batch once delivered
// (Config.RecycleBatches; the sink keeps nothing), with recycle=false every
// payload is left to the garbage collector. The recycle level varies
// fastest, so both variants of a configuration run side by side and share
// the machine's load: compare them with benchstat -col /recycle.
func BenchmarkPipelineFunc(b *testing.B) {
	for _, maxRecords := range []int{10, 100} {
		for _, publishers := range []int{1, runtime.GOMAXPROCS(0)} {
			for _, recycle := range []bool{false, true} {
				b.Run(fmt.Sprintf("batch=%d/publishers=%d/recycle=%t", maxRecords, publishers, recycle), func(b *testing.B) {
					var got atomic.Int64
					p, err := dispatch.NewPipeline(dispatch.Config{
						Dispatcher: dispatch.Func(func(_ context.Context, bt batch.Batch) error {
							got.Add(int64(len(bt.Records)))
							return nil
						}),
						DeadLetter:     dispatch.NewJSONLines(io.Discard),
						Policy:         dispatch.Block,
						QueueRecords:   1000,
						Batch:          batch.Config{MaxRecords: maxRecords, MaxBytes: 1 << 20},
						RecycleBatches: recycle,
					})
					if err != nil {
						b.Fatal(err)
					}
					runPipeline(b, p, publishers)
				})
			}
		}
	}
}

// BenchmarkPipelineHTTP: 10 targets into a loopback HTTP function (one
// httptest server, a path per target) that reads each body; batches of 100
// records, 4 lanes per target. The server shares the two cores; every
// request is signed (HMAC-SHA256 over the whole payload).
func BenchmarkPipelineHTTP(b *testing.B) {
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	defer srv.Close()
	targets := map[string]string{}
	for i := range 10 {
		targets["fn-"+strconv.Itoa(i)] = srv.URL + "/fn-" + strconv.Itoa(i)
	}
	for _, maxRecords := range []int{10, 100} {
		b.Run(fmt.Sprintf("batch=%d", maxRecords), func(b *testing.B) {
			h, err := dispatch.NewHTTP(dispatch.HTTPConfig{Targets: targets, Secret: []byte("0123456789abcdef0123456789abcdef")})
			if err != nil {
				b.Fatal(err)
			}
			defer h.Close(context.Background())
			p, err := dispatch.NewPipeline(dispatch.Config{
				Dispatcher:   h,
				DeadLetter:   dispatch.NewJSONLines(io.Discard),
				Policy:       dispatch.Block,
				QueueRecords: 1000,
				Batch:        batch.Config{MaxRecords: maxRecords, MaxBytes: 1 << 20},
			})
			if err != nil {
				b.Fatal(err)
			}
			before := requests.Load()
			runPipeline(b, p, 1)
			b.ReportMetric(float64(b.N)/float64(requests.Load()-before), "records/request")
		})
	}
}

// BenchmarkPipelineStalled: 10 targets, one of which never answers (its
// Dispatch waits for the context), under DropNewest. After publishing, the
// other targets drain; then the heap in use (after a GC, minus the heap
// before the pipeline existed) is reported as heap-bytes, with the records
// the stalled target holds (stalled-held, = QueueRecords) and dropped, and
// the records held in all. heap-bytes stays near QueueRecords × the cost of
// a held record (the Record, its encoded payload, batch slices) however large
// b.N is. While the publisher outruns the workers, the other targets' queues
// fill too, so the peak is bounded by 10 × QueueRecords held records.
func BenchmarkPipelineStalled(b *testing.B) {
	for _, queue := range []int{1_000, 10_000} {
		b.Run(fmt.Sprintf("queue=%d", queue), func(b *testing.B) {
			recs := benchRecords(1024)
			var ms runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms)
			base := ms.HeapAlloc
			p, err := dispatch.NewPipeline(dispatch.Config{
				Dispatcher: dispatch.Func(func(ctx context.Context, bt batch.Batch) error {
					if bt.Target == "fn-0" {
						<-ctx.Done()
						return ctx.Err()
					}
					return nil
				}),
				DeadLetter:   dispatch.NewJSONLines(io.Discard),
				QueueRecords: queue,
			})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				_ = p.Publish(recs[i&1023])
			}
			b.StopTimer()
			// Let the other targets drain, so what remains is what the
			// stalled target holds.
			for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
				if s := p.Stats(); s.Queued == s.Targets[0].Queued {
					break
				}
			}
			runtime.GC()
			runtime.ReadMemStats(&ms)
			s := p.Stats()
			b.ReportMetric(float64(int64(ms.HeapAlloc)-int64(base)), "heap-bytes")
			b.ReportMetric(float64(s.Targets[0].Queued), "stalled-held")
			b.ReportMetric(float64(s.Targets[0].Dropped), "stalled-dropped")
			b.ReportMetric(float64(s.Queued), "held-records")
			b.ReportMetric(float64(int64(ms.HeapAlloc)-int64(base))/float64(max(s.Queued, 1)), "heap-bytes/held")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
			_ = p.Close(ctx) // the stalled target's records are dead-lettered
			cancel()
			sinkStats = p.Stats()
		})
	}
}
