package gateway_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"

	"github.com/minio/minio-go/v7/pkg/signer"
)

// signRequest signs req in place with minio-go's SigV4 signer.
func signRequest(t testing.TB, req *http.Request, body []byte, secret, region string) {
	t.Helper()
	sum := sha256.Sum256(body)
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	signed := signer.SignV4(*req, testAccessKey, secret, "", region)
	req.Header = signed.Header
}
