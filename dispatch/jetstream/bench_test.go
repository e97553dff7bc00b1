// Benchmarks of durable ingest against the in-memory Pipeline.
//
// Ingest/memory is dispatch.Pipeline.PublishContext (delivered to a
// Dispatcher that returns at once); Ingest/durable-sync=interval and
// Ingest/durable-sync=always are Publisher.PublishContext to an embedded
// server's file-storage stream, each returning once the stream stored the
// record, with the server syncing on its interval or on every write;
// Ingest/durable-2-gateways splits the publishers over two connections to
// a listening server, as two gateways sharing one server do. Each
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
	"github.com/notifymux/notifymux/dispatch/rulecache"
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
			benchIngest(b, NewPublisher(benchServer(b, sync), Names{}))
		})
	}
	b.Run("durable-2-gateways", func(b *testing.B) {
		srv, err := StartServer(ServerConfig{StoreDir: b.TempDir(), Listen: "127.0.0.1:0", Token: "t"})
		if err != nil {
			b.Fatal(err)
		}
		defer srv.Shutdown()
		var pubs []dispatch.Publisher
		for range 2 { // each gateway has its own connection, over loopback TCP
			nc, err := Connect(srv.ClientURL(), "t")
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
			pubs = append(pubs, NewPublisher(js, Names{}))
		}
		benchIngest(b, pubs...)
	})
}

// benchServer starts an embedded server with sync mode and the streams
// (8 GiB), for the length of the benchmark, and returns its JetStream.
func benchServer(b *testing.B, sync SyncMode) jetstream.JetStream {
	b.Helper()
	srv, err := StartServer(ServerConfig{StoreDir: b.TempDir(), Sync: sync})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Shutdown)
	nc, err := srv.Connect()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	if err := EnsureStreams(context.Background(), js, StreamConfig{MaxBytes: 8 << 30}); err != nil {
		b.Fatal(err)
	}
	return js
}

// benchIngest publishes b.N records with unique keys from 32 goroutines,
// spread over ps, and reports records/s, p50 and p99.
func benchIngest(b *testing.B, ps ...dispatch.Publisher) {
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
		p := ps[w%len(ps)]
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
	reportLatency(b, lat, elapsed, 1, time.Nanosecond, "ns")
}

// BenchmarkRuleLoaderMiss is a rule-cache miss served from the key-value
// bucket: one Get of a stored S3 XML configuration, its parse and compile.
func BenchmarkRuleLoaderMiss(b *testing.B) {
	srv, err := StartServer(ServerConfig{StoreDir: b.TempDir()})
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
	ctx := context.Background()
	s, err := OpenConfigStore(ctx, js, "", 0)
	if err != nil {
		b.Fatal(err)
	}
	const buckets = 1024
	for i := range buckets {
		if _, err := s.Put(ctx, fmt.Sprintf("bucket-%d", i), []byte(benchConfigXML)); err != nil {
			b.Fatal(err)
		}
	}
	c, err := rulecache.New(rulecache.Config{Loader: RuleLoader{Store: s}, Buckets: buckets})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	names := make([]string, buckets)
	for i := range names {
		names[i] = fmt.Sprintf("bucket-%d", i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		name := names[i%buckets]
		c.Invalidate(name) // every Load misses
		r, err := c.Load(ctx, name)
		if err != nil || r.Len() != 2 {
			b.Fatalf("%v, %d rules", err, r.Len())
		}
	}
}

const benchConfigXML = `<NotificationConfiguration>` +
	`<CloudFunctionConfiguration><Id>jpg</Id><Filter><S3Key><FilterRule><Name>prefix</Name><Value>images/</Value></FilterRule>` +
	`<FilterRule><Name>suffix</Name><Value>.jpg</Value></FilterRule></S3Key></Filter>` +
	`<CloudFunction>qcs::scf:ap-guangzhou:appid/1253970026:namespace/default/function/thumbs</CloudFunction><Event>cos:ObjectCreated:*</Event></CloudFunctionConfiguration>` +
	`<CloudFunctionConfiguration><Id>logs</Id><Filter><S3Key><FilterRule><Name>prefix</Name><Value>logs/</Value></FilterRule></S3Key></Filter>` +
	`<CloudFunction>qcs::scf:ap-guangzhou:appid/1253970026:namespace/default/function/index</CloudFunction><Event>cos:ObjectCreated:*</Event></CloudFunctionConfiguration>` +
	`</NotificationConfiguration>`

// BenchmarkPublishBatch publishes b.N records with unique keys from 4
// goroutines in requests of 100 records, as 4 gateway clients posting
// payloads of 100 records do: each request one PublishBatch, or its
// records one PublishContext after another. It reports records/s and the
// p50 and p99 of a request.
func BenchmarkPublishBatch(b *testing.B) {
	for _, sync := range []SyncMode{SyncInterval, SyncAlways} {
		for _, mode := range []string{"batch", "one-by-one"} {
			b.Run("sync="+sync.String()+"/"+mode, func(b *testing.B) {
				benchRequests(b, NewPublisher(benchServer(b, sync), Names{}), mode == "batch")
			})
		}
	}
}

// benchRequests is BenchmarkPublishBatch's loop.
func benchRequests(b *testing.B, p *Publisher, batched bool) {
	const clients, size = 4, 100
	ctx := context.Background()
	var mu sync.Mutex
	var lat []time.Duration
	requests := (b.N + size - 1) / size
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			recs := make([]batch.Record, size)
			errs := make([]error, size)
			var mine []time.Duration
			for q := c; q < requests; q += clients {
				for i := range recs {
					recs[i] = record(fmt.Sprintf("obj-%d-%d", q, i))
					recs[i].Sequencer = fmt.Sprintf("%08X%08X", q, i)
				}
				t0 := time.Now()
				if batched {
					p.PublishBatch(ctx, recs, errs)
				} else {
					for i := range recs {
						errs[i] = p.PublishContext(ctx, recs[i])
					}
				}
				for _, err := range errs {
					if err != nil {
						b.Error(err)
						return
					}
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
	reportLatency(b, lat, elapsed, size, time.Millisecond, "ms")
}

// reportLatency reports records/s over elapsed, each of the latencies in
// lat timing perSample records, and their p50 and p99 in unit, whose name
// suffixes the metrics (Ingest's sub-microsecond latencies need ns,
// PublishBatch's requests ms).
func reportLatency(b *testing.B, lat []time.Duration, elapsed time.Duration, perSample int, unit time.Duration, suffix string) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(len(lat)*perSample)/elapsed.Seconds(), "records/s")
	b.ReportMetric(float64(lat[len(lat)/2])/float64(unit), "p50-"+suffix)
	b.ReportMetric(float64(lat[len(lat)*99/100])/float64(unit), "p99-"+suffix)
}
