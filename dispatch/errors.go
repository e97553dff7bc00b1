// This file defines the errors of package dispatch. Each kind of failure has
// a sentinel for errors.Is; the typed errors that wrap them carry the details
// (which target, which field, which status) for errors.As.
//
// The one distinction the Pipeline acts on is permanent versus retryable: an
// error for which errors.Is(err, ErrPermanent) holds ends the retries of a
// batch at once and sends it to the dead-letter dispatcher; every other error
// is retried with backoff until the attempts or the maximum event age run out.

package dispatch

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

var (
	// ErrPermanent marks a failure that retrying cannot fix (a 4xx answer,
	// an unknown target). Wrap an error with Permanent to make it one.
	ErrPermanent = errors.New("permanent failure")
	// ErrUnknownTarget is wrapped by the *UnknownTargetError a Dispatcher
	// returns for a target it has no destination for. It is permanent.
	ErrUnknownTarget = errors.New("unknown target")
	// ErrHTTPStatus is wrapped by the *StatusError HTTP.Dispatch returns for
	// an answer outside 2xx.
	ErrHTTPStatus = errors.New("unexpected HTTP status")
	// ErrQueueFull is wrapped by the *QueueFullError Pipeline.Publish returns
	// under the Reject policy when the target's queue is full. An HTTP
	// front end can answer 503 Service Unavailable.
	ErrQueueFull = errors.New("queue full")
	// ErrClosed is returned by Pipeline.Publish after Close has begun.
	ErrClosed = errors.New("pipeline closed")
	// ErrInvalidConfig is wrapped by the *ConfigError NewPipeline, NewHTTP
	// and LoadTargets return.
	ErrInvalidConfig = errors.New("invalid dispatch config")
	// ErrSignature is wrapped by the *SignatureError Verify returns.
	ErrSignature = errors.New("invalid signature")
)

// Permanent wraps err so that errors.Is(err, ErrPermanent) holds: the
// Pipeline will not retry it. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// PermanentError is a failure that retrying cannot fix.
type PermanentError struct {
	Err error // the underlying failure
}

// Error returns the underlying error's text.
func (e *PermanentError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *PermanentError) Unwrap() error { return e.Err }

// Is reports whether target is ErrPermanent.
func (e *PermanentError) Is(target error) bool { return target == ErrPermanent }

// IsPermanent reports whether errors.Is(err, ErrPermanent).
func IsPermanent(err error) bool { return errors.Is(err, ErrPermanent) }

// RetryAfter wraps err with the delay the receiver asked for before the next
// attempt; the Pipeline waits at least that long (within the maximum event
// age). A Func dispatcher can use it like an HTTP 429 with Retry-After.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &RetryAfterError{Err: err, After: d}
}

// RetryAfterError is a retryable failure with a minimum delay before the
// next attempt.
type RetryAfterError struct {
	Err   error         // the underlying failure
	After time.Duration // wait at least this long before retrying
}

// Error returns the underlying error's text and the delay.
func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("%v (retry after %v)", e.Err, e.After)
}

// Unwrap returns the underlying error.
func (e *RetryAfterError) Unwrap() error { return e.Err }

// retryDelay returns the delay err asks for (RetryAfterError or a StatusError
// with Retry-After), or 0.
func retryDelay(err error) time.Duration {
	var ra *RetryAfterError
	if errors.As(err, &ra) {
		return ra.After
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.RetryAfter
	}
	return 0
}

// UnknownTargetError reports a batch for a target the dispatcher has no
// destination for. It is permanent.
type UnknownTargetError struct {
	Target string // the target that was asked for
}

// Error names the target.
func (e *UnknownTargetError) Error() string {
	return fmt.Sprintf("dispatch: %s %q: no URL in the target table", ErrUnknownTarget, e.Target)
}

// Is reports whether target is ErrUnknownTarget or ErrPermanent.
func (e *UnknownTargetError) Is(target error) bool {
	return target == ErrUnknownTarget || target == ErrPermanent
}

// StatusError reports an HTTP answer outside 2xx. It is permanent for 3xx and
// for 4xx other than 408 (Request Timeout) and 429 (Too Many Requests), and
// retryable for those two and for 5xx.
type StatusError struct {
	Target     string        // the batch's target
	URL        string        // where it was posted
	StatusCode int           // the answer's status code
	RetryAfter time.Duration // the Retry-After of a 429 or 503, else 0
	Body       string        // the start of the answer's body, for the log
}

// Error names the target, URL and status, and quotes the body's start.
func (e *StatusError) Error() string {
	s := fmt.Sprintf("dispatch: POST %s for target %q: %d %s", e.URL, e.Target, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Body != "" {
		s += fmt.Sprintf(": %q", e.Body)
	}
	return s
}

// Is reports whether target is ErrHTTPStatus, or ErrPermanent for a status
// that retrying cannot fix.
func (e *StatusError) Is(target error) bool {
	switch target {
	case ErrHTTPStatus:
		return true
	case ErrPermanent:
		return permanentStatus(e.StatusCode)
	}
	return false
}

// permanentStatus reports whether a non-2xx status is not worth retrying.
func permanentStatus(code int) bool {
	switch {
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests:
		return false
	case code >= 500:
		return false
	}
	return true
}

// QueueFullError reports a record refused because its target's queue held
// Limit records (Reject policy).
type QueueFullError struct {
	Target string // the record's target
	Limit  int    // Config.QueueRecords
}

// Error names the target and the limit.
func (e *QueueFullError) Error() string {
	return fmt.Sprintf("dispatch: %s: target %q already holds %d records", ErrQueueFull, e.Target, e.Limit)
}

// Unwrap returns ErrQueueFull.
func (e *QueueFullError) Unwrap() error { return ErrQueueFull }

// ConfigError reports a configuration field with a value that is refused.
type ConfigError struct {
	Field  string // the field, e.g. "QueueRecords" or `Targets["thumbnail"]`
	Value  any    // the value given
	Reason string // why it is refused
}

// Error names the field, its value and the reason.
func (e *ConfigError) Error() string {
	return fmt.Sprintf("dispatch: %s = %v: %s", e.Field, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidConfig.
func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }

// SignatureError reports why Verify refused a request.
type SignatureError struct {
	Reason string // e.g. "missing X-Notifymux-Signature header"
}

// Error returns the reason.
func (e *SignatureError) Error() string { return "dispatch: " + ErrSignature.Error() + ": " + e.Reason }

// Unwrap returns ErrSignature.
func (e *SignatureError) Unwrap() error { return ErrSignature }
