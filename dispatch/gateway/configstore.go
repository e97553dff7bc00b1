// This file is what the gateway needs of a store of configurations
// (ConfigStore), which *Store and a shared key-value bucket both provide,
// and Apply: the way a configuration written by another gateway into a
// shared store takes effect in this one's index.

package gateway

import (
	"bytes"
	"context"
	"fmt"

	"github.com/notifymux/notifymux/dispatch/rulecache"
	"github.com/notifymux/notifymux/match"
	"github.com/notifymux/notifymux/match/config"
)

// ConfigStore keeps one configuration document per bucket. *Store is the
// one kept in files; its methods document the contract.
type ConfigStore interface {
	Get(bucket string) ([]byte, error)
	Has(bucket string) bool
	Put(bucket string, doc []byte) error
	Delete(bucket string) error
	All(workers int, fn func(bucket string, doc []byte) error) error
	// Dir names the store in messages: a directory, or a bucket's URL.
	Dir() string
}

var _ ConfigStore = (*Store)(nil)

// StoreLoader returns a rulecache.Loader that reads a bucket's rules from
// s (its stored XML), for Config.RuleCache.
func StoreLoader(s ConfigStore) rulecache.Loader {
	return rulecache.LoaderFunc(func(_ context.Context, bucket string) ([]match.Rule, error) {
		doc, err := s.Get(bucket)
		if err != nil || len(doc) == 0 {
			return nil, err
		}
		return config.ReadXML(bytes.NewReader(doc), bucket)
	})
}

// Apply makes doc the configuration of bucket in the index (nil or empty:
// none), without writing it to the store: it is for a configuration that
// another gateway stored in a shared ConfigStore, as a watch of the store
// reports it. A document that cannot be read, or whose rules overlap, is
// refused with an error and changes nothing. With a RuleCache, Apply drops
// the bucket's cached rules instead (the next event reloads them from the
// store), which Stats then no longer counts.
func (g *Gateway) Apply(bucket string, doc []byte) error {
	if g.cfg.RuleCache != nil {
		g.cfg.RuleCache.Invalidate(bucket)
		return nil
	}
	var rules []match.Rule
	if len(doc) > 0 {
		var err error
		if rules, err = config.ReadXML(bytes.NewReader(doc), bucket); err != nil {
			return fmt.Errorf("gateway: configuration of bucket %q from %s: %w", bucket, g.cfg.Store.Dir(), err)
		}
	}
	unlock := g.lock(bucket)
	defer unlock()
	had := len(g.index.Rules(bucket)) > 0
	if err := g.index.Replace(bucket, rules); err != nil {
		return fmt.Errorf("gateway: configuration of bucket %q from %s: %w", bucket, g.cfg.Store.Dir(), err)
	}
	switch has := len(rules) > 0; {
	case has && !had:
		g.buckets.Add(1)
	case !has && had:
		g.buckets.Add(-1)
	}
	return nil
}
