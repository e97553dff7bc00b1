// This file is a delivery lane: one goroutine per (target, lane number) that
// delivers the batches of its queue one at a time, retrying each until it is
// delivered, a permanent error comes, the attempts run out, the next attempt
// would pass the maximum event age, or the pipeline is stopped; in the last
// four cases the batch goes to the dead-letter dispatcher.
//
// Backoff is exponential with full jitter: before retry n the lane waits a
// uniformly random time in [0, min(RetryMax, RetryBase·2^(n-1))), or the
// target's Retry-After if that is longer. Waits use the pipeline's Clock, so
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
	"math/rand/v2"
	"sync"
	"time"

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
		d.Err = err
		switch {
		case IsPermanent(err):
			d.Reason = ReasonPermanent
		case d.Attempts > cfg.MaxRetries:
			d.Reason = ReasonRetries
		case p.ctx.Err() != nil:
			d.Reason = ReasonClosed
		}
		if d.Reason != "" {
			l.settle(j, d)
			return
		}
		wait := backoff(cfg.RetryBase, cfg.RetryMax, d.Attempts)
		if ra := retryDelay(err); ra > wait {
			wait = ra
		}
		if d.LastAttempt.Add(wait).Sub(j.b.Opened) > cfg.MaxEventAge {
			d.Reason = ReasonMaxAge
			d.Err = fmt.Errorf("dispatch: next attempt in %v would pass MaxEventAge %v: %w", wait, cfg.MaxEventAge, err)
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

// attempt makes one Dispatch call, bounded by AttemptTimeout if set. A
// panic in the Dispatcher becomes a permanent error, so the batch is
// dead-lettered instead of the process losing everything it holds.
func (l *lane) attempt(b batch.Batch) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = Permanent(fmt.Errorf("dispatch: Dispatcher panicked for target %q: %v", b.Target, v))
		}
	}()
	ctx := l.p.ctx
	if l.p.cfg.AttemptTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, l.p.cfg.AttemptTimeout)
		defer cancel()
	}
	return l.p.cfg.Dispatcher.Dispatch(ctx, b)
}

// deadLetter hands d to the dead-letter dispatcher and settles its records.
// It reports whether the dead-letter dispatcher took it.
func (l *lane) deadLetter(d DeadLetter) bool {
	p := l.p
	n := len(d.Batch.Records)
	d.Time = p.cfg.Clock.Now()
	ctx := context.WithoutCancel(p.ctx) // dead letters are written even after a hard stop
	var err error
	if dd, ok := p.deadLetter.(DeadLetterDispatcher); ok {
		err = dd.DispatchDeadLetter(ctx, d)
	} else {
		err = p.deadLetter.Dispatch(ctx, d.Batch)
	}
	if err != nil {
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

// backoff returns the full-jitter delay before retry n (n ≥ 1): uniform in
// [0, min(ceiling, base·2^(n-1))).
func backoff(base, ceiling time.Duration, n int) time.Duration {
	d := ceiling
	if n-1 < 62 {
		if e := base << (n - 1); e > 0 && e < ceiling && e>>(n-1) == base {
			d = e
		}
	}
	if d <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(d)))
}
