// This file is a delivery lane: one goroutine per (target, lane number) that
// delivers the batches of its queue one at a time, retrying each until it is
// delivered, a permanent error comes, the attempts run out, the next attempt
// would pass the maximum event age, or the pipeline is stopped; in the last
// four cases the batch goes to the dead-letter dispatcher.
//
// What follows a failed attempt is decided by the Config's RetryPolicy
// (retry.go), shared with durable stages: exponential backoff with full
// jitter, at least the target's Retry-After, within the attempts and the
// maximum event age. Waits use the pipeline's Clock, so
// a test can compress hours into milliseconds. Because a lane delivers in
// queue order and retries in place, the batches of a key (one worker, one
// lane) arrive in order even when some attempts fail; the price is that a
// failing batch holds up the lane's later batches until it is resolved.
//
// Recycling (Config.RecycleBatches): deliver is the one place where a batch's
// fate becomes final, and the lane holds the only reference to it inside the
// pipeline (the worker gave it up in emit; run clears the job slot after
// deliver; Stats holds counters only). So deliver hands the batch back to the
// Batcher that built it right after the Dispatcher accepted it or the
// dead-letter dispatcher did, and never between attempts. The lane runs on
// its own goroutine while the worker keeps using its Batcher: that is safe
// because Batcher.Recycle is the one Batcher method safe for concurrent use
// (it puts the memory into that Batcher's sync.Pools, from which the
// worker's goroutine takes it for a later batch; the Pool orders the hand-
// over, so the worker's writes happen after every read made by Dispatch).

package dispatch

import (
	"context"
	"fmt"
	"sync"

	"github.com/notifymux/notifymux/batch"
)

// job is a batch to deliver, or with err set, one to dead-letter at once.
type job struct {
	b   batch.Batch
	err error
	// from is the Batcher that built b, set only with Config.RecycleBatches:
	// b goes back to it (Recycle) once delivered or dead-lettered.
	from *batch.Batcher
}

type lane struct {
	p    *Pipeline
	t    *target
	wake chan struct{} // capacity 1

	mu      sync.Mutex
	queue   []job
	idle    bool
	closing bool
}

func (l *lane) push(j job) {
	l.mu.Lock()
	l.queue = append(l.queue, j)
	wake := l.idle
	l.idle = false
	l.mu.Unlock()
	if wake {
		l.signal()
	}
}

func (l *lane) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// close makes the lane exit once its queue is empty.
func (l *lane) close() {
	l.mu.Lock()
	l.closing = true
	l.mu.Unlock()
	l.signal()
}

func (l *lane) run() {
	defer l.p.lanesDone.Done()
	var jobs []job
	for {
		l.mu.Lock()
		jobs, l.queue = l.queue, jobs[:0]
		if len(jobs) == 0 {
			if l.closing {
				l.mu.Unlock()
				return
			}
			l.idle = true
			l.mu.Unlock()
			<-l.wake
			continue
		}
		l.mu.Unlock()
		for i := range jobs {
			l.deliver(&jobs[i])
			jobs[i] = job{}
		}
	}
}

// deliver delivers or dead-letters j.
func (l *lane) deliver(j *job) {
	p := l.p
	cfg := &p.cfg
	n := len(j.b.Records)
	if j.err != nil {
		l.settle(j, DeadLetter{Batch: j.b, Reason: ReasonInvalid, Err: j.err})
		return
	}
	d := DeadLetter{Batch: j.b}
	for {
		if p.ctx.Err() != nil {
			d.Reason = ReasonClosed
			if d.Err == nil {
				d.Err = fmt.Errorf("dispatch: pipeline closed before delivery: %w", context.Cause(p.ctx))
			}
			l.settle(j, d)
			return
		}
		start := cfg.Clock.Now()
		if d.Attempts == 0 {
			d.FirstAttempt = start
		}
		d.Attempts++
		err := l.attempt(j.b)
		d.LastAttempt = cfg.Clock.Now()
		if err == nil {
			l.t.delivered.Add(uint64(n))
			l.t.batches.Add(1)
			l.t.release(n)
			l.recycle(j)
			return
		}
		wait, reason, cause := cfg.retryPolicy().Next(err, d.Attempts, j.b.Opened, d.LastAttempt)
		d.Err = cause
		if (reason == "" || reason == ReasonMaxAge) && p.ctx.Err() != nil {
			reason, d.Err = ReasonClosed, err
		}
		if reason != "" {
			d.Reason = reason
			l.settle(j, d)
			return
		}
		l.t.retried.Add(uint64(n))
		l.t.retryRequests.Add(1)
		select {
		case <-cfg.Clock.After(wait):
		case <-p.ctx.Done():
		}
	}
}

// attempt makes one Dispatch call (see Attempt).
func (l *lane) attempt(b batch.Batch) error {
	return Attempt(l.p.ctx, l.p.cfg.Dispatcher, b, l.p.cfg.AttemptTimeout)
}

// deadLetter hands d to the dead-letter dispatcher and settles its records.
// It reports whether the dead-letter dispatcher took it.
func (l *lane) deadLetter(d DeadLetter) bool {
	p := l.p
	n := len(d.Batch.Records)
	d.Time = p.cfg.Clock.Now()
	ctx := context.WithoutCancel(p.ctx) // dead letters are written even after a hard stop
	if err := WriteDeadLetter(ctx, p.deadLetter, d); err != nil {
		l.t.deadLetterFailed.Add(uint64(n))
		if p.cfg.OnDeadLetterError != nil {
			p.cfg.OnDeadLetterError(d, err)
		}
		l.t.release(n)
		return false
	}
	l.t.deadLettered.Add(uint64(n))
	l.t.release(n)
	return true
}

// recycle hands j's batch back to the Batcher that built it, if any (see the
// file comment). j.b must not be used afterwards.
func (l *lane) recycle(j *job) {
	if j.from != nil {
		j.from.Recycle(j.b)
		j.from, j.b = nil, batch.Batch{}
	}
}

// settle dead-letters d, the story of j, and recycles j's batch if the
// dead-letter dispatcher took it. A batch whose dead letter failed is not
// recycled: OnDeadLetterError may have kept it.
func (l *lane) settle(j *job, d DeadLetter) {
	if l.deadLetter(d) {
		l.recycle(j)
	}
}
