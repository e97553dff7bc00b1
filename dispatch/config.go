// This file defines the Pipeline's Config, its defaults and its validation.
// Zero fields take the defaults; a value that cannot work is refused by
// NewPipeline with a *ConfigError naming the field.

package dispatch

import (
	"fmt"
	"runtime"
	"time"

	"github.com/notifymux/notifymux/batch"
)

// QueuePolicy chooses what Publish does when a target's queue is full.
type QueuePolicy uint8

// The queue policies.
const (
	// DropNewest drops the record being published, counts it in
	// Stats.Dropped and returns nil: the caller never waits and never sees
	// an error (MinIO's default). Choose it when the storage operation must
	// never be affected and losing events under overload is acceptable.
	DropNewest QueuePolicy = iota
	// Reject refuses the record with a *QueueFullError (ErrQueueFull),
	// counted in Stats.Rejected, so the caller can fail the storage
	// operation, e.g. with 503 Slow Down (Ceph's persistent topics).
	Reject
	// Block makes Publish wait until the target's queue has room (or Close
	// begins). For tests and a synchronous mode: a stalled target then
	// stalls the caller.
	Block
)

var policyNames = [...]string{DropNewest: "drop", Reject: "reject", Block: "block"}

// String returns "drop", "reject" or "block".
func (p QueuePolicy) String() string {
	if int(p) < len(policyNames) {
		return policyNames[p]
	}
	return fmt.Sprintf("dispatch.QueuePolicy(%d)", uint8(p))
}

// ParseQueuePolicy parses "drop", "reject" or "block".
func ParseQueuePolicy(s string) (QueuePolicy, error) {
	for p, n := range policyNames {
		if n == s {
			return QueuePolicy(p), nil
		}
	}
	return 0, &ConfigError{Field: "Policy", Value: s, Reason: "want drop, reject or block"}
}

// NoRetries is the Config.MaxRetries value for "never retry" (0 means the
// default).
const NoRetries = -1

// Config configures a Pipeline. Zero fields take the defaults given.
type Config struct {
	// Dispatcher delivers the batches. Required.
	Dispatcher Dispatcher
	// DeadLetter receives every batch that could not be delivered. It must
	// be safe for concurrent use. One of DeadLetter and DeadLetterPath is
	// required: the Pipeline never picks a file of its own.
	DeadLetter Dispatcher
	// DeadLetterPath is the dead-letter file used when DeadLetter is nil: a
	// DeadLetterFile, which opens (creating) the file on the first dead
	// letter and which Close closes. Its directory must exist.
	DeadLetterPath string
	// OnDeadLetterError, if set, is called (from a pipeline goroutine) when
	// DeadLetter itself fails. Those records are lost: they are counted in
	// Stats.DeadLetterFailed and this hook is the only other trace of them,
	// so log them here.
	OnDeadLetterError func(d DeadLetter, err error)

	// Batch configures the batching of each worker (MaxRecords default 10,
	// MaxBytes 256 KiB, MaxWait 100 ms, Format COS).
	Batch batch.Config

	// Workers is the number of goroutines that batch records. Records are
	// routed to a worker by xxhash of bucket and key, so the events of one
	// key keep their order. Default max(GOMAXPROCS, 4).
	Workers int
	// Concurrency is the number of batches in flight per target: each
	// target has this many delivery lanes, and worker w feeds lane
	// w mod Concurrency, which delivers one batch at a time, retries
	// included (so per-key order holds even across retries). The effective
	// concurrency is min(Workers, Concurrency). Default 4.
	Concurrency int
	// QueueRecords bounds the records a target holds at once, from Publish
	// until delivered or dead-lettered (queued, in open batches, in flight
	// and waiting for a retry). Default 10000. Rule of thumb: the records
	// one target receives during the longest outage you want to ride out
	// without Policy applying; memory is about QueueRecords × (record size
	// + encoded size, ~1–2 KB) per target.
	QueueRecords int
	// Policy is what Publish does when a target's queue is full. Default
	// DropNewest.
	Policy QueuePolicy

	// MaxRetries is the number of attempts after the first. Default 2 (as
	// SCF and Lambda); NoRetries for none.
	MaxRetries int
	// RetryBase and RetryMax shape the backoff: before retry n (1, 2, …)
	// the lane waits a uniformly random time in [0, min(RetryMax,
	// RetryBase·2^(n-1))) ("full jitter"), and at least the Retry-After the
	// target asked for. Defaults 1 min and 10 min (SCF retries after about
	// 1 and 2 minutes).
	RetryBase, RetryMax time.Duration
	// MaxEventAge bounds how long a batch is retried, counted from its
	// first record's arrival (batch.Batch.Opened): a retry that would start
	// later is not made and the batch is dead-lettered. Default 6 h
	// (Lambda's maximum).
	MaxEventAge time.Duration
	// AttemptTimeout, if set, bounds each Dispatch call with a context
	// deadline (real time). Default 0: none (the HTTP dispatcher has its
	// own Timeout).
	AttemptTimeout time.Duration

	// Clock schedules batching, backoff and event age. Default SystemClock.
	Clock Clock

	// RecycleBatches makes the Pipeline reuse the memory of a batch (its
	// Payload and Records) for later batches once the batch's fate is final:
	// delivered, or accepted by the dead-letter dispatcher (also when Close
	// gives up on it). That saves allocating and collecting a payload per
	// batch. A batch is never recycled before its last attempt: retries and
	// the dead letter get the same bytes as the first attempt. A batch the
	// dead-letter dispatcher failed to take is not recycled, so
	// OnDeadLetterError may keep its DeadLetter.
	//
	// Default false, because it is safe only when Dispatcher and DeadLetter
	// keep nothing of a batch after Dispatch (or DispatchDeadLetter) returns:
	// no goroutine, channel, buffer or transport may read b.Payload or
	// b.Records later, or it would read another batch's bytes (see
	// Releaser). JSONLines, HTTP and the default dead-letter file are safe;
	// for a Func or any other dispatcher that is not a Releaser, setting this
	// field vouches for it. NewPipeline refuses it with a *ConfigError when
	// either dispatcher is a Releaser that reports false.
	RecycleBatches bool
}

