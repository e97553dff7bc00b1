package jetstream

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/notifymux/notifymux/batch"
	"github.com/notifymux/notifymux/dispatch"
)

func TestPublishDeliver(t *testing.T) {
	e := newEnv(t, StreamConfig{})
	f := newFunction(t)
	p := NewPublisher(e.js, Names{})
	publish(t, p, 100)
	if got := e.msgs(t, DefaultStream); got != 100 {
		t.Fatalf("stream holds %d records, want 100", got)
	}
	d, err := NewDeliverer(context.Background(), e.js, DeliveryConfig{Dispatcher: f.dispatcher(t), Batch: batch.Config{MaxWait: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer closeDeliverer(t, d)
	waitFor(t, 20*time.Second, "not every record delivered", func() bool { k, _ := f.counts(); return k == 100 })
	waitFor(t, 5*time.Second, "delivered records still in the stream", func() bool { return e.msgs(t, DefaultStream) == 0 })
	if _, dups := f.counts(); dups != 0 {
		t.Errorf("%d duplicate deliveries without any failure", dups)
	}
	st := d.Stats()
	if st.Delivered != 100 || st.DeadLettered != 0 || st.Batches < 10 {
		t.Errorf("stats %+v: want 100 delivered in at least 10 batches, none dead-lettered", st)
	}
	if s := p.Stats(); s.Published != 100 {
		t.Errorf("publisher stats %+v, want 100 published", s)
	}
}

func TestPublishUnmatchedIsCounted(t *testing.T) {
	e := newEnv(t, StreamConfig{})
	p := NewPublisher(e.js, Names{})
	r := record("k")
	r.Target = ""
	if err := p.PublishContext(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if got := e.msgs(t, DefaultStream); got != 0 {
		t.Errorf("an unmatched record was stored (%d messages)", got)
	}
	if s := p.Stats(); s.Unmatched != 1 {
		t.Errorf("Unmatched = %d, want 1", s.Unmatched)
	}
}

func TestDuplicatePublish(t *testing.T) {
	e := newEnv(t, StreamConfig{})
	p := NewPublisher(e.js, Names{})
	ctx := context.Background()
	withID := record("a")
	withID.RequestID = "NjE3ZTc0ZTNfNDI4NDQ2MGFf"
	other := withID
	other.RequestID = "NjE3ZTc0ZTNfNDI4NDQ2MGFg" // a second real upload of the same key
	seq := record("b")
	seq.Sequencer = "0055AED6DCD90281E5"
	plain := record("c") // no identity: an event line
	for _, r := range []batch.Record{withID, withID, other, seq, seq, plain, plain} {
		if err := p.PublishContext(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	// Stored: withID, other, seq, plain twice.
	if got := e.msgs(t, DefaultStream); got != 5 {
		t.Errorf("stream holds %d records, want 5 (a retried publish with an identity dropped, two real uploads kept, records without identity never merged)", got)
	}
	if s := p.Stats(); s.Duplicates != 2 || s.Published != 5 {
		t.Errorf("stats %+v, want 5 published and 2 duplicates", s)
	}
	if MsgID(&plain) != "" {
		t.Errorf("a record without request id or sequencer has message ID %q", MsgID(&plain))
	}
	if MsgID(&withID) == MsgID(&other) {
		t.Error("two uploads with different request ids share a message ID")
	}
}

func TestRedeliveryAfterConsumerDies(t *testing.T) {
	e := newEnv(t, StreamConfig{})
	f := newFunction(t)
	publish(t, NewPublisher(e.js, Names{}), 20)

	// A gateway fetches the records and dies during delivery: its
	// function call never returns and it sends no acknowledgement.
	nc1, js1 := e.connect(t)
	var started atomic.Int32
	stuck := dispatch.Func(func(ctx context.Context, b batch.Batch) error {
		started.Add(int32(len(b.Records)))
		<-ctx.Done()
		return ctx.Err()
	})
	cfg := DeliveryConfig{Dispatcher: stuck, AckWait: time.Second, Batch: batch.Config{MaxWait: 20 * time.Millisecond}, MaxRetries: 3}
	d1, err := NewDeliverer(context.Background(), js1, cfg)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the first gateway never got the records", func() bool { return started.Load() == 20 })
	nc1.Close() // the process dies: no ack, no in-progress, no nak
	killed := time.Now()

	_, js2 := e.connect(t)
	cfg.Dispatcher = f.dispatcher(t)
	d2, err := NewDeliverer(context.Background(), js2, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer closeDeliverer(t, d2)
	waitFor(t, 15*time.Second, "the records held by the dead gateway were not delivered by the other", func() bool { k, _ := f.counts(); return k == 20 })
	if took := time.Since(killed); took > 5*time.Second {
		t.Errorf("redelivery took %v with AckWait 1s", took)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_ = d1.Close(ctx)
}

func TestSlowFunctionIsKeptInProgress(t *testing.T) {
	e := newEnv(t, StreamConfig{})
	f := newFunction(t)
	f.hold = make(chan struct{})
	publish(t, NewPublisher(e.js, Names{}), 5)
	d, err := NewDeliverer(context.Background(), e.js, DeliveryConfig{Dispatcher: f.dispatcher(t), AckWait: 600 * time.Millisecond,
		Batch: batch.Config{MaxWait: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer closeDeliverer(t, d)
	time.Sleep(2 * time.Second) // more than three AckWaits with the function busy
	close(f.hold)
	waitFor(t, 10*time.Second, "records not delivered", func() bool { k, _ := f.counts(); return k == 5 })
	if st := d.Stats(); st.Fetched != 5 {
		t.Errorf("fetched %d messages for 5 records: a slow function's records were redelivered", st.Fetched)
	}
}

func TestFunctionDownThenUp(t *testing.T) {
	e := newEnv(t, StreamConfig{})
	f := newFunction(t)
	f.status.Store(http.StatusServiceUnavailable)
	publish(t, NewPublisher(e.js, Names{}), 30)
	d, err := NewDeliverer(context.Background(), e.js, DeliveryConfig{Dispatcher: f.dispatcher(t),
		MaxRetries: 50, RetryBase: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond,
		Batch: batch.Config{MaxWait: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer closeDeliverer(t, d)
	waitFor(t, 10*time.Second, "no failed attempt", func() bool { return d.Stats().Retried >= 30 })
	if got := e.msgs(t, DefaultStream); got != 30 {
		t.Errorf("while the function is down the stream holds %d records, want 30", got)
	}
	f.status.Store(0)
	waitFor(t, 15*time.Second, "records not delivered after the function came back", func() bool { k, _ := f.counts(); return k == 30 })
	if st := d.Stats(); st.DeadLettered != 0 {
		t.Errorf("%d records dead-lettered", st.DeadLettered)
	}
}

func TestDeadLetterAfterMaxDeliver(t *testing.T) {
	e := newEnv(t, StreamConfig{})
	f := newFunction(t)
	f.status.Store(http.StatusInternalServerError)
	publish(t, NewPublisher(e.js, Names{}), 10)
	d, err := NewDeliverer(context.Background(), e.js, DeliveryConfig{Dispatcher: f.dispatcher(t),
		MaxRetries: 2, RetryBase: 10 * time.Millisecond, RetryMax: 20 * time.Millisecond,
		Batch: batch.Config{MaxWait: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer closeDeliverer(t, d)
	waitFor(t, 15*time.Second, "records not dead-lettered", func() bool { return e.msgs(t, DefaultDeadStream) == 10 })
	waitFor(t, 5*time.Second, "dead-lettered records still in the event stream", func() bool { return e.msgs(t, DefaultStream) == 0 })
	f.mu.Lock()
	reqs := f.requests
	f.mu.Unlock()
	if reqs < 3 {
		t.Errorf("%d requests, want at least 3 (1 + MaxRetries attempts)", reqs)
	}
	dl := readDead(t, e, 10)
	for _, m := range dl {
		h := m.Header
		if got := h.Get(headerReason); got != string(dispatch.ReasonRetries) {
			t.Errorf("reason %q, want %q", got, dispatch.ReasonRetries)
		}
		if got := h.Get(headerAttempts); got != "3" {
			t.Errorf("attempts %q, want 3", got)
		}
		if h.Get(headerError) == "" {
			t.Error("dead letter without the last error")
		}
	}
}

func TestDeadLetterAfterMaxAge(t *testing.T) {
	e := newEnv(t, StreamConfig{})
	f := newFunction(t)
	publish(t, NewPublisher(e.js, Names{}), 5)
	time.Sleep(400 * time.Millisecond) // the records age in the stream while no gateway delivers
	d, err := NewDeliverer(context.Background(), e.js, DeliveryConfig{Dispatcher: f.dispatcher(t), MaxEventAge: 300 * time.Millisecond,
		Batch: batch.Config{MaxWait: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer closeDeliverer(t, d)
	waitFor(t, 10*time.Second, "expired records not dead-lettered", func() bool { return e.msgs(t, DefaultDeadStream) == 5 })
	for _, m := range readDead(t, e, 5) {
		if got := m.Header.Get(headerReason); got != string(dispatch.ReasonMaxAge) {
			t.Errorf("reason %q, want %q", got, dispatch.ReasonMaxAge)
		}
	}
	if k, _ := f.counts(); k != 0 {
		t.Errorf("%d expired records were delivered", k)
	}
}

func TestFullStream(t *testing.T) {
	e := newEnv(t, StreamConfig{MaxMsgs: 5})
	p := NewPublisher(e.js, Names{})
	publish(t, p, 5)
	err := p.PublishContext(context.Background(), record("one-too-many"))
	if !errors.Is(err, ErrStreamFull) || !errors.Is(err, dispatch.ErrQueueFull) {
		t.Fatalf("publish to a full stream: %v, want ErrStreamFull and dispatch.ErrQueueFull", err)
	}
	var sf *StreamFullError
	if !errors.As(err, &sf) || sf.Stream != DefaultStream {
		t.Errorf("error %v does not name the stream", err)
	}
	if got := e.msgs(t, DefaultStream); got != 5 {
		t.Errorf("stream holds %d records, want the 5 accepted", got)
	}
	f := newFunction(t)
	d, err := NewDeliverer(context.Background(), e.js, DeliveryConfig{Dispatcher: f.dispatcher(t), Batch: batch.Config{MaxWait: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer closeDeliverer(t, d)
	waitFor(t, 10*time.Second, "accepted records not delivered", func() bool { k, _ := f.counts(); return k == 5 })
	for i := range 5 {
		if f.keys[keyName(i)] == 0 {
			t.Errorf("accepted record %s was not delivered", keyName(i))
		}
	}
	// With room again, publishing works.
	waitFor(t, 5*time.Second, "stream not emptied", func() bool { return e.msgs(t, DefaultStream) == 0 })
	if err := p.PublishContext(context.Background(), record("after")); err != nil {
		t.Errorf("publish once the stream has room: %v", err)
	}
}

func TestCloseLeavesRecordsInTheStream(t *testing.T) {
	e := newEnv(t, StreamConfig{})
	f := newFunction(t)
	f.hold = make(chan struct{})
	defer close(f.hold)
	publish(t, NewPublisher(e.js, Names{}), 8)
	d, err := NewDeliverer(context.Background(), e.js, DeliveryConfig{Dispatcher: f.dispatcher(t), Batch: batch.Config{MaxWait: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "records not fetched", func() bool { return d.Stats().Fetched == 8 })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := d.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close with a stuck function: %v, want DeadlineExceeded", err)
	}
	st := d.Stats()
	if st.Released != 8 || st.DeadLettered != 0 {
		t.Errorf("stats %+v: want 8 released, none dead-lettered", st)
	}
	if got := e.msgs(t, DefaultStream); got != 8 {
		t.Errorf("after Close the stream holds %d records, want 8", got)
	}
	if got := e.msgs(t, DefaultDeadStream); got != 0 {
		t.Errorf("Close dead-lettered %d records", got)
	}
}

func TestRestartKeepsRecords(t *testing.T) {
	dir := t.TempDir()
	srv, err := StartServer(ServerConfig{StoreDir: dir, Sync: SyncAlways})
	if err != nil {
		t.Fatal(err)
	}
	nc, _ := srv.Connect()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := EnsureStreams(ctx, js, StreamConfig{}); err != nil {
		t.Fatal(err)
	}
	publish(t, NewPublisher(js, Names{}), 7)
	nc.Close()
	srv.Shutdown()

	e := &env{dir: dir}
	e.srv, err = StartServer(ServerConfig{StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer e.srv.Shutdown()
	e.nc, e.js = e.connect(t)
	if got := e.msgs(t, DefaultStream); got != 7 {
		t.Errorf("after a restart the stream holds %d records, want 7", got)
	}
}

func TestListenRequiresToken(t *testing.T) {
	if _, err := StartServer(ServerConfig{StoreDir: t.TempDir(), Listen: "127.0.0.1:0"}); err == nil {
		t.Fatal("a listening server without a token started")
	}
	srv, err := StartServer(ServerConfig{StoreDir: t.TempDir(), Listen: "127.0.0.1:0", Token: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	if srv.ClientURL() == "" {
		t.Fatal("no client URL")
	}
	if nc, err := Connect(srv.ClientURL(), "wrong"); err == nil {
		nc.Close()
		t.Error("a client with a wrong token connected")
	}
	nc, err := Connect(srv.ClientURL(), "s3cret")
	if err != nil {
		t.Fatalf("connect with the token: %v", err)
	}
	nc.Close()
}

// readDead returns the first n messages of the dead-letter stream.
func readDead(t *testing.T, e *env, n int) []*jetstream.RawStreamMsg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var out []*jetstream.RawStreamMsg
	for seq := uint64(1); len(out) < n; seq++ {
		s, err := e.js.Stream(ctx, DefaultDeadStream)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("dead letter %d: %v", seq, err)
		}
		out = append(out, raw)
		if _, err := decodeRecord(raw.Data); err != nil {
			t.Errorf("dead letter %d: %v", seq, err)
		}
	}
	return out
}

func TestClusterConfig(t *testing.T) {
	cl := ClusterConfig{Name: "c", Listen: "127.0.0.1:0", Routes: []string{"127.0.0.1:1"}}
	for _, c := range []struct {
		cfg  ServerConfig
		want string
	}{
		{ServerConfig{Listen: "127.0.0.1:0", Cluster: cl}, "Token is required"},
		{ServerConfig{Token: "t", Cluster: cl}, "Listen is required"},
		{ServerConfig{Listen: "127.0.0.1:0", Token: "t", Cluster: ClusterConfig{Name: "c", Listen: "127.0.0.1:0"}}, "Routes is empty"},
		{ServerConfig{Listen: "127.0.0.1:0", Token: "t", Cluster: ClusterConfig{Name: "c", Listen: "nohost", Routes: cl.Routes}}, `Cluster.Listen: "nohost"`},
		{ServerConfig{Listen: "127.0.0.1:0", Token: "t", Cluster: ClusterConfig{Name: "c", Listen: cl.Listen, Routes: []string{"127.0.0.1:x"}}}, `Cluster.Routes: "127.0.0.1:x": bad port`},
	} {
		c.cfg.StoreDir = t.TempDir()
		if _, err := StartServer(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("StartServer(%+v): err = %v, want one containing %q", c.cfg.Cluster, err, c.want)
		}
	}
}

// Two nodes with one token form a cluster; a node with another token
// cannot join it.
func TestClusterRoutesNeedTheToken(t *testing.T) {
	var routes []string
	for range 3 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		routes = append(routes, ln.Addr().String())
		ln.Close()
	}
	start := func(i int, token string) *Server {
		s, err := StartServer(ServerConfig{StoreDir: t.TempDir(), Listen: "127.0.0.1:0", Token: token, ServerName: fmt.Sprintf("n%d", i),
			Cluster: ClusterConfig{Name: "c", Listen: routes[i], Routes: routes[:2]}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Shutdown)
		if s.RouteAddr() != routes[i] {
			t.Errorf("RouteAddr() = %q, want %q", s.RouteAddr(), routes[i])
		}
		return s
	}
	a, b := start(0, "right"), start(1, "right")
	// peers lists the server ids a node has routes to. nats-server opens
	// several routes per peer (a pool, and one per pinned account), at
	// their own pace, so the count of routes is no measure of who joined.
	peers := func(s *Server) map[string]bool {
		rz, err := s.ns.Routez(nil)
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]bool{}
		for _, r := range rz.Routes {
			ids[r.RemoteID] = true
		}
		return ids
	}
	for deadline := time.Now().Add(10 * time.Second); !peers(a)[b.ns.ID()] || !peers(b)[a.ns.ID()]; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("two nodes with the same token formed no route in 10 s")
		}
	}
	// The intruder retries its routes meanwhile. Its own side may list a
	// route for the moment between a node's INFO and the node refusing
	// its credentials, so what counts is the nodes' side, sampled
	// throughout.
	c := start(2, "wrong")
	for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		for name, s := range map[string]*Server{"a": a, "b": b} {
			if peers(s)[c.ns.ID()] {
				t.Fatalf("node %s has a route to the node with the wrong token", name)
			}
		}
	}
}

// A second server on a store directory in use is refused, and gets it once
// the first has shut down.
func TestStoreDirLocked(t *testing.T) {
	dir := t.TempDir()
	a, err := StartServer(ServerConfig{StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	_, err = StartServer(ServerConfig{StoreDir: dir})
	if !errors.Is(err, ErrStoreLocked) || !strings.Contains(err.Error(), "held by another server of this process") {
		t.Fatalf("second server on one store: err = %v, want ErrStoreLocked naming the holder", err)
	}
	a.Shutdown()
	a.Shutdown() // a second Shutdown does no harm
	b, err := StartServer(ServerConfig{StoreDir: dir})
	if err != nil {
		t.Fatalf("after the first shut down: %v", err)
	}
	b.Shutdown()
}
