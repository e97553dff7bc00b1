package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/notification"

	"github.com/notifymux/notifymux/dispatch"
)

// servedProcess is runServe running in a goroutine, as `notifymux serve`.
type servedProcess struct {
	url     string // from the listening line
	cancel  context.CancelFunc
	done    chan int
	drained chan struct{} // closed when stderr was read to its end
	mu      sync.Mutex
	stderr  strings.Builder
	stdout  *syncWriter
	out     *strings.Builder
}

func (s *servedProcess) Stderr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

// startServe runs serve with args and waits for its listening line.
func startServe(t *testing.T, env map[string]string, args ...string) *servedProcess {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	out := &strings.Builder{}
	s := &servedProcess{cancel: cancel, done: make(chan int, 1), drained: make(chan struct{}), out: out, stdout: &syncWriter{w: out}}
	go func() {
		code := runServe(ctx, args, strings.NewReader(""), s.stdout, pw)
		pw.Close()
		s.done <- code
	}()
	first := make(chan string, 1)
	go func() {
		defer close(s.drained)
		sc := bufio.NewScanner(pr)
		n := 0
		for sc.Scan() {
			s.mu.Lock()
			s.stderr.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
			if n == 0 {
				first <- sc.Text()
			}
			n++
		}
		close(first)
	}()
	select {
	case line, ok := <-first:
		const prefix = "notifymux serve: listening on "
		if !ok || !strings.HasPrefix(line, prefix) {
			cancel()
			t.Fatalf("first line on stderr: got %q, want %q…; stderr:\n%s", line, prefix, s.Stderr())
		}
		s.url = strings.TrimPrefix(line, prefix)
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not print its listening line within 10 s")
	}
	t.Cleanup(func() { s.Stop(t) })
	s.waitFor(t, `"msg":"serving"`)
	return s
}

// waitFor waits until stderr holds want.
func (s *servedProcess) waitFor(t *testing.T, want string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if strings.Contains(s.Stderr(), want) {
			return
		}
	}
	t.Fatalf("stderr never showed %s:\n%s", want, s.Stderr())
}

// Stop cancels serve (as SIGTERM does) and returns its exit status.
func (s *servedProcess) Stop(t *testing.T) int {
	s.cancel()
	select {
	case code := <-s.done:
		s.done <- code
		// serve's last lines may still be on their way from the pipe to
		// Stderr's buffer; the reader ends once serve closed the pipe.
		select {
		case <-s.drained:
		case <-time.After(5 * time.Second):
			t.Error("serve's stderr was not read to its end within 5 s")
		}
		return code
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop within 15 s")
		return -1
	}
}

func readSecretFile(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "secrets", name))
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(filepath.Join(dir, "secrets", name))
	if st.Mode().Perm() != 0o600 {
		t.Errorf("%s: mode %v, want 0600", name, st.Mode().Perm())
	}
	return strings.TrimSpace(string(b))
}

