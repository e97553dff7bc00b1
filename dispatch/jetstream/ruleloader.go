// This file reads a bucket's rules from the key-value bucket of
// configurations, for a gateway that keeps only the rules of hot buckets in
// memory (dispatch/rulecache): on a cache miss the configuration document is
// fetched with one Get and parsed into rules.

package jetstream

import (
	"bytes"
	"context"

	"github.com/notifymux/notifymux/match"
	"github.com/notifymux/notifymux/match/config"
)

// RuleLoader loads the rules of one bucket from a ConfigStore. Its
// LoadRules method makes it a rulecache.Loader. It is safe for concurrent
// use.
type RuleLoader struct {
	// Store holds the configurations. Required.
	Store *ConfigStore
	// Parse turns a stored document into the bucket's rules. Default: the
	// document is S3 or COS notification XML (config.ReadXML).
	Parse func(bucket string, doc []byte) ([]match.Rule, error)
}

// LoadRules returns the rules of bucket: none (nil, nil) for a bucket
// never configured, else its parsed configuration.
func (l RuleLoader) LoadRules(ctx context.Context, bucket string) ([]match.Rule, error) {
	doc, _, ok, err := l.Store.Get(ctx, bucket)
	if err != nil || !ok {
		return nil, err
	}
	if l.Parse != nil {
		return l.Parse(bucket, doc)
	}
	return config.ReadXML(bytes.NewReader(doc), bucket)
}
