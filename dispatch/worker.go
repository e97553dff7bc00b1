// This file is a pipeline worker: it owns a batch.Batcher and feeds it the
// records routed to it, in arrival order.
//
// The inbox is a slice guarded by the worker's mutex. The worker swaps the
// whole inbox for an empty spare at once, so a publisher holds the lock for
// one append and the worker for two slice headers; records are then added to
// the Batcher without any lock. When the inbox is empty the worker marks
// itself idle and sleeps until a publisher wakes it, the earliest open
// batch's MaxWait passes (Batcher.Next, on the pipeline's Clock), or Close.
// Completed batches are appended to a delivery lane (emit) and never waited
// for, so a slow target cannot hold up the records of others. A record the
// Batcher refuses (too large for MaxBytes, invalid) goes to its lane as a
// batch without payload, to be dead-lettered with ReasonInvalid.

package dispatch

import (
	"sync"
	"time"

	"github.com/notifymux/notifymux/batch"
)

type worker struct {
	p       *Pipeline
	id      int
	batcher *batch.Batcher // only the worker goroutine touches it
	spare   []batch.Record // only the worker goroutine touches it
	wake    chan struct{}  // capacity 1

	mu      sync.Mutex
	inbox   []batch.Record
	idle    bool
	closing bool
}

// push appends *r to the inbox; it returns false once the worker is closing.
func (w *worker) push(r *batch.Record) bool {
	w.mu.Lock()
	if w.closing {
		w.mu.Unlock()
		return false
	}
	w.inbox = append(w.inbox, *r)
	wake := w.idle
	w.idle = false
	w.mu.Unlock()
	if wake {
		w.signal()
	}
	return true
}

func (w *worker) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// close makes push refuse records and wakes the worker to flush and exit.
func (w *worker) close() {
	w.mu.Lock()
	w.closing = true
	w.mu.Unlock()
	w.signal()
}

func (w *worker) run() {
	defer w.p.workersDone.Done()
	clock := w.p.cfg.Clock
	for {
		w.mu.Lock()
		recs := w.inbox
		w.inbox = w.spare[:0]
		closing := w.closing
		if len(recs) == 0 && !closing {
			w.idle = true
		}
		w.mu.Unlock()

		if len(recs) > 0 {
			now := clock.Now()
			for i := range recs {
				if err := w.batcher.Add(recs[i], now); err != nil {
					w.refuse(recs[i], err, now)
				}
			}
			clear(recs) // drop references for the GC
			w.spare = recs[:0]
			if next, ok := w.batcher.Next(); ok && !now.Before(next) {
				w.batcher.Due(now)
			}
			continue
		}
		w.spare = recs[:0]
		if closing {
			w.batcher.Flush()
			return
		}
		var timer <-chan time.Time
		if next, ok := w.batcher.Next(); ok {
			now := clock.Now()
			if !now.Before(next) {
				w.batcher.Due(now)
				w.setBusy()
				continue
			}
			timer = clock.After(next.Sub(now))
		}
		select {
		case <-w.wake:
		case <-timer:
			w.batcher.Due(clock.Now())
		}
		w.setBusy()
	}
}

// setBusy clears the idle flag after a wake-up that did not come from push.
func (w *worker) setBusy() {
	w.mu.Lock()
	w.idle = false
	w.mu.Unlock()
}

// emit hands a completed batch to its target's lane for this worker.
func (w *worker) emit(b batch.Batch) {
	t := (*w.p.targets.Load())[b.Target]
	t.lanes[w.id%len(t.lanes)].push(job{b: b})
}

// refuse sends a record the Batcher refused to be dead-lettered.
func (w *worker) refuse(r batch.Record, err error, now time.Time) {
	t := (*w.p.targets.Load())[r.Target]
	b := batch.Batch{Target: r.Target, Format: w.p.cfg.Batch.Format, Records: []batch.Record{r}, Opened: now}
	t.lanes[w.id%len(t.lanes)].push(job{b: b, err: err})
}