func TestServeRestart(t *testing.T) {
	dir := t.TempDir()
	s := startServe(t, nil, "-addr", "127.0.0.1:0", "-data", dir)
	ak, sk := readSecretFile(t, dir, "access-key"), readSecretFile(t, dir, "secret-key")
	for _, name := range []string{"access-key", "secret-key", "ingest-token", "delivery-secret"} {
		secret := readSecretFile(t, dir, name)
		if strings.Contains(s.Stderr(), secret) {
			t.Errorf("stderr shows the secret of %s", name)
		}
		if !strings.Contains(s.Stderr(), filepath.Join(dir, "secrets", name)) {
			t.Errorf("stderr does not name the generated %s file", name)
		}
	}
	host := strings.TrimPrefix(s.url, "http://")
	c, err := minio.New(host, &minio.Options{Creds: credentials.NewStaticV4(ak, sk, "")})
	if err != nil {
		t.Fatal(err)
	}
	arn, _ := notification.NewArnFromString("arn:aws:lambda:us-east-1:1:thumbs")
	cfg := notification.NewConfig(arn)
	cfg.AddEvents(notification.ObjectCreatedAll)
	cfg.AddFilterPrefix("images/")
	var nc notification.Configuration
	nc.AddLambda(cfg)
	if err := c.SetBucketNotification(context.Background(), "photos", nc); err != nil {
		t.Fatal(err)
	}
	if code := s.Stop(t); code != 0 {
		t.Fatalf("exit status %d, want 0; stderr:\n%s", code, s.Stderr())
	}

	// A second start keeps the secrets and the configuration.
	s2 := startServe(t, nil, "-addr", "127.0.0.1:0", "-data", dir)
	if strings.Contains(s2.Stderr(), "generated") {
		t.Errorf("the second start generated secrets again:\n%s", s2.Stderr())
	}
	c2, _ := minio.New(strings.TrimPrefix(s2.url, "http://"), &minio.Options{Creds: credentials.NewStaticV4(ak, sk, "")})
	got, err := c2.GetBucketNotification(context.Background(), "photos")
	if err != nil || len(got.LambdaConfigs) != 1 || got.LambdaConfigs[0].Lambda != arn.String() {
		t.Fatalf("after restart: got %+v, %v", got, err)
	}
	if !strings.Contains(s2.Stderr(), `"buckets":1,"rules":1`) {
		t.Errorf("the load line does not say 1 bucket, 1 rule:\n%s", s2.Stderr())
	}
}

func TestServeEnv(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{
		"NOTIFYMUX_ACCESS_KEY": "ENVKEY", "NOTIFYMUX_SECRET_KEY": "env-secret-key",
		"NOTIFYMUX_ADDR": "127.0.0.1:1", // the command line wins
		"NOTIFYMUX_DATA": dir, "NOTIFYMUX_REGION": "eu-west-1",
	}
	s := startServe(t, env, "-addr", "127.0.0.1:0")
	c, _ := minio.New(strings.TrimPrefix(s.url, "http://"), &minio.Options{Creds: credentials.NewStaticV4("ENVKEY", "env-secret-key", "")})
	loc, err := c.GetBucketLocation(context.Background(), "photos")
	if err != nil || loc != "eu-west-1" {
		t.Fatalf("GetBucketLocation: got %q, %v, want eu-west-1", loc, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "secrets", "access-key")); err == nil {
		t.Errorf("an access key from the environment was stored")
	}
}

func TestServeUsage(t *testing.T) {
	tests := []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"-policy", "drop"}, "-policy drop is refused"},
		{nil, []string{"-tls-cert", "x.pem"}, "give -tls-cert and -tls-key together"},
		{map[string]string{"NOTIFYMUX_MAX_BODY": "lots"}, nil, "$NOTIFYMUX_MAX_BODY"},
		{nil, []string{"-cos-region", "mars"}, "not a COS region"},
		{nil, []string{"-max-inflight", "0"}, "-max-inflight 0: want at least 1"},
		{nil, []string{"extra"}, `unexpected argument "extra"`},
		{nil, []string{"-fsync", "sometimes"}, `-fsync "sometimes": want always or interval`},
		{nil, []string{"-nats", "nats://127.0.0.1:1", "-nats-listen", "127.0.0.1:0"}, "-nats and -nats-listen exclude each other"},
		{nil, []string{"-durable=false", "-nats", "nats://127.0.0.1:1"}, "-nats and -nats-listen need -durable"},
		{nil, []string{"-ack-wait", "10ms"}, "-ack-wait 10ms: want at least 1s"},
		{nil, []string{"-replicas", "2"}, "-replicas 2: want 1, 3 or 5"},
		{nil, []string{"-rule-cache-bytes", "-1"}, "-rule-cache-bytes -1: want 0 (off) or more"},
		{map[string]string{"NOTIFYMUX_STREAM_MAX_BYTES": "0"}, nil, "-stream-max-bytes and -dead-max-bytes: want at least 1"},
	}
	for _, tt := range tests {
		for k, v := range tt.env {
			t.Setenv(k, v)
		}
		var stderr strings.Builder
		code := runServe(context.Background(), append([]string{"-data", t.TempDir()}, tt.args...), nil, io.Discard, &stderr)
		if code != exitUsage || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("%v %v: got %d %q, want %d and %q", tt.env, tt.args, code, stderr.String(), exitUsage, tt.want)
		}
		for k := range tt.env {
			os.Unsetenv(k)
		}
	}
	var nstderr strings.Builder
	if code := runServe(context.Background(), []string{"-addr", "127.0.0.1:0", "-data", t.TempDir(), "-nats", "nats://127.0.0.1:1"}, nil, io.Discard, &nstderr); code != exitFindings ||
		!strings.Contains(nstderr.String(), "connect to nats://127.0.0.1:1") {
		t.Errorf("an unreachable -nats: got %d %q, want 1 naming it", code, nstderr.String())
	}
	var stderr strings.Builder
	if code := runServe(context.Background(), []string{"-addr", "256.0.0.1:0", "-data", t.TempDir()}, nil, io.Discard, &stderr); code != exitFindings {
		t.Errorf("an address that cannot be bound: got %d %q, want 1", code, stderr.String())
	}
}

