package sigv4_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/notifymux/notifymux/dispatch/gateway/sigv4"
)

func ExampleVerifier() {
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	v := &sigv4.Verifier{
		Keys:   map[string]string{"AKIDEXAMPLE": "secret"},
		Region: "us-east-1",
		Now:    func() time.Time { return at },
	}
	for _, key := range []string{"secret", "guess"} {
		// A client signs GET /photos?notification.
		r := httptest.NewRequest("GET", "http://127.0.0.1:8740/photos?notification", nil)
		r.Header.Set("X-Amz-Content-Sha256", sigv4.UnsignedPayload)
		v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: key},
			r, sigv4.UnsignedPayload, "s3", "us-east-1", at)

		auth, err := v.Parse(r, false) // before reading the body
		if err == nil {
			err = auth.Verify(r, nil)
		}
		fmt.Printf("signed with %q: %v\n", key, err)
	}
	// Output:
	// signed with "secret": <nil>
	// signed with "guess": sigv4: the request signature we calculated does not match the signature you provided; check your key and signing method
}
