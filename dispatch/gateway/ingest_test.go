package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/notifymux/notifymux/dispatch"
	"github.com/notifymux/notifymux/dispatch/gateway"
)

const deliverySecret = "delivery-secret-for-tests"

// functionServer is a real HTTP function endpoint that checks the signature
// of every batch it receives.
type functionServer struct {
	*httptest.Server
	mu       sync.Mutex
	records  int
	batches  int
	badSig   int
	payloads []string
}

func newFunctionServer(t testing.TB) *functionServer {
	f := &functionServer{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		defer f.mu.Unlock()
		if err := dispatch.Verify([]byte(deliverySecret), r.Header, body, time.Now(), 0); err != nil {
			f.badSig++
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var n int
		fmt.Sscan(r.Header.Get(dispatch.RecordsHeader), &n)
		f.records += n
		f.batches++
		f.payloads = append(f.payloads, string(body))
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *functionServer) received() (records, batches, badSig int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.records, f.batches, f.badSig
}

// waitRecords waits until f has received n records.
func (f *functionServer) waitRecords(t testing.TB, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, _, bad := f.received()
		if got >= n {
			if got != n || bad != 0 {
				t.Fatalf("function got %d records (%d bad signatures), want %d", got, bad, n)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("function got %d records within 20 s, want %d", got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func httpPipeline(t testing.TB, url string, cfg dispatch.Config) *dispatch.Pipeline {
	h, err := dispatch.NewHTTP(dispatch.HTTPConfig{DefaultURL: url, Secret: []byte(deliverySecret), Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(context.Background()) })
	if cfg.Batch.MaxWait == 0 {
		cfg.Batch.MaxWait = 10 * time.Millisecond
	}
	return newPipeline(t, h, cfg)
}

// post POSTs body to /events with token and returns the status, the
// decoded answer and the response headers.
func post(t testing.TB, url, token, body string) (int, gateway.IngestResult, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"/events", strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var res gateway.IngestResult
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("answer %d %q is not JSON: %v", resp.StatusCode, b, err)
	}
	return resp.StatusCode, res, resp.Header
}

const photosRules = `<NotificationConfiguration><CloudFunctionConfiguration><Id>thumbs</Id>
<CloudFunction>qcs:0:lambda:gz:appid/1250000000:default.thumbs.$LATEST</CloudFunction>
<Event>cos:ObjectCreated:*</Event><Filter><S3Key><FilterRule><Name>prefix</Name><Value>images/</Value></FilterRule></S3Key></Filter>
</CloudFunctionConfiguration></NotificationConfiguration>`

func eventLine(bucket, event, key string) string {
	return fmt.Sprintf(`{"bucket":%q,"event":%q,"key":%q}`, bucket, event, key) + "\n"
}

const s3Payload = `{"Records":[
 {"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventTime":"2026-11-30T12:00:00.000Z","eventName":"ObjectCreated:Put",
  "s3":{"s3SchemaVersion":"1.0","configurationId":"x","bucket":{"name":"photos","arn":"arn:aws:s3:::photos"},"object":{"key":"images/a.jpg","size":10}}},
 {"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventTime":"2026-11-30T12:00:00.000Z","eventName":"ObjectCreated:Put",
  "s3":{"s3SchemaVersion":"1.0","configurationId":"x","bucket":{"name":"photos","arn":"arn:aws:s3:::photos"},"object":{"key":"docs/b.txt","size":10}}}
]}`

func TestIngestDelivery(t *testing.T) {
	fn := newFunctionServer(t)
	dir := t.TempDir()
	tg := startGateway(t, dir, gateway.Config{Pipeline: httpPipeline(t, fn.URL, dispatch.Config{}), RecordRegion: "ap-guangzhou"})
	if code, body := putRaw(t, tg, "PUT", "/photos?notification", photosRules); code != 200 {
		t.Fatalf("PUT: %d %s", code, body)
	}
	body := eventLine("photos", "cos:ObjectCreated:Put", "images/cat.jpg") +
		eventLine("photos", "cos:ObjectCreated:Put", "docs/readme.txt") +
		eventLine("unknown-bucket", "cos:ObjectCreated:Put", "images/x.jpg") +
		"this is not JSON\n" +
		eventLine("photos", "cos:ObjectCreated:Pot", "images/y.jpg") +
		s3Payload + "\n"
	code, res, _ := post(t, tg.URL, testToken, body)
	if code != 202 || res.Accepted != 5 || res.Matched != 2 || res.Unmatched != 3 || res.Refused != 2 || len(res.Errors) != 2 {
		t.Fatalf("got %d %+v, want 202 with 5 accepted, 2 matched, 3 unmatched, 2 refused", code, res)
	}
	if res.Errors[0].Line != 4 || res.Errors[1].Line != 5 || !strings.Contains(res.Errors[1].Error, "Pot") {
		t.Errorf("errors: %+v, want lines 4 and 5 (the second naming the bad event)", res.Errors)
	}
	fn.waitRecords(t, 2)
	if !strings.Contains(tg.Log.String(), `"route":"events"`) || !strings.Contains(tg.Log.String(), `"matched":2`) {
		t.Errorf("the ingest request was not logged with its counts:\n%s", tg.Log.String())
	}

	// After a restart the stored configuration is loaded and used.
	tg.Stop()
	fn2 := newFunctionServer(t)
	tg2 := startGateway(t, dir, gateway.Config{Pipeline: httpPipeline(t, fn2.URL, dispatch.Config{})})
	if code, res, _ := post(t, tg2.URL, testToken, eventLine("photos", "cos:ObjectCreated:Copy", "images/dog.jpg")); code != 202 || res.Matched != 1 {
		t.Fatalf("after restart: got %d %+v, want 202 with 1 matched", code, res)
	}
	fn2.waitRecords(t, 1)
}

func TestIngestRefusals(t *testing.T) {
	fn := newFunctionServer(t)
	tg := startGateway(t, t.TempDir(), gateway.Config{Pipeline: httpPipeline(t, fn.URL, dispatch.Config{}), MaxBody: 1000})
	line := eventLine("photos", "cos:ObjectCreated:Put", "images/cat.jpg")
	tests := []struct {
		name, token, body string
		status            int
		want              string
	}{
		{"no token", "", line, 401, "bearer token"},
		{"wrong token", "nope", line, 401, "bearer token"},
		{"nothing valid", testToken, "not json\n{\"bucket\":\"photos\"}\n", 400, "no valid record"},
		{"empty", testToken, "", 400, "no event"},
		{"over the limit", testToken, strings.Repeat(line, 30), 413, "over the limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, res, _ := post(t, tg.URL, tt.token, tt.body)
			if code != tt.status || !strings.Contains(res.Error, tt.want) {
				t.Fatalf("got %d %+v, want %d and %q", code, res, tt.status, tt.want)
			}
		})
	}
	// 15 bad lines and a good one: all counted, the first 10 listed.
	body := strings.Repeat("not json\n", 15) + line
	if code, res, _ := post(t, tg.URL, testToken, body); code != 202 || res.Refused != 15 || len(res.Errors) != 10 || res.Errors[9].Line != 10 {
		t.Errorf("15 bad lines: got %d %+v, want 202, 15 refused and 10 errors listed", code, res)
	}
	// Chunked (no Content-Length) over the limit: the records before the
	// limit are counted, so the sender knows what to resend.
	pr, pw := io.Pipe()
	go func() {
		for range 30 {
			pw.Write([]byte(line))
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", tg.URL+"/events", pr)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var res gateway.IngestResult
	json.NewDecoder(resp.Body).Decode(&res)
	resp.Body.Close()
	if resp.StatusCode != 413 || res.Accepted == 0 || res.Accepted >= 30 {
		t.Errorf("chunked over the limit: got %d %+v, want 413 with the records before the limit", resp.StatusCode, res)
	}
}

// hangingFunction accepts connections and never answers until released.
func hangingFunction(t testing.TB) (url string, release func(), calls *atomic.Int64) {
	done := make(chan struct{})
	calls = &atomic.Int64{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		select {
		case <-done:
		case <-r.Context().Done():
		}
	}))
	var once sync.Once
	release = func() { once.Do(func() { close(done) }) }
	t.Cleanup(func() { release(); srv.Close() })
	return srv.URL, release, calls
}

func TestIngestQueueFull(t *testing.T) {
	url, release, calls := hangingFunction(t)
	p := httpPipeline(t, url, dispatch.Config{QueueRecords: 3, Policy: dispatch.Reject, Batch: batchCfg(1)})
	tg := startGateway(t, t.TempDir(), gateway.Config{Pipeline: p})
	if code, body := putRaw(t, tg, "PUT", "/photos?notification", photosRules); code != 200 {
		t.Fatalf("PUT: %d %s", code, body)
	}
	line := eventLine("photos", "cos:ObjectCreated:Put", "images/cat.jpg")
	code, res, _ := post(t, tg.URL, testToken, strings.Repeat(line, 5))
	if code != 202 || res.Matched != 3 || res.Refused != 2 || !strings.Contains(res.Errors[0].Error, "full") {
		t.Fatalf("queue fills: got %d %+v, want 202 with 3 matched and 2 refused", code, res)
	}
	code, res, h := post(t, tg.URL, testToken, line)
	if code != 503 || h.Get("Retry-After") == "" || res.Refused != 1 {
		t.Fatalf("queue full: got %d %+v (Retry-After %q), want 503 with Retry-After", code, res, h.Get("Retry-After"))
	}
	// Unmatched records are still accepted: they take no queue room.
	if code, res, _ := post(t, tg.URL, testToken, eventLine("other", "cos:ObjectCreated:Put", "x")); code != 202 || res.Unmatched != 1 {
		t.Errorf("unmatched with a full queue: got %d %+v", code, res)
	}
	// The gateway still answers while the function hangs.
	if code, _ := putRaw(t, tg, "GET", "/photos?notification", ""); code != 200 {
		t.Errorf("GET while the function hangs: %d", code)
	}
	for deadline := time.Now().Add(10 * time.Second); calls.Load() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the hanging function was never called")
		}
	}
	release()
}

func TestIngestInflightLimit(t *testing.T) {
	fn := newFunctionServer(t)
	tg := startGateway(t, t.TempDir(), gateway.Config{Pipeline: httpPipeline(t, fn.URL, dispatch.Config{}), MaxInflight: 1})
	// The first request holds the only slot: its body is still coming.
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", tg.URL+"/events", pr)
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/x-ndjson")
	type answer struct {
		code int
		err  error
	}
	first := make(chan answer, 1)
	go func() {
		// A client of its own: a connection pooled by another test to a
		// server now gone cannot take this body, which cannot be resent.
		client := &http.Client{Transport: &http.Transport{}}
		defer client.CloseIdleConnections()
		resp, err := client.Do(req)
		if err != nil {
			first <- answer{err: err}
			return
		}
		resp.Body.Close()
		first <- answer{code: resp.StatusCode}
	}()
	pw.Write([]byte(eventLine("photos", "cos:ObjectCreated:Put", "a")))
	var code int
	var h http.Header
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		select {
		case a := <-first:
			t.Fatalf("the first request ended while its body was still open: %d, %v", a.code, a.err)
		default:
		}
		if code, _, h = post(t, tg.URL, testToken, eventLine("photos", "cos:ObjectCreated:Put", "b")); code == 503 {
			break
		}
	}
	if code != 503 || h.Get("Retry-After") == "" {
		t.Fatalf("second request: got %d (Retry-After %q), want 503 with Retry-After", code, h.Get("Retry-After"))
	}
	pw.Close()
	if a := <-first; a.code != 202 {
		t.Fatalf("first request: got %d (%v), want 202", a.code, a.err)
	}
	// The slot is free again.
	if code, _, _ := post(t, tg.URL, testToken, eventLine("photos", "cos:ObjectCreated:Put", "c")); code != 202 {
		t.Fatalf("after the first ended: got %d, want 202", code)
	}
}
