// This file derives the id of a configuration that has none. S3 fills a
// missing Id with a random base64 string; we make one of the same shape
// (base64 of a UUID-formatted string, 48 characters) from a SHA-256 of the
// rule's content, so that reading the same document again gives the same id.

package config

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"

	"github.com/notifymux/notifymux/match"
)

// contentKey identifies the content of a rule, apart from its id and bucket:
// events, prefix, suffix and target, each length-prefixed so that no two
// different rules share a key.
func contentKey(r match.Rule) string {
	var b []byte
	b = binary.BigEndian.AppendUint64(b, uint64(r.Events&match.AllEvents))
	for _, s := range []string{r.Prefix, r.Suffix, r.Target} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	return string(b)
}

// GeneratedID returns the id ReadXML gives a configuration without one: the
// standard base64 encoding of a UUID-formatted string made of the first 16
// bytes of SHA-256 over the rule's event set (as a big-endian uint64), its
// prefix, suffix and target (each preceded by its length as a big-endian
// uint32) and n, the number of identical configurations without an Id that
// came before it in the document (as a big-endian uint32). The id depends on
// nothing else (not on the bucket, the time or the order of unrelated
// configurations), so it is stable across reads.
func GeneratedID(r match.Rule, n int) string {
	b := []byte(contentKey(r))
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	sum := sha256.Sum256(b)
	u := fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
	return base64.StdEncoding.EncodeToString([]byte(u))
}
