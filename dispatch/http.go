// This file delivers batches over HTTP.
//
// Each batch is one POST of its payload to the URL of its target, taken from
// a fixed target → URL table. The request is signed (signature.go) and
// carries the target, record count and a delivery id (xxhash64 of the payload,
// equal on every retry, so a function can drop duplicates).
//
// Failure handling follows what the status means:
//   - 2xx: delivered, even if the body then breaks off (the answer's status
//     is the acknowledgement);
//   - 408, 429 and 5xx, timeouts, refused and broken connections: retryable
//     errors; a 429 or 503 with Retry-After (seconds or an HTTP date) tells
//     the Pipeline how long to wait at least;
//   - 3xx and other 4xx: permanent (*StatusError); redirects are not
//     followed, since a POST must not silently turn into a GET elsewhere;
//   - a target missing from the table: sent to DefaultURL if set, else
//     permanent (*UnknownTargetError).
//
// A hung endpoint cannot exhaust the process: each target has a semaphore of
// MaxInFlight requests, and Timeout bounds the wait for a slot plus the whole
// exchange. The answer's body is drained up to MaxResponseBytes and closed,
// so connections are reused (the Transport keeps MaxInFlight idle
// connections per target) without reading an endless body.

package dispatch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/notifymux/notifymux/batch"
)

// HTTPConfig configures an HTTP dispatcher. Zero fields take the defaults.
type HTTPConfig struct {
	// Targets maps each target function to the http or https URL its
	// batches are posted to. LoadTargets reads it from JSON. Required
	// unless DefaultURL is set.
	Targets map[string]string
	// DefaultURL, if set, receives the batches of targets missing from
	// Targets (each such target still gets its own MaxInFlight limit). If
	// empty, such a batch fails with a permanent *UnknownTargetError.
	DefaultURL string
	// Secret is the HMAC-SHA256 key shared with the functions, which check
	// it with Verify. Required; use 32 random bytes.
	Secret []byte
	// Timeout bounds one attempt: waiting for an in-flight slot, connecting,
	// sending, and reading the answer. Default 10 s. Rule of thumb: a few
	// times the function's p99 latency; the Pipeline retries after it.
	Timeout time.Duration
	// MaxInFlight is the number of requests in flight per target. Default 8.
	// Requests beyond it wait (within Timeout) for a slot.
	MaxInFlight int
	// MaxResponseBytes is how much of an answer's body is read (and
	// discarded) so the connection can be reused. Default 64 KiB.
	MaxResponseBytes int64
	// Transport sends the requests. Default: a clone of
	// http.DefaultTransport keeping MaxInFlight idle connections per target.
	Transport http.RoundTripper
	// UserAgent is sent with each request. Default "notifymux".
	UserAgent string
	// Now returns the time for the signature timestamp. Default time.Now.
	Now func() time.Time
}

// HTTP is a Dispatcher that posts each batch to its target's URL. It is safe
// for concurrent use.
type HTTP struct {
	cfg     HTTPConfig
	client  *http.Client
	targets map[string]*httpTarget

	mu    sync.Mutex
	extra map[string]*httpTarget // targets sent to DefaultURL
}

type httpTarget struct {
	url   string
	slots chan struct{} // semaphore of MaxInFlight
}

