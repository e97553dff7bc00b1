package jetstream

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/notifymux/notifymux/batch"
)

// crashDirVar names, to the test binary run as a child by
// TestCrashKeepsAcceptedRecords, the store directory it publishes into.
const crashDirVar = "NOTIFYMUX_TEST_CRASH_STORE"

// TestCrashChild is the child process of TestCrashKeepsAcceptedRecords: it
// publishes records with unique keys from 8 goroutines into an embedded
// server and prints the number of each record whose publish was
// acknowledged, until it is killed.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirVar)
	if dir == "" {
		t.Skip("run by TestCrashKeepsAcceptedRecords")
	}
	srv, err := StartServer(ServerConfig{StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := srv.Connect()
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if err := EnsureStreams(context.Background(), js, StreamConfig{}); err != nil {
		t.Fatal(err)
	}
	p := NewPublisher(js, Names{})
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= 100_000 {
					return
				}
				if err := p.PublishContext(context.Background(), record(keyName(i))); err != nil {
					fmt.Fprintln(os.Stderr, err)
					return
				}
				mu.Lock()
				fmt.Fprintln(out, i)
				out.Flush() // the parent counts it as accepted from now on
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// TestCrashKeepsAcceptedRecords kills (SIGKILL) a process in the middle of
// publishing, restarts the server on its store directory, and delivers:
// every record whose publish was acknowledged reaches the function.
func TestCrashKeepsAcceptedRecords(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirVar+"="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	accepted := map[int]bool{}
	sc := bufio.NewScanner(stdout)
	killed := false
	timer := time.AfterFunc(60*time.Second, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	for sc.Scan() {
		i, err := strconv.Atoi(sc.Text())
		if err != nil {
			continue // a line cut by the kill
		}
		accepted[i] = true
		if len(accepted) == 5000 && !killed {
			killed = true
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		}
	}
	_ = cmd.Wait()
	if !killed {
		t.Fatalf("the child stopped after %d accepted records, before it was killed", len(accepted))
	}
	if len(accepted) == 100_000 {
		t.Fatal("the child finished before the kill")
	}

	e := &env{dir: dir}
	e.srv, err = StartServer(ServerConfig{StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.srv.Shutdown)
	e.nc, e.js = e.connect(t)
	stored := e.msgs(t, DefaultStream)
	f := newFunction(t)
	d, err := NewDeliverer(context.Background(), e.js, DeliveryConfig{Dispatcher: f.dispatcher(t), Concurrency: 8,
		Batch: batch.Config{MaxRecords: 100, MaxBytes: 1 << 20, MaxWait: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer closeDeliverer(t, d)
	missing := func() int {
		f.mu.Lock()
		defer f.mu.Unlock()
		n := 0
		for i := range accepted {
			if f.keys[keyName(i)] == 0 {
				n++
			}
		}
		return n
	}
	waitFor(t, 40*time.Second, "not every accepted record was delivered after the restart", func() bool { return missing() == 0 })
	keys, dups := f.counts()
	t.Logf("killed after %d acknowledged publishes; %d records in the stream after the restart; delivered %d keys (%d more than acknowledged: stored, ack lost in the kill), %d duplicates",
		len(accepted), stored, keys, keys-len(accepted), dups)
}
