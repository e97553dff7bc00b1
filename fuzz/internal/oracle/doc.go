// Package oracle checks package match against a brute-force oracle written
// from the specification alone. It serves the fuzz targets of package fuzz
// and its own tests, and is internal: none of it is API.
//
// # The oracle
//
// The specification (the package documentation of match, items 3 and 4 of
// its semantics) says a rule matches an event when the bucket is the rule's,
// the event type is in the rule's set, the key starts with the prefix and
// the key ends with the suffix, the two tests being independent; and that two
// rules overlap exactly when some key and event type match both. The oracle
// takes those sentences literally and shares no code with match:
//
//   - [Matches] is the four tests, byte by byte.
//   - [Search] and [Overlaps] decide overlap by looking for a witness: they
//     enumerate every key over the bytes of the two rules' filters plus one
//     foreign byte, up to the length of the longer prefix plus the longer
//     suffix, and report the first key (and event) that matches both rules.
//     The bound is exact, not a heuristic; see [Search]. For filters too long
//     to enumerate every key, the enumeration skips keys whose bytes
//     contradict a filter at a fixed position, which finds the same first
//     witness (checked exhaustively against plain enumeration in the tests).
//   - [Index] holds each bucket's rules in a plain slice and refuses a change
//     exactly when [Overlaps] finds an overlap with a held rule (or, within one
//     Replace, between two rules of the call; within one AddAll, between a
//     rule and an earlier rule of the call, which counts as held). AddAll is
//     all or nothing: its [Verdict] is that of its first refused rule. A
//     Verdict lists every reason a change may be refused, and
//     [Verdict.Explains] judges the error match.Index returned for the same
//     change.
//
// Brute force is only affordable over a tiny alphabet, so the generators
// ([RandRule], [RandKey], [RandOps], [WideRules]) and the fuzz decoders ([DecodeOps],
// [DecodeRulePair]) draw filters of 0–3 bytes from [Alphabet] ("ab/"), keys
// of 0–7 bytes, and event sets from [EventSets], which includes whole
// families so that event sets intersect often. Rules of one bucket then
// overlap often, which is what exercises the conflict checks. One operation in
// 24 is a wide Replace of 10 to 17 rules with distinct three-byte
// prefixes, so buckets also grow past the dozen rules match.Index scans in
// turn and the oracle checks its path for larger buckets, with no option or
// setting of match changed.
//
// [Checker] applies a sequence of [Op] (Add, AddAll, Remove, Replace) to a
// match.Index and an oracle [Index] side by side and, after every step,
// compares the decisions, the errors, Len, and Match over every short key,
// every rule's witness keys and a few random keys, for every bucket and a
// representative of every class of events. A refused change must leave
// match.Index exactly as it was. [Minimize] shrinks a failing sequence.
//
// FuzzIndex and FuzzOverlap, in package fuzz, drive all of this from fuzzer
// bytes; their readable seeds are SeedOps.
package oracle
