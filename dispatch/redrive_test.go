package dispatch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// writeDeadLetters writes lines dead letters of 3 records each (keys
// dl<line>-<i>), then one whose records could not be encoded, and returns
// the file's path.
func writeDeadLetters(t *testing.T, lines int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "dead.jsonl")
	f := NewDeadLetterFile(path)
	ctx := context.Background()
	for l := range lines {
		recs := make([]batch.Record, 3)
		for i := range recs {
			recs[i] = rec("fn", fmt.Sprintf("dl%d-%d", l, i), i)
		}
		b := batch.Batch{Target: "fn", Format: batch.FormatCOS, ContentType: batch.ContentTypeJSON,
			Payload: batch.AppendCOS(nil, recs), Records: recs, Opened: time.Now()}
		if err := f.DispatchDeadLetter(ctx, DeadLetter{Batch: b, Reason: ReasonRetries, Err: errors.New("503"), Attempts: 3}); err != nil {
			t.Fatal(err)
		}
	}
	bad := testBatch("fn", 2)
	bad.Payload = nil
	if err := f.DispatchDeadLetter(ctx, DeadLetter{Batch: bad, Reason: ReasonInvalid, Err: errors.New("unencodable")}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return path
}

// redriveFunction is a real function on 127.0.0.1 that answers 503 to its
// first failFirst requests and counts the keys it accepted.
type redriveFunction struct {
	srv   *httptest.Server
	mu    sync.Mutex
	keys  map[string]int
	calls atomic.Int32
}