// ingest POSTs body to the served gateway's /events.
func ingest(t *testing.T, s *servedProcess, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.url+"/events", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func setRules(t *testing.T, s *servedProcess, ak, sk, bucket, prefix string) {
	t.Helper()
	c, err := minio.New(strings.TrimPrefix(s.url, "http://"), &minio.Options{Creds: credentials.NewStaticV4(ak, sk, "")})
	if err != nil {
		t.Fatal(err)
	}
	arn, _ := notification.NewArnFromString("arn:aws:lambda:us-east-1:1:thumbs")
	cfg := notification.NewConfig(arn)
	cfg.AddEvents(notification.ObjectCreatedAll)
	cfg.AddFilterPrefix(prefix)
	var nc notification.Configuration
	nc.AddLambda(cfg)
	if err := c.SetBucketNotification(context.Background(), bucket, nc); err != nil {
		t.Fatal(err)
	}
}

// TestServeDefault: with no -to, payloads go to standard output.
func TestServeDefault(t *testing.T) {
	dir := t.TempDir()
	s := startServe(t, nil, "-addr", "127.0.0.1:0", "-data", dir, "-max-wait", "10ms")
	setRules(t, s, readSecretFile(t, dir, "access-key"), readSecretFile(t, dir, "secret-key"), "photos", "images/")
	body := `{"bucket":"photos","event":"cos:ObjectCreated:Put","key":"images/cat.jpg","region":"ap-guangzhou"}` + "\n"
	if code, ans := ingest(t, s, readSecretFile(t, dir, "ingest-token"), body); code != 202 || !strings.Contains(ans, `"matched":1`) {
		t.Fatalf("ingest: %d %s", code, ans)
	}
	if code := s.Stop(t); code != 0 {
		t.Fatalf("exit %d:\n%s", code, s.Stderr())
	}
	s.stdout.mu.Lock()
	out := s.out.String()
	s.stdout.mu.Unlock()
	if !strings.Contains(out, `"target":"arn:aws:lambda:us-east-1:1:thumbs"`) || !strings.Contains(out, "images/cat.jpg") {
		t.Errorf("standard output lacks the payload:\n%s", out)
	}
	if strings.Contains(out, `"level"`) {
		t.Errorf("standard output holds log lines:\n%s", out)
	}
}

// TestServeDelivery: -to URL posts signed batches; on shutdown (in-memory,
// -durable=false) a function that hangs gets -drain, then its records are
// dead-lettered.
func TestServeDelivery(t *testing.T) {
	const secret = "serve-delivery-secret"
	var mu sync.Mutex
	verified, hang := 0, false
	fn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		h := hang
		mu.Unlock()
		if h {
			<-r.Context().Done()
			return
		}
		if err := dispatch.Verify([]byte(secret), r.Header, body, time.Now(), 0); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		mu.Lock()
		verified += strings.Count(string(body), `"eventName"`)
		mu.Unlock()
	}))
	defer fn.Close()
	dir := t.TempDir()
	s := startServe(t, map[string]string{"NOTIFYMUX_SECRET": secret}, "-durable=false", "-addr", "127.0.0.1:0", "-data", dir, "-to", fn.URL,
		"-max-wait", "10ms", "-drain", "300ms", "-retries", "0")
	setRules(t, s, readSecretFile(t, dir, "access-key"), readSecretFile(t, dir, "secret-key"), "photos", "images/")
	token := readSecretFile(t, dir, "ingest-token")
	line := `{"bucket":"photos","event":"cos:ObjectCreated:Put","key":"images/cat.jpg","region":"ap-guangzhou"}` + "\n"
	if code, ans := ingest(t, s, token, strings.Repeat(line, 3)); code != 202 {
		t.Fatalf("ingest: %d %s", code, ans)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		mu.Lock()
		n := verified
		mu.Unlock()
		if n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the function verified %d records, want 3", n)
		}
	}
	mu.Lock()
	hang = true
	mu.Unlock()
	if code, ans := ingest(t, s, token, strings.Repeat(line, 2)); code != 202 {
		t.Fatalf("ingest: %d %s", code, ans)
	}
	time.Sleep(50 * time.Millisecond) // the batch is in flight to the hanging function
	if code := s.Stop(t); code != 0 {
		t.Fatalf("exit %d:\n%s", code, s.Stderr())
	}
	dl, err := os.ReadFile(filepath.Join(dir, "dead-letter.jsonl"))
	if err != nil || strings.Count(string(dl), `"eventName"`) != 2 {
		t.Fatalf("dead letters: %v\n%s\nstderr:\n%s", err, dl, s.Stderr())
	}
	if !strings.Contains(s.Stderr(), `"delivered":3`) || !strings.Contains(s.Stderr(), `"dead_lettered":2`) {
		t.Errorf("the last log line does not account for every record:\n%s", s.Stderr())
	}
}

