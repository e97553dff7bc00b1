package jetstream

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/notifymux/notifymux/batch"
	"github.com/notifymux/notifymux/dispatch"
)

// A record without a sequencer gets its stream sequence as one, in S3
// payloads too; a record with one keeps it.
func TestDeliveredRecordsCarryASequencer(t *testing.T) {
	e := newEnv(t, StreamConfig{})
	p := NewPublisher(e.js, Names{})
	ctx := context.Background()
	for _, k := range []string{"a", "b"} {
		if err := p.PublishContext(ctx, record(k)); err != nil {
			t.Fatal(err)
		}
	}
	own := record("c")
	own.Sequencer = "0055AED6DCD90281E5"
	if err := p.PublishContext(ctx, own); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seqs := map[string]string{}
	var payloads []string
	d, err := NewDeliverer(ctx, e.js, DeliveryConfig{
		Dispatcher: dispatch.Func(func(_ context.Context, b batch.Batch) error {
			mu.Lock()
			defer mu.Unlock()
			for _, r := range b.Records {
				seqs[r.Key] = r.Sequencer
			}
			payloads = append(payloads, string(b.Payload))
			return nil
		}),
		Batch: batch.Config{MaxWait: 20 * time.Millisecond, Format: batch.FormatS3},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer closeDeliverer(t, d)
	waitFor(t, 10*time.Second, "not every record delivered", func() bool { mu.Lock(); defer mu.Unlock(); return len(seqs) == 3 })
	mu.Lock()
	defer mu.Unlock()
	if seqs["a"] != "0000000000000001" || seqs["b"] != "0000000000000002" || seqs["c"] != own.Sequencer {
		t.Errorf("sequencers %v: want the stream's sequence for a and b, c's own", seqs)
	}
	all := strings.Join(payloads, "\n")
	for _, s := range []string{`"sequencer":"0000000000000001"`, `"sequencer":"0000000000000002"`, `"sequencer":"0055AED6DCD90281E5"`} {
		if !strings.Contains(all, s) {
			t.Errorf("no %s in the S3 payloads:\n%.600s", s, all)
		}
	}
}
