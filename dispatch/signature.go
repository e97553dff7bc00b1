// This file signs and verifies HTTP deliveries.
//
// The sender puts the current Unix time in seconds in X-Notifymux-Timestamp
// and sets
//
//	X-Notifymux-Signature: sha256=<hex of HMAC-SHA256(secret, timestamp + "." + body)>
//
// The timestamp is inside the MAC, so it cannot be changed without the secret;
// Verify refuses a timestamp further than a tolerance from the receiver's
// clock, so a captured request cannot be replayed later. (Within the
// tolerance a replay is indistinguishable from the at-least-once duplicate
// that retries produce anyway; X-Notifymux-Delivery lets a function drop
// both.) Every retry is signed again with a fresh timestamp. The comparison
// is constant-time (hmac.Equal).

package dispatch

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"time"
)

// The headers of a signed delivery.
const (
	SignatureHeader = "X-Notifymux-Signature" // sha256=<hex HMAC-SHA256 of timestamp "." body>
	TimestampHeader = "X-Notifymux-Timestamp" // Unix seconds, decimal
	TargetHeader    = "X-Notifymux-Target"    // the batch's target function
	RecordsHeader   = "X-Notifymux-Records"   // number of records in the payload
	DeliveryHeader  = "X-Notifymux-Delivery"  // hex xxhash64 of the payload: equal on every retry of a batch
)

// DefaultTolerance is how far a timestamp may be from the receiver's clock
// when Verify is given a tolerance of 0.
const DefaultTolerance = 5 * time.Minute

const signaturePrefix = "sha256="

// Sign returns the X-Notifymux-Signature value for body sent at timestamp
// (Unix seconds, the X-Notifymux-Timestamp value).
func Sign(secret []byte, timestamp int64, body []byte) string {
	return string(appendSignature(nil, secret, timestamp, body))
}

// appendSignature appends Sign's result to dst.
func appendSignature(dst, secret []byte, timestamp int64, body []byte) []byte {
	var ts [20]byte
	mac := hmac.New(sha256.New, secret)
	mac.Write(strconv.AppendInt(ts[:0], timestamp, 10))
	mac.Write([]byte{'.'})
	mac.Write(body)
	var sum [sha256.Size]byte
	dst = append(dst, signaturePrefix...)
	return hex.AppendEncode(dst, mac.Sum(sum[:0]))
}

// Verify checks the signature headers of a delivery whose body is body,
// received at now. It returns nil when X-Notifymux-Signature is the
// HMAC-SHA256 of X-Notifymux-Timestamp and body under secret and the
// timestamp is within tolerance of now (DefaultTolerance when tolerance is
// 0). Otherwise it returns a *SignatureError that says what is wrong.
func Verify(secret []byte, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	sig := h.Get(SignatureHeader)
	if sig == "" {
		return &SignatureError{Reason: "missing " + SignatureHeader + " header"}
	}
	tsText := h.Get(TimestampHeader)
	if tsText == "" {
		return &SignatureError{Reason: "missing " + TimestampHeader + " header"}
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return &SignatureError{Reason: TimestampHeader + " " + strconv.Quote(tsText) + " is not Unix seconds"}
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return &SignatureError{Reason: TimestampHeader + " " + tsText + " is " + d.Round(time.Second).String() +
			" away from now, beyond the tolerance of " + tolerance.String()}
	}
	if len(sig) < len(signaturePrefix) || sig[:len(signaturePrefix)] != signaturePrefix {
		return &SignatureError{Reason: SignatureHeader + " does not start with " + signaturePrefix}
	}
	got, err := hex.DecodeString(sig[len(signaturePrefix):])
	if err != nil || len(got) != sha256.Size {
		return &SignatureError{Reason: SignatureHeader + " is not sha256= and 64 hex digits"}
	}
	want := appendSignature(nil, secret, ts, body)
	wantMAC, _ := hex.DecodeString(string(want[len(signaturePrefix):]))
	if !hmac.Equal(got, wantMAC) {
		return &SignatureError{Reason: "HMAC-SHA256 does not match the body and timestamp (wrong secret or altered body)"}
	}
	return nil
}
