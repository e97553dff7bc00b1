package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/notifymux/notifymux/batch/schema"
	"github.com/notifymux/notifymux/dispatch"
	"github.com/notifymux/notifymux/match"
)

// The targets of examples/testpic.xml.
const (
	thumbTarget   = "qcs:0:lambda:cd:appid/1253970026:default.thumbnail.$LATEST"
	cleanupTarget = "qcs:0:lambda:cd:appid/1253970026:default.cleanup.$LATEST"
	printTarget   = "qcs:0:lambda:cd:appid/1253970026:default.printevent.$LATEST"
)

// writeEvents writes n event lines for examples/testpic.xml to a file and
// returns its path and, per target, the keys that must reach it. Every
// fourth event matches no rule.
func writeEvents(t testing.TB, n int) (string, map[string][]string) {
	t.Helper()
	var b bytes.Buffer
	want := map[string][]string{}
	for i := range n {
		var event, key, target string
		switch i % 4 {
		case 0:
			event, key, target = "cos:ObjectCreated:Put", fmt.Sprintf("images/%d.jpg", i), thumbTarget
		case 1:
			event, key, target = "cos:ObjectRemove:Delete", fmt.Sprintf("old/%d", i), cleanupTarget
		case 2:
			event, key, target = "cos:ObjectCreated:Post", fmt.Sprintf("testfile-%d", i), printTarget
		case 3:
			event, key = "cos:ObjectCreated:Put", fmt.Sprintf("images/%d.png", i)
		}
		fmt.Fprintf(&b, `{"bucket":"testpic","event":%q,"key":%q}`+"\n", event, key)
		if target != "" {
			want[target] = append(want[target], key)
		}
	}
	path := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, want
}

// function is an HTTP function on 127.0.0.1 that verifies each delivery's
// signature and records the keys it received per target.
type function struct {
	t      *testing.T
	secret []byte
	mu     sync.Mutex
	keys   map[string][]string // by X-Notifymux-Target
	paths  map[string]string   // target → the URL path it was posted to
	posts  int
	failed int
	// failEvery makes every failEvery-th request answer 503 before reading
	// the body (0: never).
	failEvery int
	delay     time.Duration
}

