package fuzz

import (
	"hash/fnv"
	"math/rand/v2"
)

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }

// randFor returns a generator seeded by data, so fuzz inputs stay deterministic.
func randFor(data []byte) *rand.Rand {
	h := fnv.New64a()
	h.Write(data)
	return newRand(h.Sum64())
}
