// This file is the delivery side: a loop that fetches records from the
// durable pull consumer shared by every gateway, groups them per target
// with a batch.Batcher, and delivers each batch through a dispatch.Dispatcher
// on one of Concurrency goroutines.
//
// A fetch asks for up to MaxRecords·Concurrency messages and waits at most
// the Batcher's MaxWait for them, so a record waits for its batch about as
// long as in the in-memory Pipeline; what a fetch brought is then flushed as
// batches (full ones split by MaxRecords and MaxBytes).
//
// Each message of a batch is acknowledged only after the function answered
// 2xx, or after its dead letter was stored. After a failed attempt the
// shared dispatch.RetryPolicy decides per message, from the number of times
// JetStream delivered it and the time the stream stored it: a negative
// acknowledgement with the policy's delay (full jitter, at least the
// target's Retry-After), or the dead letter with its reason. The policy's
// delays are applied per message (NakWithDelay) rather than as the
// consumer's BackOff, because a consumer's BackOff also replaces its
// AckWait: a record held by a gateway that died must come back after at most
// AckWait, whatever the retry delays.
//
// The consumer's MaxDeliver is MaxRetries+2: one delivery more than the
// policy's attempts, so that a record whose last attempt was cut short (its
// gateway died) is delivered once more and dead-lettered, rather than left
// in the stream by JetStream. The maximum event age is checked when a
// record is fetched and after each failure; the stream has no MaxAge.
//
// When the dead letter of a record cannot be stored (the dead-letter stream
// is full or unreachable), the record stays in the event stream and comes
// back after AckWait. On its last delivery (MaxDeliver), after which
// JetStream would keep it in the stream without delivering it again, it is
// stored again as a new message (message ID nmx-requeue-<stream>-<sequence>,
// its arrival time kept in a header, so its maximum event age still counts
// from the first arrival) and the old one is acknowledged.
//
// While a record is held (waiting for its batch, for a delivery slot or for
// the function), the Deliverer tells JetStream it is in progress every
// AckWait/3, so a slow function is not taken for a dead gateway. Close stops
// fetching and waits for the batches in flight; what is not delivered when
// its context ends is negatively acknowledged, for the next start or
// another gateway, and never dead-lettered.
//
// A record that arrived without a sequencer is given its sequence in the
// event stream as one (16 hexadecimal digits), so that every S3 and
// CloudEvents payload carries a sequencer a function can order by.

package jetstream

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/notifymux/notifymux/batch"
	"github.com/notifymux/notifymux/dispatch"
)

// DeliveryConfig configures a Deliverer. Zero fields take the defaults.
type DeliveryConfig struct {
	// Names are the stream, the consumer and the dead-letter stream.
	Names
	// Dispatcher delivers the batches. Required.
	Dispatcher dispatch.Dispatcher
	// DeadLetter receives the records given up. Default: a DeadStream to
	// the dead-letter stream.
	DeadLetter dispatch.Dispatcher
	// OnDeadLetterError, if set, is called when DeadLetter fails. The
	// record is then not lost: it stays in the event stream and is tried
	// again after AckWait.
	OnDeadLetterError func(d dispatch.DeadLetter, err error)
	// Batch configures the batches (MaxRecords default 10, MaxBytes 256
	// KiB, MaxWait 100 ms, Format COS).
	Batch batch.Config
	// Concurrency is the number of batches in flight. Default 4.
	Concurrency int
	// MaxRetries, RetryBase, RetryMax, MaxEventAge and AttemptTimeout are
	// the retry policy, with the meanings and defaults of dispatch.Config:
	// 2 retries, 1 min, 10 min, 6 h, none.
	MaxRetries                                       int
	RetryBase, RetryMax, MaxEventAge, AttemptTimeout time.Duration
	// AckWait is how long JetStream waits for an acknowledgement before it
	// delivers a record again (to any gateway). Default 30 s.
	AckWait time.Duration
}

// Deliverer delivers the records of the event stream. Several Deliverers,
// in one process or many, share the work through one durable consumer:
// each record is delivered by one of them (more than once only after a
// failure). Records are delivered in no particular order.
type Deliverer struct {
	cfg        DeliveryConfig
	policy     dispatch.RetryPolicy
	js         jetstream.JetStream
	cons       jetstream.Consumer
	dead       dispatch.Dispatcher
	fetchN     int
	maxDeliver int

	batcher *batch.Batcher
	pending map[string][]*held // by target, in the order added to the batcher

	fetchCtx    context.Context // ends when Close begins: no more fetches
	stopFetch   context.CancelFunc
	deliverCtx  context.Context // ends when Close's context ends: attempts are abandoned
	stopDeliver context.CancelFunc

	slots    chan struct{} // delivery slots
	inflight sync.WaitGroup
	loopDone chan struct{}
	tickDone chan struct{}

	mu   sync.Mutex
	hold map[*held]struct{} // fetched and not yet settled

	closeOnce sync.Once
	closeErr  error

	fetched, delivered, retried, deadLettered, deadLetterFailed, requeued, released, batches atomic.Uint64
	lastFetchErr                                                                             atomic.Pointer[error]
}

