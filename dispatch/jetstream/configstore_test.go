package jetstream

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestConfigStorePutGetDelete(t *testing.T) {
	e := newEnv(t, StreamConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := OpenConfigStore(ctx, e.js, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok, err := s.Get(ctx, "never-configured"); ok || err != nil {
		t.Errorf("Get of a bucket never configured: ok %v, err %v; want false, nil", ok, err)
	}
	doc := []byte("<NotificationConfiguration/>")
	rev, err := s.Put(ctx, "testpic-1253970026", doc)
	if err != nil {
		t.Fatal(err)
	}
	got, grev, ok, err := s.Get(ctx, "testpic-1253970026")
	if err != nil || !ok || string(got) != string(doc) || grev != rev {
		t.Errorf("Get = %q, rev %d, %v, %v; want %q, rev %d", got, grev, ok, err, doc, rev)
	}
	if err := s.Delete(ctx, "testpic-1253970026"); err != nil {
		t.Fatal(err)
	}
	if _, _, ok, _ := s.Get(ctx, "testpic-1253970026"); ok {
		t.Error("Get after Delete still finds the configuration")
	}
	for _, bad := range []string{"", "a b", ".lead", "trail.", "a..b", "a/b", "a*"} {
		if _, err := s.Put(ctx, bad, doc); !errors.Is(err, ErrBadBucketName) {
			t.Errorf("Put(%q): %v, want ErrBadBucketName", bad, err)
		}
	}
}

// TestConfigStoreWatchAcrossGateways puts configurations on one client
// connection and watches them on another, as two gateways do, and reports
// the propagation latency.
func TestConfigStoreWatchAcrossGateways(t *testing.T) {
	e := newEnv(t, StreamConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	writer, err := OpenConfigStore(ctx, e.js, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 { // stored before the second gateway starts
		if _, err := writer.Put(ctx, fmt.Sprintf("old-%d", i), []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	_, js2 := e.connect(t)
	reader, err := OpenConfigStore(ctx, js2, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]time.Time{}
	initial := 0
	ready := make(chan struct{})
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- reader.Watch(wctx, func(c ConfigChange, isReady bool) error {
			if isReady {
				close(ready)
				return nil
			}
			mu.Lock()
			defer mu.Unlock()
			select {
			case <-ready:
				seen[c.Bucket] = time.Now()
			default:
				initial++
			}
			return nil
		})
	}()
	select {
	case <-ready:
	case <-ctx.Done():
		t.Fatal("the watch never finished its start-up load")
	}
	if initial != 50 {
		t.Errorf("start-up load saw %d configurations, want 50", initial)
	}
	const n = 200
	put := make([]time.Time, n)
	for i := range n {
		put[i] = time.Now()
		if _, err := writer.Put(ctx, fmt.Sprintf("new-%d", i), []byte("y")); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "the watching gateway did not see every PUT", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == n
	})
	stop()
	if err := <-done; err != nil {
		t.Errorf("Watch: %v", err)
	}
	lat := make([]time.Duration, n)
	mu.Lock()
	for i := range n {
		lat[i] = seen[fmt.Sprintf("new-%d", i)].Sub(put[i])
	}
	mu.Unlock()
	slices.Sort(lat)
	p50, p99 := lat[n/2], lat[n*99/100]
	t.Logf("PUT on one connection seen by the other's watch: p50 %v, p99 %v (%d puts)", p50, p99, n)
	if p99 > 2*time.Second {
		t.Errorf("p99 propagation %v, over 2s", p99)
	}
}

// A watch started after a configuration was removed reports the removal in
// its start-up load, so a gateway that watches again after its watch ended
// drops rules removed in between.
func TestConfigStoreWatchReportsStoredDeletions(t *testing.T) {
	e := newEnv(t, StreamConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := OpenConfigStore(ctx, e.js, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"kept", "removed"} {
		if _, err := s.Put(ctx, b, []byte("<x/>")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(ctx, "removed"); err != nil {
		t.Fatal(err)
	}
	var got []string
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	err = s.Watch(wctx, func(c ConfigChange, ready bool) error {
		if ready {
			stop()
			return nil
		}
		got = append(got, fmt.Sprintf("%s deleted=%v doc=%q", c.Bucket, c.Deleted, c.Doc))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{`kept deleted=false doc="<x/>"`, `removed deleted=true doc=""`}; !slices.Equal(got, want) {
		t.Errorf("start-up load reported %q, want %q", got, want)
	}
}
