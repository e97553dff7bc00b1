package gateway_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/notifymux/notifymux/batch"
	"github.com/notifymux/notifymux/dispatch"
	"github.com/notifymux/notifymux/dispatch/gateway"
)

// A configuration is given back as it was sent: the element and event names
// stay, and a configuration without an Id gets a stable one.
func ExampleParseNotification() {
	n, err := gateway.ParseNotification("photos", []byte(`<NotificationConfiguration>
  <LambdaFunctionConfiguration>
    <Function>arn:aws:lambda:us-east-1:123456789012:function:thumbs</Function>
    <Event>s3:ObjectCreated:Put</Event>
  </LambdaFunctionConfiguration>
</NotificationConfiguration>`))
	if err != nil {
		fmt.Println(err)
		return
	}
	n.WriteTo(os.Stdout)
	// Output:
	// <?xml version="1.0" encoding="UTF-8"?>
	// <NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LambdaFunctionConfiguration><Id>Mjg2MjI1MmQtOTNmMS0wOTVmLTA2ZDktZmQ4NmUwZDAyODAz</Id><Event>s3:ObjectCreated:Put</Event><Function>arn:aws:lambda:us-east-1:123456789012:function:thumbs</Function></LambdaFunctionConfiguration></NotificationConfiguration>
}

func ExampleGateway() {
	dir, _ := os.MkdirTemp("", "notifymux-example")
	defer os.RemoveAll(dir)
	store, _ := gateway.OpenStore(dir)
	// Deliveries go to a function of our own here; a server uses dispatch.HTTP.
	p, _ := dispatch.NewPipeline(dispatch.Config{
		Dispatcher: dispatch.Func(func(_ context.Context, b batch.Batch) error { return nil }),
		DeadLetter: dispatch.NewJSONLines(os.Stderr),
		Policy:     dispatch.Reject,
	})
	defer p.Close(context.Background())
	g, err := gateway.New(gateway.Config{
		Store:       store,
		Pipeline:    p,
		Keys:        map[string]string{"AKIDEXAMPLE": "secret"},
		IngestToken: "token",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// No bucket has rules yet: valid events are accepted as unmatched.
	body := `{"bucket":"photos","event":"cos:ObjectCreated:Put","key":"a.jpg"}
{"bucket":"photos","event":"cos:ObjectCreated:Pot","key":"b.jpg"}
`
	req := httptest.NewRequest("POST", "/events", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer token")
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, req)
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output:
	// 202 {"accepted":1,"matched":0,"unmatched":1,"refused":1,"errors":[{"line":2,"record":0,"error":"line 2: \"event\": unknown event \"cos:ObjectCreated:Pot\" (did you mean \"cos:ObjectCreated:Post\"?)"}]}
}
