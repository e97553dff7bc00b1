// This file is the Pipeline: it takes matched records and hands batches of
// them to a Dispatcher, asynchronously, without losing any silently.
//
// The path of a record:
//
//	Publish ──reserve a slot in the target's queue (policy when full)──▶
//	worker (xxhash of bucket+key) ── batch.Batcher per worker ──▶
//	lane (worker mod Concurrency, per target) ── Dispatch, retries ──▶
//	delivered, or dead-letter dispatcher
//
// A target's queue is a counter, not a container: Publish reserves one slot
// (an atomic add) and the slot is released only when the record is delivered
// or dead-lettered. So the bound covers every place a record can wait (worker
// inbox, open batch, lane queue, backoff), and a stalled target holds at most
// QueueRecords records however long it stalls, while other targets flow.
//
// Publish appends to the worker's inbox under the worker's mutex and wakes it
// only when it sleeps; the worker takes the whole inbox at once, so the
// cost per record is one uncontended lock, one append and two atomic adds. A
// worker never waits for delivery: completed batches are appended to the
// lane's queue. A lane delivers one batch at a time, retries included, so two
// batches holding the same key (same worker, same lane) are delivered in
// order.
//
// Close stops Publish, lets every worker flush its open batches, then lets
// every lane finish its queue. If Close's context ends first, the pipeline's
// own context is cancelled: attempts in flight are abandoned, backoffs end,
// and everything left is dead-lettered with ReasonClosed.

package dispatch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/notifymux/notifymux/batch"
)

// Pipeline batches published records per target and delivers them through a
// Dispatcher, retrying with backoff and dead-lettering what cannot be
// delivered. It is safe for concurrent use. See the package documentation
// for the delivery guarantees.
type Pipeline struct {
	cfg        Config
	deadLetter Dispatcher
	ownedDL    Closer // the dead-letter file NewPipeline opened, if any

	workers []*worker
	targets atomic.Pointer[map[string]*target] // copy on write under mu
	mu      sync.Mutex
	closed  atomic.Bool

	unmatched       atomic.Uint64
	rejectedUnknown atomic.Uint64 // ErrClosed for a target never seen before

	ctx  context.Context // cancelled when Close's context ends (hard stop)
	stop context.CancelFunc

	workersDone sync.WaitGroup
	lanesDone   sync.WaitGroup
	closeOnce   sync.Once
	closeErr    error
}

// target is the per-target state: queue depth, counters, lanes.
type target struct {
	name  string
	depth atomic.Int64 // records held (the queue)
	targetCounters

	waiters atomic.Int32 // publishers blocked under the Block policy
	mu      sync.Mutex
	space   chan struct{} // closed (and replaced) when depth drops while waiters > 0, and by Close

	lanes []*lane
}

// NewPipeline validates cfg, opens the default dead-letter file if needed and
// starts the workers. Errors name the Config field at fault.
func NewPipeline(cfg Config) (*Pipeline, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	// Validate the batch config once here, so a bad one names the field.
	if _, err := batch.NewBatcher(cfg.Batch, func(batch.Batch) {}); err != nil {
		return nil, fmt.Errorf("dispatch: Config.Batch: %w", err)
	}
	p := &Pipeline{cfg: cfg, deadLetter: cfg.DeadLetter}
	if p.deadLetter == nil {
		// The file is opened by the first dead letter; check now that it
		// can be, as far as a directory that exists.
		dir := filepath.Dir(cfg.DeadLetterPath)
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			reason := "its directory " + dir + " is not a directory"
			if err != nil {
				reason = "its directory: " + err.Error()
			}
			return nil, &ConfigError{Field: "DeadLetterPath", Value: cfg.DeadLetterPath, Reason: reason}
		}
		f := NewDeadLetterFile(cfg.DeadLetterPath)
		p.deadLetter, p.ownedDL = f, f
	}
	p.targets.Store(&map[string]*target{})
	p.ctx, p.stop = context.WithCancel(context.Background())
	p.workers = make([]*worker, cfg.Workers)
	for i := range p.workers {
		w := &worker{p: p, id: i, wake: make(chan struct{}, 1)}
		w.batcher, _ = batch.NewBatcher(cfg.Batch, w.emit)
		p.workers[i] = w
	}
	p.workersDone.Add(len(p.workers))
	for _, w := range p.workers {
		go w.run()
	}
	return p, nil
}

// Publish hands r to the pipeline and returns at once. A record without a
// Target is counted as unmatched and ignored. When r's target already holds
// QueueRecords records, the Policy decides: DropNewest drops r and returns
// nil, Reject returns a *QueueFullError, Block waits for room. After Close
// has begun, Publish returns ErrClosed. Publish does not allocate in the
// steady state. It is PublishContext with a context that never ends.
func (p *Pipeline) Publish(r batch.Record) error {
	return p.PublishContext(context.Background(), r)
}