// withDefaults validates c and returns it with the defaults filled in.
func (c Config) withDefaults() (Config, error) {
	if c.Dispatcher == nil {
		return c, &ConfigError{Field: "Dispatcher", Value: nil, Reason: "required"}
	}
	if c.DeadLetter == nil && c.DeadLetterPath == "" {
		return c, &ConfigError{Field: "DeadLetter", Value: nil, Reason: "required: give a DeadLetter dispatcher or a DeadLetterPath"}
	}
	if c.Workers < 0 {
		return c, &ConfigError{Field: "Workers", Value: c.Workers, Reason: "must not be negative"}
	}
	if c.Workers == 0 {
		c.Workers = max(runtime.GOMAXPROCS(0), 4)
	}
	if c.Concurrency < 0 {
		return c, &ConfigError{Field: "Concurrency", Value: c.Concurrency, Reason: "must not be negative"}
	}
	if c.Concurrency == 0 {
		c.Concurrency = 4
	}
	if c.QueueRecords < 0 {
		return c, &ConfigError{Field: "QueueRecords", Value: c.QueueRecords, Reason: "must not be negative"}
	}
	if c.QueueRecords == 0 {
		c.QueueRecords = 10000
	}
	if int(c.Policy) >= len(policyNames) {
		return c, &ConfigError{Field: "Policy", Value: c.Policy, Reason: "want DropNewest, Reject or Block"}
	}
	switch {
	case c.MaxRetries < NoRetries:
		return c, &ConfigError{Field: "MaxRetries", Value: c.MaxRetries, Reason: "must be NoRetries (-1), 0 (default 2) or positive"}
	case c.MaxRetries == 0:
		c.MaxRetries = 2
	case c.MaxRetries == NoRetries:
		c.MaxRetries = 0
	}
	if c.RetryBase < 0 {
		return c, &ConfigError{Field: "RetryBase", Value: c.RetryBase, Reason: "must not be negative"}
	}
	if c.RetryBase == 0 {
		c.RetryBase = time.Minute
	}
	if c.RetryMax < 0 {
		return c, &ConfigError{Field: "RetryMax", Value: c.RetryMax, Reason: "must not be negative"}
	}
	if c.RetryMax == 0 {
		c.RetryMax = max(10*time.Minute, c.RetryBase)
	}
	if c.RetryMax < c.RetryBase {
		return c, &ConfigError{Field: "RetryMax", Value: c.RetryMax, Reason: fmt.Sprintf("must not be below RetryBase (%v)", c.RetryBase)}
	}
	if c.MaxEventAge < 0 {
		return c, &ConfigError{Field: "MaxEventAge", Value: c.MaxEventAge, Reason: "must not be negative"}
	}
	if c.MaxEventAge == 0 {
		c.MaxEventAge = 6 * time.Hour
	}
	if c.AttemptTimeout < 0 {
		return c, &ConfigError{Field: "AttemptTimeout", Value: c.AttemptTimeout, Reason: "must not be negative"}
	}
	if c.Clock == nil {
		c.Clock = SystemClock{}
	}
	if c.RecycleBatches {
		for _, d := range []struct {
			name string
			d    Dispatcher
		}{{"Dispatcher", c.Dispatcher}, {"DeadLetter", c.DeadLetter}} {
			if r, ok := d.d.(Releaser); ok && !r.ReleasesBatches() {
				return c, &ConfigError{Field: "RecycleBatches", Value: true,
					Reason: fmt.Sprintf("the %s (%T) keeps batches after Dispatch returns (its ReleasesBatches reports false)", d.name, d.d)}
			}
		}
	}
	return c, nil
}
