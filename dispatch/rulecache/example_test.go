package rulecache_test

import (
	"context"
	"fmt"

	"github.com/notifymux/notifymux/dispatch/rulecache"
	"github.com/notifymux/notifymux/match"
)

func Example() {
	// The Loader reads a bucket's rules from wherever configurations are
	// stored (a key-value bucket, a directory, a database).
	stored := map[string][]match.Rule{
		"photos": {{ID: "thumbs", Bucket: "photos", Events: match.ObjectCreatedPut.Set(), Suffix: ".jpg", Target: "thumbnailer"}},
	}
	loader := rulecache.LoaderFunc(func(_ context.Context, bucket string) ([]match.Rule, error) {
		fmt.Println("load", bucket)
		return stored[bucket], nil
	})
	c, err := rulecache.New(rulecache.Config{Loader: loader, MaxBytes: 64 << 20, Buckets: 1000})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	ctx := context.Background()
	for _, key := range []string{"a.jpg", "b.png"} {
		rules, err := c.Load(ctx, "photos") // waits for the Loader on a miss
		if err != nil {
			fmt.Println(err)
			return
		}
		c.Wait() // only so that the example's second Load is a hit
		if r, ok := rules.Match(match.ObjectCreatedPut, key); ok {
			fmt.Println(key, "→", r.Target)
		} else {
			fmt.Println(key, "→ no rule")
		}
	}
	fmt.Printf("%+v\n", c.Stats().Misses)
	// Output:
	// load photos
	// a.jpg → thumbnailer
	// b.png → no rule
	// 1
}
