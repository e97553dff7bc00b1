// This file is the wire form of a record in the streams: the routed
// batch.Record as JSON (every field, the event by its name), so that a
// gateway that delivers it needs nothing of the gateway that accepted it.
//
// A record that carries its own identity gets a message ID, so that the
// stream drops a publish repeated within the duplicate window (a client
// that retried its POST). The identity is the storage request id or the
// sequencer, with the bucket, key and event; two real uploads of one key
// differ in both, so they are never merged. A record with neither (a plain
// event line) gets no message ID and is never dropped as a duplicate.

package jetstream

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/notifymux/notifymux/batch"
)

// Headers set on the messages of the streams.
const (
	headerTarget   = "Notifymux-Target"   // the record's target, for inspection
	headerReason   = "Notifymux-Reason"   // why a dead letter was given up
	headerError    = "Notifymux-Error"    // its last error
	headerAttempts = "Notifymux-Attempts" // delivery attempts made
	headerArrived  = "Notifymux-Arrived"  // when the record was accepted (RFC 3339)
)

// maxHeaderError is the longest error text kept in a dead letter's header.
const maxHeaderError = 1024

// encodeRecord returns the JSON of r.
func encodeRecord(r *batch.Record) ([]byte, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("jetstream: encode record %s/%.200s: %w", r.Bucket, r.Key, err)
	}
	return b, nil
}

// decodeRecord reads the JSON of a record. The error quotes at most 200
// bytes of data.
func decodeRecord(data []byte) (batch.Record, error) {
	var r batch.Record
	if err := json.Unmarshal(data, &r); err != nil {
		q := data
		if len(q) > 200 {
			q = q[:200]
		}
		return r, fmt.Errorf("jetstream: message is not a record (%v): %q", err, q)
	}
	return r, nil
}

// MsgID returns the message ID of r: a hash of its request id, sequencer,
// bucket, key and event, or "" when r has neither a request id nor a
// sequencer.
func MsgID(r *batch.Record) string {
	if r.RequestID == "" && r.Sequencer == "" {
		return ""
	}
	h := sha256.New()
	for _, f := range []string{r.RequestID, r.Sequencer, r.Bucket, r.Key, r.Event.String(), r.VersionID} {
		var n [20]byte
		h.Write(strconv.AppendInt(n[:0], int64(len(f)), 10)) // length-prefixed: no two field lists collide
		h.Write([]byte{':'})
		h.Write([]byte(f))
	}
	return "nmx-" + hex.EncodeToString(h.Sum(nil)[:20])
}
