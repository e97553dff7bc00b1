package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/notifymux/notifymux/dispatch"
)

// crashRecords is how many records TestServeCrash posts before the kill;
// the default keeps the test short, go test -run TestServeCrash
// -serve-crash-records 100000 runs the full-size version.
var crashRecords = flag.Int("serve-crash-records", 5000, "records TestServeCrash gets answered 202 before it kills serve")

// serveChildVar, set to a JSON array of arguments, makes TestServeChild run
// serve with them: the gateway as a child process that a test can kill.
const serveChildVar = "NOTIFYMUX_TEST_SERVE_ARGS"

func TestServeChild(t *testing.T) {
	a := os.Getenv(serveChildVar)
	if a == "" {
		t.Skip("run by TestServeCrash")
	}
	var args []string
	if err := json.Unmarshal([]byte(a), &args); err != nil {
		t.Fatal(err)
	}
	os.Exit(runServe(context.Background(), args, strings.NewReader(""), os.Stdout, os.Stderr))
}

// keyCounter is a real function on 127.0.0.1 that counts the object keys
// it receives, after checking the signature.
type keyCounter struct {
	srv   *httptest.Server
	delay atomic.Int64 // per request, in nanoseconds
	mu    sync.Mutex
	keys  map[string]int
}

func newKeyCounter(t *testing.T, secret string) *keyCounter {
	k := &keyCounter{keys: map[string]int{}}
	k.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		time.Sleep(time.Duration(k.delay.Load()))
		if dispatch.Verify([]byte(secret), r.Header, body, time.Now(), 0) != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		k.mu.Lock()
		for _, key := range keysIn(string(body)) {
			k.keys[key]++
		}
		k.mu.Unlock()
	}))
	t.Cleanup(k.srv.Close)
	return k
}

// missing counts the keys of want the function never received.
func (k *keyCounter) missing(want []string) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	n := 0
	for _, key := range want {
		if k.keys[key] == 0 {
			n++
		}
	}
	return n
}

// waitAll waits up to d for every key of want to arrive, and returns how
// many did not.
func (k *keyCounter) waitAll(want []string, d time.Duration) int {
	deadline := time.Now().Add(d)
	for k.missing(want) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	return k.missing(want)
}

// counts returns how many distinct keys arrived, and how many deliveries
// repeated a key.
func (k *keyCounter) counts() (keys, dups int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, n := range k.keys {
		dups += n - 1
	}
	return len(k.keys), dups
}

// TestServeCrash posts records with unique keys from 4 clients to serve
// running as a child process, kills it with SIGKILL in the middle, restarts
// it on the same data directory, and checks that every record whose POST
// got 202 reaches the function at least once. It reports the duplicates.
func TestServeCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	const secret = "crash-secret"
	fn := newKeyCounter(t, secret)
	fn.delay.Store(int64(5 * time.Millisecond)) // slower than ingest: a backlog builds up in the stream
	dir := t.TempDir()
	args := []string{"-addr", "127.0.0.1:0", "-data", dir, "-to", fn.srv.URL, "-max-wait", "5ms", "-ack-wait", "2s", "-drain", "1s"}
	a, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), serveChildVar+"="+string(a), "NOTIFYMUX_SECRET="+secret)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stderr)
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), "notifymux serve: listening on ") {
		t.Fatalf("first line of the child: %q", sc.Text())
	}
	child := &servedProcess{url: strings.TrimPrefix(sc.Text(), "notifymux serve: listening on ")}
	go io.Copy(io.Discard, stderr)
	setRules(t, child, readSecretFile(t, dir, "access-key"), readSecretFile(t, dir, "secret-key"), "photos", "images/")
	token := readSecretFile(t, dir, "ingest-token")

	killAfter := int64(*crashRecords)
	var accepted sync.Map // key → true, for records in a request answered 202 with none refused
	var nAccepted atomic.Int64
	var killOnce sync.Once
	var wg sync.WaitGroup
	for c := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				var body strings.Builder
				keys := make([]string, 10)
				for j := range keys {
					keys[j] = fmt.Sprintf("images/c%d-r%d-%d.jpg", c, i, j)
					fmt.Fprintf(&body, `{"bucket":"photos","event":"cos:ObjectCreated:Put","key":%q,"region":"ap-guangzhou"}`+"\n", keys[j])
				}
				req, _ := http.NewRequest("POST", child.url+"/events", strings.NewReader(body.String()))
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return // killed
				}
				var res struct{ Matched, Refused int }
				json.NewDecoder(resp.Body).Decode(&res)
				resp.Body.Close()
				if resp.StatusCode == http.StatusAccepted && res.Refused == 0 && res.Matched == 10 {
					for _, k := range keys {
						accepted.Store(k, true)
					}
					if nAccepted.Add(10) >= killAfter {
						killOnce.Do(func() { cmd.Process.Signal(syscall.SIGKILL) })
					}
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60*time.Second + time.Duration(killAfter)*time.Millisecond):
		cmd.Process.Kill()
		t.Fatal("the clients did not stop in time")
	}
	cmd.Wait()
	fn.mu.Lock()
	before := len(fn.keys)
	fn.mu.Unlock()

	// Restart on the same data directory.
	fn.delay.Store(0)
	s := startServe(t, map[string]string{"NOTIFYMUX_SECRET": secret}, args...)
	var want []string
	accepted.Range(func(k, _ any) bool { want = append(want, k.(string)); return true })
	m := fn.waitAll(want, 60*time.Second+time.Duration(killAfter)*time.Millisecond)
	s.Stop(t)
	delivered, dups := fn.counts()
	t.Logf("killed after %d records answered 202 (%d delivered before the kill); after the restart %d keys delivered, %d duplicate deliveries",
		len(want), before, delivered, dups)
	if m > 0 {
		t.Fatalf("%d of %d records answered 202 never reached the function", m, len(want))
	}
}

