// This file names the JetStream objects durable delivery uses and creates
// them: the stream of accepted records, the dead-letter stream and the
// durable pull consumer that every gateway shares.
//
// The event stream is a work queue: a record is removed once a gateway
// acknowledges it (delivered, or dead-lettered), so its storage holds only
// what is still to deliver. Both streams use file storage and DiscardNew:
// when one is full, a publish is refused (ErrStreamFull) and nothing already
// stored is removed. Neither has a MaxAge: age is checked at delivery, where
// an expired record is dead-lettered with a trace, never deleted silently.

package jetstream

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/notifymux/notifymux/dispatch"
)

// The default names.
const (
	DefaultStream      = "NOTIFYMUX_EVENTS"
	DefaultDeadStream  = "NOTIFYMUX_DEAD"
	DefaultConsumer    = "notifymux-delivery"
	DefaultConfigStore = "notifymux-configs"
	DefaultAckWait     = 30 * time.Second
)

// Names are the names of the JetStream objects. Zero fields take the
// defaults: stream NOTIFYMUX_EVENTS (subject notifymux.events), dead-letter
// stream NOTIFYMUX_DEAD (subject notifymux.dead), consumer
// notifymux-delivery, key-value bucket notifymux-configs.
type Names struct {
	Stream      string // the stream of accepted records
	Subject     string // the subject records are published on
	DeadStream  string // the dead-letter stream
	DeadSubject string // the subject dead letters are published on
	Consumer    string // the durable consumer every gateway shares
	ConfigStore string // the key-value bucket of configurations
}

// withDefaults returns n with the defaults filled in.
func (n Names) withDefaults() Names {
	if n.Stream == "" {
		n.Stream = DefaultStream
	}
	if n.Subject == "" {
		n.Subject = "notifymux.events"
	}
	if n.DeadStream == "" {
		n.DeadStream = DefaultDeadStream
	}
	if n.DeadSubject == "" {
		n.DeadSubject = "notifymux.dead"
	}
	if n.Consumer == "" {
		n.Consumer = DefaultConsumer
	}
	if n.ConfigStore == "" {
		n.ConfigStore = DefaultConfigStore
	}
	return n
}

// StreamConfig configures the two streams.
type StreamConfig struct {
	Names
	// MaxBytes bounds the event stream's storage, in bytes. When it is
	// full, Publish returns ErrStreamFull. Default 1 GiB.
	MaxBytes int64
	// MaxMsgs bounds the records the event stream holds. Default 0: no
	// bound other than MaxBytes.
	MaxMsgs int64
	// DeadMaxBytes bounds the dead-letter stream. When it is full, a
	// record that should be dead-lettered stays in the event stream and
	// is retried later. Default 1 GiB.
	DeadMaxBytes int64
	// DuplicateWindow is how long a message ID is remembered: a publish
	// repeated within it (a client's retry) is dropped as a duplicate.
	// Default 2 min.
	DuplicateWindow time.Duration
	// Replicas is the number of copies in a cluster (1, 3 or 5). Default 1.
	Replicas int
}

