package jetstream

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/notifymux/notifymux/batch"
	"github.com/notifymux/notifymux/batch/schema"
	"github.com/notifymux/notifymux/dispatch"
	"github.com/notifymux/notifymux/match"
)

// env is an embedded server with the streams created.
type env struct {
	srv *Server
	nc  *nats.Conn
	js  jetstream.JetStream
	dir string
}

func newEnv(t *testing.T, sc StreamConfig) *env {
	t.Helper()
	dir := t.TempDir()
	srv, err := StartServer(ServerConfig{StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	e := &env{srv: srv, dir: dir}
	e.nc, e.js = e.connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := EnsureStreams(ctx, e.js, sc); err != nil {
		t.Fatal(err)
	}
	return e
}

// connect opens a new client connection, closed at the end of the test.
func (e *env) connect(t *testing.T) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := e.srv.Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// msgs returns the number of messages stored in the named stream.
func (e *env) msgs(t *testing.T, stream string) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := e.js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// function is a real HTTP function on 127.0.0.1 that verifies signatures
// and counts deliveries per object key.
type function struct {
	srv    *httptest.Server
	secret []byte

	status atomic.Int32  // answer; 0 means 200
	hold   chan struct{} // if set, requests wait for it to close

	mu       sync.Mutex
	keys     map[string]int
	requests int
}

func newFunction(t *testing.T) *function {
	t.Helper()
	f := &function{secret: []byte("0123456789abcdef0123456789abcdef"), keys: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *function) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if err := dispatch.Verify(f.secret, r.Header, body, time.Now(), time.Minute); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if f.hold != nil {
		select {
		case <-f.hold:
		case <-r.Context().Done():
			return
		}
	}
	f.mu.Lock()
	f.requests++
	f.mu.Unlock()
	if s := f.status.Load(); s != 0 {
		w.WriteHeader(int(s))
		return
	}
	var p schema.COSPayload
	if err := json.Unmarshal(body, &p); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	for _, rec := range p.Records {
		f.keys[path.Base(rec.COS.Object.Key)]++
	}
	f.mu.Unlock()
}

// counts returns the number of distinct keys delivered and of duplicate
// deliveries.
func (f *function) counts() (keys, dups int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range f.keys {
		keys++
		dups += n - 1
	}
	return keys, dups
}

func (f *function) dispatcher(t *testing.T) dispatch.Dispatcher {
	t.Helper()
	h, err := dispatch.NewHTTP(dispatch.HTTPConfig{DefaultURL: f.srv.URL, Secret: f.secret, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// record returns a routed record for key k.
func record(k string) batch.Record {
	return batch.Record{Bucket: "testpic-1253970026", Region: "ap-guangzhou", Key: k, Size: 1,
		Event: match.ObjectCreatedPut, Time: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC), RuleID: "r1", Target: "thumbnail"}
}

// publish publishes records for keys k-0 … k-(n-1).
func publish(t *testing.T, p *Publisher, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := range n {
		if err := p.PublishContext(ctx, record(keyName(i))); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
}

func keyName(i int) string { return "k-" + itoa(i) }

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// closeDeliverer closes d within 10 s.
func closeDeliverer(t *testing.T, d *Deliverer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Close(ctx); err != nil {
		t.Error(err)
	}
}
