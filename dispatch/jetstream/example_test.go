package jetstream_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/notifymux/notifymux/batch"
	"github.com/notifymux/notifymux/dispatch"
	"github.com/notifymux/notifymux/dispatch/jetstream"
	"github.com/notifymux/notifymux/match"
)

// An embedded server, a record published durably, and a Deliverer that
// hands it to an in-process function.
func Example() {
	dir, err := os.MkdirTemp("", "notifymux-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	srv, err := jetstream.StartServer(jetstream.ServerConfig{StoreDir: dir})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err := srv.Connect()
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	js, err := natsjs.New(nc)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	if err := jetstream.EnsureStreams(ctx, js, jetstream.StreamConfig{}); err != nil {
		log.Fatal(err)
	}

	pub := jetstream.NewPublisher(js, jetstream.Names{})
	rec := batch.Record{Bucket: "testpic-1253970026", Key: "photo.jpg", Event: match.ObjectCreatedPut,
		Sequencer: "0055AED6DCD90281E5", Target: "thumbnail", RuleID: "r1", Time: time.Unix(0, 0)}
	if err := pub.PublishContext(ctx, rec); err != nil { // on disk when it returns
		log.Fatal(err)
	}

	got := make(chan string, 1)
	fn := dispatch.Func(func(_ context.Context, b batch.Batch) error {
		got <- fmt.Sprintf("%s: %d record, key %s", b.Target, len(b.Records), b.Records[0].Key)
		return nil
	})
	d, err := jetstream.NewDeliverer(ctx, js, jetstream.DeliveryConfig{Dispatcher: fn})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(<-got)
	if err := d.Close(ctx); err != nil {
		log.Fatal(err)
	}
	// Output:
	// thumbnail: 1 record, key photo.jpg
}
