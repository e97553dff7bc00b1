package sigv4_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/notifymux/notifymux/dispatch/gateway/sigv4"
)

const (
	accessKey = "AKIDEXAMPLE"
	secretKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
)

var now = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

func verifier() *sigv4.Verifier {
	return &sigv4.Verifier{Keys: map[string]string{accessKey: secretKey}, Region: "us-east-1", Now: func() time.Time { return now }}
}

func hashOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// awsSigned returns a request signed by aws-sdk-go-v2's signer, as its S3
// client signs (payload hash in X-Amz-Content-Sha256).
func awsSigned(t *testing.T, method, target string, body []byte, payloadHash, key, region string, at time.Time) *http.Request {
	t.Helper()
	r := httptest.NewRequest(method, target, bytes.NewReader(body))
	r.Header.Set("X-Amz-Content-Sha256", payloadHash)
	r.Header.Set("User-Agent", "aws-sdk-go-v2")
	s := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err := s.SignHTTP(context.Background(), aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: key}, r, payloadHash, "s3", region, at); err != nil {
		t.Fatal(err)
	}
	return r
}

// minioSigned returns a request signed by minio-go's signer, an independent
// implementation.
func minioSigned(t *testing.T, method, target string, body []byte, key, region string) *http.Request {
	t.Helper()
	r := httptest.NewRequest(method, target, bytes.NewReader(body))
	r.Header.Set("X-Amz-Content-Sha256", hashOf(body))
	r.Header.Set("User-Agent", "minio-go")
	return signer.SignV4(*r, accessKey, key, "", region)
}

func check(v *sigv4.Verifier, r *http.Request, body []byte, anyRegion bool) error {
	a, err := v.Parse(r, anyRegion)
	if err != nil {
		return err
	}
	return a.Verify(r, body)
}

func kindOf(err error) sigv4.Kind {
	var e *sigv4.Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

func TestVerify(t *testing.T) {
	body := []byte("<NotificationConfiguration/>")
	paths := []string{"http://gw.test:8740/photos/?notification=", "http://gw.test:8740/photos?notification", "http://gw.test:8740/my%20bucket?location"}
	for _, path := range paths {
		t.Run("aws "+path, func(t *testing.T) {
			r := awsSigned(t, "PUT", path, body, hashOf(body), secretKey, "us-east-1", now)
			if err := check(verifier(), r, body, false); err != nil {
				t.Fatalf("got %v, want nil", err)
			}
			r = awsSigned(t, "PUT", path, body, sigv4.UnsignedPayload, secretKey, "us-east-1", now)
			if err := check(verifier(), r, body, false); err != nil {
				t.Fatalf("UNSIGNED-PAYLOAD: got %v, want nil", err)
			}
		})
		t.Run("minio "+path, func(t *testing.T) {
			v := verifier()
			v.Now = time.Now // minio-go signs with the current time
			r := minioSigned(t, "PUT", path, body, secretKey, "us-east-1")
			if err := check(v, r, body, false); err != nil {
				t.Fatalf("got %v, want nil", err)
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	body := []byte("<NotificationConfiguration/>")
	const path = "http://gw.test/photos?notification"
	tests := []struct {
		name      string
		req       func() *http.Request
		body      []byte
		anyRegion bool
		want      sigv4.Kind
	}{
		{"unsigned", func() *http.Request { return httptest.NewRequest("GET", path, nil) }, nil, false, sigv4.Missing},
		{"wrong secret", func() *http.Request { return awsSigned(t, "PUT", path, body, hashOf(body), "wrong", "us-east-1", now) }, body, false, sigv4.Mismatch},
		{"unknown key", func() *http.Request {
			r := awsSigned(t, "PUT", path, body, hashOf(body), secretKey, "us-east-1", now)
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), accessKey, "AKIDOTHER", 1))
			return r
		}, body, false, sigv4.UnknownAccessKey},
		{"skewed", func() *http.Request {
			return awsSigned(t, "PUT", path, body, hashOf(body), secretKey, "us-east-1", now.Add(-16*time.Minute))
		}, body, false, sigv4.Skewed},
		{"wrong region", func() *http.Request {
			return awsSigned(t, "PUT", path, body, hashOf(body), secretKey, "eu-west-1", now)
		}, body, false, sigv4.Malformed},
		{"altered body", func() *http.Request {
			return awsSigned(t, "PUT", path, body, hashOf(body), secretKey, "us-east-1", now)
		}, []byte("<x/>"), false, sigv4.PayloadMismatch},
		{"altered path", func() *http.Request {
			r := awsSigned(t, "PUT", path, body, hashOf(body), secretKey, "us-east-1", now)
			r.URL.Path = "/other"
			return r
		}, body, false, sigv4.Mismatch},
		{"altered query", func() *http.Request {
			r := awsSigned(t, "PUT", path, body, hashOf(body), secretKey, "us-east-1", now)
			r.URL.RawQuery = "location"
			return r
		}, body, false, sigv4.Mismatch},
		{"altered signed header", func() *http.Request {
			r := awsSigned(t, "PUT", path, body, hashOf(body), secretKey, "us-east-1", now)
			r.Header.Set("X-Amz-Date", now.Add(time.Second).Format("20060102T150405Z"))
			return r
		}, body, false, sigv4.Mismatch},
		{"streaming", func() *http.Request {
			return awsSigned(t, "PUT", path, body, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", secretKey, "us-east-1", now)
		}, body, false, sigv4.UnsupportedPayload},
		{"garbage", func() *http.Request {
			r := httptest.NewRequest("GET", path, nil)
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 nonsense")
			return r
		}, nil, false, sigv4.Malformed},
		{"signature v2", func() *http.Request {
			r := httptest.NewRequest("GET", path, nil)
			r.Header.Set("Authorization", "AWS AKIDEXAMPLE:abc")
			return r
		}, nil, false, sigv4.Malformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := check(verifier(), tt.req(), tt.body, tt.anyRegion)
			if got := kindOf(err); got != tt.want {
				t.Fatalf("got kind %v (%v), want %v", got, err, tt.want)
			}
			if !errors.Is(err, sigv4.ErrRefused) {
				t.Errorf("errors.Is(%v, ErrRefused) = false", err)
			}
		})
	}
}

func TestAnyRegion(t *testing.T) {
	v := verifier()
	v.Region = "ap-guangzhou"
	r := awsSigned(t, "GET", "http://gw.test/photos?location", nil, hashOf(nil), secretKey, "us-east-1", now)
	if err := check(v, r, nil, true); err != nil {
		t.Fatalf("any region: got %v, want nil", err)
	}
	if got := kindOf(check(v, r, nil, false)); got != sigv4.Malformed {
		t.Fatalf("region checked: got kind %v, want %v", got, sigv4.Malformed)
	}
}
