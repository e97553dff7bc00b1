package gateway_test

import (
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/notification"

	"github.com/notifymux/notifymux/dispatch/gateway"
	"github.com/notifymux/notifymux/dispatch/gateway/sigv4"
	"github.com/notifymux/notifymux/match"
)

func minioClient(t *testing.T, addr, secret string) *minio.Client {
	t.Helper()
	c, err := minio.New(addr, &minio.Options{Creds: credentials.NewStaticV4(testAccessKey, secret, "")})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func lambda(arn string, prefix, suffix string, events ...notification.EventType) notification.Config {
	a, err := notification.NewArnFromString(arn)
	if err != nil {
		panic(err)
	}
	c := notification.NewConfig(a)
	c.AddEvents(events...)
	if prefix != "" {
		c.AddFilterPrefix(prefix)
	}
	if suffix != "" {
		c.AddFilterSuffix(suffix)
	}
	return c
}

func TestMinioGo(t *testing.T) {
	tg := startGateway(t, t.TempDir(), gateway.Config{})
	c := minioClient(t, tg.Addr, testSecretKey)
	ctx := context.Background()

	var cfg notification.Configuration
	thumbs := lambda("arn:aws:lambda:us-east-1:123456789012:thumbs", "images/", ".jpg", notification.ObjectCreatedAll)
	thumbs.ID = "thumbs"
	cfg.AddLambda(thumbs)
	cfg.AddLambda(lambda("arn:aws:lambda:us-east-1:123456789012:audit", "logs/", "", notification.ObjectRemovedAll, notification.ObjectCreatedPut))
	if err := c.SetBucketNotification(ctx, "photos", cfg); err != nil {
		t.Fatalf("SetBucketNotification: %v", err)
	}
	got, err := c.GetBucketNotification(ctx, "photos")
	if err != nil {
		t.Fatalf("GetBucketNotification: %v", err)
	}
	if len(got.LambdaConfigs) != 2 {
		t.Fatalf("got %d CloudFunction configurations, want 2: %+v", len(got.LambdaConfigs), got)
	}
	for i, want := range cfg.LambdaConfigs {
		g := got.LambdaConfigs[i]
		if g.Lambda != want.Arn.String() || !slices.Equal(g.Events, want.Events) || !notification.EqualFilterRuleList(g.Filter.S3Key.FilterRules, want.Filter.S3Key.FilterRules) {
			t.Errorf("configuration %d: got %+v, want %+v (%s)", i, g, want, want.Arn)
		}
	}
	if got.LambdaConfigs[0].ID != "thumbs" {
		t.Errorf("got Id %q, want thumbs", got.LambdaConfigs[0].ID)
	}
	genID := got.LambdaConfigs[1].ID
	if genID == "" {
		t.Fatal("a configuration sent without Id got none back")
	}
	if r, ok := tg.G.Index().Match("photos", match.ObjectCreatedPut, "images/cat.jpg"); !ok || r.ID != "thumbs" {
		t.Errorf("index: got %v %v, want rule thumbs", r, ok)
	}

	// The generated Id is stable: the same document again gives the same one.
	if err := c.SetBucketNotification(ctx, "photos", cfg); err != nil {
		t.Fatal(err)
	}
	again, _ := c.GetBucketNotification(ctx, "photos")
	if again.LambdaConfigs[1].ID != genID {
		t.Errorf("generated Id changed from %q to %q", genID, again.LambdaConfigs[1].ID)
	}

	// An overlapping configuration is refused; the previous one stays.
	var bad notification.Configuration
	bad.AddLambda(lambda("arn:aws:lambda:us-east-1:123456789012:a", "images/", "", notification.ObjectCreatedAll))
	bad.AddLambda(lambda("arn:aws:lambda:us-east-1:123456789012:b", "images/cats/", ".jpg", notification.ObjectCreatedPut))
	err = c.SetBucketNotification(ctx, "photos", bad)
	resp := minio.ToErrorResponse(err)
	if resp.Code != "InvalidArgument" || !strings.Contains(resp.Message, "Configuration is ambiguously defined. Cannot have overlapping suffixes in two rules if the prefixes are overlapping for the same event type.") {
		t.Fatalf("overlap: got %v (code %q, message %q), want InvalidArgument with S3's sentence", err, resp.Code, resp.Message)
	}
	if !strings.Contains(resp.Message, "images/cats/") {
		t.Errorf("overlap message %q names no witness key", resp.Message)
	}
	kept, _ := c.GetBucketNotification(ctx, "photos")
	if len(kept.LambdaConfigs) != 2 || kept.LambdaConfigs[0].ID != "thumbs" {
		t.Errorf("after a refused PUT: got %+v, want the previous configuration", kept)
	}
	if _, ok := tg.G.Index().Match("photos", match.ObjectCreatedPut, "images/cats/x.jpg"); !ok {
		t.Errorf("after a refused PUT the index lost the previous rules")
	}

	// A wrong secret.
	wrong := minioClient(t, tg.Addr, "not-the-secret")
	_, err = wrong.GetBucketNotification(ctx, "photos")
	if code := minio.ToErrorResponse(err).Code; code != "SignatureDoesNotMatch" {
		t.Errorf("wrong secret: got %v (code %q), want SignatureDoesNotMatch", err, code)
	}

	// RemoveAllBucketNotification clears the rules.
	if err := c.RemoveAllBucketNotification(ctx, "photos"); err != nil {
		t.Fatalf("RemoveAllBucketNotification: %v", err)
	}
	empty, err := c.GetBucketNotification(ctx, "photos")
	if err != nil || len(empty.LambdaConfigs)+len(empty.QueueConfigs)+len(empty.TopicConfigs) != 0 {
		t.Errorf("after RemoveAll: got %+v, %v, want empty", empty, err)
	}
	if n := tg.G.Index().Len(); n != 0 {
		t.Errorf("after RemoveAll the index holds %d rules", n)
	}
	// A bucket never configured answers an empty configuration.
	never, err := c.GetBucketNotification(ctx, "never-configured")
	if err != nil || len(never.LambdaConfigs) != 0 {
		t.Errorf("never configured: got %+v, %v", never, err)
	}
	if s := tg.G.Stats(); s.Buckets != 0 {
		t.Errorf("Stats().Buckets = %d, want 0", s.Buckets)
	}
}

// putRaw PUTs doc as the configuration of bucket, signed with minio-go's
// signer through a raw request, and returns the status and body.
func putRaw(t *testing.T, tg *testGateway, method, path string, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, tg.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	signRequest(t, req, []byte(body), testSecretKey, "us-east-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.Header.Get("x-amz-request-id") == "" {
		t.Errorf("%s %s: no x-amz-request-id", method, path)
	}
	return resp.StatusCode, string(b)
}

func TestElementNamesKept(t *testing.T) {
	tg := startGateway(t, t.TempDir(), gateway.Config{})
	const doc = `<NotificationConfiguration>
  <LambdaFunctionConfiguration><Id>fn</Id><Function>arn:aws:lambda:us-east-1:1:function:fn</Function><Event>s3:ObjectCreated:Put</Event>
    <Filter><S3Key><FilterRule><Name>Prefix</Name><Value>in/</Value></FilterRule></S3Key></Filter></LambdaFunctionConfiguration>
  <QueueConfiguration><Queue>arn:aws:sqs:us-east-1:1:q</Queue><Event>s3:ObjectRemoved:*</Event></QueueConfiguration>
  <TopicConfiguration><Id>t</Id><Topic>arn:aws:sns:us-east-1:1:t</Topic><Event>s3:ObjectCreated:Copy</Event><Filter><S3Key><FilterRule><Name>prefix</Name><Value>t/</Value></FilterRule></S3Key></Filter></TopicConfiguration>
  <CloudFunctionConfiguration><Id>cos</Id><CloudFunction>qcs:0:lambda:gz:appid/1250000000:default.fn.$LATEST</CloudFunction><Event>cos:ObjectCreated:*</Event>
    <Filter><S3Key><FilterRule><Name>prefix</Name><Value>cos/</Value></FilterRule><FilterRule><Name>suffix</Name><Value>.png</Value></FilterRule></S3Key></Filter></CloudFunctionConfiguration>
</NotificationConfiguration>`
	if code, body := putRaw(t, tg, "PUT", "/logs/?notification=", doc); code != 200 || body != "" {
		t.Fatalf("PUT: got %d %q, want 200 and an empty body", code, body)
	}
	code, got := putRaw(t, tg, "GET", "/logs?notification", "")
	if code != 200 {
		t.Fatalf("GET: %d %s", code, got)
	}
	for _, want := range []string{
		"<LambdaFunctionConfiguration><Id>fn</Id>", "<Function>arn:aws:lambda:us-east-1:1:function:fn</Function>",
		"<Name>Prefix</Name><Value>in/</Value>", "<Event>s3:ObjectCreated:Put</Event>",
		"<QueueConfiguration><Id>", "<Event>s3:ObjectRemoved:*</Event>", "<Queue>arn:aws:sqs:us-east-1:1:q</Queue>",
		"<TopicConfiguration><Id>t</Id>", "<Topic>arn:aws:sns:us-east-1:1:t</Topic>",
		"<CloudFunctionConfiguration><Id>cos</Id>", "<Event>cos:ObjectCreated:*</Event>", "<Name>prefix</Name><Value>cos/</Value></FilterRule><FilterRule><Name>suffix</Name><Value>.png</Value>",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("GET lacks %s:\n%s", want, got)
		}
	}
	// What GET gives, PUT again, gives the same.
	if code, body := putRaw(t, tg, "PUT", "/logs?notification", got); code != 200 {
		t.Fatalf("PUT of GET's answer: %d %s", code, body)
	}
	if _, again := putRaw(t, tg, "GET", "/logs/?notification=", ""); again != got {
		t.Errorf("GET after PUT of GET's answer differs:\n%s\nwant\n%s", again, got)
	}
}