func (f *function) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.posts++
	fail := f.failEvery > 0 && f.posts%f.failEvery == 0
	if fail {
		f.failed++
	}
	f.mu.Unlock()
	if fail {
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	time.Sleep(f.delay)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	if err := dispatch.Verify(f.secret, r.Header, body, time.Now(), 0); err != nil {
		f.t.Errorf("delivery to %s: %v", r.URL.Path, err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var p schema.COSPayload
	if err := json.Unmarshal(body, &p); err != nil {
		f.t.Errorf("delivery to %s: payload is not JSON: %v", r.URL.Path, err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	target := r.Header.Get(dispatch.TargetHeader)
	if n, _ := strconv.Atoi(r.Header.Get(dispatch.RecordsHeader)); n != len(p.Records) {
		f.t.Errorf("%s says %d records, the payload holds %d", dispatch.RecordsHeader, n, len(p.Records))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, rec := range p.Records {
		if rec.Event.Queue != target {
			f.t.Errorf("record for %s delivered to target %s", rec.Event.Queue, target)
		}
		if rec.COS.Bucket.Name != "testpic" || rec.COS.Bucket.AppID != "1253970026" {
			f.t.Errorf("bucket %+v, want testpic of 1253970026", rec.COS.Bucket)
		}
		f.keys[target] = append(f.keys[target], strings.TrimPrefix(rec.COS.Object.Key, "/1253970026/testpic/"))
	}
	f.paths[target] = r.URL.Path
}

func newFunction(t *testing.T) (*function, *httptest.Server) {
	f := &function{t: t, secret: []byte("a shared secret of 32 bytes....."), keys: map[string][]string{}, paths: map[string]string{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

// runCommand runs `notifymux run -appid 1253970026 args...` and returns its exit status,
// stdout and stderr.
func runCommand(ctx context.Context, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(ctx, append([]string{"run", "-appid", "1253970026"}, args...), strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

// statsLine parses the summary's statistics line.
var statsLine = regexp.MustCompile(`published (\d+) \(matched (\d+), unmatched (\d+)\): delivered (\d+) in (\d+) batch(?:es)?, retried (\d+) records? in (\d+) attempts?, dead-lettered (\d+), dead-letter failed (\d+), dropped (\d+), rejected (\d+), queued (\d+)`)

func parseStats(t *testing.T, stderr string) dispatch.Stats {
	t.Helper()
	m := statsLine.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no statistics in stderr:\n%s", stderr)
	}
	n := make([]uint64, len(m))
	for i := 1; i < len(m); i++ {
		n[i], _ = strconv.ParseUint(m[i], 10, 64)
	}
	s := dispatch.Stats{Published: n[1], Matched: n[2], Unmatched: n[3], Delivered: n[4], Batches: n[5], Retried: n[6],
		RetryAttempts: n[7], DeadLettered: n[8], DeadLetterFailed: n[9], Dropped: n[10], Rejected: n[11], Queued: int64(n[12])}
	if s.Published != s.Matched+s.Unmatched ||
		s.Matched != s.Delivered+s.DeadLettered+s.DeadLetterFailed+s.Dropped+s.Rejected+uint64(s.Queued) {
		t.Errorf("statistics do not add up: %+v", s)
	}
	return s
}

// TestRunHTTP delivers to a real HTTP function on 127.0.0.1 that fails every
// fifth request with 503: every matched record arrives, signed, at its
// target, and the statistics add up.
func TestRunHTTP(t *testing.T) {
	const n = 400
	in, want := writeEvents(t, n)
	f, srv := newFunction(t)
	f.failEvery = 5
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, append(f.secret, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	dl := filepath.Join(t.TempDir(), "dl.jsonl")
	code, stdout, stderr := runCommand(t.Context(), "-rules", "examples/testpic.xml", "-in", in, "-to", srv.URL+"/fn",
		"-secret-file", secretFile, "-backoff", "1ms", "-retries", "5", "-dead-letter", dl)
	if code != exitOK || stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
	}
	s := parseStats(t, stderr)
	if s.Published != n || s.Unmatched != n/4 || s.Delivered != 3*n/4 || s.DeadLettered != 0 {
		t.Errorf("stats %+v", s)
	}
	if f.failed == 0 || s.Retried == 0 {
		t.Errorf("%d requests failed, %d records retried: the test did not exercise retries", f.failed, s.Retried)
	}
	for target, keys := range want {
		if got := f.keys[target]; !equalUnordered(got, keys) {
			t.Errorf("%s received %d records, want %d", target, len(got), len(keys))
		}
		if f.paths[target] != "/fn" {
			t.Errorf("%s posted to %q, want /fn", target, f.paths[target])
		}
	}
	if _, err := os.Stat(dl); !os.IsNotExist(err) {
		t.Errorf("dead-letter file exists with nothing dead-lettered: %v", err)
	}
}

// TestRunTargetTable routes each target to its own URL path with -to
// TARGETS.json; the one missing from the table is dead-lettered.
func TestRunTargetTable(t *testing.T) {
	const n = 40
	in, want := writeEvents(t, n)
	f, srv := newFunction(t)
	dir := t.TempDir()
	table := fmt.Sprintf(`{%q: %q, %q: %q}`, thumbTarget, srv.URL+"/thumb", cleanupTarget, srv.URL+"/cleanup")
	tablePath := filepath.Join(dir, "targets.json")
	if err := os.WriteFile(tablePath, []byte(table), 0o644); err != nil {
		t.Fatal(err)
	}
	dl := filepath.Join(dir, "dl.jsonl")
	t.Setenv("NOTIFYMUX_SECRET", string(f.secret))
	code, _, stderr := runCommand(t.Context(), "-rules", "examples/testpic.xml", "-in", in, "-to", tablePath, "-dead-letter", dl)
	if code != exitFindings {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitFindings, stderr)
	}
	if !strings.Contains(stderr, "has no URL for target \""+printTarget+"\"") {
		t.Errorf("no warning about the unrouted target:\n%s", stderr)
	}
	s := parseStats(t, stderr)
	if s.Delivered != uint64(len(want[thumbTarget])+len(want[cleanupTarget])) || s.DeadLettered != uint64(len(want[printTarget])) {
		t.Errorf("stats %+v", s)
	}
	for target, path := range map[string]string{thumbTarget: "/thumb", cleanupTarget: "/cleanup"} {
		if f.paths[target] != path || !equalUnordered(f.keys[target], want[target]) {
			t.Errorf("%s: posted to %q with %d records, want %q with %d", target, f.paths[target], len(f.keys[target]), path, len(want[target]))
		}
	}
	data, err := os.ReadFile(dl)
	if err != nil {
		t.Fatal(err)
	}
	var dead int
	for line := range strings.Lines(string(data)) {
		var d struct {
			Target  string `json:"target"`
			Reason  string `json:"reason"`
			Records int    `json:"records"`
		}
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatalf("dead letter %q: %v", line, err)
		}
		if d.Target != printTarget || d.Reason != string(dispatch.ReasonPermanent) {
			t.Errorf("dead letter for %s, reason %s", d.Target, d.Reason)
		}
		dead += d.Records
	}
	if dead != len(want[printTarget]) {
		t.Errorf("%d records in the dead-letter file, want %d", dead, len(want[printTarget]))
	}
}

// TestRunQueuePolicies sends to a slow function with a queue of 5 records:
// drop counts what it drops and reject reports what it refuses; both exit 1,
// and the function gets exactly what was delivered.
func TestRunQueuePolicies(t *testing.T) {
	for _, policy := range []string{"drop", "reject"} {
		t.Run(policy, func(t *testing.T) {
			in, _ := writeEvents(t, 200)
			f, srv := newFunction(t)
			f.delay = 100 * time.Millisecond
			t.Setenv("NOTIFYMUX_SECRET", string(f.secret))
			code, _, stderr := runCommand(t.Context(), "-rules", "examples/testpic.xml", "-in", in, "-to", srv.URL,
				"-policy", policy, "-queue", "5", "-workers", "1")
			if code != exitFindings {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitFindings, stderr)
			}
			s := parseStats(t, stderr)
			lost := s.Dropped
			if policy == "reject" {
				lost = s.Rejected
				if !strings.Contains(stderr, "queue full") {
					t.Errorf("refusals not reported:\n%s", stderr)
				}
			}
			if lost == 0 || s.Delivered == 0 || s.Delivered+lost != s.Matched {
				t.Errorf("stats %+v", s)
			}
			var got int
			for _, keys := range f.keys {
				got += len(keys)
			}
			if uint64(got) != s.Delivered {
				t.Errorf("the function got %d records, the summary says %d delivered", got, s.Delivered)
			}
		})
	}
}

// TestRunInterruptWhileReading cancels a run whose input has not ended: it
// returns with what was read delivered and the summary printed.
func TestRunInterruptWhileReading(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(t.Context())
	var out, errOut bytes.Buffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"run", "-rules", "examples/testpic.xml", "-max-wait", "1ms"}, pr, &out, &errOut)
	}()
	fmt.Fprintln(pw, `{"bucket":"testpic","event":"cos:ObjectCreated:Put","key":"images/a.jpg"}`)
	fmt.Fprintln(pw, `{"bucket":"testpic","event":"cos:ObjectRemove:Delete","key":"b"}`)
	time.Sleep(50 * time.Millisecond) // the reader now waits for more input
	cancel()
	select {
	case code := <-done:
		if code != exitFindings {
			t.Errorf("exit %d, want %d", code, exitFindings)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after the interrupt")
	}
	pw.Close() // lets the abandoned reader finish
	s := parseStats(t, errOut.String())
	if s.Delivered != 2 || !strings.Contains(errOut.String(), "interrupted after line 2, which was handled: resume after it") {
		t.Errorf("stats %+v; stderr:\n%s", s, errOut.String())
	}
	if n := strings.Count(out.String(), `"target":`); n != 2 {
		t.Errorf("%d batches on stdout, want 2:\n%s", n, out.String())
	}
}

// TestRunInterruptWhileDelivering interrupts a run stuck on a hung function:
// after -drain the rest is dead-lettered with reason "closed", and run
// returns instead of hanging. With a queue of 2, the reader is blocked on the
// full queue when the interrupt comes.
func TestRunInterruptWhileDelivering(t *testing.T) {
	for _, queue := range []string{"10000", "2"} {
		t.Run("queue="+queue, func(t *testing.T) {
			in, _ := writeEvents(t, 40)
			release := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-release:
				case <-r.Context().Done():
				}
			}))
			defer srv.Close()
			defer close(release)
			dl := filepath.Join(t.TempDir(), "dl.jsonl")
			ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
			defer cancel()
			start := time.Now()
			code, _, stderr := runCommand(ctx, "-rules", "examples/testpic.xml", "-in", in, "-to", srv.URL, "-secret-file", secretFile(t),
				"-drain", "100ms", "-timeout", "1m", "-dead-letter", dl, "-queue", queue)
			if elapsed := time.Since(start); elapsed > 10*time.Second {
				t.Errorf("run took %v after the interrupt", elapsed)
			}
			if code != exitFindings {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, exitFindings, stderr)
			}
			s := parseStats(t, stderr)
			switch {
			case s.Delivered != 0 || s.DeadLettered == 0,
				queue == "10000" && s.DeadLettered != 30,
				queue == "2" && (s.Rejected != 0 || s.Published == 40): // the publisher blocked on the full queue is withdrawn, not refused
				t.Errorf("stats %+v", s)
			}
			data, err := os.ReadFile(dl)
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(string(data), `"reason":"closed"`); n == 0 || n != strings.Count(string(data), "\n") {
				t.Errorf("dead letters are not all closed:\n%s", data)
			}
		})
	}
}

