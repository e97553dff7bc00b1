package dispatch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/notifymux/notifymux/batch"
)

// TestStatsRetriedRecordsInAttempts checks that a batch of 3 records sent
// again once counts 3 records retried in 1 attempt, and that the summary
// says so instead of a bare "retried 3".
func TestStatsRetriedRecordsInAttempts(t *testing.T) {
	var calls atomic.Int32
	d := Func(func(_ context.Context, b batch.Batch) error {
		if calls.Add(1) == 1 {
			return errors.New("first attempt fails")
		}
		return nil
	})
	p := mustPipeline(t, Config{Dispatcher: d, DeadLetter: &deadLetters{}, Workers: 1,
		RetryBase: time.Millisecond, RetryMax: time.Millisecond,
		Batch: batch.Config{MaxRecords: 3, MaxWait: time.Hour}})
	for i := range 3 {
		if err := p.Publish(rec("fn", fmt.Sprintf("k%d", i), i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := p.Stats()
	if s.Retried != 3 || s.RetryAttempts != 1 {
		t.Errorf("Retried %d, RetryAttempts %d; want 3 and 1", s.Retried, s.RetryAttempts)
	}
	if want := "retried 3 records in 1 attempt,"; !strings.Contains(s.String(), want) {
		t.Errorf("Stats.String() = %q, want it to contain %q", s, want)
	}
}
