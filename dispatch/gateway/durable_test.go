package gateway_test

import (
	"context"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

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
	s, err := j.Stream(context.Background(), js.DefaultStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil || info.State.Msgs != 3 {
		t.Errorf("the stream holds %d records (%v), want the 3 accepted", info.State.Msgs, err)
	}
}