// runPayloads runs `notifymux run` on input with args and returns the COS
// records it delivered to standard output, and its stderr.
func runPayloads(t *testing.T, input string, args ...string) ([]schema.COSRecord, string) {
	t.Helper()
	in := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(in, []byte(input), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := run(t.Context(), append([]string{"run", "-in", in, "-dead-letter", filepath.Join(t.TempDir(), "dl.jsonl")}, args...), nil, &out, &errOut)
	if code != exitOK {
		t.Fatalf("run exit %d; stderr:\n%s", code, errOut.String())
	}
	var recs []schema.COSRecord
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var l struct {
			Payload schema.COSPayload `json:"payload"`
		}
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("output line %q: %v", line, err)
		}
		recs = append(recs, l.Payload.Records...)
	}
	return recs, errOut.String()
}

// TestRunRecord checks the records run delivers for a COS Records payload
// and a plain line: the incoming record's fields kept, defaults filled.
func TestRunRecord(t *testing.T) {
	in := `{"bucket":"testpic","event":"cos:ObjectCreated:Put","key":"images/a.jpg"}` + "\n" +
		`{"Records":[{"cos":{"cosObject":{"url":"http://testpic-9.cos.ap-beijing.myqcloud.com/images/b.jpg","meta":{"x-cos-meta-z":"1","x-cos-meta-a":"2","Authorization":"no","x-cos-request-id":"RID","Content-Type":"image/jpeg"},"vid":"v9","key":"/9/testpic/images/b.jpg","size":7},"cosBucket":{"region":"ap-beijing","name":"testpic","appid":"9"}},"event":{"eventName":"cos:ObjectCreated:Copy","eventTime":1545205770,"requestParameters":{"requestSourceIP":"10.0.0.1"}}}]}` + "\n"
	recs, _ := runPayloads(t, in, "-rules", "examples/testpic.xml", "-appid", "1253970026", "-region", "cd", "-workers", "1", "-max-records", "1")
	if len(recs) != 2 {
		t.Fatalf("%d records delivered, want 2", len(recs))
	}
	byKey := map[string]schema.COSRecord{}
	for _, r := range recs {
		byKey[r.COS.Object.Key] = r
	}
	a, ok := byKey["/1253970026/testpic/images/a.jpg"]
	if !ok {
		t.Fatalf("no record for images/a.jpg with the -appid in its key: %+v", byKey)
	}
	if a.COS.Object.URL != "https://testpic-1253970026.cos.ap-chengdu.myqcloud.com/images/a.jpg" || a.COS.Bucket.Region != "ap-chengdu" ||
		a.COS.NotificationID != "thumbnails" || a.Event.Queue != thumbTarget || a.Event.Time == 0 {
		t.Errorf("record a = %+v", a)
	}
	b, ok := byKey["/9/testpic/images/b.jpg"]
	if !ok {
		t.Fatalf("no record for images/b.jpg: %+v", byKey)
	}
	if b.COS.Object.URL != "http://testpic-9.cos.ap-beijing.myqcloud.com/images/b.jpg" || b.COS.Bucket.Region != "ap-beijing" ||
		b.COS.Bucket.AppID != "9" || b.COS.Object.VersionID != "v9" || b.COS.Object.Size != 7 || b.Event.Time != 1545205770 ||
		b.Event.RequestParameters.SourceIP != "10.0.0.1" || b.Event.Name != "cos:ObjectCreated:Copy" {
		t.Errorf("record b = %+v", b)
	}
	if v, _ := b.COS.Object.Meta.Get("x-cos-request-id"); v != "RID" {
		t.Errorf("record b request id %q, want RID", v)
	}
	if _, ok := b.COS.Object.Meta.Get("Authorization"); ok {
		t.Error("record b carries the Authorization header")
	}
}

