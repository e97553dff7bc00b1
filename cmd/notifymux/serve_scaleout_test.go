package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestServeScaleOut runs two gateways on one NATS server: A (in this
// process) opens its embedded server with -nats-listen, B (a child process)
// connects to it with -nats and the token. Events posted to both are
// delivered; B is killed with SIGKILL while records are in flight, and A
// delivers its share: every record answered 202 by either reaches the
// function. The configuration is PUT on A only: B uses it through the
// shared key-value bucket.
func TestServeScaleOut(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	const secret = "scale-secret"
	fn := newKeyCounter(t, secret)
	fn.delay.Store(int64(20 * time.Millisecond)) // slow: each gateway holds records in flight
	env := map[string]string{"NOTIFYMUX_SECRET": secret, "NOTIFYMUX_NATS_TOKEN": "scale-out-token"}
	dirA, dirB := t.TempDir(), t.TempDir()
	common := []string{"-addr", "127.0.0.1:0", "-to", fn.srv.URL, "-max-wait", "5ms", "-ack-wait", "2s", "-drain", "1s"}
	a := startServe(t, env, append([]string{"-data", dirA, "-nats-listen", "127.0.0.1:0"}, common...)...)
	m := regexp.MustCompile(`"nats":"embedded, listening on (nats://[0-9.:]+)"`).FindStringSubmatch(a.Stderr())
	if m == nil {
		t.Fatalf("gateway A does not log its NATS URL:\n%s", a.Stderr())
	}

	args, _ := json.Marshal(append([]string{"-data", dirB, "-nats", m[1]}, common...))
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), serveChildVar+"="+string(args))
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
		t.Fatalf("first line of gateway B: %q", sc.Text())
	}
	b := &servedProcess{url: strings.TrimPrefix(sc.Text(), "notifymux serve: listening on ")}
	go io.Copy(io.Discard, stderr)
	// A configuration PUT on A is used by B: its key-value watch applies it.
	setRules(t, a, readSecretFile(t, dirA, "access-key"), readSecretFile(t, dirA, "secret-key"), "photos", "images/")
	put := time.Now()
	for i := 0; ; i++ {
		probe := fmt.Sprintf(`{"bucket":"photos","event":"cos:ObjectCreated:Put","key":"images/probe-%d.jpg","region":"ap-guangzhou"}`, i)
		if _, ans := ingestAt(t, b.url, readSecretFile(t, dirB, "ingest-token"), probe); strings.Contains(ans, `"matched":1`) {
			break
		}
		if time.Since(put) > 5*time.Second {
			t.Fatal("gateway B does not use the configuration PUT on A after 5 s")
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Logf("a PUT on A was used by B's ingest %v later", time.Since(put))
	tokens := []string{readSecretFile(t, dirA, "ingest-token"), readSecretFile(t, dirB, "ingest-token")}

	var accepted sync.Map
	var n [2]atomic.Int64
	var killOnce sync.Once
	var wg sync.WaitGroup
	for c := range 4 {
		g := c % 2 // clients 0 and 2 post to A, 1 and 3 to B
		url := []string{a.url, b.url}[g]
		wg.Go(func() {
			for i := 0; i < 150; i++ {
				var body strings.Builder
				keys := make([]string, 10)
				for j := range keys {
					keys[j] = fmt.Sprintf("images/c%d-r%d-%d.jpg", c, i, j)
					fmt.Fprintf(&body, `{"bucket":"photos","event":"cos:ObjectCreated:Put","key":%q,"region":"ap-guangzhou"}`+"\n", keys[j])
				}
				req, _ := http.NewRequest("POST", url+"/events", strings.NewReader(body.String()))
				req.Header.Set("Authorization", "Bearer "+tokens[g])
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return // B was killed
				}
				var res struct{ Matched, Refused int }
				json.NewDecoder(resp.Body).Decode(&res)
				resp.Body.Close()
				if resp.StatusCode == http.StatusAccepted && res.Refused == 0 && res.Matched == 10 {
					for _, k := range keys {
						accepted.Store(k, true)
					}
					if n[g].Add(10) >= 1000 && g == 1 {
						killOnce.Do(func() { cmd.Process.Signal(syscall.SIGKILL) })
					}
				}
			}
		})
	}
	wg.Wait()
	cmd.Wait()
	var want []string
	accepted.Range(func(k, _ any) bool { want = append(want, k.(string)); return true })
	lost := fn.waitAll(want, 30*time.Second)
	_, dups := fn.counts()
	t.Logf("accepted %d records on A and %d on B (B killed after 1000); %d duplicate deliveries", n[0].Load(), n[1].Load(), dups)
	if lost > 0 {
		t.Fatalf("%d of %d records answered 202 never reached the function", lost, len(want))
	}
	if n[0].Load() == 0 || n[1].Load() == 0 {
		t.Error("a gateway accepted nothing")
	}
}

// ingestAt POSTs body to the gateway at url.
func ingestAt(t *testing.T, url, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"/events", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