// NewHTTP validates cfg and returns an HTTP dispatcher. Errors are
// *ConfigError naming the field (Targets["name"] for a bad URL).
func NewHTTP(cfg HTTPConfig) (*HTTP, error) {
	if len(cfg.Targets) == 0 && cfg.DefaultURL == "" {
		return nil, &ConfigError{Field: "Targets", Value: "{}", Reason: "at least one target → URL (or a DefaultURL) is required"}
	}
	if cfg.DefaultURL != "" {
		if err := checkURL("DefaultURL", cfg.DefaultURL); err != nil {
			return nil, err
		}
	}
	if len(cfg.Secret) == 0 {
		return nil, &ConfigError{Field: "Secret", Value: `""`, Reason: "a shared secret is required to sign requests"}
	}
	if cfg.Timeout < 0 {
		return nil, &ConfigError{Field: "Timeout", Value: cfg.Timeout, Reason: "must not be negative"}
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.MaxInFlight < 0 {
		return nil, &ConfigError{Field: "MaxInFlight", Value: cfg.MaxInFlight, Reason: "must not be negative"}
	}
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = 8
	}
	if cfg.MaxResponseBytes < 0 {
		return nil, &ConfigError{Field: "MaxResponseBytes", Value: cfg.MaxResponseBytes, Reason: "must not be negative"}
	}
	if cfg.MaxResponseBytes == 0 {
		cfg.MaxResponseBytes = 64 << 10
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "notifymux"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &HTTP{cfg: cfg, targets: make(map[string]*httpTarget, len(cfg.Targets))}
	for name, u := range cfg.Targets {
		if err := checkTargetURL(name, u); err != nil {
			return nil, err
		}
		h.targets[name] = &httpTarget{url: u, slots: make(chan struct{}, cfg.MaxInFlight)}
	}
	if cfg.Transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = min(cfg.MaxInFlight*max(len(cfg.Targets), 4), 1024)
		t.MaxIdleConns = 0 // no global limit; the per-host one bounds it
		t.IdleConnTimeout = 90 * time.Second
		t.ResponseHeaderTimeout = cfg.Timeout
		cfg.Transport = t
		h.cfg.Transport = t
	}
	h.client = &http.Client{
		Transport: cfg.Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return h, nil
}

// checkTargetURL returns a *ConfigError unless name is not empty and u is an
// absolute http or https URL with a host.
func checkTargetURL(name, u string) error {
	field := "Targets[" + strconv.Quote(name) + "]"
	if name == "" {
		return &ConfigError{Field: field, Value: u, Reason: "the target name is empty"}
	}
	return checkURL(field, u)
}

// checkURL returns a *ConfigError for field unless u is an absolute http or
// https URL with a host.
func checkURL(field, u string) error {
	p, err := url.Parse(u)
	if err != nil {
		return &ConfigError{Field: field, Value: u, Reason: err.Error()}
	}
	if p.Scheme != "http" && p.Scheme != "https" {
		return &ConfigError{Field: field, Value: u, Reason: "the URL scheme must be http or https"}
	}
	if p.Host == "" {
		return &ConfigError{Field: field, Value: u, Reason: "the URL has no host"}
	}
	return nil
}

// Dispatch posts b.Payload to the URL of b.Target. See the file comment for
// how each outcome is classified.
func (h *HTTP) Dispatch(ctx context.Context, b batch.Batch) error {
	t := h.targets[b.Target]
	if t == nil {
		if h.cfg.DefaultURL == "" {
			return &UnknownTargetError{Target: b.Target}
		}
		t = h.defaultTarget(b.Target)
	}
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	defer cancel()
	select {
	case t.slots <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("dispatch: target %q: all %d in-flight slots busy: %w", b.Target, cap(t.slots), ctx.Err())
	}
	defer func() { <-t.slots }()

	// The body reads b.Payload only until Dispatch returns (see payloadBody).
	body := &payloadGuard{data: b.Payload, size: len(b.Payload)}
	defer body.release()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, http.NoBody)
	if err != nil {
		return Permanent(fmt.Errorf("dispatch: target %q: %w", b.Target, err))
	}
	if len(b.Payload) > 0 {
		req.Body, _ = body.open()
		req.GetBody = body.open
		req.ContentLength = int64(len(b.Payload))
	}
	ct := b.ContentType
	if ct == "" {
		ct = batch.ContentTypeJSON
	}
	ts := h.cfg.Now().Unix()
	req.Header = http.Header{
		"Content-Type":                           {ct},
		"User-Agent":                             {h.cfg.UserAgent},
		http.CanonicalHeaderKey(TargetHeader):    {b.Target},
		http.CanonicalHeaderKey(RecordsHeader):   {strconv.Itoa(len(b.Records))},
		http.CanonicalHeaderKey(DeliveryHeader):  {strconv.FormatUint(xxhash.Sum64(b.Payload), 16)},
		http.CanonicalHeaderKey(TimestampHeader): {strconv.FormatInt(ts, 10)},
		http.CanonicalHeaderKey(SignatureHeader): {Sign(h.cfg.Secret, ts, b.Payload)},
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return fmt.Errorf("dispatch: POST %s for target %q: %w", t.url, b.Target, unwrapURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// Delivered: the status is the acknowledgement. Drain so the
		// connection can be reused; a body that breaks off changes nothing.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, h.cfg.MaxResponseBytes))
		return nil
	}
	var head [512]byte
	n, _ := io.ReadFull(resp.Body, head[:])
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, h.cfg.MaxResponseBytes))
	se := &StatusError{
		Target:     b.Target,
		URL:        t.url,
		StatusCode: resp.StatusCode,
		Body:       strings.TrimSpace(string(head[:n])),
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		se.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), h.cfg.Now())
	}
	return se
}

