// Package bench holds the benchmarks used for capacity planning. It has no
// API; run it with go test:
//
//	go test ./bench -run='^$' -bench=. -benchmem -count=6 | tee new.txt
//	benchstat new.txt
//
// The match benchmarks (match_test.go) build four workloads once per size
// and keep them, with their baselines, for every sub-benchmark: W1 (one
// bucket, N rules with prefix users/<i>/ and one of three suffixes), W2 (N/10
// buckets of 10 rules with directory prefixes, the shape COS allows), W3
// (chains of nested prefixes a/, a/b/, … with distinct suffixes) and W4 (N
// buckets, one in a hundred with 10 rules, nine events in ten to a bucket
// with none). Each runs beside, in the same run, so that ratios stay
// meaningful on a noisy machine:
//
//   - impl=floor, the honest floor: a Go map lookup of the whole bucket/key,
//     the map's keys being copies of the queries made in shuffled order;
//   - impl=loop, the simple alternative: a map from bucket to its rules,
//     scanned with Events.Has, strings.HasPrefix and strings.HasSuffix;
//   - impl=go-radix: a map from bucket to a go-radix tree of its prefixes,
//     read with WalkPath and a suffix test per rule.
//
// The sizes reach 1M rules (1M buckets for W4); they run only with -bench:
//
//	go test ./bench -run '^$' -bench '^BenchmarkMatch$' -count 6 -benchtime 0.3s -benchmem | tee match.txt
//	benchstat -col /impl match.txt
package bench
