package batch_test

import (
	"fmt"
	"testing"

	"github.com/cespare/xxhash/v2"
	"github.com/notifymux/notifymux/batch"
)

func TestRouteIsXXHashOfBucketZeroKey(t *testing.T) {
	for _, tt := range []struct {
		bucket, key string
		n           int
	}{
		{"testpic", "testfile", 8},
		{"testpic", "photos/red flower.jpg", 16},
		{"logs", "", 3},
		{"", "k", 7},
		{"b", "中文/\xff", 1000},
	} {
		want := int(xxhash.Sum64String(tt.bucket+"\x00"+tt.key) % uint64(tt.n))
		if got := batch.Route(tt.bucket, tt.key, tt.n); got != want {
			t.Errorf("Route(%q, %q, %d) = %d, want %d", tt.bucket, tt.key, tt.n, got, want)
		}
	}
}

// TestRouteIsStable pins values, so that a change of hash, seed, separator or
// reduction, which would reorder the events of a key across a rolling
// upgrade, fails here. XXH64 of "testpic\x00testfile" is fixed by the XXH64
// specification; the value is also checked against xxhash above.
func TestRouteIsStable(t *testing.T) {
	h := xxhash.Sum64String("testpic\x00testfile")
	for _, n := range []int{2, 3, 8, 64, 1000} {
		if got, want := batch.Route("testpic", "testfile", n), int(h%uint64(n)); got != want {
			t.Errorf("Route(testpic, testfile, %d) = %d, want %d", n, got, want)
		}
	}
	pinned := []struct {
		bucket, key string
		n, want     int
	}{
		{"testpic", "testfile", 8, 6},
		{"testpic", "photos/red flower.jpg", 16, 12},
		{"ab", "c", 1000, 133},
		{"a", "bc", 1000, 839},
		{"logs", "2024/01/01/app.log", 10, 2},
	}
	for _, p := range pinned {
		if got := batch.Route(p.bucket, p.key, p.n); got != p.want {
			t.Errorf("Route(%q, %q, %d) = %d, want %d (pinned)", p.bucket, p.key, p.n, got, p.want)
		}
	}
}

func TestRouteSeparatesBucketFromKey(t *testing.T) {
	const n = 1 << 30
	if batch.Route("ab", "c", n) == batch.Route("a", "bc", n) {
		t.Errorf(`Route("ab", "c") == Route("a", "bc"): the separator is missing`)
	}
}

func TestRouteEdgeCases(t *testing.T) {
	for _, n := range []int{-1, 0, 1} {
		if got := batch.Route("b", "k", n); got != 0 {
			t.Errorf("Route(b, k, %d) = %d, want 0", n, got)
		}
	}
}

func TestRouteDistribution(t *testing.T) {
	const workers, keys = 16, 64000
	var counts [workers]int
	for i := range keys {
		w := batch.Route("bucket", fmt.Sprintf("photos/2024/%06d.jpg", i), workers)
		if w < 0 || w >= workers {
			t.Fatalf("Route gave worker %d of %d", w, workers)
		}
		counts[w]++
	}
	// Chi-squared with 15 degrees of freedom: 37.7 is the 0.1% tail.
	exp := float64(keys) / workers
	chi := 0.0
	for _, c := range counts {
		d := float64(c) - exp
		chi += d * d / exp
	}
	if chi > 37.7 {
		t.Errorf("worker loads %v: chi-squared %.1f > 37.7, not uniform", counts, chi)
	}
}

func TestRouteAllocatesNothing(t *testing.T) {
	if a := testing.AllocsPerRun(100, func() { batch.Route("bucket", "photos/a.jpg", 8) }); a != 0 {
		t.Errorf("Route: %v allocations, want 0", a)
	}
}