func TestS3Errors(t *testing.T) {
	targets := map[string]string{"arn:aws:lambda:us-east-1:1:function:known": "http://127.0.0.1:1/"}
	tg := startGateway(t, t.TempDir(), gateway.Config{Targets: targets, MaxBody: 4096})
	fn := func(target, event string) string {
		return `<NotificationConfiguration><CloudFunctionConfiguration><CloudFunction>` + target +
			`</CloudFunction><Event>` + event + `</Event></CloudFunctionConfiguration></NotificationConfiguration>`
	}
	known := "arn:aws:lambda:us-east-1:1:function:known"
	tests := []struct {
		name, method, path, body string
		status                   int
		code, message            string
	}{
		{"malformed", "PUT", "/bkt1?notification", "<NotificationConfiguration><Cloud", 400, "MalformedXML", ""},
		{"not xml", "PUT", "/bkt1?notification", "{}", 400, "MalformedXML", ""},
		{"unknown event", "PUT", "/bkt1?notification", fn(known, "s3:ObjectCreated:Pot"), 400, "InvalidArgument", `unknown event "s3:ObjectCreated:Pot" (did you mean`},
		{"unknown target", "PUT", "/bkt1?notification", fn("arn:aws:lambda:us-east-1:1:function:nope", "s3:ObjectCreated:*"), 400, "InvalidArgument",
			`Unable to validate the following destination configurations: "arn:aws:lambda:us-east-1:1:function:nope"`},
		{"too large", "PUT", "/bkt1?notification", "<NotificationConfiguration>" + strings.Repeat(" ", 5000) + "</NotificationConfiguration>", 413, "EntityTooLarge", ""},
		{"bad bucket", "GET", "/B_1x?notification", "", 400, "InvalidBucketName", ""},
		{"object path", "GET", "/bkt1/key?notification", "", 501, "NotImplemented", ""},
		{"other sub-resource", "GET", "/bkt1?acl", "", 501, "NotImplemented", ""},
		{"method", "DELETE", "/bkt1?notification", "", 405, "MethodNotAllowed", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := putRaw(t, tg, tt.method, tt.path, tt.body)
			var e struct{ Code, Message, RequestId string }
			if err := xml.Unmarshal([]byte(body), &e); err != nil {
				t.Fatalf("%d %q: %v", code, body, err)
			}
			if code != tt.status || e.Code != tt.code || !strings.Contains(e.Message, tt.message) || e.RequestId == "" {
				t.Fatalf("got %d %s, want %d %s containing %q", code, body, tt.status, tt.code, tt.message)
			}
		})
	}
	if code, body := putRaw(t, tg, "PUT", "/bkt1?notification", fn(known, "s3:ObjectCreated:*")); code != 200 {
		t.Fatalf("a known target: got %d %s", code, body)
	}
	if !strings.Contains(tg.Log.String(), `"status":400`) || !strings.Contains(tg.Log.String(), `"request_id"`) {
		t.Errorf("refusals were not logged with their request id:\n%s", tg.Log.String())
	}
}