// held is a fetched record not yet settled.
type held struct {
	msg      jetstream.Msg
	rec      batch.Record
	seq      uint64    // its sequence in the event stream
	arrived  time.Time // when the stream first stored it
	attempts int       // deliveries so far, this one included
}

// NewDeliverer creates (or updates) the durable consumer on the event
// stream and starts delivering. The streams must exist (EnsureStreams).
// Errors name the field at fault.
func NewDeliverer(ctx context.Context, js jetstream.JetStream, cfg DeliveryConfig) (*Deliverer, error) {
	cfg.Names = cfg.Names.withDefaults()
	if cfg.Dispatcher == nil {
		return nil, &dispatch.ConfigError{Field: "DeliveryConfig.Dispatcher", Value: nil, Reason: "required"}
	}
	if cfg.Concurrency < 0 {
		return nil, &dispatch.ConfigError{Field: "DeliveryConfig.Concurrency", Value: cfg.Concurrency, Reason: "must not be negative"}
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 4
	}
	if cfg.AckWait < 0 {
		return nil, &dispatch.ConfigError{Field: "DeliveryConfig.AckWait", Value: cfg.AckWait, Reason: "must not be negative"}
	}
	if cfg.AckWait == 0 {
		cfg.AckWait = DefaultAckWait
	}
	policy, err := dispatch.Config{MaxRetries: cfg.MaxRetries, RetryBase: cfg.RetryBase, RetryMax: cfg.RetryMax,
		MaxEventAge: cfg.MaxEventAge, AttemptTimeout: cfg.AttemptTimeout}.RetryPolicy()
	if err != nil {
		return nil, err
	}
	d := &Deliverer{cfg: cfg, policy: policy, js: js, dead: cfg.DeadLetter, maxDeliver: policy.MaxRetries + 2,
		pending: map[string][]*held{}, hold: map[*held]struct{}{}}
	d.batcher, err = batch.NewBatcher(cfg.Batch, d.emit)
	if err != nil {
		return nil, fmt.Errorf("jetstream: DeliveryConfig.Batch: %w", err)
	}
	if d.dead == nil {
		d.dead = NewDeadStream(js, cfg.Names)
	}
	d.fetchN = d.batcher.Config().MaxRecords * cfg.Concurrency
	err = retryAdmin(ctx, func(ctx context.Context) error {
		var err error
		d.cons, err = js.CreateOrUpdateConsumer(ctx, cfg.Stream, jetstream.ConsumerConfig{
			Durable:       cfg.Consumer,
			Description:   "notifymux: delivery, shared by every gateway",
			AckPolicy:     jetstream.AckExplicitPolicy,
			AckWait:       cfg.AckWait,
			MaxDeliver:    d.maxDeliver,
			MaxAckPending: max(1000, 4*d.fetchN),
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("jetstream: consumer %s on stream %s: %w", cfg.Consumer, cfg.Stream, err)
	}
	d.fetchCtx, d.stopFetch = context.WithCancel(context.Background())
	d.deliverCtx, d.stopDeliver = context.WithCancel(context.Background())
	d.slots = make(chan struct{}, cfg.Concurrency)
	d.loopDone, d.tickDone = make(chan struct{}), make(chan struct{})
	go d.run()
	go d.progress()
	return d, nil
}

// run is the fetch loop.
func (d *Deliverer) run() {
	defer close(d.loopDone)
	maxWait := d.batcher.Config().MaxWait
	for d.fetchCtx.Err() == nil {
		mb, err := d.cons.Fetch(d.fetchN, jetstream.FetchMaxWait(maxWait))
		if err != nil {
			d.fetchFailed(err, maxWait)
			continue
		}
		now := time.Now()
		for m := range mb.Messages() {
			d.take(m, now)
		}
		if err := mb.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) {
			d.fetchFailed(err, 0)
		}
		d.batcher.Flush()
	}
}

// fetchFailed records err and pauses before the next fetch, so that a lost
// connection does not spin the loop.
func (d *Deliverer) fetchFailed(err error, pause time.Duration) {
	d.lastFetchErr.Store(&err)
	select {
	case <-time.After(max(pause, 100*time.Millisecond)):
	case <-d.fetchCtx.Done():
	}
}

// take adds a fetched message to the Batcher, or settles it at once when it
// cannot be delivered.
func (d *Deliverer) take(m jetstream.Msg, now time.Time) {
	d.fetched.Add(1)
	md, err := m.Metadata()
	if err != nil { // not a JetStream message: nothing to acknowledge
		return
	}
	h := &held{msg: m, seq: md.Sequence.Stream, arrived: md.Timestamp, attempts: int(md.NumDelivered)}
	if a := m.Headers().Get(headerArrived); a != "" { // requeued: the first arrival counts
		if t, err := time.Parse(time.RFC3339Nano, a); err == nil && t.Before(h.arrived) {
			h.arrived = t
		}
	}
	h.rec, err = decodeRecord(m.Data())
	if err != nil {
		d.giveUp(h, dispatch.ReasonInvalid, err, 0)
		return
	}
	if h.rec.Sequencer == "" {
		h.rec.Sequencer = streamSequencer(md.Sequence.Stream)
	}
	if h.attempts > d.policy.MaxRetries+1 {
		d.giveUp(h, dispatch.ReasonRetries, fmt.Errorf("jetstream: delivered %d times without an answer (its gateway stopped during the attempt)", h.attempts), h.attempts-1)
		return
	}
	if d.policy.Expired(h.arrived, now) {
		d.giveUp(h, dispatch.ReasonMaxAge, fmt.Errorf("jetstream: stored %v ago, over MaxEventAge %v", now.Sub(h.arrived).Round(time.Millisecond), d.policy.MaxEventAge), h.attempts-1)
		return
	}
	d.setHeld(h, true)
	t := h.rec.Target
	d.pending[t] = append(d.pending[t], h)
	if err := d.batcher.Add(h.rec, now); err != nil {
		q := d.pending[t]
		d.pending[t] = q[:len(q)-1]
		d.setHeld(h, false)
		d.giveUp(h, dispatch.ReasonInvalid, err, 0)
	}
}

// emit takes the messages of b from the pending list of its target and
// starts its delivery when a slot is free.
func (d *Deliverer) emit(b batch.Batch) {
	q := d.pending[b.Target]
	n := len(b.Records)
	hs := q[:n:n]
	if len(q) == n {
		delete(d.pending, b.Target)
	} else {
		d.pending[b.Target] = q[n:]
	}
	d.slots <- struct{}{}
	d.inflight.Add(1)
	go d.deliver(b, hs)
}

// deliver makes one attempt of b and settles each of its messages.
func (d *Deliverer) deliver(b batch.Batch, hs []*held) {
	defer func() { <-d.slots; d.inflight.Done() }()
	var err error
	if d.deliverCtx.Err() != nil {
		err = d.deliverCtx.Err()
	} else {
		err = dispatch.Attempt(d.deliverCtx, d.cfg.Dispatcher, b, d.cfg.AttemptTimeout)
	}
	for _, h := range hs {
		d.setHeld(h, false)
	}
	if err == nil {
		// Counted before the acks are sent, so that a reader who sees the
		// records gone from the stream also sees them counted.
		d.delivered.Add(uint64(len(hs)))
		d.batches.Add(1)
		for _, h := range hs {
			_ = h.msg.Ack() // a lost ack means one more delivery, never a loss
		}
		return
	}
	if d.deliverCtx.Err() != nil { // Close gave up: leave them to the next start or another gateway
		d.released.Add(uint64(len(hs)))
		for _, h := range hs {
			_ = h.msg.Nak()
		}
		return
	}
	now := time.Now()
	for _, h := range hs {
		wait, reason, cause := d.policy.Next(err, h.attempts, h.arrived, now)
		if reason == "" {
			_ = h.msg.NakWithDelay(max(wait, time.Millisecond))
			d.retried.Add(1)
			continue
		}
		d.giveUp(h, reason, cause, h.attempts)
	}
}

// giveUp dead-letters h and acknowledges it once the dead letter is stored.
// When the dead-letter dispatcher fails, h stays in the stream and comes
// back after AckWait.
func (d *Deliverer) giveUp(h *held, reason dispatch.DeadLetterReason, cause error, attempts int) {
	now := time.Now()
	dl := dispatch.DeadLetter{
		Batch:    batch.Batch{Target: h.rec.Target, Format: d.batcher.Config().Format, Records: []batch.Record{h.rec}, Opened: h.arrived},
		Reason:   reason,
		Err:      cause,
		Attempts: attempts,
		Time:     now,
	}
	if attempts > 0 {
		dl.LastAttempt = now
	}
	if h.rec.Target == "" && reason == dispatch.ReasonInvalid {
		// An undecodable message keeps its bytes in the error for the record.
		dl.Batch.Records = nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), d.cfg.AckWait)
	defer cancel()
	if err := dispatch.WriteDeadLetter(ctx, d.dead, dl); err != nil {
		d.deadLetterFailed.Add(1)
		if d.cfg.OnDeadLetterError != nil {
			d.cfg.OnDeadLetterError(dl, err)
		}
		if h.attempts >= d.maxDeliver && d.requeue(h) == nil {
			d.requeued.Add(1)
			_ = h.msg.Ack()
			return
		}
		_ = h.msg.NakWithDelay(d.cfg.AckWait)
		return
	}
	d.deadLettered.Add(1)
	_ = h.msg.Ack()
}

// streamSequencer returns the sequencer of a record that arrived without
// one: its sequence in the event stream, 16 hexadecimal digits, so that
// sequencers compare as strings in the order the stream accepted the records
// (from any gateway), as S3's do.
func streamSequencer(seq uint64) string {
	const hexDigits = "0123456789ABCDEF"
	var b [16]byte
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = hexDigits[seq&0xf]
		seq >>= 4
	}
	return string(b[:])
}

