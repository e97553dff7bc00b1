// Package fuzz holds the fuzz targets of notifymux's rule index: FuzzIndex
// and FuzzOverlap check package match against a brute-force oracle written
// from the specification alone (fuzz/internal/oracle, which holds the
// oracle, the generators, the byte decoders and the differential checker).
//
// FuzzIndex decodes fuzzer bytes into Add, AddAll, Remove and Replace calls,
// makes them on a match.Index and the oracle side by side and compares,
// after every step, the decisions, the errors, Len and Match. Some inputs
// decode to wide Replaces that put more than a dozen rules in a bucket, so
// both of match.Index's lookup paths are covered. FuzzOverlap decodes two
// rules and checks match.Overlap and a two-rule Index against the oracle.
//
// # Running
//
// The seed corpora in testdata/fuzz run with the ordinary tests:
//
//	go test ./fuzz
//
// Each FuzzIndex seed is the encoding of a readable sequence of operations;
// some are kept as Go in oracle.SeedOps, which TestFuzzIndexSeeds checks
// against the files and rewrites with
//
//	go test ./fuzz -run=TestFuzzIndexSeeds -update-seeds
//
// To fuzz (one target per command; -fuzz needs a single package):
//
//	go test ./fuzz -run=^$ -fuzz=FuzzIndex -fuzztime=20s
//	go test ./fuzz -run=^$ -fuzz=FuzzOverlap -fuzztime=20s
//
// A failure is written to testdata/fuzz/<Target>/ and replays with
// go test ./fuzz -run=<Target>/<file>; the failure message gives the
// shortest failing sequence of operations found, as Go.
package fuzz