// TestBrokenCOSFieldsInRun: an event line for bucket testpic with no -appid
// or -region gave url https://testpic.cos..myqcloud.com/… and cosObject.key
// //testpic/…, with no warning. Now no host label or path segment is empty,
// the APPID comes from a full bucket name, and the missing region is warned
// about once.
func TestBrokenCOSFieldsInRun(t *testing.T) {
	line := `{"bucket":"testpic","event":"cos:ObjectCreated:Put","key":"images/a.jpg"}` + "\n"
	recs, stderr := runPayloads(t, line+line, "-rules", "examples/testpic.xml")
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2", len(recs))
	}
	r := recs[0]
	if strings.Contains(r.COS.Object.URL, "..") || strings.Contains(r.COS.Object.Key, "//") {
		t.Errorf("url %q, key %q: an empty host label or path segment", r.COS.Object.URL, r.COS.Object.Key)
	}
	if n := strings.Count(stderr, "warning: no region"); n != 1 {
		t.Errorf("stderr warns about the region %d times, want once:\n%s", n, stderr)
	}
	full := `{"bucket":"testpic-1253970026","event":"cos:ObjectCreated:Put","key":"images/a.jpg"}` + "\n"
	recs, _ = runPayloads(t, full, "-rules", "examples/testpic.xml", "-region", "cd")
	if len(recs) != 1 || recs[0].COS.Bucket.AppID != "1253970026" || recs[0].COS.Bucket.Name != "testpic" ||
		recs[0].COS.Object.URL != "https://testpic-1253970026.cos.ap-chengdu.myqcloud.com/images/a.jpg" {
		t.Errorf("records for a full bucket name: %+v", recs)
	}
}

