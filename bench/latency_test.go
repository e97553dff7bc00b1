package bench

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkMemoryLatency follows a random cycle of indexes through working
// sets of 1 MB to 256 MB, so each step is a load that depends on the one
// before, as Match's steps do: ns/op is the latency of one such load at that
// size on this machine. It explains why Match slows down as the rule set
// outgrows the CPU's caches while the floor, whose few entries stay cached,
// does not.
func BenchmarkMemoryLatency(b *testing.B) {
	for _, mb := range []int{1, 4, 16, 64, 256} {
		b.Run(fmt.Sprintf("MB=%d", mb), func(b *testing.B) {
			const stride = 8 // uint64s per 64-byte cache line
			lines := mb << 20 / 64
			next := make([]uint64, lines*stride)
			perm := rand.New(rand.NewPCG(1, 2)).Perm(lines)
			for i := range perm { // one cycle through every line, in random order
				next[perm[i]*stride] = uint64(perm[(i+1)%len(perm)] * stride)
			}
			p := uint64(perm[0] * stride)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				p = next[p]
			}
			sinkInt = int(p)
		})
	}
}
