package gateway_test

import (
	"bytes"
	"slices"
	"testing"

	"github.com/notifymux/notifymux/dispatch/gateway"
)

// FuzzNotification checks that ParseNotification never panics and that what
// GET would answer for an accepted document (Bytes) parses back to the same
// rules and is written the same again: GET gives back what PUT stored.
func FuzzNotification(f *testing.F) {
	for _, s := range []string{
		photosRules,
		`<NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LambdaFunctionConfiguration><Function>arn:aws:lambda:us-east-1:1:function:f</Function><Event>s3:ObjectCreated:Put</Event><Event>s3:ObjectRemoved:*</Event></LambdaFunctionConfiguration><QueueConfiguration><Id>q</Id><Queue>arn:aws:sqs:us-east-1:1:q</Queue><Event>s3:ObjectCreated:Copy</Event><Filter><S3Key><FilterRule><Name>Suffix</Name><Value> .a&amp;b </Value></FilterRule></S3Key></Filter></QueueConfiguration></NotificationConfiguration>`,
		`<NotificationConfiguration/>`,
		`<NotificationConfiguration><EventBridgeConfiguration/></NotificationConfiguration>`,
		`<NotificationConfiguration><Cloud`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := gateway.ParseNotification("bucket", data)
		if err != nil {
			return
		}
		out := n.Bytes()
		back, err := gateway.ParseNotification("bucket", out)
		if err != nil {
			t.Fatalf("cannot read what was written: %v\n%s", err, out)
		}
		if !slices.Equal(back.Rules, n.Rules) {
			t.Fatalf("round trip changed the rules:\ngot  %+v\nwant %+v\n%s", back.Rules, n.Rules, out)
		}
		if again := back.Bytes(); !bytes.Equal(again, out) {
			t.Fatalf("written twice differently:\n%s\n%s", out, again)
		}
	})
}
