package dispatch

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/notifymux/notifymux/batch"
)

// TestPublishContextEndsBlockedWait checks that a publisher blocked on a full
// queue under the Block policy returns when its context ends, with the
// record withdrawn (not counted), and that the counts still add up.
func TestPublishContextEndsBlockedWait(t *testing.T) {
	sink := newStalled()
	p := mustPipeline(t, Config{Dispatcher: sink, DeadLetter: &deadLetters{}, QueueRecords: 1, Policy: Block,
		Batch: batch.Config{MaxRecords: 1}})
	if err := p.Publish(rec("slow", "k", 0)); err != nil {
		t.Fatal(err)
	}
	<-sink.entered
	ctx, cancel := context.WithCancel(context.Background())
	blocked := make(chan error, 1)
	go func() { blocked <- p.PublishContext(ctx, rec("slow", "k", 1)) }()
	select {
	case err := <-blocked:
		t.Fatalf("PublishContext returned %v with the queue full, want it to wait", err)
	case <-time.After(20 * time.Millisecond):
	}
	cancel()
	select {
	case err := <-blocked:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("PublishContext = %v after cancel, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("PublishContext still blocked 10 s after its context ended")
	}
	cctx, ccancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer ccancel()
	_ = p.Close(cctx)
	s := p.Stats()
	checkSums(t, s)
	if s.Matched != 1 || s.Rejected != 0 || s.DeadLettered != 1 {
		t.Errorf("stats %v, want 1 matched and dead-lettered, and the cancelled publish not counted", s)
	}
}

// TestBlockedPublishWakesOnRoom checks that a blocked publisher goes on once
// a delivery frees a slot.
func TestBlockedPublishWakesOnRoom(t *testing.T) {
	release := make(chan struct{})
	d := Func(func(ctx context.Context, b batch.Batch) error {
		<-release
		return nil
	})
	p := mustPipeline(t, Config{Dispatcher: d, DeadLetter: &deadLetters{}, QueueRecords: 1, Policy: Block,
		Batch: batch.Config{MaxRecords: 1}})
	if err := p.Publish(rec("fn", "k", 0)); err != nil {
		t.Fatal(err)
	}
	blocked := make(chan error, 1)
	go func() { blocked <- p.PublishContext(context.Background(), rec("fn", "k", 1)) }()
	time.Sleep(10 * time.Millisecond)
	close(release)
	select {
	case err := <-blocked:
		if err != nil {
			t.Fatalf("PublishContext = %v, want nil once room was freed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("PublishContext still blocked 10 s after a slot was freed")
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := p.Stats(); s.Delivered != 2 {
		t.Errorf("stats %v, want 2 delivered", s)
	}
}

// TestDeadLetterFileOpenedOnFirstUse checks that a Pipeline given a
// DeadLetterPath creates no file until something is dead-lettered, and that
// no Config makes it create one in the working directory.
func TestDeadLetterFileOpenedOnFirstUse(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "dl.jsonl")
	fail := Func(func(context.Context, batch.Batch) error { return Permanent(errors.New("no")) })
	ok := Func(func(context.Context, batch.Batch) error { return nil })

	p := mustPipeline(t, Config{Dispatcher: ok, DeadLetterPath: path})
	if err := p.Publish(rec("fn", "k", 0)); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("after a run with nothing dead-lettered, Stat(%s) = %v, want no file", path, err)
	}

	p = mustPipeline(t, Config{Dispatcher: fail, DeadLetterPath: path, MaxRetries: NoRetries})
	if err := p.Publish(rec("fn", "k", 1)); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		t.Fatalf("dead-letter file after one dead letter: %d bytes, %v; want one line", len(b), err)
	}
	if _, err := os.Stat("notifymux-dead-letter.jsonl"); err == nil {
		t.Error("a file notifymux-dead-letter.jsonl exists in the working directory")
	}
}
