// BenchmarkGatewayIngestDurable is BenchmarkGatewayIngest with durable
// delivery, as `notifymux serve` runs by default: ingest publishes each
// record to a file-storage stream of an embedded NATS server (syncing on its
// interval) and answers once every record is stored; a Deliverer fetches
// them into the same kind of sink. Compare the two in one run:
//
//	go test ./bench -run='^$' -bench='GatewayIngest' -count=6
package bench

import (
	"context"
	"net"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/notifymux/notifymux/batch"
	"github.com/notifymux/notifymux/dispatch"
	"github.com/notifymux/notifymux/dispatch/gateway"
	js "github.com/notifymux/notifymux/dispatch/jetstream"
)

func BenchmarkGatewayIngestDurable(b *testing.B) {
	benchGatewayIngest(b, durableIngestServer)
}

// durableIngestServer is ingestServer with a jetstream Publisher and
// Deliverer in place of the Pipeline.
func durableIngestServer(b *testing.B) (string, func()) {
	srv, err := js.StartServer(js.ServerConfig{StoreDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	nc, err := srv.Connect()
	if err != nil {
		b.Fatal(err)
	}
	j, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := js.EnsureStreams(ctx, j, js.StreamConfig{MaxBytes: 16 << 30}); err != nil {
		b.Fatal(err)
	}
	d, err := js.NewDeliverer(ctx, j, js.DeliveryConfig{
		Dispatcher: dispatch.Func(func(context.Context, batch.Batch) error { return nil }),
	})
	if err != nil {
		b.Fatal(err)
	}
	st, err := gateway.OpenStore(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	g, err := gateway.New(gateway.Config{Store: st, Index: routeIndex(b), Publisher: js.NewPublisher(j, js.Names{}),
		Keys: map[string]string{"AKID": "secret"}, IngestToken: "token", RecordRegion: "ap-guangzhou"})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hs := gateway.NewServer(g, nil)
	go hs.Serve(ln)
	return "http://" + ln.Addr().String(), func() {
		hs.Shutdown(ctx)
		d.Close(ctx)
		nc.Close()
		srv.Shutdown()
	}
}
