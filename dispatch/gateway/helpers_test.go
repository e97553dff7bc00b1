package gateway_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/notifymux/notifymux/batch"
	"github.com/notifymux/notifymux/dispatch"
	"github.com/notifymux/notifymux/dispatch/gateway"
)

const (
	testAccessKey = "NOTIFYMUXTESTKEY"
	testSecretKey = "notifymux-test-secret-key-0123456789"
	testToken     = "ingest-token-for-tests"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testGateway is a gateway served on a loopback port.
type testGateway struct {
	G    *gateway.Gateway
	Addr string // host:port
	URL  string // http://host:port
	Log  *syncBuffer
	srv  *http.Server
}

// startGateway serves a Gateway made from cfg (Store, Keys and IngestToken
// filled in when unset) on 127.0.0.1:0 until the test ends.
func startGateway(t testing.TB, dir string, cfg gateway.Config) *testGateway {
	t.Helper()
	if cfg.Store == nil {
		st, err := gateway.OpenStore(dir)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Store = st
	}
	if cfg.Keys == nil {
		cfg.Keys = map[string]string{testAccessKey: testSecretKey}
	}
	if cfg.IngestToken == "" {
		cfg.IngestToken = testToken
	}
	logs := &syncBuffer{}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	}
	g, err := gateway.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := gateway.NewServer(g, cfg.Logger)
	go srv.Serve(ln)
	tg := &testGateway{G: g, Addr: ln.Addr().String(), URL: "http://" + ln.Addr().String(), Log: logs, srv: srv}
	t.Cleanup(func() { tg.Stop() })
	return tg
}

// Stop shuts the server down.
func (tg *testGateway) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tg.srv.Shutdown(ctx)
}

// newPipeline returns a pipeline delivering through d, closed at the end of
// the test.
func newPipeline(t testing.TB, d dispatch.Dispatcher, cfg dispatch.Config) *dispatch.Pipeline {
	t.Helper()
	cfg.Dispatcher = d
	if cfg.DeadLetter == nil && cfg.DeadLetterPath == "" {
		cfg.DeadLetterPath = t.TempDir() + "/dead.jsonl"
	}
	if cfg.Policy == 0 {
		cfg.Policy = dispatch.Reject
	}
	p, err := dispatch.NewPipeline(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		p.Close(ctx)
	})
	return p
}

// batchCfg returns a batch configuration of at most n records per batch,
// sent after 10 ms.
func batchCfg(n int) batch.Config {
	return batch.Config{MaxRecords: n, MaxWait: 10 * time.Millisecond}
}
