// This file keeps bucket configurations in a JetStream key-value bucket
// that every gateway watches: a PUT on one gateway is a Put here, and every
// other gateway's Watch sees it and applies it to its own index. The value
// is the bucket's configuration document as the gateway stores it (the
// bytes GET answers); this file does not parse it.
//
// A bucket name is its key. S3 and COS bucket names (lowercase letters,
// digits, hyphens and dots, not at either end) are valid key-value keys as
// they are; any other name is refused with an error that names it.

package jetstream

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// ConfigStore is the key-value bucket of configurations. It is safe for
// concurrent use.
type ConfigStore struct {
	kv   jetstream.KeyValue
	name string
}

// ErrBadBucketName is wrapped by the error of a ConfigStore call given a
// bucket name that cannot be a key.
var ErrBadBucketName = errors.New("bucket name cannot be a configuration key")

// OpenConfigStore opens the key-value bucket name (default
// notifymux-configs), creating it with file storage and replicas copies
// (default 1) if it does not exist.
func OpenConfigStore(ctx context.Context, js jetstream.JetStream, name string, replicas int) (*ConfigStore, error) {
	if name == "" {
		name = DefaultConfigStore
	}
	if replicas <= 0 {
		replicas = 1
	}
	var kv jetstream.KeyValue
	err := retryAdmin(ctx, func(ctx context.Context) error {
		var err error
		kv, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      name,
			Description: "notifymux: bucket notification configurations",
			History:     1,
			Storage:     jetstream.FileStorage,
			Replicas:    replicas,
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("jetstream: key-value bucket %s: %w", name, err)
	}
	return &ConfigStore{kv: kv, name: name}, nil
}

// checkBucket refuses a name that is not a valid key.
func checkBucket(bucket string) error {
	ok := bucket != "" && len(bucket) <= 255 && bucket[0] != '.' && bucket[len(bucket)-1] != '.'
	for i := 0; ok && i < len(bucket); i++ {
		c := bucket[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' && bucket[i-1] != '.'
	}
	if !ok {
		q := bucket
		if len(q) > 200 {
			q = q[:200]
		}
		return fmt.Errorf("jetstream: %w: %q", ErrBadBucketName, q)
	}
	return nil
}

// Put stores doc as the configuration of bucket and returns its revision.
func (s *ConfigStore) Put(ctx context.Context, bucket string, doc []byte) (uint64, error) {
	if err := checkBucket(bucket); err != nil {
		return 0, err
	}
	rev, err := s.kv.Put(ctx, bucket, doc)
	if err != nil {
		return 0, fmt.Errorf("jetstream: put configuration of bucket %q: %w", bucket, err)
	}
	return rev, nil
}

// Get returns the configuration of bucket and its revision; ok is false
// for a bucket never configured (or deleted).
func (s *ConfigStore) Get(ctx context.Context, bucket string) (doc []byte, rev uint64, ok bool, err error) {
	if err := checkBucket(bucket); err != nil {
		return nil, 0, false, err
	}
	e, err := s.kv.Get(ctx, bucket)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, false, nil
	}
	if err != nil {
		return nil, 0, false, fmt.Errorf("jetstream: get configuration of bucket %q: %w", bucket, err)
	}
	return e.Value(), e.Revision(), true, nil
}

// Delete removes the configuration of bucket; a bucket without one is not
// an error.
func (s *ConfigStore) Delete(ctx context.Context, bucket string) error {
	if err := checkBucket(bucket); err != nil {
		return err
	}
	if err := s.kv.Delete(ctx, bucket); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("jetstream: delete configuration of bucket %q: %w", bucket, err)
	}
	return nil
}

// ConfigChange is one configuration seen by Watch.
type ConfigChange struct {
	Bucket   string // the bucket
	Doc      []byte // its configuration; nil when Deleted
	Deleted  bool   // the configuration was removed
	Revision uint64 // the key-value revision of the change
}

// Watch calls fn with every stored configuration and every deletion still
// on record (the start-up load), then once with ready set and a zero
// ConfigChange, then with every change made by any gateway, until ctx ends
// or fn returns an error. It returns that error, or nil when ctx ended. The
// deletions of the start-up load matter to a gateway that watches again
// after a watch ended: a configuration removed in between is reported.
func (s *ConfigStore) Watch(ctx context.Context, fn func(c ConfigChange, ready bool) error) error {
	w, err := s.kv.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("jetstream: watch key-value bucket %s: %w", s.name, err)
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, open := <-w.Updates():
			if !open {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("jetstream: watch of key-value bucket %s ended", s.name)
			}
			if e == nil { // the end of the stored values
				if err := fn(ConfigChange{}, true); err != nil {
					return err
				}
				continue
			}
			deleted := e.Operation() != jetstream.KeyValuePut
			c := ConfigChange{Bucket: e.Key(), Deleted: deleted, Revision: e.Revision()}
			if !deleted {
				c.Doc = e.Value()
			}
			if err := fn(c, false); err != nil {
				return err
			}
		}
	}
}
