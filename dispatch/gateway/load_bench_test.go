//go:build unix

package gateway_test

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/notifymux/notifymux/dispatch/gateway"
)

// BenchmarkLoad measures the start-up load of stored configurations (read,
// parse, one AddAll) at N buckets of one rule each.
func BenchmarkLoad(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			writeStored(b, dir, n)
			st, _ := gateway.OpenStore(dir)
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for b.Loop() {
				g, err := gateway.New(gateway.Config{Store: st, Keys: map[string]string{testAccessKey: testSecretKey}, IngestToken: testToken})
				if err != nil || g.Loaded().Rules != n {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/bucket")
			// The CPU time of the process (user + system) per load: on a
			// shared machine it moves less than the wall time.
			b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
		})
	}
}

// cpuTime returns the user and system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
