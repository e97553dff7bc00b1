// This file defines what a Dispatcher is: one method that delivers one batch,
// plus optional abilities (Flusher, Closer, DeadLetterDispatcher) that the
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
// the same batch again on retry and to the dead-letter dispatcher.
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

// Func is a Dispatcher that calls an in-process function.
type Func func(ctx context.Context, b batch.Batch) error

// Dispatch calls f(ctx, b).
func (f Func) Dispatch(ctx context.Context, b batch.Batch) error { return f(ctx, b) }