func TestClockSkew(t *testing.T) {
	at := time.Now().Add(-16 * time.Minute)
	tg := startGateway(t, t.TempDir(), gateway.Config{})
	req, _ := http.NewRequest("GET", tg.URL+"/photos?notification", nil)
	req.Header.Set("X-Amz-Content-Sha256", sigv4.UnsignedPayload)
	v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecretKey},
		req, sigv4.UnsignedPayload, "s3", "us-east-1", at)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(string(b), "<Code>RequestTimeTooSkewed</Code>") {
		t.Fatalf("got %d %s, want 403 RequestTimeTooSkewed", resp.StatusCode, b)
	}
}

func TestUnsigned(t *testing.T) {
	tg := startGateway(t, t.TempDir(), gateway.Config{})
	resp, err := http.Get(tg.URL + "/photos?notification")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(string(b), "<Code>AccessDenied</Code>") {
		t.Fatalf("got %d %s, want 403 AccessDenied", resp.StatusCode, b)
	}
	c, _ := minio.New(tg.Addr, &minio.Options{Creds: credentials.NewStaticV4("UNKNOWNKEY", testSecretKey, "")})
	_, err = c.GetBucketNotification(context.Background(), "photos")
	if code := minio.ToErrorResponse(err).Code; code != "InvalidAccessKeyId" {
		t.Fatalf("unknown key: got %v (%q), want InvalidAccessKeyId", err, code)
	}
}
