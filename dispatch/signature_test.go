package dispatch

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestVerify(t *testing.T) {
	body := []byte(`{"Records":[{"k":"v"}]}`)
	sent := time.Unix(1700000000, 0)
	signed := func() http.Header {
		h := http.Header{}
		h.Set(TimestampHeader, strconv.FormatInt(sent.Unix(), 10))
		h.Set(SignatureHeader, Sign(testSecret, sent.Unix(), body))
		return h
	}
	if err := Verify(testSecret, signed(), body, sent.Add(4*time.Minute), 0); err != nil {
		t.Errorf("valid signature: %v", err)
	}
	if err := Verify(testSecret, signed(), body, sent.Add(-4*time.Minute), 0); err != nil {
		t.Errorf("valid signature, receiver clock behind: %v", err)
	}
	for _, tc := range []struct {
		name   string
		change func(h http.Header) ([]byte, []byte, time.Time) // body, secret, now
		want   string
	}{
		{"altered body", func(http.Header) ([]byte, []byte, time.Time) {
			return []byte(`{"Records":[{"k":"w"}]}`), testSecret, sent
		}, "does not match"},
		{"wrong secret", func(http.Header) ([]byte, []byte, time.Time) { return body, []byte("other"), sent }, "does not match"},
		{"replayed later", func(http.Header) ([]byte, []byte, time.Time) { return body, testSecret, sent.Add(6 * time.Minute) }, "tolerance"},
		{"from the future", func(http.Header) ([]byte, []byte, time.Time) { return body, testSecret, sent.Add(-6 * time.Minute) }, "tolerance"},
		{"timestamp changed", func(h http.Header) ([]byte, []byte, time.Time) {
			h.Set(TimestampHeader, "1700000001")
			return body, testSecret, sent
		}, "does not match"},
		{"no signature", func(h http.Header) ([]byte, []byte, time.Time) {
			h.Del(SignatureHeader)
			return body, testSecret, sent
		}, "missing X-Notifymux-Signature"},
		{"no timestamp", func(h http.Header) ([]byte, []byte, time.Time) {
			h.Del(TimestampHeader)
			return body, testSecret, sent
		}, "missing X-Notifymux-Timestamp"},
		{"bad timestamp", func(h http.Header) ([]byte, []byte, time.Time) {
			h.Set(TimestampHeader, "yesterday")
			return body, testSecret, sent
		}, "not Unix seconds"},
		{"other scheme", func(h http.Header) ([]byte, []byte, time.Time) {
			h.Set(SignatureHeader, "sha1="+strings.Repeat("0", 40))
			return body, testSecret, sent
		}, "does not start with sha256="},
		{"bad hex", func(h http.Header) ([]byte, []byte, time.Time) {
			h.Set(SignatureHeader, "sha256=zz")
			return body, testSecret, sent
		}, "64 hex digits"},
	} {
		h := signed()
		b, secret, now := tc.change(h)
		err := Verify(secret, h, b, now, 0)
		var se *SignatureError
		if !errors.As(err, &se) || !errors.Is(err, ErrSignature) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Verify = %v, want a SignatureError containing %q", tc.name, err, tc.want)
		}
	}
	if err := Verify(testSecret, signed(), body, sent.Add(time.Hour), 2*time.Hour); err != nil {
		t.Errorf("custom tolerance: %v", err)
	}
	if got := Sign(testSecret, 1, nil); !strings.HasPrefix(got, "sha256=") || len(got) != len("sha256=")+64 {
		t.Errorf("Sign = %q, want sha256= and 64 hex digits", got)
	}
}
