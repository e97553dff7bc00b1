// This file is a pipeline worker: it owns a batch.Batcher and feeds it the
// records routed to it, in arrival order.
//
// The inbox is a list of fixed-size chunks of records guarded by the worker's
// mutex. The worker takes the whole list at once, so a publisher holds the
// lock for one copy into the tail chunk and the worker for two pointers;
// records are then added to the Batcher without any lock. Chunks never grow
// or move (no reallocation and copying of a large slice under overload), so
// the inbox costs the records it holds plus at most spareChunks empty chunks
// kept for reuse: its memory follows the queue limits up and back down. When the inbox is empty the worker marks
// itself idle and sleeps until a publisher wakes it, the earliest open
// batch's MaxWait passes (Batcher.Next, on the pipeline's Clock), or Close.
// Completed batches are appended to a delivery lane (emit) and never waited
// for, so a slow target cannot hold up the records of others. A record the
// Batcher refuses (too large for MaxBytes, invalid) goes to its lane as a
// batch without payload, to be dead-lettered with ReasonInvalid; such a
// batch was not made by the Batcher and is never recycled.

package dispatch

import (
	"sync"
	"time"

	"github.com/notifymux/notifymux/batch"
)

// chunkRecords is the number of records in an inbox chunk (about 35 KB).
const chunkRecords = 128

// spareChunks is the number of empty chunks a worker keeps for reuse.
const spareChunks = 8

// chunk is a piece of a worker's inbox.
type chunk struct {
	recs [chunkRecords]batch.Record
	n    int
	next *chunk
}

type worker struct {
	p       *Pipeline
	id      int
	batcher *batch.Batcher // only the worker goroutine touches it
	wake    chan struct{}  // capacity 1

	mu         sync.Mutex
	head, tail *chunk // the inbox
	free       *chunk // empty chunks for reuse
	nfree      int
	idle       bool
	closing    bool
}

// push appends *r to the inbox; it returns false once the worker is closing.
func (w *worker) push(r *batch.Record) bool {
	w.mu.Lock()
	if w.closing {
		w.mu.Unlock()
		return false
	}
	c := w.tail
	if c == nil || c.n == chunkRecords {
		c = w.free
		if c != nil {
			w.free, c.next = c.next, nil
			w.nfree--
		} else {
			c = new(chunk)
		}
		if w.tail == nil {
			w.head = c
		} else {
			w.tail.next = c
		}
		w.tail = c
	}
	c.recs[c.n] = *r
	c.n++
	wake := w.idle
	w.idle = false
	w.mu.Unlock()
	if wake {
		w.signal()
	}
	return true
}

// recycle clears c and keeps it for reuse if fewer than spareChunks are kept.
func (w *worker) recycle(c *chunk) {
	clear(c.recs[:c.n]) // drop references for the GC
	c.n, c.next = 0, nil
	w.mu.Lock()
	if w.nfree < spareChunks {
		c.next = w.free
		w.free = c
		w.nfree++
	}
	w.mu.Unlock()
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
		list := w.head
		w.head, w.tail = nil, nil
		closing := w.closing
		if list == nil && !closing {
			w.idle = true
		}
		w.mu.Unlock()

		if list != nil {
			now := clock.Now()
			for c := list; c != nil; {
				for i := range c.recs[:c.n] {
					if err := w.batcher.Add(c.recs[i], now); err != nil {
						w.refuse(c.recs[i], err, now)
					}
				}
				next := c.next
				w.recycle(c) // at once, so a long backlog does not pin its chunks
				c = next
			}
			if next, ok := w.batcher.Next(); ok && !now.Before(next) {
				w.batcher.Due(now)
			}
			continue
		}
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

// emit hands a completed batch to its target's lane for this worker. With
// RecycleBatches the job names this worker's Batcher, so that the lane can
// hand the batch's memory back to it once the batch is settled.
func (w *worker) emit(b batch.Batch) {
	t := (*w.p.targets.Load())[b.Target]
	j := job{b: b}
	if w.p.cfg.RecycleBatches {
		j.from = w.batcher
	}
	t.lanes[w.id%len(t.lanes)].push(j)
}

// refuse sends a record the Batcher refused to be dead-lettered.
func (w *worker) refuse(r batch.Record, err error, now time.Time) {
	t := (*w.p.targets.Load())[r.Target]
	b := batch.Batch{Target: r.Target, Format: w.p.cfg.Batch.Format, Records: []batch.Record{r}, Opened: now}
	t.lanes[w.id%len(t.lanes)].push(job{b: b, err: err})
}
