// This file is the retry policy shared by every delivery stage: the
// Pipeline's lanes and any durable stage built on a queue of its own (such
// as dispatch/jetstream). After a failed attempt, RetryPolicy.Next decides
// between another attempt, after how long, and the dead letter, with its
// reason:
//
//   - a permanent error (ErrPermanent) ends the retries at once;
//   - 1+MaxRetries failed attempts end them;
//   - a retry that would start more than MaxEventAge after the record
//     arrived is not made.
//
// The delay before retry n (1, 2, …) is exponential with full jitter, a
// uniformly random time in [0, min(RetryMax, RetryBase·2^(n-1))), and at
// least the Retry-After the target asked for (RetryAfterError, or an HTTP 429
// or 503 with Retry-After).

package dispatch

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/notifymux/notifymux/batch"
)

// RetryPolicy is when to retry a failed delivery and when to give it up.
// Config.RetryPolicy returns the Pipeline's; a durable stage uses the same
// type, so both decide alike.
type RetryPolicy struct {
	// MaxRetries is the number of attempts after the first (0: none).
	MaxRetries int
	// RetryBase and RetryMax shape the full-jitter backoff: before retry n
	// the wait is uniform in [0, min(RetryMax, RetryBase·2^(n-1))).
	RetryBase, RetryMax time.Duration
	// MaxEventAge bounds how long a record is retried, counted from its
	// arrival: a retry that would start later is not made. 0: no bound.
	MaxEventAge time.Duration
}

// RetryPolicy returns the retry policy of c, defaults filled in. A Config
// that NewPipeline would refuse yields the zero RetryPolicy and the
// *ConfigError.
func (c Config) RetryPolicy() (RetryPolicy, error) {
	if c.Dispatcher == nil { // withDefaults insists on one; the policy needs none
		c.Dispatcher = Func(func(context.Context, batch.Batch) error { return nil })
	}
	if c.DeadLetter == nil && c.DeadLetterPath == "" {
		c.DeadLetterPath = "-"
	}
	c, err := c.withDefaults()
	if err != nil {
		return RetryPolicy{}, err
	}
	return c.retryPolicy(), nil
}

// retryPolicy returns the policy of a Config whose defaults are filled in.
func (c *Config) retryPolicy() RetryPolicy {
	return RetryPolicy{MaxRetries: c.MaxRetries, RetryBase: c.RetryBase, RetryMax: c.RetryMax, MaxEventAge: c.MaxEventAge}
}

// Next decides what follows the failure err of attempt number attempts (1
// for the first) of a record or batch that arrived at arrived, the attempt
// having ended at now. It returns the wait before the next attempt, or a
// non-empty reason to give the delivery up, with the error to record in the
// dead letter (err itself, or err wrapped with why the age ran out).
func (p RetryPolicy) Next(err error, attempts int, arrived, now time.Time) (wait time.Duration, reason DeadLetterReason, cause error) {
	switch {
	case IsPermanent(err):
		return 0, ReasonPermanent, err
	case attempts > p.MaxRetries:
		return 0, ReasonRetries, err
	}
	wait = backoff(p.RetryBase, p.RetryMax, attempts)
	if ra := retryDelay(err); ra > wait {
		wait = ra
	}
	if p.MaxEventAge > 0 && now.Add(wait).Sub(arrived) > p.MaxEventAge {
		return 0, ReasonMaxAge, fmt.Errorf("dispatch: next attempt in %v would pass MaxEventAge %v: %w", wait, p.MaxEventAge, err)
	}
	return wait, "", err
}

// Expired reports whether a record that arrived at arrived is past
// MaxEventAge at now, so that it must be dead-lettered (ReasonMaxAge)
// without another attempt.
func (p RetryPolicy) Expired(arrived, now time.Time) bool {
	return p.MaxEventAge > 0 && now.Sub(arrived) > p.MaxEventAge
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

// Attempt makes one Dispatch call of b on d, bounded by timeout when it is
// positive. A panic in d becomes a permanent error, so that the batch is
// dead-lettered instead of the process losing everything it holds.
func Attempt(ctx context.Context, d Dispatcher, b batch.Batch, timeout time.Duration) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = Permanent(fmt.Errorf("dispatch: Dispatcher panicked for target %q: %v", b.Target, v))
		}
	}()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	return d.Dispatch(ctx, b)
}

// WriteDeadLetter hands dl to the dead-letter dispatcher d: with
// DispatchDeadLetter when d is a DeadLetterDispatcher (the reason and last
// error are kept), else with Dispatch.
func WriteDeadLetter(ctx context.Context, d Dispatcher, dl DeadLetter) error {
	if dd, ok := d.(DeadLetterDispatcher); ok {
		return dd.DispatchDeadLetter(ctx, dl)
	}
	return d.Dispatch(ctx, dl.Batch)
}
