package main

import (
	"context"
	"flag"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/notification"
)

// propagationPuts is how many configurations TestServeConfigPropagation
// PUTs.
var propagationPuts = flag.Int("serve-propagation-puts", 200, "configurations TestServeConfigPropagation PUTs on one gateway and times on the other")

// TestServeConfigPropagation measures how soon a configuration PUT on one
// gateway is used by another: A (in this process) opens its embedded NATS
// server with -nats-listen, B (a child process) connects to it with -nats.
// Each PUT on A gives bucket photos a new prefix; B is then asked to match
// an event under that prefix, back to back, until it does. The time from
// the PUT's answer to B's first matching answer is one sample (it includes
// up to one ingest request to B beyond the moment B applied the change).
// The test logs p50, p99 and the maximum, idle and while B takes records,
// and fails only past 5 s.
func TestServeConfigPropagation(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	const secret = "propagation-secret"
	fn := newKeyCounter(t, secret)
	env := map[string]string{"NOTIFYMUX_SECRET": secret, "NOTIFYMUX_NATS_TOKEN": "propagation-token"}
	dirA, dirB := t.TempDir(), t.TempDir()
	common := []string{"-addr", "127.0.0.1:0", "-to", fn.srv.URL, "-max-wait", "5ms"}
	a := startServe(t, env, append([]string{"-data", dirA, "-nats-listen", "127.0.0.1:0"}, common...)...)
	m := regexp.MustCompile(`"nats":"embedded, listening on (nats://[0-9.:]+)"`).FindStringSubmatch(a.Stderr())
	if m == nil {
		t.Fatalf("gateway A does not log its NATS URL:\n%s", a.Stderr())
	}
	_, b := startServeChild(t, append([]string{"-data", dirB, "-nats", m[1]}, common...)...)
	tokenB := readSecretFile(t, dirB, "ingest-token")

	c, err := minio.New(strings.TrimPrefix(a.url, "http://"), &minio.Options{
		Creds: credentials.NewStaticV4(readSecretFile(t, dirA, "access-key"), readSecretFile(t, dirA, "secret-key"), "")})
	if err != nil {
		t.Fatal(err)
	}
	arn, _ := notification.NewArnFromString("arn:aws:lambda:us-east-1:1:thumbs")
	measure := func(phase string, first int) {
		samples := make([]time.Duration, 0, *propagationPuts)
		polls := 0
		for i := first; i < first+*propagationPuts; i++ {
			prefix := fmt.Sprintf("v%d/", i)
			cfg := notification.NewConfig(arn)
			cfg.AddEvents(notification.ObjectCreatedAll)
			cfg.AddFilterPrefix(prefix)
			var nc notification.Configuration
			nc.AddLambda(cfg)
			if err := c.SetBucketNotification(context.Background(), "photos", nc); err != nil {
				t.Fatal(err)
			}
			put := time.Now()
			probe := fmt.Sprintf(`{"bucket":"photos","event":"cos:ObjectCreated:Put","key":"%sprobe.jpg","region":"ap-guangzhou"}`, prefix)
			for {
				polls++
				if _, ans := ingestAt(t, b.url, tokenB, probe); strings.Contains(ans, `"matched":1`) {
					break
				}
				if time.Since(put) > 5*time.Second {
					t.Fatalf("%s, PUT %d: gateway B does not match with A's configuration after 5 s", phase, i)
				}
			}
			samples = append(samples, time.Since(put))
		}
		slices.Sort(samples)
		n := len(samples)
		t.Logf("%s: %d PUTs on A used by B's ingest after p50 %v, p99 %v, max %v (%d ingest requests to B)",
			phase, n, samples[n/2], samples[(99*n+99)/100-1], samples[n-1], polls)
	}
	measure("idle", 0)

	// Again while 2 clients post 100 records at a time to B (matched by
	// the bucket "load", delivered to the function).
	setRules(t, a, readSecretFile(t, dirA, "access-key"), readSecretFile(t, dirA, "secret-key"), "load", "l/")
	var body strings.Builder
	for k := range 100 {
		fmt.Fprintf(&body, `{"bucket":"load","event":"cos:ObjectCreated:Put","key":"l/k%d.jpg","region":"ap-guangzhou"}`+"\n", k)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var loaded atomic.Int64
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if code, _ := ingestAt(t, b.url, tokenB, body.String()); code == 202 {
					loaded.Add(100)
				}
			}
		})
	}
	start := time.Now()
	measure("under ingest load", *propagationPuts)
	close(stop)
	wg.Wait()
	t.Logf("B took %d records meanwhile (%.0f/s)", loaded.Load(), float64(loaded.Load())/time.Since(start).Seconds())
	if loaded.Load() == 0 {
		t.Error("no load reached B")
	}
}