// benchIndex returns an index of 100 buckets of 10 rules each and the rules'
// regions.
func benchIndex(tb testing.TB) *match.Index {
	tb.Helper()
	x := match.New()
	for b := range 100 {
		for j := range 10 {
			r := match.Rule{ID: fmt.Sprint("r", j), Bucket: fmt.Sprint("bucket-", b), Events: match.ObjectCreated,
				Prefix: fmt.Sprintf("images/%d", j), Suffix: ".jpg", Target: fmt.Sprint("fn-", j)}
			if err := x.Add(r); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return x
}

// benchOptions are run's defaults, as the flags give them.
func benchOptions() runOptions {
	return runOptions{to: "-", deadLetter: "-", policy: dispatch.Block, appID: "1250000000", region: "ap-guangzhou",
		deliveryOptions: deliveryOptions{queue: 10000, maxRecords: 10, maxBytes: 256 << 10, maxWait: 100 * time.Millisecond,
			timeout: 10 * time.Second, retries: 2, backoff: time.Second, drain: 5 * time.Second}}
}

// TestRunMemoryBounded streams 100,000 generated lines (never held in memory)
// through a run and checks that the live heap does not grow with the input.
func TestRunMemoryBounded(t *testing.T) {
	lines := 100000
	if testing.Short() {
		lines = 20000
	}
	o := benchOptions()
	o.queue = 1000
	r, err := newRunner(o, benchIndex(t), nil, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var heap []uint64
	src := &lineSource{n: lines}
	probe := &probeReader{r: src, every: lines / 5, fn: func() {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		heap = append(heap, ms.HeapAlloc)
	}}
	if code := r.run(t.Context(), probe, "generated"); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	if s := r.p.Stats(); src.i != lines || s.Published != uint64(lines) || s.Delivered != s.Matched || s.Matched == 0 {
		t.Fatalf("read %d lines; stats %v", src.i, s)
	}
	// Each matched record costs ~1 KB encoded: a leak of the 50,000 would
	// be ~50 MB. The queues may hold 10 targets × 1000 records.
	for i, h := range heap[1:] {
		if h > heap[0]+24<<20 {
			t.Errorf("live heap grew from %d to %d bytes by probe %d", heap[0], h, i+1)
		}
	}
	t.Logf("heap at probes: %v", heap)
}

// BenchmarkRunLines measures run end to end with the defaults: reading JSON
// event lines, matching, batching and encoding COS payloads, writing JSON
// lines to io.Discard; lines/s is reported. 10 targets; half the events
// match.
func BenchmarkRunLines(b *testing.B) {
	var in bytes.Buffer
	const lines = 20000
	for i := range lines {
		ext := ".jpg"
		if i%2 == 1 {
			ext = ".png"
		}
		fmt.Fprintf(&in, `{"bucket":"bucket-%d","event":"cos:ObjectCreated:Put","key":"images/%d/photo-%d%s"}`+"\n", i%100, i%10, i, ext)
	}
	x := benchIndex(b)
	b.SetBytes(int64(in.Len()))
	b.ReportAllocs()
	for b.Loop() {
		r, err := newRunner(benchOptions(), x, nil, io.Discard, io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		if code := r.run(context.Background(), bytes.NewReader(in.Bytes()), "bench"); code != exitOK {
			b.Fatal(code)
		}
	}
	b.ReportMetric(float64(lines)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

func equalUnordered(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	count := map[string]int{}
	for _, s := range a {
		count[s]++
	}
	for _, s := range b {
		if count[s]--; count[s] < 0 {
			return false
		}
	}
	return true
}

// secretFile writes an HMAC key to a file of the test's and returns its path.
func secretFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte("s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRecordLostOnInterrupt: interrupted while the reader waited on a full
// queue, run reported "rejected 1" and that record was neither delivered
// nor dead-lettered, though the resume point said it was read. Now every
// record before the resume point is delivered or dead-lettered, none after
// it is published, and the counts add up.
func TestRecordLostOnInterrupt(t *testing.T) {
	in, _ := writeEvents(t, 200)
	var mu sync.Mutex
	delivered := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		time.Sleep(30 * time.Millisecond) // a slow function
		var p schema.COSPayload
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("payload: %v", err)
		}
		mu.Lock()
		for _, rec := range p.Records {
			delivered[rec.COS.Object.Key]++
		}
		mu.Unlock()
	}))
	defer srv.Close()
	dl := filepath.Join(t.TempDir(), "dl.jsonl")
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	code, _, stderr := runCommand(ctx, "-rules", "examples/testpic.xml", "-in", in, "-to", srv.URL, "-secret-file", secretFile(t),
		"-drain", "100ms", "-dead-letter", dl, "-queue", "5", "-workers", "1")
	if code != exitFindings {
		t.Errorf("exit %d, want %d; stderr:\n%s", code, exitFindings, stderr)
	}
	s := parseStats(t, stderr)
	if s.Rejected != 0 || s.Dropped != 0 {
		t.Errorf("stats %+v: nothing may be rejected or dropped", s)
	}
	m := regexp.MustCompile(`interrupted at line (\d+), which was not handled: resume from it`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no exact resume point in stderr:\n%s", stderr)
	}
	resume, _ := strconv.Atoi(m[1])
	if uint64(resume-1) != s.Published {
		t.Errorf("resume from line %d, but %d records were published", resume, s.Published)
	}
	data, _ := os.ReadFile(dl)
	dead := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if line == "" {
			continue
		}
		var d struct {
			Payload schema.COSPayload `json:"payload"`
		}
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatalf("dead letter %q: %v", line, err)
		}
		for _, rec := range d.Payload.Records {
			dead[rec.COS.Object.Key]++
		}
	}
	// Every matched record of lines 1 … resume-1 is delivered or dead-lettered.
	lines, _ := os.ReadFile(in)
	for i, line := range strings.Split(strings.TrimSpace(string(lines)), "\n")[:resume-1] {
		var ev struct{ Key string }
		json.Unmarshal([]byte(line), &ev)
		if strings.HasSuffix(ev.Key, ".png") {
			continue // no rule matches it
		}
		k := "/1253970026/testpic/" + ev.Key
		mu.Lock()
		n := delivered[k] + dead[k]
		mu.Unlock()
		if n == 0 {
			t.Errorf("line %d (%s) was read but is neither delivered nor dead-lettered", i+1, ev.Key)
		}
	}
	if uint64(len(dead)) != s.DeadLettered || s.Matched != s.Delivered+s.DeadLettered {
		t.Errorf("stats %+v, %d keys dead-lettered: the counts do not add up", s, len(dead))
	}
}
