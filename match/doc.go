// Package match holds the notification rules of object-storage buckets and
// resolves each object event to the one rule, and so the one function, it
// triggers. This documentation is the specification of rules, matching and
// overlap; the rest of notifymux builds on it.
//
// # Event types
//
// An [Event] is one concrete event type. The COS names are
//
//	cos:ObjectCreated:Put   cos:ObjectCreated:Post   cos:ObjectCreated:Copy
//	cos:ObjectCreated:CompleteMultipartUpload        cos:ObjectCreated:Origin
//	cos:ObjectCreated:Replication                    cos:ObjectCreated:Append
//	cos:ObjectRemove:Delete cos:ObjectRemove:DeleteMarkerCreated
//	cos:ObjectRestore:Post  cos:ObjectRestore:Completed
//
// and the wildcards cos:ObjectCreated:*, cos:ObjectRemove:* and
// cos:ObjectRestore:* stand for their whole family. The S3 names parse to the
// same types: s3:ObjectCreated:Put is cos:ObjectCreated:Put and
// s3:ObjectRemoved:Delete is cos:ObjectRemove:Delete (S3 spells the family
// ObjectRemoved, COS ObjectRemove). The S3 families COS lacks are types of
// their own: s3:ObjectRestore:Delete, s3:ReducedRedundancyLostObject,
// s3:Replication:*, s3:LifecycleExpiration:*, s3:LifecycleTransition,
// s3:IntelligentTiering, s3:ObjectTagging:* and s3:ObjectAcl:Put; so
// s3:ObjectRestore:* holds Post, Completed and Delete while
// cos:ObjectRestore:* holds Post and Completed.
//
// Names are parsed strictly: case matters and spaces are not allowed.
// [ParseEvent] takes one concrete name; [ParseEventSet] also takes wildcards
// and returns an [EventSet]. An unknown name is an [*EventNameError] that
// quotes it and suggests the closest valid name, so the misprint found in the
// COS documentation, "cos: ObjectCreated:Put", is answered with "did you mean
// "cos:ObjectCreated:Put"?".
//
// # Rules
//
// A [Rule] has an ID (unique within its bucket), a Bucket, a non-empty set of
// Events, an optional Prefix and Suffix, and a Target (the function). Prefix
// and Suffix are at most [MaxFilterLen] (1024) bytes and are compared as
// literal bytes: '*' and '?' are ordinary characters and case matters.
//
// # Matching
//
// A rule matches an event when the bucket is the rule's, the event type is in
// its set, the key starts with Prefix and the key ends with Suffix. The two
// tests are independent and may share bytes of the key: prefix "ab" with
// suffix "bc" matches the key "abc". S3 and COS behave this way; MinIO's
// "prefix*suffix" glob does not, and this package does not follow it.
//
// # Overlap
//
// Two rules of one bucket overlap when their event sets intersect, one prefix
// begins with the other, and one suffix ends with the other; an empty prefix
// or suffix is comparable with any. Rules overlap exactly when some key and
// event type match both: the longer prefix followed by the longer suffix is
// such a key. [Overlap] is this predicate, with that witness.
//
//	cos:ObjectCreated:*  prefix "Log"          vs  cos:ObjectCreated:*  prefix "Lo"        overlap on "Log"
//	cos:ObjectCreated:*  (no filter)           vs  cos:ObjectCreated:Put prefix "images"   overlap on "images"
//	cos:ObjectCreated:*  suffix "jpg"          vs  cos:ObjectCreated:Put suffix "pg"       overlap on "jpg"
//	prefix "images" suffix ".jpg"              vs  prefix "images" suffix ".png"           disjoint
//	cos:ObjectCreated:Put prefix "images/"     vs  cos:ObjectRemove:*   prefix "images/"   disjoint
//
// The [Index] refuses a rule that overlaps one it holds, so no event ever
// matches two rules. A refusal explains itself, which S3 and COS do not: it is
// a [*ConflictError] carrying the refused rule, the held rule, an event type
// both cover and a witness key both match, and errors.Is(err, [ErrConflict])
// holds. Its text names both IDs, the bucket, the event and the key:
//
//	match: rule "thumbs" overlaps rule "all-images" in bucket "photos": both match cos:ObjectCreated:Put on key "images/.jpg"
//
// A refused change leaves the index exactly as it was.
//
// # The index
//
// [Index.Match] finds the bucket in an open-addressing hash table and reads
// its block, one allocation that holds all Match needs of the bucket. A
// bucket of at most twelve rules (COS allows ten) keeps there a 16-byte
// fingerprint of each rule (events, prefix length, first 8 bytes of the
// prefix), tested in turn, and behind them the rest of each rule's
// fingerprint (the prefix's last 8 bytes, the suffix's last 8 bytes, the
// lengths and the rule): a prefix of up to 16 bytes and a suffix of up to 8
// are matched without reading the rule's strings. A larger bucket's block
// holds the distinct lengths of its stored prefixes and a hash table of
// 16-byte slots, one per rule, each with half the hash of the rule's
// prefix, a tag of its suffix's last bytes and the rule; Match probes it once for each length up to the key's length,
// skipping (without a probe) each length whose rules' suffixes all end with
// bytes other than the key's last (one bitmap word per last byte selects
// the rest), or at which the key's byte ends no stored prefix of that
// length. Prefixes usually end with '/', so most lengths are skipped. A
// lookup thus costs two cache misses in a small bucket (the table's slot,
// the block) and two more per probe in a large one (the slot and the rule,
// which Match returns a copy of anyway). Its cost
// does not grow with the number of rules, but it does grow with the number
// of lengths that pass those tests (nested prefixes whose suffixes end
// alike pay one probe each). It does not allocate and never waits for a
// writer.
//
// Writers (Add, AddAll, Remove, Replace) are serialised. Each checks for
// overlap before it changes anything, on a go-radix tree of each bucket's
// prefixes (WalkPath for the stored prefixes of the new prefix, WalkPrefix
// for those that extend it) and, for a prefix that many rules share, a trie
// of their suffixes. The conflict check costs the length of the new prefix
// plus the number of stored prefixes that extend it and share an event
// with it; adding a short prefix above very many stored prefixes is the
// slow case. Add and Remove then change the read side in place: a small
// bucket's new block, or a large bucket's changed header, is swapped in
// with one atomic store, and a large bucket's rule is written into an empty
// slot of its table before the slot's key is published (or its slot is
// marked deleted). Only growth copies a table. AddAll and Replace build
// every bucket they touch apart (a write transaction, rebuilding a bucket
// that already holds rules; a large AddAll builds its buckets on up to
// GOMAXPROCS goroutines) and publish it when the whole call is known to
// succeed; a call that spans buckets publishes a copy of the bucket table,
// so that readers see all its rules at once.
//
// Where the read side departs from the design card. The card reads the
// rules on the structures the writers use: go-radix WalkPath over the
// prefixes and a walk of the key's end through a suffix trie. Each step of
// those walks is a dependent cache miss, one per branching byte, and such a
// lookup measures slower than a Go map of each bucket's rules scanned in a
// loop once the rules outgrow the CPU's caches (package bench runs both
// beside the index). The read side is therefore laid
// out for cache misses instead, and the card's structures are kept for the
// writers, where they make the conflict check cheap. See the files'
// comments (index.go lists them) for each algorithm.
package match