// TestServeDurableShutdown stops durable serve (as SIGTERM does) while its
// function hangs: nothing is dead-lettered, the records stay in the stream,
// and the next start delivers them.
func TestServeDurableShutdown(t *testing.T) {
	const secret = "shutdown-durable"
	var hang atomic.Bool
	hang.Store(true)
	var mu sync.Mutex
	keys := map[string]int{}
	var calls atomic.Int32
	fn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		calls.Add(1)
		if hang.Load() {
			<-r.Context().Done()
			return
		}
		if dispatch.Verify([]byte(secret), r.Header, body, time.Now(), 0) != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		mu.Lock()
		for _, k := range keysIn(string(body)) {
			keys[k]++
		}
		mu.Unlock()
	}))
	defer fn.Close()
	dir := t.TempDir()
	args := []string{"-addr", "127.0.0.1:0", "-data", dir, "-to", fn.URL, "-max-wait", "5ms", "-drain", "200ms", "-ack-wait", "2s"}
	env := map[string]string{"NOTIFYMUX_SECRET": secret}
	s := startServe(t, env, args...)
	setRules(t, s, readSecretFile(t, dir, "access-key"), readSecretFile(t, dir, "secret-key"), "photos", "images/")
	var body strings.Builder
	for i := range 5 {
		fmt.Fprintf(&body, `{"bucket":"photos","event":"cos:ObjectCreated:Put","key":"images/k%d.jpg","region":"ap-guangzhou"}`+"\n", i)
	}
	if code, ans := ingest(t, s, readSecretFile(t, dir, "ingest-token"), body.String()); code != 202 || !strings.Contains(ans, `"matched":5`) {
		t.Fatalf("ingest: %d %s", code, ans)
	}
	for deadline := time.Now().Add(10 * time.Second); calls.Load() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the function was never called")
		}
	}
	if code := s.Stop(t); code != 0 {
		t.Fatalf("exit %d:\n%s", code, s.Stderr())
	}
	if !strings.Contains(s.Stderr(), `"dead_lettered":0`) || !regexp.MustCompile(`"left_in_stream":[1-9]`).MatchString(s.Stderr()) {
		t.Errorf("the last lines do not show records left in the stream:\n%s", s.Stderr())
	}
	if _, err := os.Stat(dir + "/dead-letter.jsonl"); err == nil {
		t.Error("durable serve wrote a dead-letter file on shutdown")
	}
	hang.Store(false)
	startServe(t, env, args...)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n := len(keys)
		mu.Unlock()
		if n == 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the restart the function got %d of the 5 records", n)
		}
	}
}

// TestServeRuleCache: with -rule-cache-bytes, durable serve loads a
// bucket's rules from the key-value bucket when its events come, and
// follows a new PUT.
func TestServeRuleCache(t *testing.T) {
	const secret = "rule-cache"
	fn := newKeyCounter(t, secret)
	dir := t.TempDir()
	s := startServe(t, map[string]string{"NOTIFYMUX_SECRET": secret}, "-addr", "127.0.0.1:0", "-data", dir, "-to", fn.srv.URL,
		"-max-wait", "5ms", "-rule-cache-bytes", "1048576")
	token := readSecretFile(t, dir, "ingest-token")
	ak, sk := readSecretFile(t, dir, "access-key"), readSecretFile(t, dir, "secret-key")
	line := func(key string) string {
		return fmt.Sprintf(`{"bucket":"photos","event":"cos:ObjectCreated:Put","key":%q,"region":"ap-guangzhou"}`, key) + "\n"
	}
	if _, ans := ingest(t, s, token, line("images/a.jpg")); !strings.Contains(ans, `"unmatched":1`) {
		t.Fatalf("before any configuration: %s", ans)
	}
	setRules(t, s, ak, sk, "photos", "images/")
	if _, ans := ingest(t, s, token, line("images/b.jpg")); !strings.Contains(ans, `"matched":1`) {
		t.Fatalf("after the PUT: %s", ans)
	}
	setRules(t, s, ak, sk, "photos", "docs/")
	if _, ans := ingest(t, s, token, line("images/c.jpg")+line("docs/d.pdf")); !strings.Contains(ans, `"matched":1`) || !strings.Contains(ans, `"unmatched":1`) {
		t.Fatalf("after the second PUT: %s", ans)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		fn.mu.Lock()
		b, d := fn.keys["images/b.jpg"], fn.keys["docs/d.pdf"]
		fn.mu.Unlock()
		if b == 1 && d == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the matched records were not delivered")
		}
	}
}
