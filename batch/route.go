// This file routes an object key to one of n workers.
//
// Route hashes bucket, a zero byte, and key with xxhash64 (XXH64, seed 0) and
// takes the result modulo n. XXH64 is a fixed, published function, so the
// same bucket and key give the same worker on every machine, architecture and
// process, and in every version of this package (the tests pin values). The
// zero byte keeps ("ab", "c") and ("a", "bc") apart; bucket names cannot
// contain it. All events of one key therefore pass through one worker, whose
// Batcher keeps them in arrival order: that is how notifymux keeps the events
// of a key in order.

package batch

import "github.com/cespare/xxhash/v2"

// Route returns the worker, in [0, n), that handles events of key in bucket:
// xxhash64(bucket + "\x00" + key) mod n. It returns 0 when n < 1.
func Route(bucket, key string, n int) int {
	if n <= 1 {
		return 0
	}
	var d xxhash.Digest
	d.Reset()
	_, _ = d.WriteString(bucket)
	_, _ = d.Write([]byte{0})
	_, _ = d.WriteString(key)
	return int(d.Sum64() % uint64(n))
}
