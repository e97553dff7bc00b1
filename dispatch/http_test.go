// Tests of the HTTP dispatcher against real servers on 127.0.0.1: status
// classification, Retry-After, signatures, connection reuse, bounded bodies,
// timeouts, broken connections and the per-target in-flight limit; and of
// the target table loader.

package dispatch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/notifymux/notifymux/batch"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// testBatch returns a COS batch of n records for target.
func testBatch(target string, n int) batch.Batch {
	recs := make([]batch.Record, n)
	for i := range recs {
		recs[i] = rec(target, fmt.Sprintf("obj-%d", i), i)
	}
	return batch.Batch{Target: target, Format: batch.FormatCOS, ContentType: batch.ContentTypeJSON,
		Payload: batch.AppendCOS(nil, recs), Records: recs, Opened: time.Now()}
}

// verifyingHandler checks the signature of every request and hands the
// verified body to next; a bad signature is a test error and a 401.
func verifyingHandler(t *testing.T, next func(w http.ResponseWriter, r *http.Request, body []byte)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		if err := Verify(testSecret, r.Header, body, time.Now(), 0); err != nil {
			t.Errorf("server: %v", err)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		next(w, r, body)
	})
}

// countingTransport counts the requests it has open per target (from
// RoundTrip until the body is closed) and keeps the peak. It measures the
// client side, which the in-flight limit bounds; a server notices an
// abandoned request only later.
type countingTransport struct {
	next    http.RoundTripper
	mu      sync.Mutex
	open    map[string]int
	peak    map[string]int
	arrived map[string]int
}

func newCountingTransport() *countingTransport {
	return &countingTransport{next: http.DefaultTransport.(*http.Transport).Clone(),
		open: map[string]int{}, peak: map[string]int{}, arrived: map[string]int{}}
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	target := r.Header.Get(TargetHeader)
	c.mu.Lock()
	c.open[target]++
	c.arrived[target]++
	c.peak[target] = max(c.peak[target], c.open[target])
	c.mu.Unlock()
	done := func() {
		c.mu.Lock()
		c.open[target]--
		c.mu.Unlock()
	}
	resp, err := c.next.RoundTrip(r)
	if err != nil {
		done()
		return nil, err
	}
	resp.Body = &closeHook{ReadCloser: resp.Body, close: done}
	return resp, nil
}

func (c *countingTransport) peakOf(target string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.peak[target]
}

type closeHook struct {
	io.ReadCloser
	once  sync.Once
	close func()
}

func (h *closeHook) Close() error {
	err := h.ReadCloser.Close()
	h.once.Do(h.close)
	return err
}

func newHTTP(t *testing.T, cfg HTTPConfig) *HTTP {
	t.Helper()
	if cfg.Secret == nil {
		cfg.Secret = testSecret
	}
	h, err := NewHTTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(context.Background()) })
	return h
}

