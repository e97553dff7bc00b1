// This file adapts ConfigStore to the gateway's store of configurations
// (dispatch/gateway.ConfigStore): the same calls without a context, each
// bounded by a timeout, and All, the start-up load of every stored
// configuration from one watch of the key-value bucket.

package jetstream

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// GatewayStore is a ConfigStore with the methods a gateway's store has: a
// gateway that keeps its configurations in the shared key-value bucket uses
// it as its store, and applies the changes Watch reports. It is safe for
// concurrent use.
type GatewayStore struct {
	s       *ConfigStore
	timeout time.Duration
}

// NewGatewayStore returns s as a gateway's store; each call is bounded by
// timeout (default 10 s).
func NewGatewayStore(s *ConfigStore, timeout time.Duration) *GatewayStore {
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	return &GatewayStore{s: s, timeout: timeout}
}

// Store returns the ConfigStore.
func (g *GatewayStore) Store() *ConfigStore { return g.s }

// Get returns the configuration of bucket, or nil when it has none.
func (g *GatewayStore) Get(bucket string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), g.timeout)
	defer cancel()
	doc, _, ok, err := g.s.Get(ctx, bucket)
	if err != nil || !ok {
		return nil, err
	}
	return doc, nil
}

// Has reports whether bucket has a configuration (false when the store
// cannot be reached).
func (g *GatewayStore) Has(bucket string) bool {
	doc, err := g.Get(bucket)
	return err == nil && doc != nil
}

// Put stores doc as the configuration of bucket; an empty doc removes it.
func (g *GatewayStore) Put(bucket string, doc []byte) error {
	if len(doc) == 0 {
		return g.Delete(bucket)
	}
	ctx, cancel := context.WithTimeout(context.Background(), g.timeout)
	defer cancel()
	_, err := g.s.Put(ctx, bucket, doc)
	return err
}

// Delete removes the configuration of bucket.
func (g *GatewayStore) Delete(bucket string) error {
	ctx, cancel := context.WithTimeout(context.Background(), g.timeout)
	defer cancel()
	return g.s.Delete(ctx, bucket)
}

// All calls fn with each stored bucket and its configuration, one at a
// time (workers is not used), and stops at fn's first error. It reads them
// with one watch of the key-value bucket, bounded by ten times the timeout.
func (g *GatewayStore) All(_ int, fn func(bucket string, doc []byte) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*g.timeout)
	defer cancel()
	w, err := g.s.kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return fmt.Errorf("jetstream: read key-value bucket %s: %w", g.s.name, err)
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("jetstream: read key-value bucket %s: %w", g.s.name, ctx.Err())
		case e, open := <-w.Updates():
			if !open {
				return errors.New("jetstream: read key-value bucket " + g.s.name + ": the watch ended")
			}
			if e == nil {
				return nil // every stored value was seen
			}
			if err := fn(e.Key(), e.Value()); err != nil {
				return err
			}
		}
	}
}

// Dir names the store in messages.
func (g *GatewayStore) Dir() string { return "NATS key-value bucket " + g.s.name }