// ReleasesBatches reports true: Dispatch reads b.Payload only until it
// returns, even when the Transport is still sending the request body (which
// a RoundTripper may do after it returned the response), so a Pipeline may
// recycle the batch once Dispatch returns (Releaser).
func (h *HTTP) ReleasesBatches() bool { return true }

// payloadGuard lends a batch's payload to the request bodies of one Dispatch
// call (the first body and any GetBody makes for a retry by the Transport)
// until release. A RoundTripper may go on reading a request body after it
// returned the response (net/http's does when an endpoint answers before it
// has read the whole body, and closes the body in its own time), so without
// the guard a payload the Pipeline recycled could be read while a worker
// writes the next batch into it, and sent as a corrupt tail. After release,
// a Read that still has payload bytes to send fails (the Transport then
// drops that connection); one at the end still returns io.EOF, so a body
// that was sent in full does not cost its connection.
type payloadGuard struct {
	mu       sync.Mutex
	data     []byte // nil once released
	size     int    // len(data), kept after release
	released bool
}

// errPayloadReleased is what a request body reads after Dispatch returned.
var errPayloadReleased = errors.New("dispatch: request body read after Dispatch returned")

// open returns a new body reading the payload from its start; it is the
// request's GetBody.
func (g *payloadGuard) open() (io.ReadCloser, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.released {
		return nil, errPayloadReleased
	}
	return &payloadBody{g: g}, nil
}

// release ends the loan: no body reads the payload after it returns.
func (g *payloadGuard) release() {
	g.mu.Lock()
	g.data, g.released = nil, true
	g.mu.Unlock()
}

// payloadBody is one request body over a payloadGuard's payload.
type payloadBody struct {
	g   *payloadGuard
	off int
}

func (r *payloadBody) Read(p []byte) (int, error) {
	g := r.g
	g.mu.Lock()
	defer g.mu.Unlock()
	if r.off >= g.size {
		return 0, io.EOF
	}
	if g.released {
		return 0, errPayloadReleased
	}
	n := copy(p, g.data[r.off:])
	r.off += n
	return n, nil
}

func (r *payloadBody) Close() error { return nil }

// defaultTarget returns the DefaultURL entry of a target missing from
// Targets, creating it on first use.
func (h *HTTP) defaultTarget(name string) *httpTarget {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.extra[name]
	if t == nil {
		if h.extra == nil {
			h.extra = map[string]*httpTarget{}
		}
		t = &httpTarget{url: h.cfg.DefaultURL, slots: make(chan struct{}, h.cfg.MaxInFlight)}
		h.extra[name] = t
	}
	return t
}

// Close closes the idle connections of the default Transport.
func (h *HTTP) Close(context.Context) error {
	h.client.CloseIdleConnections()
	return nil
}

// parseRetryAfter reads a Retry-After value: delay seconds or an HTTP date.
// It returns 0 for an absent or unreadable value.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(min(s, 1<<31)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// unwrapURLError removes the *url.Error layer, whose text repeats the method
// and URL that the caller's message already names.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