func TestHTTPStatuses(t *testing.T) {
	date := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	srv := httptest.NewServer(verifyingHandler(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		switch r.URL.Path {
		case "/200":
		case "/204":
			w.WriteHeader(http.StatusNoContent)
		case "/302":
			http.Redirect(w, r, "/200", http.StatusFound)
		case "/400":
			http.Error(w, "bad payload "+strings.Repeat("x", 2000), http.StatusBadRequest)
		case "/404":
			http.NotFound(w, r)
		case "/408":
			w.WriteHeader(http.StatusRequestTimeout)
		case "/429":
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
		case "/503":
			w.Header().Set("Retry-After", date)
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/500":
			w.Header().Set("Retry-After", "7") // ignored: only 429 and 503 carry it
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	paths := []string{"200", "204", "302", "400", "404", "408", "429", "503", "500"}
	targets := map[string]string{}
	for _, p := range paths {
		targets["fn"+p] = srv.URL + "/" + p
	}
	h := newHTTP(t, HTTPConfig{Targets: targets})
	for _, tc := range []struct {
		path       string
		ok         bool
		permanent  bool
		retryAfter time.Duration // minimum
	}{
		{"200", true, false, 0},
		{"204", true, false, 0},
		{"302", false, true, 0},
		{"400", false, true, 0},
		{"404", false, true, 0},
		{"408", false, false, 0},
		{"429", false, false, 7 * time.Second},
		{"503", false, false, 80 * time.Second},
		{"500", false, false, 0},
	} {
		err := h.Dispatch(context.Background(), testBatch("fn"+tc.path, 2))
		if tc.ok {
			if err != nil {
				t.Errorf("%s: %v, want delivered", tc.path, err)
			}
			continue
		}
		var se *StatusError
		if !errors.As(err, &se) || !errors.Is(err, ErrHTTPStatus) || fmt.Sprint(se.StatusCode) != tc.path {
			t.Errorf("%s: got %v, want a StatusError with that code", tc.path, err)
			continue
		}
		if IsPermanent(err) != tc.permanent {
			t.Errorf("%s: IsPermanent = %v, want %v", tc.path, IsPermanent(err), tc.permanent)
		}
		if d := retryDelay(err); d < tc.retryAfter || (tc.retryAfter == 0 && d != 0) || d > tc.retryAfter+15*time.Second {
			t.Errorf("%s: retry delay %v, want about %v", tc.path, d, tc.retryAfter)
		}
		if !strings.Contains(err.Error(), `"fn`+tc.path+`"`) || !strings.Contains(err.Error(), srv.URL) {
			t.Errorf("%s: error %q does not name the target and URL", tc.path, err)
		}
		if len(se.Body) > 512 {
			t.Errorf("%s: error body of %d bytes, want at most 512", tc.path, len(se.Body))
		}
	}
	err := h.Dispatch(context.Background(), testBatch("nobody", 1))
	var ute *UnknownTargetError
	if !errors.As(err, &ute) || ute.Target != "nobody" || !IsPermanent(err) || !errors.Is(err, ErrUnknownTarget) {
		t.Errorf("unknown target: got %v, want a permanent UnknownTargetError naming it", err)
	}
}

// TestHTTPHeadersAndReuse checks the request headers and that sequential
// deliveries reuse one connection even when answers have large bodies.
func TestHTTPHeadersAndReuse(t *testing.T) {
	var mu sync.Mutex
	deliveries := map[string]int{}
	srv := httptest.NewUnstartedServer(verifyingHandler(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != batch.ContentTypeJSON ||
			r.Header.Get(TargetHeader) != "fn" || r.Header.Get(RecordsHeader) != "3" || r.Header.Get("User-Agent") != "notifymux" {
			t.Errorf("request %s with headers %v", r.Method, r.Header)
		}
		mu.Lock()
		deliveries[r.Header.Get(DeliveryHeader)]++
		mu.Unlock()
		w.Write([]byte(strings.Repeat("ok", 1000))) // drained by the client
	}))
	var conns atomic.Int64
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	h := newHTTP(t, HTTPConfig{Targets: map[string]string{"fn": srv.URL}})
	b := testBatch("fn", 3)
	for range 30 {
		if err := h.Dispatch(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("30 sequential deliveries opened %d connections, want 1", n)
	}
	if len(deliveries) != 1 {
		t.Errorf("delivery ids %v, want one id for 30 sends of one payload", deliveries)
	}
}

// TestHTTPBrokenConnections closes the connection before the status line
// (retryable) and in the middle of a 2xx body (delivered).
func TestHTTPBrokenConnections(t *testing.T) {
	hijack := func(w http.ResponseWriter, reply string) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		buf.WriteString(reply)
		buf.Flush()
		conn.Close()
	}
	srv := httptest.NewServer(verifyingHandler(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		switch r.URL.Path {
		case "/cut-status":
			hijack(w, "HTTP/1.1 20")
		case "/cut-body":
			hijack(w, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial")
		case "/silent":
			hijack(w, "")
		}
	}))
	defer srv.Close()
	h := newHTTP(t, HTTPConfig{Targets: map[string]string{
		"cut-status": srv.URL + "/cut-status", "cut-body": srv.URL + "/cut-body", "silent": srv.URL + "/silent",
	}})
	for _, target := range []string{"cut-status", "silent"} {
		err := h.Dispatch(context.Background(), testBatch(target, 1))
		if err == nil || IsPermanent(err) || !strings.Contains(err.Error(), target) {
			t.Errorf("%s: got %v, want a retryable error naming the target", target, err)
		}
	}
	if err := h.Dispatch(context.Background(), testBatch("cut-body", 1)); err != nil {
		t.Errorf("cut-body: got %v, want delivered (the 200 status was received)", err)
	}
}

// TestHTTPTimeoutAndInFlight hangs one target: its requests end after
// Timeout with a retryable error, at most MaxInFlight of them are open at
// once, and another target is served meanwhile.
func TestHTTPTimeoutAndInFlight(t *testing.T) {
	const maxInFlight = 2
	release := make(chan struct{})
	srv := httptest.NewServer(verifyingHandler(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		if r.URL.Path != "/hung" {
			return
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	const timeout = 150 * time.Millisecond
	tr := newCountingTransport()
	h := newHTTP(t, HTTPConfig{
		Targets:     map[string]string{"hung": srv.URL + "/hung", "ok": srv.URL + "/ok"},
		Timeout:     timeout,
		MaxInFlight: maxInFlight,
		Transport:   tr,
	})
	start := time.Now()
	errs := make(chan error, 6)
	for range cap(errs) {
		go func() { errs <- h.Dispatch(context.Background(), testBatch("hung", 1)) }()
	}
	time.Sleep(20 * time.Millisecond)
	okStart := time.Now()
	if err := h.Dispatch(context.Background(), testBatch("ok", 1)); err != nil {
		t.Errorf("ok target while another hangs: %v", err)
	}
	if d := time.Since(okStart); d > timeout/2 {
		t.Errorf("ok target took %v while another hangs", d)
	}
	for range cap(errs) {
		err := <-errs
		if err == nil || IsPermanent(err) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("hung target: got %v, want a retryable deadline error", err)
		}
	}
	if d := time.Since(start); d > 10*timeout {
		t.Errorf("hung requests took %v, want about the %v timeout", d, timeout)
	}
	if p := tr.peakOf("hung"); p != maxInFlight {
		t.Errorf("peak of %d requests open to the hung target, want %d (MaxInFlight)", p, maxInFlight)
	}
}

func TestHTTPConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg   HTTPConfig
		field string
	}{
		{HTTPConfig{Secret: testSecret}, "Targets"},
		{HTTPConfig{Secret: testSecret, DefaultURL: "localhost:8080"}, "DefaultURL"},
		{HTTPConfig{Targets: map[string]string{"fn": "http://127.0.0.1:1/"}}, "Secret"},
		{HTTPConfig{Targets: map[string]string{"fn": "ftp://host/x"}, Secret: testSecret}, `Targets["fn"]`},
		{HTTPConfig{Targets: map[string]string{"fn": "http:///x"}, Secret: testSecret}, `Targets["fn"]`},
		{HTTPConfig{Targets: map[string]string{"fn": "http://a b/"}, Secret: testSecret}, `Targets["fn"]`},
		{HTTPConfig{Targets: map[string]string{"": "http://host/"}, Secret: testSecret}, `Targets[""]`},
		{HTTPConfig{Targets: map[string]string{"fn": "http://host/"}, Secret: testSecret, Timeout: -1}, "Timeout"},
		{HTTPConfig{Targets: map[string]string{"fn": "http://host/"}, Secret: testSecret, MaxInFlight: -1}, "MaxInFlight"},
		{HTTPConfig{Targets: map[string]string{"fn": "http://host/"}, Secret: testSecret, MaxResponseBytes: -1}, "MaxResponseBytes"},
	} {
		_, err := NewHTTP(tc.cfg)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != tc.field || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("NewHTTP(%+v) = %v, want a ConfigError for %s", tc.cfg, err, tc.field)
		}
	}
}

func TestLoadTargets(t *testing.T) {
	m, err := LoadTargets(strings.NewReader(`{"a": "http://127.0.0.1:8080/a", "b": "https://fn.example.com/b"}`))
	if err != nil || len(m) != 2 || m["b"] != "https://fn.example.com/b" {
		t.Errorf("LoadTargets = %v, %v", m, err)
	}
	for _, tc := range []struct{ in, want string }{
		{`["http://x/"]`, "JSON object"},
		{`{"a": 1}`, "JSON object"},
		{`{"a": "http://x/"} {}`, "after the JSON object"},
		{`{}`, "at least one"},
		{`{"thumb": "mailto:x@y"}`, `Targets["thumb"]`},
	} {
		if _, err := LoadTargets(strings.NewReader(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("LoadTargets(%s) = %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "targets.json")
	if err := os.WriteFile(path, []byte(`{"a": "nope"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadTargetsFile(path); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), `Targets["a"]`) {
		t.Errorf("LoadTargetsFile(bad) = %v, want an error naming the file and target", err)
	}
	if _, err := LoadTargetsFile(filepath.Join(dir, "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadTargetsFile(missing) = %v, want ErrNotExist", err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"0", 0}, {"-5", 0}, {"soon", 0}, {"120", 2 * time.Minute}, {" 3 ", 3 * time.Second},
		{now.Add(time.Hour).Format(http.TimeFormat), time.Hour},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
	} {
		if got := parseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestHTTPDefaultURL sends targets missing from the table to DefaultURL.
func TestHTTPDefaultURL(t *testing.T) {
	var mu sync.Mutex
	got := map[string]string{}
	srv := httptest.NewServer(verifyingHandler(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		mu.Lock()
		got[r.Header.Get(TargetHeader)] = r.URL.Path
		mu.Unlock()
	}))
	defer srv.Close()
	h := newHTTP(t, HTTPConfig{DefaultURL: srv.URL + "/any", Targets: map[string]string{"named": srv.URL + "/named"}})
	for _, target := range []string{"named", "a", "b", "a"} {
		if err := h.Dispatch(context.Background(), testBatch(target, 1)); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 3 || got["named"] != "/named" || got["a"] != "/any" || got["b"] != "/any" {
		t.Errorf("paths by target %v", got)
	}
}