// withDefaults validates c and fills in the defaults.
func (c StreamConfig) withDefaults() (StreamConfig, error) {
	c.Names = c.Names.withDefaults()
	switch {
	case c.MaxBytes < 0:
		return c, fmt.Errorf("jetstream: StreamConfig.MaxBytes = %d: must not be negative", c.MaxBytes)
	case c.MaxMsgs < 0:
		return c, fmt.Errorf("jetstream: StreamConfig.MaxMsgs = %d: must not be negative", c.MaxMsgs)
	case c.DeadMaxBytes < 0:
		return c, fmt.Errorf("jetstream: StreamConfig.DeadMaxBytes = %d: must not be negative", c.DeadMaxBytes)
	case c.DuplicateWindow < 0:
		return c, fmt.Errorf("jetstream: StreamConfig.DuplicateWindow = %v: must not be negative", c.DuplicateWindow)
	case c.Replicas < 0 || c.Replicas > 5:
		return c, fmt.Errorf("jetstream: StreamConfig.Replicas = %d: want 1 to 5", c.Replicas)
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = 1 << 30
	}
	if c.MaxMsgs == 0 {
		c.MaxMsgs = -1
	}
	if c.DeadMaxBytes == 0 {
		c.DeadMaxBytes = 1 << 30
	}
	if c.DuplicateWindow == 0 {
		c.DuplicateWindow = 2 * time.Minute
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	return c, nil
}

// EnsureStreams creates the event and dead-letter streams, or updates their
// limits when they exist. Every gateway may call it at start: the result is
// the same. It first waits, within ctx, until JetStream answers (WaitReady).
func EnsureStreams(ctx context.Context, js jetstream.JetStream, cfg StreamConfig) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	if err := WaitReady(ctx, js); err != nil {
		return err
	}
	events := jetstream.StreamConfig{
		Name:        cfg.Stream,
		Description: "notifymux: accepted records waiting for delivery",
		Subjects:    []string{cfg.Subject},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Discard:     jetstream.DiscardNew,
		MaxBytes:    cfg.MaxBytes,
		MaxMsgs:     cfg.MaxMsgs,
		Duplicates:  cfg.DuplicateWindow,
		Replicas:    cfg.Replicas,
	}
	if err := retryAdmin(ctx, func(ctx context.Context) error {
		_, err := js.CreateOrUpdateStream(ctx, events)
		return err
	}); err != nil {
		return fmt.Errorf("jetstream: stream %s: %w", cfg.Stream, err)
	}
	dead := jetstream.StreamConfig{
		Name:        cfg.DeadStream,
		Description: "notifymux: records given up, with the reason and the last error",
		Subjects:    []string{cfg.DeadSubject},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Discard:     jetstream.DiscardNew,
		MaxBytes:    cfg.DeadMaxBytes,
		Duplicates:  cfg.DuplicateWindow,
		Replicas:    cfg.Replicas,
	}
	if err := retryAdmin(ctx, func(ctx context.Context) error {
		_, err := js.CreateOrUpdateStream(ctx, dead)
		return err
	}); err != nil {
		return fmt.Errorf("jetstream: stream %s: %w", cfg.DeadStream, err)
	}
	return nil
}

// ErrStreamFull is wrapped by the *StreamFullError a publish returns when
// the stream has reached its limits (DiscardNew). Nothing stored is
// removed; the record was not accepted and the caller still holds it. An
// HTTP front end answers 503 with Retry-After. The error also matches
// dispatch.ErrQueueFull, so code written for the in-memory Pipeline's
// Reject policy handles it alike.
var ErrStreamFull = errors.New("stream full")

// StreamFullError reports a publish refused by a full stream.
type StreamFullError struct {
	Stream string // the stream's name
	Err    error  // the server's answer
}

// Error names the stream and quotes the server.
func (e *StreamFullError) Error() string {
	return fmt.Sprintf("jetstream: %s: stream %s refused the record: %v", ErrStreamFull, e.Stream, e.Err)
}

// Unwrap returns the server's answer.
func (e *StreamFullError) Unwrap() error { return e.Err }

// Is reports whether target is ErrStreamFull or dispatch.ErrQueueFull.
func (e *StreamFullError) Is(target error) bool {
	return target == ErrStreamFull || target == errQueueFull
}

// errCodeStoreFailed is JetStream's error code for a message the stream
// could not store (JSStreamStoreFailedF); its description says why.
const errCodeStoreFailed jetstream.ErrorCode = 10077

// errQueueFull is dispatch.ErrQueueFull, which a StreamFullError matches.
var errQueueFull = dispatch.ErrQueueFull

// isFull reports whether err is a stream's refusal under DiscardNew.
func isFull(err error) bool {
	var api *jetstream.APIError
	if !errors.As(err, &api) || api.ErrorCode != errCodeStoreFailed {
		return false
	}
	switch api.Description {
	case "maximum bytes exceeded", "maximum messages exceeded", "maximum messages per subject exceeded":
		return true
	}
	return false
}

// WaitReady waits until JetStream answers a request, asking again every
// 100 ms, each time for at most a second, until ctx ends. A single server
// answers at once; a cluster answers once its nodes have elected a meta
// leader, which needs a majority of them up. (Until then a request is
// left unanswered, not refused.)
func WaitReady(ctx context.Context, js jetstream.JetStream) error {
	for {
		actx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := js.AccountInfo(actx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("jetstream: no answer from JetStream (a cluster without a majority of its nodes?): %w", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// adminAttempt bounds one attempt of retryAdmin.
const adminAttempt = 2 * time.Second

// retryAdmin calls f with a context bounded by adminAttempt within ctx, and
// again while an attempt times out and ctx has time left. In a cluster, a
// request that creates a stream, consumer or key-value bucket at the same
// moment as the same request of another gateway (three gateways starting
// together) can go unanswered although the object is made; asking again
// finds it.
func retryAdmin(ctx context.Context, f func(context.Context) error) error {
	for {
		actx, cancel := context.WithTimeout(ctx, adminAttempt)
		err := f(actx)
		cancel()
		if err == nil || ctx.Err() != nil || !(errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout)) {
			return err
		}
	}
}