func newRedriveFunction(t *testing.T, failFirst int32) *redriveFunction {
	f := &redriveFunction{keys: map[string]int{}}
	f.srv = httptest.NewServer(verifyingHandler(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if got := r.Header.Get(RecordsHeader); got != "3" {
			t.Errorf("function: %s = %q, want 3", RecordsHeader, got)
		}
		if f.calls.Add(1) <= failFirst {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		var p struct {
			Records []struct {
				COS struct {
					Object struct {
						Key string `json:"key"`
					} `json:"cosObject"`
				} `json:"cos"`
			} `json:"Records"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("function: %v", err)
		}
		f.mu.Lock()
		for _, r := range p.Records {
			f.keys[r.COS.Object.Key]++
		}
		f.mu.Unlock()
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *redriveFunction) counts() (keys, dups int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range f.keys {
		keys++
		dups += n - 1
	}
	return keys, dups
}

func TestRedriveFile(t *testing.T) {
	path := writeDeadLetters(t, 5)
	fn := newRedriveFunction(t, 2) // down for two attempts, then fixed
	var failed bytes.Buffer
	cfg := RedriveConfig{
		Dispatcher: newHTTP(t, HTTPConfig{DefaultURL: fn.srv.URL}),
		Policy:     RetryPolicy{MaxRetries: 3, RetryBase: time.Millisecond, RetryMax: 5 * time.Millisecond},
		Failed:     &failed,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := RedriveFile(ctx, path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := RedriveStats{Lines: 6, Records: 17, SentLines: 5, SentRecords: 15, FailedLines: 1, FailedRecords: 2, Done: true}
	if st != want {
		t.Errorf("stats %+v\nwant  %+v", st, want)
	}
	if keys, dups := fn.counts(); keys != 15 || dups != 0 {
		t.Errorf("the function got %d keys (%d duplicates), want 15 once each", keys, dups)
	}
	l, err := ParseDeadLetterLine(bytes.TrimSpace(failed.Bytes()))
	if err != nil || l.Reason != ReasonInvalid || l.Records != 2 || strings.Count(failed.String(), "\n") != 1 {
		t.Errorf("failed lines %q (%v): want the one line without payload, as it was", failed.String(), err)
	}
	// Done: a repeat sends nothing.
	st, err = RedriveFile(ctx, path, cfg)
	if err != nil || st.Lines != 0 || !st.Done {
		t.Errorf("second redrive: %+v, %v; want nothing sent", st, err)
	}
}

// An interrupted redrive resumes where it stopped: every record reaches the
// function, and none twice when the interrupt fell between lines.
func TestRedriveFileInterruptedAndResumed(t *testing.T) {
	path := writeDeadLetters(t, 8)
	fn := newRedriveFunction(t, 0)
	var failed bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := RedriveConfig{
		Dispatcher: newHTTP(t, HTTPConfig{DefaultURL: fn.srv.URL}),
		Failed:     &failed,
		OnLine: func(_ DeadLetterLine, _ error, s RedriveStats) {
			if s.Lines == 3 {
				cancel()
			}
		},
	}
	st, err := RedriveFile(ctx, path, cfg)
	if !errors.Is(err, ErrRedriveInterrupted) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want ErrRedriveInterrupted wrapping context.Canceled", err)
	}
	if st.SentLines != 3 || st.SentRecords != 9 || st.Done {
		t.Errorf("interrupted run: %+v, want 3 lines (9 records) sent", st)
	}
	cfg.OnLine = nil
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel2()
	st, err = RedriveFile(ctx2, path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if st.SentLines != 5 || st.SentRecords != 15 || st.FailedLines != 1 || st.Skipped == 0 || !st.Done {
		t.Errorf("resumed run: %+v, want the other 5 lines (15 records) sent and 1 failed", st)
	}
	if keys, dups := fn.counts(); keys != 24 || dups != 0 {
		t.Errorf("the function got %d keys (%d duplicates), want 24 once each", keys, dups)
	}
}

// A function still down: the lines are kept in Failed, nothing is lost.
func TestRedriveFileFunctionStillDown(t *testing.T) {
	path := writeDeadLetters(t, 2)
	fn := newRedriveFunction(t, 1000)
	var failed bytes.Buffer
	st, err := RedriveFile(context.Background(), path, RedriveConfig{
		Dispatcher: newHTTP(t, HTTPConfig{DefaultURL: fn.srv.URL}),
		Policy:     RetryPolicy{MaxRetries: 1, RetryBase: time.Millisecond, RetryMax: time.Millisecond},
		Failed:     &failed,
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.FailedLines != 3 || st.SentLines != 0 {
		t.Errorf("stats %+v: want all 3 lines failed", st)
	}
	orig, _ := os.ReadFile(path)
	if !bytes.Equal(orig, failed.Bytes()) {
		t.Errorf("the failed lines differ from the file's:\n%s\nwant\n%s", failed.Bytes(), orig)
	}
}

func TestRedriveFileBadInput(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "dead.jsonl")
	long := strings.Repeat("x", 1000)
	if err := os.WriteFile(path, []byte(`{"target":"fn","format":"cos","records":3,"payload":{}}`+"\n"+long+"\n"+`{"target":"fn","payload":{}`), 0o600); err != nil {
		t.Fatal(err)
	}
	fn := newRedriveFunction(t, 0)
	var failed bytes.Buffer
	var errs []error
	st, err := RedriveFile(context.Background(), path, RedriveConfig{
		Dispatcher: newHTTP(t, HTTPConfig{DefaultURL: fn.srv.URL}),
		Failed:     &failed,
		OnLine:     func(_ DeadLetterLine, err error, _ RedriveStats) { errs = append(errs, err) },
	})
	if err != nil {
		t.Fatal(err)
	}
	// The unterminated last line is left for later (it may be being written).
	if st.Lines != 2 || st.SentLines != 1 || st.FailedLines != 1 {
		t.Errorf("stats %+v: want 1 sent, 1 failed, the partial line left", st)
	}
	if len(errs) != 2 || errs[1] == nil || len(errs[1].Error()) > 300 || !strings.Contains(errs[1].Error(), "not a dead-letter line") {
		t.Errorf("errors %v: want the bad line named, quoted briefly", errs)
	}
	if err := os.WriteFile(path+".redrive", []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := RedriveFile(context.Background(), path, RedriveConfig{Dispatcher: NewJSONLines(&failed), Failed: &failed}); err == nil || !strings.Contains(err.Error(), "not a byte offset") {
		t.Errorf("a bad checkpoint: err = %v", err)
	}
}
