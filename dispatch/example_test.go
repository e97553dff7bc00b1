package dispatch_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/notifymux/notifymux/batch"
	"github.com/notifymux/notifymux/dispatch"
	"github.com/notifymux/notifymux/match"
)

func ExamplePipeline() {
	sink := dispatch.Func(func(_ context.Context, b batch.Batch) error {
		var keys []string
		for _, r := range b.Records {
			keys = append(keys, r.Key)
		}
		fmt.Printf("%s: %d records %v\n", b.Target, len(b.Records), keys)
		return nil
	})
	p, err := dispatch.NewPipeline(dispatch.Config{
		Dispatcher: sink,
		DeadLetter: dispatch.NewJSONLines(io.Discard), // an example; a server gives a DeadLetterPath
		Workers:    1,
		Batch:      batch.Config{MaxRecords: 2, MaxWait: time.Minute},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, key := range []string{"a.jpg", "b.jpg", "c.jpg"} {
		_ = p.Publish(batch.Record{Bucket: "photos-1250000000", Key: key, Event: match.ObjectCreatedPut, Target: "thumbnail"})
	}
	_ = p.Publish(batch.Record{Bucket: "photos-1250000000", Key: "notes.txt", Event: match.ObjectCreatedPut}) // no rule matched
	if err := p.Close(context.Background()); err != nil {
		fmt.Println(err)
	}
	fmt.Println(p.Stats())
	// Output:
	// thumbnail: 2 records [a.jpg b.jpg]
	// thumbnail: 1 records [c.jpg]
	// published 4 (matched 3, unmatched 1): delivered 3 in 2 batches, retried 0 records in 0 attempts, dead-lettered 0, dead-letter failed 0, dropped 0, rejected 0, queued 0
}

func ExampleVerify() {
	secret := []byte("shared secret, 32 random bytes..")
	body := []byte(`{"Records":[]}`)
	sent := time.Unix(1700000000, 0)

	// What the HTTP dispatcher sends:
	h := http.Header{}
	h.Set(dispatch.TimestampHeader, "1700000000")
	h.Set(dispatch.SignatureHeader, dispatch.Sign(secret, sent.Unix(), body))

	// What the function checks, on arrival a few seconds later:
	now := sent.Add(3 * time.Second)
	fmt.Println(dispatch.Verify(secret, h, body, now, 0))
	fmt.Println(dispatch.Verify(secret, h, []byte(`{"Records":[{}]}`), now, 0))
	fmt.Println(dispatch.Verify(secret, h, body, sent.Add(time.Hour), 0))
	// Output:
	// <nil>
	// dispatch: invalid signature: HMAC-SHA256 does not match the body and timestamp (wrong secret or altered body)
	// dispatch: invalid signature: X-Notifymux-Timestamp 1700000000 is 1h0m0s away from now, beyond the tolerance of 5m0s
}

func ExampleNewHTTP() {
	secret := []byte("shared secret, 32 random bytes..")
	fn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := dispatch.Verify(secret, r.Header, body, time.Now(), 0); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		fmt.Printf("function got %s records for %s, %s, valid JSON: %t\n",
			r.Header.Get(dispatch.RecordsHeader), r.Header.Get(dispatch.TargetHeader), r.Header.Get("Content-Type"), json.Valid(body))
	}))
	defer fn.Close()

	targets, err := dispatch.LoadTargets(strings.NewReader(`{"audit": "` + fn.URL + `/audit"}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	h, err := dispatch.NewHTTP(dispatch.HTTPConfig{Targets: targets, Secret: secret, Timeout: 5 * time.Second})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer h.Close(context.Background())
	payload := batch.AppendS3(nil, []batch.Record{{Bucket: "logs", Key: "2024/05/01.gz", Event: match.ObjectCreatedPut, Target: "audit"}})
	b := batch.Batch{Target: "audit", Format: batch.FormatS3, ContentType: batch.ContentTypeJSON, Payload: payload,
		Records: make([]batch.Record, 1)}
	fmt.Println(h.Dispatch(context.Background(), b))
	b.Target = "billing"
	fmt.Println(h.Dispatch(context.Background(), b))
	// Output:
	// function got 1 records for audit, application/json, valid JSON: true
	// <nil>
	// dispatch: unknown target "billing": no URL in the target table
}

func ExampleJSONLines() {
	out := dispatch.NewJSONLines(os.Stdout)
	b := batch.Batch{
		Target: "audit", Format: batch.FormatS3, ContentType: batch.ContentTypeJSON,
		Payload: []byte(`{"Records":[]}`), Opened: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC),
	}
	_ = out.Dispatch(context.Background(), b)
	_ = out.DispatchDeadLetter(context.Background(), dispatch.DeadLetter{
		Batch: b, Reason: dispatch.ReasonRetries, Err: errors.New(`503 "busy"`), Attempts: 3,
		FirstAttempt: b.Opened.Add(time.Second), LastAttempt: b.Opened.Add(3 * time.Minute), Time: b.Opened.Add(3 * time.Minute),
	})
	// Output:
	// {"target":"audit","format":"s3","contentType":"application/json","records":0,"opened":"2024-05-01T10:00:00Z","payload":{"Records":[]}}
	// {"target":"audit","reason":"retries","error":"503 \"busy\"","attempts":3,"firstAttempt":"2024-05-01T10:00:01Z","lastAttempt":"2024-05-01T10:03:00Z","deadLettered":"2024-05-01T10:03:00Z","format":"s3","contentType":"application/json","records":0,"opened":"2024-05-01T10:00:00Z","payload":{"Records":[]}}
}