// PublishContext is Publish with a context that bounds the wait of the
// Block policy: when ctx ends before r's target has room, r is withdrawn
// (the statistics do not count it: the caller still holds it, and may
// publish it again) and PublishContext returns an error wrapping ctx.Err().
// A record PublishContext accepted (it returned nil) is delivered or
// dead-lettered, as with Publish.
func (p *Pipeline) PublishContext(ctx context.Context, r batch.Record) error {
	if r.Target == "" {
		p.unmatched.Add(1)
		return nil
	}
	t := (*p.targets.Load())[r.Target]
	if t == nil {
		if t = p.newTarget(r.Target); t == nil {
			p.rejectedUnknown.Add(1)
			return ErrClosed
		}
	}
	t.matched.Add(1)
	if t.depth.Add(1) > int64(p.cfg.QueueRecords) {
		t.depth.Add(-1)
		if err := p.full(ctx, t); err != nil {
			return err
		}
		if p.cfg.Policy == DropNewest {
			return nil
		}
	}
	w := p.workers[batch.Route(r.Bucket, r.Key, len(p.workers))]
	if !w.push(&r) {
		t.rejected.Add(1)
		t.release(1)
		return ErrClosed
	}
	return nil
}

// full applies the policy to a record that found its target's queue full.
// It returns nil with the record dropped (DropNewest) or with a slot reserved
// (Block), and an error when the record is refused.
func (p *Pipeline) full(ctx context.Context, t *target) error {
	if p.closed.Load() {
		t.rejected.Add(1)
		return ErrClosed
	}
	switch p.cfg.Policy {
	case Reject:
		t.rejected.Add(1)
		return &QueueFullError{Target: t.name, Limit: p.cfg.QueueRecords}
	case Block:
		t.waiters.Add(1)
		defer t.waiters.Add(-1)
		for {
			// Take the channel before testing for room: a release after
			// the test closes this channel, so its wake-up is not missed.
			t.mu.Lock()
			space := t.space
			t.mu.Unlock()
			if p.closed.Load() {
				t.rejected.Add(1)
				return ErrClosed
			}
			if t.depth.Add(1) <= int64(p.cfg.QueueRecords) {
				return nil
			}
			t.depth.Add(-1)
			select {
			case <-space:
			case <-ctx.Done():
				t.matched.Add(^uint64(0)) // withdrawn: as if never published
				return fmt.Errorf("dispatch: waiting for room in the queue of target %q: %w", t.name, ctx.Err())
			}
		}
	default:
		t.dropped.Add(1)
		return nil
	}
}

// release frees n slots of t's queue and wakes blocked publishers.
func (t *target) release(n int) {
	t.depth.Add(-int64(n))
	if t.waiters.Load() > 0 {
		t.wake()
	}
}

// wake wakes every publisher waiting for room in t's queue.
func (t *target) wake() {
	t.mu.Lock()
	close(t.space)
	t.space = make(chan struct{})
	t.mu.Unlock()
}

// newTarget returns the target named name, creating it and starting its
// lanes; it returns nil once Close has begun.
func (p *Pipeline) newTarget(name string) *target {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := *p.targets.Load()
	if t := old[name]; t != nil {
		return t
	}
	if p.closed.Load() {
		return nil
	}
	t := &target{name: name, lanes: make([]*lane, p.cfg.Concurrency)}
	t.space = make(chan struct{})
	for i := range t.lanes {
		t.lanes[i] = &lane{p: p, t: t, wake: make(chan struct{}, 1)}
	}
	p.lanesDone.Add(len(t.lanes))
	for _, l := range t.lanes {
		go l.run()
	}
	m := make(map[string]*target, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[name] = t
	p.targets.Store(&m)
	return t
}

// Close stops accepting records and drains everything in flight: open
// batches are flushed and every batch is delivered (retries included) or
// dead-lettered. If ctx ends first, attempts in flight are abandoned and
// every remaining batch is dead-lettered with ReasonClosed; Close then
// returns an error wrapping ctx.Err() once that is done. Close flushes the
// Dispatcher and the dead-letter dispatcher when they are Flushers, and
// closes the dead-letter file it opened itself. Later calls return the
// first call's result.
func (p *Pipeline) Close(ctx context.Context) error {
	p.closeOnce.Do(func() { p.closeErr = p.close(ctx) })
	return p.closeErr
}

func (p *Pipeline) close(ctx context.Context) error {
	p.mu.Lock()
	p.closed.Store(true)
	targets := *p.targets.Load()
	p.mu.Unlock()
	for _, t := range targets { // wake blocked publishers: they return ErrClosed
		t.wake()
	}
	for _, w := range p.workers {
		w.close()
	}
	drained := make(chan struct{})
	go func() {
		p.workersDone.Wait() // every record is now in a lane's queue
		for _, t := range targets {
			for _, l := range t.lanes {
				l.close()
			}
		}
		p.lanesDone.Wait()
		close(drained)
	}()
	var err error
	select {
	case <-drained:
	case <-ctx.Done():
		p.stop()
		<-drained
		err = fmt.Errorf("dispatch: Close: %w before every batch was delivered; the rest was dead-lettered", ctx.Err())
	}
	p.stop()
	fctx := context.WithoutCancel(ctx)
	if f, ok := p.cfg.Dispatcher.(Flusher); ok {
		if ferr := f.Flush(fctx); ferr != nil && err == nil {
			err = fmt.Errorf("dispatch: Close: flush dispatcher: %w", ferr)
		}
	}
	if p.ownedDL != nil {
		if cerr := p.ownedDL.Close(fctx); cerr != nil && err == nil {
			err = fmt.Errorf("dispatch: Close: dead-letter file: %w", cerr)
		}
	} else if f, ok := p.deadLetter.(Flusher); ok {
		if ferr := f.Flush(fctx); ferr != nil && err == nil {
			err = fmt.Errorf("dispatch: Close: flush dead-letter dispatcher: %w", ferr)
		}
	}
	return err
}
