// Benchmarks of durable ingest against the in-memory Pipeline.
//
// Ingest/memory is dispatch.Pipeline.PublishContext (delivered to a
// Dispatcher that returns at once); Ingest/durable-sync=interval and
// Ingest/durable-sync=always are Publisher.PublishContext to an embedded
// server's file-storage stream, each returning once the stream stored the
// record, with the server syncing on its interval or on every write. Each
// runs 32 publishing goroutines, as concurrent ingest requests do, and
// reports records/s and the p50 and p99 latency of one publish.
package jetstream

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/notifymux/notifymux/batch"
	"github.com/notifymux/notifymux/dispatch"
)

func BenchmarkIngest(b *testing.B) {
	b.Run("memory", func(b *testing.B) {
		p, err := dispatch.NewPipeline(dispatch.Config{
			Dispatcher:   dispatch.Func(func(context.Context, batch.Batch) error { return nil }),
			DeadLetter:   dispatch.NewJSONLines(io.Discard),
			QueueRecords: 1 << 20,
		})
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close(context.Background())
		benchIngest(b, p)
	})
	for _, sync := range []SyncMode{SyncInterval, SyncAlways} {
		b.Run("durable-sync="+sync.String(), func(b *testing.B) {
			srv, err := StartServer(ServerConfig{StoreDir: b.TempDir(), Sync: sync})
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Shutdown()
			nc, err := srv.Connect()
			if err != nil {
				b.Fatal(err)
			}
			defer nc.Close()
			js, err := jetstream.New(nc)
			if err != nil {
				b.Fatal(err)
			}
			if err := EnsureStreams(context.Background(), js, StreamConfig{MaxBytes: 8 << 30}); err != nil {
				b.Fatal(err)
			}
			benchIngest(b, NewPublisher(js, Names{}))
		})
	}
}

// benchIngest publishes b.N records with unique keys from 32 goroutines
// and reports records/s, p50 and p99.
func benchIngest(b *testing.B, p dispatch.Publisher) {
	const workers = 32
	ctx := context.Background()
	r := record("k")
	var mu sync.Mutex
	var lat []time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	per := (b.N + workers - 1) / workers
	for w := range workers {
		wg.Go(func() {
			mine := make([]time.Duration, 0, per)
			rec := r
			for i := w * per; i < min((w+1)*per, b.N); i++ {
				rec.Key = fmt.Sprintf("obj-%d", i)
				rec.Sequencer = fmt.Sprintf("%016X", i)
				t0 := time.Now()
				if err := p.PublishContext(ctx, rec); err != nil {
					b.Error(err)
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "records/s")
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}
