package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/notifymux/notifymux/batch"
	"github.com/notifymux/notifymux/dispatch"
	js "github.com/notifymux/notifymux/dispatch/jetstream"
	"github.com/notifymux/notifymux/match"
)

// redrive -nats sends the dead-letter stream of a listening embedded server
// back to its event stream, with the token; a wrong token is refused.
func TestRedriveStream(t *testing.T) {
	srv, err := js.StartServer(js.ServerConfig{StoreDir: t.TempDir(), Listen: "127.0.0.1:0", Token: "s3cret-token"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err := srv.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	j, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := js.EnsureStreams(ctx, j, js.StreamConfig{}); err != nil {
		t.Fatal(err)
	}
	recs := make([]batch.Record, 4)
	for i := range recs {
		recs[i] = batch.Record{Bucket: "b", Key: strings.Repeat("k", i+1), Event: match.ObjectCreatedPut, Target: "fn"}
	}
	recs[3].Target = "other"
	dl := dispatch.DeadLetter{Batch: batch.Batch{Target: "fn", Records: recs}, Reason: dispatch.ReasonRetries, Err: errors.New("503")}
	if err := js.NewDeadStream(j, js.Names{}).DispatchDeadLetter(ctx, dl); err != nil {
		t.Fatal(err)
	}

	var stdout, stderr bytes.Buffer
	t.Setenv("NOTIFYMUX_NATS_TOKEN", "wrong")
	if code := run(ctx, []string{"redrive", "-nats", srv.ClientURL()}, nil, &stdout, &stderr); code != exitUsage {
		t.Errorf("wrong token: exit %d, want %d; stderr %s", code, exitUsage, &stderr)
	}
	t.Setenv("NOTIFYMUX_NATS_TOKEN", "s3cret-token")
	stderr.Reset()
	if code := run(ctx, []string{"redrive", "-nats", srv.ClientURL(), "-target", "fn"}, nil, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d; stderr %s", code, &stderr)
	}
	if want := "notifymux redrive: 3 records sent back to the event stream, 0 already sent by an interrupted run, 1 left in the dead-letter stream (1 for other targets)\n"; stderr.String() != want {
		t.Errorf("stderr %q\nwant   %q", &stderr, want)
	}
	s, err := j.Stream(ctx, js.DefaultStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 3 {
		t.Errorf("event stream holds %d records, want 3", info.State.Msgs)
	}
}
