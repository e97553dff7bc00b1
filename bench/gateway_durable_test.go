// BenchmarkGatewayIngestDurable is BenchmarkGatewayIngest with durable
// delivery, as `notifymux serve` runs by default: ingest publishes each
// record to a file-storage stream of an embedded NATS server (syncing on its
// interval) and answers once every record is stored; a Deliverer fetches
// them into the same kind of sink. BenchmarkGatewayIngestDurableSyncAlways
// is the same with `-fsync always` (an fsync before each acknowledgement),
// and BenchmarkGatewayIngestDurable2Gateways spreads the requests over two
// gateways in this process on one server, as TestServeScaleOut runs them:
// the first connected in-process, the second over TCP, each with its own
// Deliverer on the shared consumer. (Two gateways on the same cores show the
// cost of sharing one server, not the gain of a second machine.) Compare
// them in one run:
//
//	go test ./bench -run='^$' -bench='GatewayIngest' -count=6
package bench

import (
	"context"
	"net"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/notifymux/notifymux/batch"
	"github.com/notifymux/notifymux/dispatch"
	"github.com/notifymux/notifymux/dispatch/gateway"
	js "github.com/notifymux/notifymux/dispatch/jetstream"
)

func BenchmarkGatewayIngestDurable(b *testing.B) {
	benchGatewayIngest(b, func(b *testing.B) (string, func()) {
		return durableIngestServer(b, js.SyncInterval)
	})
}

func BenchmarkGatewayIngestDurableSyncAlways(b *testing.B) {
	benchGatewayIngest(b, func(b *testing.B) (string, func()) {
		return durableIngestServer(b, js.SyncAlways)
	})
}

func BenchmarkGatewayIngestDurable2Gateways(b *testing.B) {
	benchGatewaysIngest(b, func(b *testing.B) ([]string, func()) {
		srv, err := js.StartServer(js.ServerConfig{StoreDir: b.TempDir(), Listen: "127.0.0.1:0", Token: "nats-token"})
		if err != nil {
			b.Fatal(err)
		}
		inProcess, err := srv.Connect()
		if err != nil {
			b.Fatal(err)
		}
		overTCP, err := js.Connect(srv.ClientURL(), "nats-token")
		if err != nil {
			b.Fatal(err)
		}
		url1, stop1 := durableGateway(b, inProcess)
		url2, stop2 := durableGateway(b, overTCP)
		return []string{url1, url2}, func() {
			stop1()
			stop2()
			srv.Shutdown()
		}
	})
}

// durableIngestServer is ingestServer with a jetstream Publisher and
// Deliverer in place of the Pipeline, on an embedded server of its own
// that syncs as sync says.
func durableIngestServer(b *testing.B, sync js.SyncMode) (string, func()) {
	srv, err := js.StartServer(js.ServerConfig{StoreDir: b.TempDir(), Sync: sync})
	if err != nil {
		b.Fatal(err)
	}
	nc, err := srv.Connect()
	if err != nil {
		b.Fatal(err)
	}
	url, stop := durableGateway(b, nc)
	return url, func() {
		stop()
		srv.Shutdown()
	}
}

// durableGateway serves a gateway on loopback that publishes to the server
// nc is connected to and delivers from it into a sink. Its stop function
// closes nc.
func durableGateway(b *testing.B, nc *nats.Conn) (string, func()) {
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
	pub := js.NewPublisher(j, js.Names{})
	g, err := gateway.New(gateway.Config{Store: st, Index: routeIndex(b), Publisher: pub,
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
		if s := pub.Stats(); s.Duplicates > 0 {
			b.Errorf("%d of %d records were dropped as duplicates: the benchmark measured no storage for them", s.Duplicates, s.Duplicates+s.Published)
		}
	}
}
