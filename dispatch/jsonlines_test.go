package dispatch

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/notifymux/notifymux/batch"
)

// TestJSONLinesConcurrent writes from many goroutines and checks that every
// line is a whole JSON object with the documented fields.
func TestJSONLinesConcurrent(t *testing.T) {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	j := NewJSONLines(w)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				if err := j.Dispatch(context.Background(), testBatch(fmt.Sprintf("fn-%d", g), 1+i%4)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if err := j.Close(context.Background()); err != nil { // flushes the bufio.Writer
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 400 {
		t.Fatalf("%d lines, want 400", len(lines))
	}
	for _, l := range lines {
		var v struct {
			Target      string          `json:"target"`
			Format      string          `json:"format"`
			ContentType string          `json:"contentType"`
			Records     int             `json:"records"`
			Opened      time.Time       `json:"opened"`
			Payload     json.RawMessage `json:"payload"`
		}
		dec := json.NewDecoder(strings.NewReader(l))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		var payload struct{ Records []json.RawMessage }
		if err := json.Unmarshal(v.Payload, &payload); err != nil || len(payload.Records) != v.Records ||
			v.Format != "cos" || v.ContentType != batch.ContentTypeJSON || !strings.HasPrefix(v.Target, "fn-") || v.Opened.IsZero() {
			t.Fatalf("line %q: %+v, %v", l, v, err)
		}
	}
}

// TestDeadLetterFileEscaping writes an error text full of characters that
// need escaping and reads it back with encoding/json.
func TestDeadLetterFileEscaping(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dl.jsonl")
	j, err := OpenDeadLetterFile(path)
	if err != nil {
		t.Fatal(err)
	}
	msg := "quote \" backslash \\ newline \n tab \t nul \x00 bell \x07 line-sep \u2028 para-sep \u2029 bad \xff utf8 ünï 日本"
	first := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d := DeadLetter{Batch: testBatch("fn \"x\"", 2), Reason: ReasonRetries, Err: errors.New(msg), Attempts: 3,
		FirstAttempt: first, LastAttempt: first.Add(time.Minute), Time: first.Add(2 * time.Minute)}
	if err := j.DispatchDeadLetter(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if err := j.Dispatch(context.Background(), testBatch("plain", 1)); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	lines := readDeadLetterFile(t, path)
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2", len(lines))
	}
	l := lines[0]
	wantMsg := strings.ToValidUTF8(msg, "\ufffd")
	if l.Error != wantMsg || l.Target != `fn "x"` || l.Reason != "retries" || l.Attempts != 3 || l.Records != 2 ||
		!l.FirstAttempt.Equal(first) || !l.LastAttempt.Equal(first.Add(time.Minute)) || !l.DeadLettered.Equal(first.Add(2*time.Minute)) {
		t.Errorf("dead letter read back as %+v (error %q), want %q", l, l.Error, wantMsg)
	}
	if lines[1].Target != "plain" || lines[1].Reason != "" || lines[1].FirstAttempt != nil {
		t.Errorf("plain batch line %+v", lines[1])
	}
}
