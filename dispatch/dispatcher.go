// This file defines what a Dispatcher is: one method that delivers one batch,
// plus optional abilities (Flusher, Closer, DeadLetterDispatcher, Releaser) that the
// Pipeline discovers with type assertions, so that a new ability never breaks
// an old plug-in. Func adapts an in-process function.

package dispatch

import (
	"context"
	"time"

	"github.com/notifymux/notifymux/batch"
)

// Dispatcher delivers batches to their target function.
//
// Dispatch returns nil once the target has accepted b. Any error means "not
// delivered": the Pipeline retries it unless errors.Is(err, ErrPermanent).
// Dispatch must honour ctx, must be safe for concurrent use, and must not
// modify or keep b.Payload or b.Records after it returns: the Pipeline sends
// the same batch again on retry and to the dead-letter dispatcher, and with
// Config.RecycleBatches it reuses their memory for a later batch as soon as
// the batch is delivered or dead-lettered (see Releaser).
type Dispatcher interface {
	Dispatch(ctx context.Context, b batch.Batch) error
}

// Flusher is a Dispatcher that buffers; Pipeline.Close calls Flush after the
// last batch.
type Flusher interface {
	Flush(ctx context.Context) error
}

// Closer is a Dispatcher that holds resources (connections, files).
// Pipeline.Close closes only the dispatchers it opened itself (the default
// dead-letter file); the caller closes the ones it passed in.
type Closer interface {
	Close(ctx context.Context) error
}

// DeadLetterDispatcher is a Dispatcher that can also record why a batch
// failed. The Pipeline calls DispatchDeadLetter on its dead-letter dispatcher
// when it has this ability, and plain Dispatch otherwise.
type DeadLetterDispatcher interface {
	Dispatcher
	DispatchDeadLetter(ctx context.Context, d DeadLetter) error
}

// Releaser is an optional ability of a Dispatcher (or dead-letter
// dispatcher): ReleasesBatches reports whether the dispatcher is done with a
// batch's Payload and Records, and everything they point to, when Dispatch
// (or DispatchDeadLetter) returns, whatever the outcome: nothing it started
// (a goroutine, a buffer, a transport still sending the body) reads or
// writes them afterwards.
//
// Only that makes Config.RecycleBatches safe, since the Pipeline then hands
// the batch's memory back to the worker that built it, to be overwritten by
// a later batch. NewPipeline refuses RecycleBatches when the Dispatcher or
// the dead-letter dispatcher is a Releaser that reports false (say, one that
// queues batches and sends them in Flush); a dispatcher that is not a
// Releaser (a Func, a plug-in written before Releaser existed) is taken on
// the word of whoever sets RecycleBatches. JSONLines and HTTP report true.
// The result must not change over the dispatcher's life.
type Releaser interface {
	ReleasesBatches() bool
}

// DeadLetterReason says why a batch was given up.
type DeadLetterReason string

// The reasons a batch is dead-lettered.
const (
	ReasonPermanent DeadLetterReason = "permanent" // the last error was permanent (ErrPermanent)
	ReasonRetries   DeadLetterReason = "retries"   // 1+MaxRetries attempts failed
	ReasonMaxAge    DeadLetterReason = "max-age"   // the next attempt would come after MaxEventAge
	ReasonClosed    DeadLetterReason = "closed"    // Close's context ended before delivery
	ReasonInvalid   DeadLetterReason = "invalid"   // the record could not be batched (too large, no valid event)
)

// DeadLetter is a batch that was given up, with the story of its attempts.
type DeadLetter struct {
	Batch        batch.Batch      // the batch; Payload is empty for ReasonInvalid
	Reason       DeadLetterReason // why it was given up
	Err          error            // the last error
	Attempts     int              // delivery attempts made (0 for ReasonInvalid)
	FirstAttempt time.Time        // when the first attempt began (zero without one)
	LastAttempt  time.Time        // when the last attempt ended (zero without one)
	Time         time.Time        // when it was dead-lettered
}

// Func is a Dispatcher that calls an in-process function. It is not a
// Releaser: only its author knows whether the function keeps a batch (hands
// it to a goroutine or a channel, stores b.Payload), so a Pipeline recycles
// a Func's batches only when Config.RecycleBatches says so. A function that
// needs a batch after it returns must copy it (bytes.Clone(b.Payload),
// slices.Clone(b.Records)) when RecycleBatches is set.
type Func func(ctx context.Context, b batch.Batch) error

// Dispatch calls f(ctx, b).
func (f Func) Dispatch(ctx context.Context, b batch.Batch) error { return f(ctx, b) }
