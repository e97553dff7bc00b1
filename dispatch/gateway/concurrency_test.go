package gateway_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/notifymux/notifymux/dispatch"
	"github.com/notifymux/notifymux/dispatch/gateway"
	"github.com/notifymux/notifymux/match"
)

// TestConcurrentPuts has many clients replace the same buckets at once,
// and checks that the stored document (what GET answers) and the index
// agree afterwards: each bucket holds exactly the rules of one of the PUTs.
func TestConcurrentPuts(t *testing.T) {
	tg := startGateway(t, t.TempDir(), gateway.Config{})
	doc := func(i int) string {
		return fmt.Sprintf(`<NotificationConfiguration><QueueConfiguration><Id>q%d</Id><Queue>arn:aws:sqs:us-east-1:1:q%d</Queue>`+
			`<Event>s3:ObjectCreated:*</Event><Filter><S3Key><FilterRule><Name>prefix</Name><Value>p%d/</Value></FilterRule></S3Key></Filter>`+
			`</QueueConfiguration></NotificationConfiguration>`, i, i, i)
	}
	buckets := []string{"alpha", "bravo", "charlie"}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 5 {
				b := buckets[(w+i)%len(buckets)]
				if code, body := putRaw(t, tg, "PUT", "/"+b+"?notification", doc(w*10+i)); code != 200 {
					t.Errorf("PUT %s: %d %s", b, code, body)
				}
			}
		})
	}
	wg.Wait()
	for _, b := range buckets {
		code, got := putRaw(t, tg, "GET", "/"+b+"?notification", "")
		if code != 200 {
			t.Fatalf("GET %s: %d", b, code)
		}
		rules := tg.G.Index().Rules(b)
		if len(rules) != 1 || !strings.Contains(got, "<Id>"+rules[0].ID+"</Id>") || !strings.Contains(got, "<Value>"+rules[0].Prefix+"</Value>") {
			t.Errorf("bucket %s: the index holds %v, GET answers %s", b, rules, got)
		}
	}
	if s := tg.G.Stats(); s.Buckets != len(buckets) || s.Rules != len(buckets) {
		t.Errorf("Stats: %+v, want %d buckets and rules", s, len(buckets))
	}
}

// TestDraining: once shutdown begins, /healthz and ingest answer 503 while
// the notification API still answers.
func TestDraining(t *testing.T) {
	fn := newFunctionServer(t)
	tg := startGateway(t, t.TempDir(), gateway.Config{Pipeline: httpPipeline(t, fn.URL, dispatch.Config{})})
	health := func() int {
		resp, err := http.Get(tg.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := health(); code != 200 {
		t.Fatalf("healthz before: %d", code)
	}
	tg.G.SetDraining()
	if code := health(); code != 503 {
		t.Errorf("healthz while draining: %d, want 503", code)
	}
	if code, _, h := post(t, tg.URL, testToken, eventLine("photos", match.ObjectCreatedPut.String(), "k")); code != 503 || h.Get("Retry-After") == "" {
		t.Errorf("ingest while draining: %d, want 503 with Retry-After", code)
	}
	if code, _ := putRaw(t, tg, "GET", "/photos?notification", ""); code != 200 {
		t.Errorf("GET while draining: %d", code)
	}
}

// TestS3BodiesBounded: while MaxS3Bodies notification requests are still
// sending their bodies, the next is refused with 503 SlowDown, so bodies in
// memory stay bounded; once they finish, requests pass again. The slow
// requests are written by hand on their own connections (headers and the
// first bytes of the body now, the rest later), so that the server surely
// holds each one in its handler: an http.Client would keep a short
// request's headers in its write buffer until the body ends.
func TestS3BodiesBounded(t *testing.T) {
	tg := startGateway(t, t.TempDir(), gateway.Config{})
	body := []byte(photosRules)
	type slow struct {
		conn net.Conn
		rest []byte
		req  *http.Request
	}
	slows := make([]slow, gateway.MaxS3Bodies)
	for i := range slows {
		req, err := http.NewRequest("PUT", tg.URL+"/photos?notification", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		signRequest(t, req, body, testSecretKey, "us-east-1")
		var raw bytes.Buffer
		if err := req.Write(&raw); err != nil {
			t.Fatal(err)
		}
		end := bytes.Index(raw.Bytes(), []byte("\r\n\r\n")) + 4 + 10 // the headers and 10 bytes of body
		conn, err := net.Dial("tcp", strings.TrimPrefix(tg.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.Write(raw.Bytes()[:end]); err != nil {
			t.Fatal(err)
		}
		slows[i] = slow{conn: conn, rest: raw.Bytes()[end:], req: req}
	}
	// Each slow request takes its slot when its handler runs, which may be
	// after the loop above has written all of them: a probe sent earlier
	// could take a slot first and push a slow request out with 503.
	for deadline := time.Now().Add(10 * time.Second); tg.G.S3BodiesHeld() < gateway.MaxS3Bodies; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s, %d of the %d slow PUTs are being read\n%s", tg.G.S3BodiesHeld(), gateway.MaxS3Bodies, tg.Log.String())
		}
	}
	code, answer := putRaw(t, tg, "PUT", "/photos?notification", photosRules)
	if code != 503 || !strings.Contains(answer, "<Code>SlowDown</Code>") {
		t.Fatalf("with %d bodies being read: got %d %s, want 503 SlowDown", gateway.MaxS3Bodies, code, answer)
	}
	for _, s := range slows {
		if _, err := s.conn.Write(s.rest); err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range slows {
		s.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(s.conn), s.req)
		if err != nil {
			t.Fatalf("slow PUT %d: %v", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("slow PUT %d got %d, want 200", i, resp.StatusCode)
		}
	}
	if code, _ := putRaw(t, tg, "PUT", "/photos?notification", photosRules); code != 200 {
		t.Errorf("after the slow PUTs: got %d, want 200", code)
	}
}
