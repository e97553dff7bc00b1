package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
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

// redrive -data sends the dead-letter stream of a stopped serve's embedded
// store back to its event stream, and serve delivers it when it starts
// again. While a serve (a child process) runs on the directory, redrive
// -data is refused with an error naming the process, and the store is left
// as it was.
func TestRedriveData(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	const secret = "redrive-secret"
	t.Setenv("NOTIFYMUX_SECRET", secret)
	fn := newKeyCounter(t, secret)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// A store with three dead letters, as serve leaves it.
	srv, err := js.StartServer(js.ServerConfig{StoreDir: filepath.Join(dir, "jetstream")})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := srv.Connect()
	if err != nil {
		t.Fatal(err)
	}
	j, _ := jetstream.New(nc)
	if err := js.EnsureStreams(ctx, j, js.StreamConfig{}); err != nil {
		t.Fatal(err)
	}
	recs := make([]batch.Record, 3)
	for i := range recs {
		recs[i] = batch.Record{Bucket: "photos", Key: fmt.Sprintf("images/dead-%d.jpg", i), Event: match.ObjectCreatedPut,
			Target: "fn", Region: "ap-guangzhou"}
	}
	dl := dispatch.DeadLetter{Batch: batch.Batch{Target: "fn", Records: recs}, Reason: dispatch.ReasonRetries, Err: errors.New("503")}
	if err := js.NewDeadStream(j, js.Names{}).DispatchDeadLetter(ctx, dl); err != nil {
		t.Fatal(err)
	}
	nc.Close()
	srv.Shutdown()

	redrive := func(want int) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if code := run(ctx, []string{"redrive", "-data", dir}, nil, &stdout, &stderr); code != want {
			t.Fatalf("redrive -data: exit %d, want %d; stderr:\n%s", code, want, &stderr)
		}
		return stderr.String()
	}
	cmd, _ := startServeChild(t, "-data", dir, "-addr", "127.0.0.1:0", "-to", fn.srv.URL)
	msg := redrive(exitUsage)
	if want := fmt.Sprintf("is in use by another server (held by process %d)", cmd.Process.Pid); !strings.Contains(msg, want) ||
		!strings.Contains(msg, "stop it first, or start it with -nats-listen and use redrive -nats") {
		t.Errorf("redrive -data beside a running serve: stderr\n%s\nwant it to contain %q and what to do", msg, want)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve after SIGTERM: %v", err)
	}

	want := "notifymux redrive: 3 records sent back to the event stream, 0 already sent by an interrupted run, 0 left in the dead-letter stream\n"
	if got := redrive(exitOK); got != want {
		t.Errorf("redrive -data after serve stopped: stderr\n%q\nwant\n%q", got, want)
	}
	if got, want := redrive(exitOK), "notifymux redrive: 0 records sent back"; !strings.HasPrefix(got, want) {
		t.Errorf("second redrive -data: stderr %q, want %q…", got, want)
	}
	startServe(t, nil, "-data", dir, "-addr", "127.0.0.1:0", "-to", fn.srv.URL, "-max-wait", "5ms")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		fn.mu.Lock()
		n := len(fn.keys)
		fn.mu.Unlock()
		if n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve delivered %d of the 3 redriven records in 10 s", n)
		}
	}

	empty := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run(ctx, []string{"redrive", "-data", empty}, nil, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "no JetStream store in") {
		t.Errorf("redrive -data of a directory without a store: exit %d, stderr %s", code, &stderr)
	}
	if _, err := os.Stat(filepath.Join(empty, "jetstream")); err == nil {
		t.Error("redrive -data created a store in a directory that had none")
	}
}
