package jetstream

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/notifymux/notifymux/batch"
)

// Two gateways share one listening embedded server, the second over TCP
// with the token: records published on both are delivered once each, and
// both deliver a share through the one durable consumer.
func TestTwoGatewaysShareTheWork(t *testing.T) {
	srv, err := StartServer(ServerConfig{StoreDir: t.TempDir(), Listen: "127.0.0.1:0", Token: "gateway-token"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	ncA, err := srv.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer ncA.Close()
	ncB, err := Connect(srv.ClientURL(), "gateway-token")
	if err != nil {
		t.Fatal(err)
	}
	defer ncB.Close()
	if _, err := Connect(srv.ClientURL(), "wrong"); err == nil {
		t.Fatal("a client with the wrong token was accepted")
	}
	jsA, _ := jetstream.New(ncA)
	jsB, _ := jetstream.New(ncB)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, js := range []jetstream.JetStream{jsA, jsB} { // every gateway ensures the streams at start
		if err := EnsureStreams(ctx, js, StreamConfig{}); err != nil {
			t.Fatal(err)
		}
	}
	f := newFunction(t)
	var ds []*Deliverer
	for _, js := range []jetstream.JetStream{jsA, jsB} {
		d, err := NewDeliverer(ctx, js, DeliveryConfig{Dispatcher: f.dispatcher(t), Concurrency: 2,
			Batch: batch.Config{MaxRecords: 5, MaxWait: 10 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		defer closeDeliverer(t, d)
		ds = append(ds, d)
	}
	const n = 1000
	var wg sync.WaitGroup
	for g, js := range []jetstream.JetStream{jsA, jsB} {
		p := NewPublisher(js, Names{})
		wg.Go(func() {
			for i := g; i < n; i += 2 {
				if err := p.PublishContext(ctx, record(keyName(i))); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	waitFor(t, 20*time.Second, "not every record delivered", func() bool { k, _ := f.counts(); return k == n })
	// The function counts a record when it receives it; a Deliverer counts
	// it once the 2xx came back and the batch was acknowledged, a moment later.
	waitFor(t, 10*time.Second, "deliveries not counted", func() bool {
		return ds[0].Stats().Delivered+ds[1].Stats().Delivered >= n
	})
	keys, dups := f.counts()
	a, b := ds[0].Stats().Delivered, ds[1].Stats().Delivered
	t.Logf("%d records: gateway A delivered %d, B %d, %d duplicates", keys, a, b, dups)
	if dups != 0 {
		t.Errorf("%d duplicates without any failure", dups)
	}
	if a == 0 || b == 0 || a+b != n {
		t.Errorf("delivered %d by A and %d by B: want a share each, %d in all", a, b, n)
	}
}
