package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/notifymux/notifymux/dispatch"
)

// TestServeShutdownAccountsForAll posts events from 4 clients while serve
// (in-memory, -durable=false) is stopped (as SIGTERM does) with a slow
// function, and checks that every
// record a 202 (or a partial answer) counted as accepted and matched was
// delivered to the function or written to the dead-letter file.
func TestServeShutdownAccountsForAll(t *testing.T) {
	const secret = "shutdown-secret"
	var mu sync.Mutex
	seen := map[string]bool{} // keys the function received
	fn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		time.Sleep(20 * time.Millisecond) // a slow function
		if dispatch.Verify([]byte(secret), r.Header, body, time.Now(), 0) != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		mu.Lock()
		for _, k := range keysIn(string(body)) {
			seen[k] = true
		}
		mu.Unlock()
	}))
	defer fn.Close()
	dir := t.TempDir()
	s := startServe(t, map[string]string{"NOTIFYMUX_SECRET": secret}, "-durable=false", "-addr", "127.0.0.1:0", "-data", dir, "-to", fn.URL,
		"-max-wait", "5ms", "-drain", "200ms", "-retries", "0", "-queue", "200")
	setRules(t, s, readSecretFile(t, dir, "access-key"), readSecretFile(t, dir, "secret-key"), "photos", "images/")
	token := readSecretFile(t, dir, "ingest-token")

	var accepted sync.Map // key → true, for the records the answers counted as matched
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for c := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var body strings.Builder
				keys := make([]string, 10)
				for j := range keys {
					keys[j] = fmt.Sprintf("images/c%d-r%d-%d.jpg", c, i, j)
					fmt.Fprintf(&body, `{"bucket":"photos","event":"cos:ObjectCreated:Put","key":%q,"region":"ap-guangzhou"}`+"\n", keys[j])
				}
				req, _ := http.NewRequest("POST", s.url+"/events", strings.NewReader(body.String()))
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return // the server is gone
				}
				var res struct {
					Matched, Refused int
					Errors           []struct{ Line int }
				}
				json.NewDecoder(resp.Body).Decode(&res)
				resp.Body.Close()
				// The errors name each refused line (10 at most, as many as
				// a request has): the other lines were accepted.
				refused := map[int]bool{}
				for _, e := range res.Errors {
					refused[e.Line] = true
				}
				if res.Matched+len(refused) != len(keys) && res.Matched > 0 {
					t.Errorf("answer %+v: matched and refused lines do not add up to %d", res, len(keys))
					continue
				}
				for j, k := range keys {
					if res.Matched > 0 && !refused[j+1] {
						accepted.Store(k, true)
					}
				}
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	if code := s.Stop(t); code != 0 {
		t.Fatalf("exit %d:\n%s", code, s.Stderr())
	}
	close(stop)
	wg.Wait()

	dead, _ := os.ReadFile(filepath.Join(dir, "dead-letter.jsonl"))
	deadKeys := map[string]bool{}
	for _, k := range keysIn(string(dead)) {
		deadKeys[k] = true
	}
	n, missing := 0, 0
	accepted.Range(func(k, _ any) bool {
		n++
		mu.Lock()
		ok := seen[k.(string)]
		mu.Unlock()
		if !ok && !deadKeys[k.(string)] {
			missing++
			if missing <= 5 {
				t.Errorf("record %s was accepted but neither delivered nor dead-lettered", k)
			}
		}
		return true
	})
	mu.Lock()
	delivered := len(seen)
	mu.Unlock()
	t.Logf("%d records accepted: %d delivered, %d dead-lettered", n, delivered, len(deadKeys))
	if n == 0 {
		t.Fatal("no record was accepted")
	}
	if missing > 0 {
		t.Fatalf("%d of %d accepted records are unaccounted for", missing, n)
	}
}

// keysIn returns the object keys ("key":"/photos/…" in COS payloads, with
// the /<bucket>/ prefix removed) in text.
func keysIn(text string) []string {
	var keys []string
	const marker = `"key":"/photos/`
	for {
		i := strings.Index(text, marker)
		if i < 0 {
			return keys
		}
		text = text[i+len(marker):]
		j := strings.IndexByte(text, '"')
		keys = append(keys, text[:j])
		text = text[j:]
	}
}
