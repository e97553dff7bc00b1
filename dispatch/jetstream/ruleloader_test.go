package jetstream

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/notifymux/notifymux/dispatch/rulecache"
	"github.com/notifymux/notifymux/match"
)

// A rule cache fed from the key-value bucket: a miss loads the stored XML,
// a configuration change seen by Watch invalidates the cached rules.
func TestRuleLoaderFeedsRuleCache(t *testing.T) {
	e := newEnv(t, StreamConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := OpenConfigStore(ctx, e.js, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	const jpg = `<NotificationConfiguration><CloudFunctionConfiguration><Id>jpg</Id>` +
		`<Filter><S3Key><FilterRule><Name>suffix</Name><Value>.jpg</Value></FilterRule></S3Key></Filter>` +
		`<CloudFunction>qcs::scf:ap-guangzhou:appid/1253970026:namespace/default/function/thumbs</CloudFunction>` +
		`<Event>cos:ObjectCreated:*</Event></CloudFunctionConfiguration></NotificationConfiguration>`
	png := strings.Replace(jpg, ".jpg", ".png", 1)
	if _, err := s.Put(ctx, "photos", []byte(jpg)); err != nil {
		t.Fatal(err)
	}
	c, err := rulecache.New(rulecache.Config{Loader: RuleLoader{Store: s}, Buckets: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() {
		_ = s.Watch(ctx, func(ch ConfigChange, ready bool) error {
			if !ready {
				c.Invalidate(ch.Bucket)
			}
			return nil
		})
	}()
	matches := func(key string) bool {
		r, err := c.Load(ctx, "photos")
		if err != nil {
			t.Fatal(err)
		}
		_, ok := r.Match(match.ObjectCreatedPut, key)
		return ok
	}
	if !matches("a.jpg") || matches("a.png") {
		t.Fatal("the loaded rules do not match as the stored XML says")
	}
	if r, err := c.Load(ctx, "unconfigured"); err != nil || r.Len() != 0 {
		t.Errorf("a bucket never configured: %d rules, err %v; want none", r.Len(), err)
	}
	if _, err := s.Put(ctx, "photos", []byte(png)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the cached rules did not follow the new configuration", func() bool {
		return matches("a.png") && !matches("a.jpg")
	})
	if _, err := s.Put(ctx, "broken", []byte("<NotificationConfiguration><Nope")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Load(ctx, "broken"); err == nil {
		t.Error("a stored document that is not XML loaded without an error")
	}
}