// TestServeTargetsTable: with -to TARGETS.json a rule naming another target
// is refused, and at start a stored rule whose target left the table is
// warned about.
func TestServeTargetsTable(t *testing.T) {
	dir := t.TempDir()
	table := filepath.Join(dir, "targets.json")
	os.WriteFile(table, []byte(`{"arn:aws:lambda:us-east-1:1:thumbs":"http://127.0.0.1:1/"}`), 0o600)
	env := map[string]string{"NOTIFYMUX_SECRET": "k"}
	s := startServe(t, env, "-addr", "127.0.0.1:0", "-data", dir, "-to", table)
	ak, sk := readSecretFile(t, dir, "access-key"), readSecretFile(t, dir, "secret-key")
	setRules(t, s, ak, sk, "photos", "images/")
	c, _ := minio.New(strings.TrimPrefix(s.url, "http://"), &minio.Options{Creds: credentials.NewStaticV4(ak, sk, "")})
	arn, _ := notification.NewArnFromString("arn:aws:lambda:us-east-1:1:other")
	cfg := notification.NewConfig(arn)
	cfg.AddEvents(notification.ObjectCreatedAll)
	var nc notification.Configuration
	nc.AddLambda(cfg)
	err := c.SetBucketNotification(context.Background(), "logs", nc)
	if r := minio.ToErrorResponse(err); r.Code != "InvalidArgument" || !strings.Contains(r.Message, "Unable to validate the following destination configurations") ||
		!strings.Contains(r.Message, "arn:aws:lambda:us-east-1:1:other") {
		t.Fatalf("unknown target: got %v (%q %q)", err, r.Code, r.Message)
	}
	s.Stop(t)

	os.WriteFile(table, []byte(`{"arn:aws:lambda:us-east-1:1:new":"http://127.0.0.1:1/"}`), 0o600)
	s2 := startServe(t, env, "-addr", "127.0.0.1:0", "-data", dir, "-to", table)
	if !strings.Contains(s2.Stderr(), `"target":"arn:aws:lambda:us-east-1:1:thumbs"`) {
		t.Errorf("no warning about the stored rule whose target left the table:\n%s", s2.Stderr())
	}
}
