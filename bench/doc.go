// Package bench holds the benchmarks used for capacity planning. It has no
// API; run it with go test:
//
//	go test ./bench -run='^$' -bench=. -benchmem -count=6 | tee new.txt
//	benchstat new.txt
//
// The match benchmarks (match_test.go) build three workloads once per size
// and keep them for every sub-benchmark: W1 (one bucket, N rules with prefix
// users/<i>/ and one of three suffixes), W2 (N/10 buckets of 10 rules with
// shared directory prefixes) and W3 (chains of nested prefixes a/, a/b/, …
// with distinct suffixes). Each runs beside a floor (a map lookup of the
// whole key) and a baseline (a linear scan of the bucket's rules), measured
// in the same run, so ratios stay meaningful on a noisy machine.
package bench
