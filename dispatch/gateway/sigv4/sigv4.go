// Package sigv4 checks AWS Signature Version 4 on the server side, for
// requests signed in the header form (Authorization: AWS4-HMAC-SHA256 …) as
// S3 clients sign them.
//
// The signature is not recomputed by a canonicaliser of our own: a copy of
// the request holding only the headers the client signed is signed again with
// aws-sdk-go-v2's aws/signer/v4 (the S3 variant: no double escaping of the
// path, the payload hash as the client declared it) with the secret key of
// the access key the client named, and the two signatures are compared in
// constant time. Query encoding, header canonicalisation and payload-hash
// modes are thereby the SDK's, which two independent clients (minio-go and
// aws-sdk-go-v2) are tested against.
//
// Checking happens in two steps so that a server can refuse a request before
// reading its body: Parse reads the Authorization header, finds the secret
// and checks the clock; Auth.Verify checks the payload hash against the body
// and the signature.
package sigv4

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// The payload hash values that are not a hex SHA-256.
const (
	// UnsignedPayload declares that the body is not covered by the
	// signature (aws-sdk-go-v2 sends it over TLS).
	UnsignedPayload = "UNSIGNED-PAYLOAD"
	streamingPrefix = "STREAMING-"
)

// DefaultMaxSkew is how far a request's X-Amz-Date may be from the server's
// clock, as S3 allows.
const DefaultMaxSkew = 15 * time.Minute

// Kind classifies why a request was refused; each kind has one S3 error code.
type Kind uint8

// The kinds of refusal.
const (
	Missing            Kind = iota + 1 // no Authorization header: AccessDenied
	Malformed                          // an Authorization header that is not SigV4, or a wrong scope: AuthorizationHeaderMalformed
	UnknownAccessKey                   // InvalidAccessKeyId
	Skewed                             // X-Amz-Date too far from now: RequestTimeTooSkewed
	Mismatch                           // the signature does not match: SignatureDoesNotMatch
	PayloadMismatch                    // the body's SHA-256 differs from X-Amz-Content-Sha256: XAmzContentSHA256Mismatch
	UnsupportedPayload                 // a streaming (aws-chunked) payload: NotImplemented
)

var kindNames = [...]string{
	Missing: "missing", Malformed: "malformed", UnknownAccessKey: "unknown access key", Skewed: "skewed",
	Mismatch: "mismatch", PayloadMismatch: "payload mismatch", UnsupportedPayload: "unsupported payload",
}

// String names the kind.
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("sigv4.Kind(%d)", uint8(k))
}

// ErrRefused is matched by errors.Is for every *Error.
var ErrRefused = errors.New("sigv4: request refused")

// Error is a refused request: its Kind and a message that says what was
// wrong without revealing the expected signature.
type Error struct {
	Kind   Kind
	Reason string
}

// Error returns "sigv4: <reason>".
func (e *Error) Error() string { return "sigv4: " + e.Reason }

// Is reports whether target is ErrRefused.
func (e *Error) Is(target error) bool { return target == ErrRefused }

func refuse(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Reason: fmt.Sprintf(format, args...)}
}

// Verifier checks signatures made with a set of credentials for one region
// and service. Its fields are read-only once it is in use; it is safe for
// concurrent use.
type Verifier struct {
	// Keys maps each access key id to its secret key. Required.
	Keys map[string]string
	// Region is the region requests must be signed for, e.g. "us-east-1".
	// Required.
	Region string
	// Service is the signing service name. Default "s3".
	Service string
	// MaxSkew bounds the distance between X-Amz-Date and Now. Default
	// DefaultMaxSkew.
	MaxSkew time.Duration
	// Now returns the current time. Default time.Now.
	Now func() time.Time
}

// Auth is the parsed Authorization of one request, returned by Parse.
type Auth struct {
	AccessKey     string    // the access key id the client named
	Date          time.Time // X-Amz-Date
	Region        string    // the region of the credential scope
	Service       string    // the service of the credential scope
	SignedHeaders []string  // lower-case names, as the client listed them
	Signature     string    // hex, as the client sent it
	PayloadHash   string    // X-Amz-Content-Sha256: hex SHA-256 or UNSIGNED-PAYLOAD

	secret string
	v      *Verifier
}

const algorithm = "AWS4-HMAC-SHA256"

