package match

import (
	"fmt"
	"testing"
)

// TestHashString checks that hashString reads every byte of strings of
// every length up to 40 (changing any one byte changes the hash), and
// that 200k names that differ in a few digits do not collide.
func TestHashString(t *testing.T) {
	for n := 0; n <= 40; n++ {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('a' + i%26)
		}
		h := hashString(string(b))
		for i := range b {
			c := b[i]
			b[i] ^= 0x20
			if hashString(string(b)) == h {
				t.Errorf("length %d: changing byte %d leaves the hash unchanged", n, i)
			}
			b[i] = c
		}
		if n > 0 && hashString(string(b[:n-1])) == h {
			t.Errorf("length %d: dropping the last byte leaves the hash unchanged", n)
		}
	}
	seen := make(map[uint64]string)
	for i := range 100_000 {
		for _, s := range []string{fmt.Sprintf("users/%d/", i), fmt.Sprintf("bucket-%d-1250000000", i)} {
			h := slotHash(s)
			if h == slotEmpty || h == slotDeleted {
				t.Fatalf("slotHash(%q) = %d, a reserved value", s, h)
			}
			if o, dup := seen[h]; dup {
				t.Fatalf("slotHash(%q) = slotHash(%q)", s, o)
			}
			seen[h] = s
		}
	}
}