// requeue stores h's message again in the event stream, as a new message
// that keeps h's arrival time, for a record JetStream will not deliver
// again (its deliveries reached MaxDeliver).
func (d *Deliverer) requeue(h *held) error {
	msg := &nats.Msg{Subject: d.cfg.Subject, Data: h.msg.Data(), Header: nats.Header{}}
	msg.Header.Set(headerTarget, sanitizeHeader(h.rec.Target))
	msg.Header.Set(headerArrived, h.arrived.UTC().Format(time.RFC3339Nano))
	id := "nmx-requeue-" + d.cfg.Stream + "-" + strconv.FormatUint(h.seq, 10)
	ctx, cancel := context.WithTimeout(context.Background(), d.cfg.AckWait)
	defer cancel()
	_, err := d.js.PublishMsg(ctx, msg, jetstream.WithMsgID(id))
	return err
}

// setHeld adds h to the records kept in progress, or removes it.
func (d *Deliverer) setHeld(h *held, on bool) {
	d.mu.Lock()
	if on {
		d.hold[h] = struct{}{}
	} else {
		delete(d.hold, h)
	}
	d.mu.Unlock()
}

// progress tells JetStream every AckWait/3 that the held records are in
// progress, until Close ends.
func (d *Deliverer) progress() {
	defer close(d.tickDone)
	t := time.NewTicker(d.cfg.AckWait / 3)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-d.deliverCtx.Done():
			return
		}
		d.mu.Lock()
		for h := range d.hold {
			_ = h.msg.InProgress()
		}
		d.mu.Unlock()
	}
}

