package gateway_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/notifymux/notifymux/dispatch"
	"github.com/notifymux/notifymux/dispatch/gateway"
	js "github.com/notifymux/notifymux/dispatch/jetstream"
)

// With a durable Publisher, a full stream is refused like a full queue: 202
// with the rest counted as refused, then 503 with Retry-After; nothing the
// stream stored is removed.
func TestIngestDurableStreamFull(t *testing.T) {
	srv, err := js.StartServer(js.ServerConfig{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	nc, err := srv.Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	j, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if err := js.EnsureStreams(context.Background(), j, js.StreamConfig{MaxMsgs: 3}); err != nil {
		t.Fatal(err)
	}
	tg := startGateway(t, t.TempDir(), gateway.Config{Publisher: js.NewPublisher(j, js.Names{})})
	if code, body := putRaw(t, tg, "PUT", "/photos?notification", photosRules); code != 200 {
		t.Fatalf("PUT: %d %s", code, body)
	}
	line := eventLine("photos", "cos:ObjectCreated:Put", "images/cat.jpg")
	code, res, _ := post(t, tg.URL, testToken, strings.Repeat(line, 5))
	if code != 202 || res.Matched != 3 || res.Refused != 2 || !strings.Contains(res.Errors[0].Error, "stream full") {
		t.Fatalf("stream fills: got %d %+v, want 202 with 3 matched and 2 refused", code, res)
	}
	code, res, h := post(t, tg.URL, testToken, line)
	if code != 503 || h.Get("Retry-After") == "" || res.Refused != 1 {
		t.Fatalf("stream full: got %d %+v (Retry-After %q), want 503 with Retry-After", code, res, h.Get("Retry-After"))
	}
	// A long body stops at its first batch refused whole, not read to its end.
	code, res, h = post(t, tg.URL, testToken, strings.Repeat(line, dispatch.MaxRouteBatch+50))
	if code != 503 || h.Get("Retry-After") == "" || res.Refused != dispatch.MaxRouteBatch || !strings.Contains(res.Error, "not read") {
		t.Fatalf("long body, stream full: got %d %+v, want 503 with %d refused and the rest not read", code, res, dispatch.MaxRouteBatch)
	}
	s, err := j.Stream(context.Background(), js.DefaultStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil || info.State.Msgs != 3 {
		t.Errorf("the stream holds %d records (%v), want the 3 accepted", info.State.Msgs, err)
	}
}

var _ gateway.ConfigStore = (*js.GatewayStore)(nil)

// Two gateways keep their configurations in one key-value bucket: a PUT on
// one is answered by GET on the other and used by its ingest, once its
// watch applied it; a removal too.
func TestSharedConfigStore(t *testing.T) {
	srv, err := js.StartServer(js.ServerConfig{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var gws []*testGateway
	for range 2 {
		nc, err := srv.Connect()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		j, _ := jetstream.New(nc)
		if err := js.EnsureStreams(ctx, j, js.StreamConfig{}); err != nil {
			t.Fatal(err)
		}
		cs, err := js.OpenConfigStore(ctx, j, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		tg := startGateway(t, "", gateway.Config{Store: js.NewGatewayStore(cs, 0), Publisher: js.NewPublisher(j, js.Names{})})
		ready := make(chan struct{})
		go cs.Watch(ctx, func(c js.ConfigChange, isReady bool) error {
			if isReady {
				close(ready)
				return nil
			}
			if err := tg.G.Apply(c.Bucket, c.Doc); err != nil {
				t.Errorf("Apply: %v", err)
			}
			return nil
		})
		<-ready
		gws = append(gws, tg)
	}
	a, b := gws[0], gws[1]
	if code, body := putRaw(t, a, "PUT", "/photos?notification", photosRules); code != 200 {
		t.Fatalf("PUT on A: %d %s", code, body)
	}
	if code, body := putRaw(t, b, "GET", "/photos?notification", ""); code != 200 || !strings.Contains(body, "thumbs") {
		t.Errorf("GET on B: %d %s", code, body)
	}
	start := time.Now()
	line := eventLine("photos", "cos:ObjectCreated:Put", "images/cat.jpg")
	for {
		if _, res, _ := post(t, b.URL, testToken, line); res.Matched == 1 {
			break
		}
		if time.Since(start) > 5*time.Second {
			t.Fatal("B does not match with A's configuration after 5 s")
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Logf("A's PUT used by B's ingest after %v", time.Since(start))
	if s := b.G.Stats(); s.Buckets != 1 || s.Rules != 1 {
		t.Errorf("B's stats %+v: want 1 bucket, 1 rule", s)
	}
	if code, body := putRaw(t, b, "PUT", "/photos?notification", "<NotificationConfiguration/>"); code != 200 {
		t.Fatalf("empty PUT on B: %d %s", code, body)
	}
	for start := time.Now(); ; time.Sleep(2 * time.Millisecond) {
		if _, res, _ := post(t, a.URL, testToken, line); res.Unmatched == 1 {
			break
		}
		if time.Since(start) > 5*time.Second {
			t.Fatal("A still matches after B removed the configuration")
		}
	}
	if s := a.G.Stats(); s.Buckets != 0 {
		t.Errorf("A's stats %+v: want 0 buckets", s)
	}
}