// Parse reads r's Authorization and X-Amz-Date headers, looks up the access
// key and checks the clock skew. With anyRegion, a credential scope of any
// region is accepted (minio-go signs its location request for us-east-1
// whatever the server's region); otherwise the scope must name v.Region.
// Errors are *Error.
func (v *Verifier) Parse(r *http.Request, anyRegion bool) (*Auth, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		if r.URL.Query().Has("X-Amz-Signature") {
			return nil, refuse(Missing, "presigned URLs are not accepted; sign the Authorization header")
		}
		return nil, refuse(Missing, "the request is not signed (no Authorization header)")
	}
	rest, ok := strings.CutPrefix(h, algorithm+" ")
	if !ok {
		alg, _, _ := strings.Cut(h, " ")
		return nil, refuse(Malformed, "the Authorization header uses %s, want %s", quote(alg), algorithm)
	}
	a := &Auth{v: v}
	var cred, signed string
	for part := range strings.SplitSeq(rest, ",") {
		k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			cred = val
		case "SignedHeaders":
			signed = val
		case "Signature":
			a.Signature = val
		}
	}
	if cred == "" || signed == "" || a.Signature == "" {
		return nil, refuse(Malformed, "the Authorization header lacks Credential, SignedHeaders or Signature: %s", quote(h))
	}
	scope := strings.Split(cred, "/")
	if len(scope) != 5 || scope[4] != "aws4_request" {
		return nil, refuse(Malformed, "the credential %s is not KEY/DATE/REGION/SERVICE/aws4_request", quote(cred))
	}
	a.AccessKey, a.Region, a.Service = scope[0], scope[2], scope[3]
	a.SignedHeaders = strings.Split(signed, ";")
	secret, ok := v.Keys[a.AccessKey]
	if !ok {
		return nil, refuse(UnknownAccessKey, "the access key %s is not known here", quote(a.AccessKey))
	}
	a.secret = secret
	service := v.Service
	if service == "" {
		service = "s3"
	}
	if a.Service != service {
		return nil, refuse(Malformed, "the credential scope names service %s, want %s", quote(a.Service), service)
	}
	if !anyRegion && a.Region != v.Region {
		return nil, refuse(Malformed, "the region %s is wrong; expecting %s", quote(a.Region), quote(v.Region))
	}
	date := r.Header.Get("X-Amz-Date")
	if date == "" {
		return nil, refuse(Malformed, "no X-Amz-Date header")
	}
	t, err := time.Parse("20060102T150405Z", date)
	if err != nil {
		return nil, refuse(Malformed, "X-Amz-Date %s is not YYYYMMDDTHHMMSSZ", quote(date))
	}
	if scope[1] != t.Format("20060102") {
		return nil, refuse(Malformed, "the credential date %s is not the day of X-Amz-Date %s", quote(scope[1]), date)
	}
	a.Date = t
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	maxSkew := v.MaxSkew
	if maxSkew <= 0 {
		maxSkew = DefaultMaxSkew
	}
	if d := now().Sub(t); d > maxSkew || d < -maxSkew {
		return nil, refuse(Skewed, "the difference between the request time %s and the server's time is %s, over %s",
			date, d.Round(time.Second), maxSkew)
	}
	a.PayloadHash = r.Header.Get("X-Amz-Content-Sha256")
	switch {
	case a.PayloadHash == "":
		return nil, refuse(Malformed, "no X-Amz-Content-Sha256 header")
	case strings.HasPrefix(a.PayloadHash, streamingPrefix):
		return nil, refuse(UnsupportedPayload, "streaming payloads (%s) are not supported; send the body whole", quote(a.PayloadHash))
	}
	return a, nil
}

// Verify checks that body (the whole request body) has the declared payload
// hash and that the signature of r is the one a.AccessKey's secret gives.
// r's body is not read. Errors are *Error.
func (a *Auth) Verify(r *http.Request, body []byte) error {
	if a.PayloadHash != UnsignedPayload {
		sum := sha256.Sum256(body)
		if !strings.EqualFold(a.PayloadHash, hex.EncodeToString(sum[:])) {
			return refuse(PayloadMismatch, "the body's SHA-256 is not the X-Amz-Content-Sha256 the request declares")
		}
	}
	// A copy of r with only the headers the client signed.
	u := *r.URL
	c := &http.Request{Method: r.Method, URL: &u, Host: r.Host, Header: http.Header{}}
	if u.Host == "" {
		u.Host = r.Host
	}
	for _, name := range a.SignedHeaders {
		switch name {
		case "host":
		case "content-length":
			c.ContentLength = r.ContentLength
			if c.ContentLength < 0 {
				c.ContentLength = int64(len(body))
			}
		default:
			if vals, ok := r.Header[http.CanonicalHeaderKey(name)]; ok {
				c.Header[http.CanonicalHeaderKey(name)] = vals
			} else {
				return refuse(Mismatch, "the signed header %s is not in the request", quote(name))
			}
		}
	}
	signer := v4.NewSigner(func(o *v4.SignerOptions) {
		o.DisableURIPathEscaping = true // S3 signs the path as sent
	})
	creds := aws.Credentials{AccessKeyID: a.AccessKey, SecretAccessKey: a.secret}
	if err := signer.SignHTTP(context.Background(), creds, c, a.PayloadHash, a.Service, a.Region, a.Date); err != nil {
		return refuse(Mismatch, "recomputing the signature: %v", err)
	}
	want := c.Header.Get("Authorization")
	wantSigned, wantSig := authField(want, "SignedHeaders="), authField(want, "Signature=")
	if wantSigned != strings.Join(a.SignedHeaders, ";") {
		return refuse(Mismatch, "the signed headers %s are not the ones this server signs (%s)", quote(strings.Join(a.SignedHeaders, ";")), wantSigned)
	}
	if subtle.ConstantTimeCompare([]byte(wantSig), []byte(a.Signature)) != 1 {
		return refuse(Mismatch, "the request signature we calculated does not match the signature you provided; check your key and signing method")
	}
	return nil
}

// authField returns the value of the field that starts with prefix in an
// Authorization header value.
func authField(h, prefix string) string {
	i := strings.Index(h, prefix)
	if i < 0 {
		return ""
	}
	v := h[i+len(prefix):]
	if j := strings.IndexByte(v, ','); j >= 0 {
		v = v[:j]
	}
	return strings.TrimSpace(v)
}

// quote quotes s, keeping at most its first 64 bytes.
func quote(s string) string {
	if len(s) > 64 {
		return fmt.Sprintf("%q…", s[:64])
	}
	return fmt.Sprintf("%q", s)
}
