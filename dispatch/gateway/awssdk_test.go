package gateway_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/notifymux/notifymux/dispatch/gateway"
	"github.com/notifymux/notifymux/match"
)

// payloadHashes records the X-Amz-Content-Sha256 of each PUT it passes on.
type payloadHashes struct {
	h    http.Handler
	mu   sync.Mutex
	seen []string
}

func (p *payloadHashes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPut {
		p.mu.Lock()
		p.seen = append(p.seen, r.Header.Get("X-Amz-Content-Sha256"))
		p.mu.Unlock()
	}
	p.h.ServeHTTP(w, r)
}

func awsClient(endpoint string, hc *http.Client, secret string, optFns ...func(*s3.Options)) *s3.Client {
	return s3.New(s3.Options{
		Region:       "us-east-1",
		Credentials:  awscreds.NewStaticCredentialsProvider(testAccessKey, secret, ""),
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		HTTPClient:   hc,
	}, optFns...)
}

// unsignedPayload makes the client send UNSIGNED-PAYLOAD, as it does for
// uploads over TLS, with the SDK's own middleware.
func unsignedPayload(o *s3.Options) {
	o.APIOptions = append(o.APIOptions, v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
}

func TestAWSSDK(t *testing.T) {
	for _, tls := range []bool{false, true} {
		name := "http"
		if tls {
			name = "https"
		}
		t.Run(name, func(t *testing.T) {
			st, err := gateway.OpenStore(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			g, err := gateway.New(gateway.Config{Store: st, Keys: map[string]string{testAccessKey: testSecretKey}, IngestToken: testToken})
			if err != nil {
				t.Fatal(err)
			}
			ph := &payloadHashes{h: g}
			srv := httptest.NewUnstartedServer(ph)
			if tls {
				srv.StartTLS()
			} else {
				srv.Start()
			}
			defer srv.Close()
			c := awsClient(srv.URL, srv.Client(), testSecretKey)
			ctx := context.Background()
			in := &s3.PutBucketNotificationConfigurationInput{
				Bucket: aws.String("photos"),
				NotificationConfiguration: &types.NotificationConfiguration{
					LambdaFunctionConfigurations: []types.LambdaFunctionConfiguration{{
						Id:                aws.String("thumbs"),
						LambdaFunctionArn: aws.String("arn:aws:lambda:us-east-1:123456789012:function:thumbs"),
						Events:            []types.Event{"s3:ObjectCreated:*"},
						Filter: &types.NotificationConfigurationFilter{Key: &types.S3KeyFilter{FilterRules: []types.FilterRule{
							{Name: types.FilterRuleNamePrefix, Value: aws.String("images/")},
							{Name: types.FilterRuleNameSuffix, Value: aws.String(".jpg")},
						}}},
					}},
					QueueConfigurations: []types.QueueConfiguration{{
						QueueArn: aws.String("arn:aws:sqs:us-east-1:123456789012:audit"),
						Events:   []types.Event{"s3:ObjectRemoved:Delete"},
					}},
				},
			}
			if _, err := c.PutBucketNotificationConfiguration(ctx, in); err != nil {
				t.Fatalf("PutBucketNotificationConfiguration: %v", err)
			}
			if tls {
				// Again with UNSIGNED-PAYLOAD: the body is then covered by TLS only.
				uc := awsClient(srv.URL, srv.Client(), testSecretKey, unsignedPayload)
				if _, err := uc.PutBucketNotificationConfiguration(ctx, in); err != nil {
					t.Fatalf("PutBucketNotificationConfiguration with UNSIGNED-PAYLOAD: %v", err)
				}
			}
			out, err := c.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String("photos")})
			if err != nil {
				t.Fatalf("GetBucketNotificationConfiguration: %v", err)
			}
			if len(out.LambdaFunctionConfigurations) != 1 || len(out.QueueConfigurations) != 1 {
				t.Fatalf("got %d Lambda and %d Queue configurations, want 1 and 1", len(out.LambdaFunctionConfigurations), len(out.QueueConfigurations))
			}
			l := out.LambdaFunctionConfigurations[0]
			if aws.ToString(l.Id) != "thumbs" || aws.ToString(l.LambdaFunctionArn) != "arn:aws:lambda:us-east-1:123456789012:function:thumbs" ||
				len(l.Events) != 1 || l.Events[0] != "s3:ObjectCreated:*" || len(l.Filter.Key.FilterRules) != 2 {
				t.Errorf("got %+v", l)
			}
			if aws.ToString(out.QueueConfigurations[0].Id) == "" {
				t.Errorf("the queue configuration got no Id")
			}
			if r, ok := g.Index().Match("photos", match.ObjectRemoveDelete, "x"); !ok || r.Target != "arn:aws:sqs:us-east-1:123456789012:audit" {
				t.Errorf("index: got %v %v", r, ok)
			}
			ph.mu.Lock()
			seen := strings.Join(ph.seen, ",")
			ph.mu.Unlock()
			// Over TLS the SDK hashes this operation's body by default too; the
			// second PUT sends UNSIGNED-PAYLOAD.
			if want := 64; len(ph.seen) == 0 || len(ph.seen[0]) != want || tls && (len(ph.seen) != 2 || ph.seen[1] != "UNSIGNED-PAYLOAD") {
				t.Errorf("payload hashes sent: %q", seen)
			}

			// A wrong secret.
			_, err = awsClient(srv.URL, srv.Client(), "wrong").GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: aws.String("photos")})
			if err == nil || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
				t.Errorf("wrong secret: got %v, want SignatureDoesNotMatch", err)
			}
		})
	}
}