// Close stops fetching and waits for the batches in flight. When ctx ends
// first, attempts in flight are abandoned and their records negatively
// acknowledged: they stay in the stream, for another gateway or the next
// start, and are not dead-lettered. Close then returns an error wrapping
// ctx.Err(). It does not close the connection. Later calls return the
// first call's result.
func (d *Deliverer) Close(ctx context.Context) error {
	d.closeOnce.Do(func() {
		d.stopFetch()
		drained := make(chan struct{})
		go func() {
			<-d.loopDone
			d.inflight.Wait()
			close(drained)
		}()
		select {
		case <-drained:
		case <-ctx.Done():
			d.stopDeliver()
			<-drained
			d.closeErr = fmt.Errorf("jetstream: Close: %w before every batch was delivered; the rest stays in the stream", ctx.Err())
		}
		d.stopDeliver()
		<-d.tickDone
	})
	return d.closeErr
}

// DeliveryStats counts what a Deliverer did, in records.
type DeliveryStats struct {
	Fetched          uint64 // messages fetched, redeliveries included
	Delivered        uint64 // delivered (2xx), counted as their acks are sent
	Batches          uint64 // batches delivered
	Retried          uint64 // failed attempts left for a later delivery
	DeadLettered     uint64 // given up, dead letter stored, acknowledged
	DeadLetterFailed uint64 // given up, but the dead letter failed: left in the stream
	Requeued         uint64 // of those, stored again as new messages after their last delivery
	Released         uint64 // left unacknowledged by Close
}

// Stats returns the counts so far.
func (d *Deliverer) Stats() DeliveryStats {
	return DeliveryStats{Fetched: d.fetched.Load(), Delivered: d.delivered.Load(), Batches: d.batches.Load(),
		Retried: d.retried.Load(), DeadLettered: d.deadLettered.Load(), DeadLetterFailed: d.deadLetterFailed.Load(), Requeued: d.requeued.Load(),
		Released: d.released.Load()}
}

// LastFetchError returns the last error of a fetch, or nil.
func (d *Deliverer) LastFetchError() error {
	if p := d.lastFetchErr.Load(); p != nil {
		return *p
	}
	return nil
}
