// This file implements the hash of the index's two hash tables, the bucket
// table (table.go) and a large bucket's prefix table (block.go).
//
// Every lookup hashes the event's bucket name, and a lookup in a large
// bucket hashes one prefix of the key per probe, so the hash is on the
// read path's critical path. It is a multiply-and-fold hash of the shape
// of wyhash, which the Go runtime itself uses for maps where the CPU lacks
// AES instructions: each 16 bytes are two 64-bit loads folded into the
// state by one 64×64→128-bit multiply, the high and low halves XORed.
// Strings of up to 16 bytes take two loads and two multiplies, with no
// loop. Its keys are random per process, drawn from a cryptographically
// seeded generator, so that who chooses bucket names or prefixes cannot
// choose ones that collide; the tables live in memory only, so the hashes
// need not be stable across processes.

package match

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"unsafe"
)

// hashKeys are the random keys of hashString.
var hashKeys = [3]uint64{rand.Uint64() | 1, rand.Uint64() | 1, rand.Uint64() | 1}

// fold multiplies a by b into 128 bits and returns the halves XORed.
func fold(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// load32 returns s[i:i+4] as a little-endian integer; s has those bytes.
func load32(s string, i int) uint64 {
	return uint64(binary.LittleEndian.Uint32(unsafe.Slice(unsafe.StringData(s), len(s))[i:]))
}

// hashString returns the hash of s.
func hashString(s string) uint64 {
	n := len(s)
	var a, b uint64
	switch {
	case n > 32:
		return hashLong(s)
	case n > 16:
		// Two independent folds, so that the CPU runs them together.
		a = fold(load64(s, 0)^hashKeys[1], load64(s, 8)^hashKeys[0])
		b = fold(load64(s, n-16)^hashKeys[2], load64(s, n-8)^hashKeys[0])
		return fold(a^hashKeys[2]^uint64(n), b^hashKeys[1])
	case n >= 8:
		a, b = load64(s, 0), load64(s, n-8)
	case n >= 4:
		a, b = load32(s, 0), load32(s, n-4)
	case n > 0:
		a = uint64(s[0]) | uint64(s[n>>1])<<8 | uint64(s[n-1])<<16
	}
	return fold(hashKeys[2]^uint64(n), fold(a^hashKeys[1], b^hashKeys[0]))
}

// hashLong returns the hash of s, longer than 32 bytes.
func hashLong(s string) uint64 {
	n := len(s)
	state := hashKeys[0]
	for i := 0; n-i > 16; i += 16 {
		state = fold(load64(s, i)^hashKeys[1], load64(s, i+8)^state)
	}
	return fold(hashKeys[2]^uint64(n), fold(load64(s, n-16)^hashKeys[1], load64(s, n-8)^state))
}

// slotHash returns the hash a slot of either table stores for s: never 0
// or 1, which mark empty and deleted slots.
func slotHash(s string) uint64 { return hashString(s) | hashTopBit }
