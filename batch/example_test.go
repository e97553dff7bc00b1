package batch_test

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/notifymux/notifymux/batch"
	"github.com/notifymux/notifymux/match"
)

func exampleRecord() batch.Record {
	return batch.Record{
		Bucket:      "testpic",
		AppID:       "1253970026",
		Region:      "ap-chengdu",
		Key:         "photos/red flower.jpg",
		Size:        1029,
		ETag:        "d41d8cd98f00b204e9800998ecf8427e",
		Event:       match.ObjectCreatedPut,
		Time:        time.Date(2018, 12, 19, 7, 49, 30, 123e6, time.UTC),
		RequestID:   "NWMxOWY4MGFfMjViMjU4NjRfMTUyMV8yNzhhZjM=",
		SourceIP:    "192.168.15.101",
		ContentType: "image/jpeg",
		Meta:        []batch.Meta{{Name: "x-cos-meta-origin", Value: "camera"}, {Name: "Authorization", Value: "secret"}},
		Sequencer:   "0055AED6DCD90281E5",
		RuleID:      "thumbnails",
		Target:      "qcs:0:lambda:ap-chengdu:appid/1253970026:default.thumb.$LATEST",
	}
}

func ExampleAppendCOS() {
	payload := batch.AppendCOS(nil, []batch.Record{exampleRecord()})
	fmt.Println(string(payload))
	// Output:
	// {"Records":[{"cos":{"cosSchemaVersion":"1.0","cosObject":{"url":"https://testpic-1253970026.cos.ap-chengdu.myqcloud.com/photos/red%20flower.jpg","meta":{"x-cos-request-id":"NWMxOWY4MGFfMjViMjU4NjRfMTUyMV8yNzhhZjM=","Content-Type":"image/jpeg","x-cos-meta-origin":"camera"},"vid":"","key":"/1253970026/testpic/photos/red flower.jpg","size":1029},"cosBucket":{"region":"ap-chengdu","name":"testpic","appid":"1253970026"},"cosNotificationId":"thumbnails"},"event":{"eventName":"cos:ObjectCreated:Put","eventVersion":"1.0","eventTime":1545205770,"eventSource":"qcs::cos","requestParameters":{"requestSourceIP":"192.168.15.101","requestHeaders":{}},"eventQueue":"qcs:0:lambda:ap-chengdu:appid/1253970026:default.thumb.$LATEST","reservedInfo":"","reqid":6133995715817524}}]}
}

func ExampleAppendS3() {
	payload := batch.AppendS3(nil, []batch.Record{exampleRecord()})
	fmt.Println(string(payload))
	// Output:
	// {"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"ap-chengdu","eventTime":"2018-12-19T07:49:30.123Z","eventName":"ObjectCreated:Put","userIdentity":{"principalId":"1253970026"},"requestParameters":{"sourceIPAddress":"192.168.15.101"},"responseElements":{"x-amz-request-id":"NWMxOWY4MGFfMjViMjU4NjRfMTUyMV8yNzhhZjM="},"s3":{"s3SchemaVersion":"1.0","configurationId":"thumbnails","bucket":{"name":"testpic","ownerIdentity":{"principalId":"1253970026"},"arn":"arn:aws:s3:::testpic"},"object":{"key":"photos/red+flower.jpg","size":1029,"eTag":"d41d8cd98f00b204e9800998ecf8427e","sequencer":"0055AED6DCD90281E5"}}}]}
}

func ExampleAppendCloudEvents() {
	payload := batch.AppendCloudEvents(nil, []batch.Record{exampleRecord()})
	fmt.Println(string(payload))
	// Output:
	// [{"specversion":"1.0","id":"NWMxOWY4MGFfMjViMjU4NjRfMTUyMV8yNzhhZjM=.0055AED6DCD90281E5","source":"aws:s3.ap-chengdu.testpic","type":"com.amazonaws.s3.ObjectCreated:Put","subject":"photos/red flower.jpg","time":"2018-12-19T07:49:30.123Z","datacontenttype":"application/json","data":{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"ap-chengdu","eventTime":"2018-12-19T07:49:30.123Z","eventName":"ObjectCreated:Put","userIdentity":{"principalId":"1253970026"},"requestParameters":{"sourceIPAddress":"192.168.15.101"},"responseElements":{"x-amz-request-id":"NWMxOWY4MGFfMjViMjU4NjRfMTUyMV8yNzhhZjM="},"s3":{"s3SchemaVersion":"1.0","configurationId":"thumbnails","bucket":{"name":"testpic","ownerIdentity":{"principalId":"1253970026"},"arn":"arn:aws:s3:::testpic"},"object":{"key":"photos/red+flower.jpg","size":1029,"eTag":"d41d8cd98f00b204e9800998ecf8427e","sequencer":"0055AED6DCD90281E5"}}}}]
}

func ExampleBatcher() {
	b, err := batch.NewBatcher(batch.Config{MaxRecords: 2, MaxWait: time.Second}, func(out batch.Batch) {
		fmt.Printf("%s: %d records, %d bytes, %s\n", out.Target, len(out.Records), len(out.Payload), out.ContentType)
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	start := time.Unix(1700000000, 0)
	for i, target := range []string{"thumb", "index", "thumb", "index"} {
		r := exampleRecord()
		r.Target = target
		r.Key = fmt.Sprintf("photos/%d.jpg", i)
		if err := b.Add(r, start.Add(time.Duration(i)*time.Millisecond)); err != nil {
			fmt.Println(err)
		}
	}
	r := exampleRecord()
	r.Target = "archive"
	_ = b.Add(r, start.Add(10*time.Millisecond))
	next, ok := b.Next()
	fmt.Println("open:", b.Len(), "due at +", next.Sub(start), ok)
	b.Due(next)
	fmt.Println("open:", b.Len())
	// Output:
	// thumb: 2 records, 1369 bytes, application/json
	// index: 2 records, 1369 bytes, application/json
	// open: 1 due at + 1.01s true
	// archive: 1 records, 713 bytes, application/json
	// open: 0
}

func ExampleRoute() {
	// Four workers: every event of photos/a.jpg in testpic goes to the same
	// one, on every machine, so its events stay in order.
	fmt.Println(batch.Route("testpic", "photos/a.jpg", 4), batch.Route("testpic", "photos/a.jpg", 4))
	fmt.Println(batch.Route("testpic", "photos/b.jpg", 4))
	// Output:
	// 3 3
	// 1
}

func ExampleFormat_AppendRecord() {
	// Build a payload record by record, knowing its size at each step.
	f := batch.FormatS3
	var recs []batch.Record
	payload := []byte(`{"Records":[`)
	for i := range 3 {
		r := exampleRecord()
		r.Key = fmt.Sprintf("photos/%d.jpg", i)
		recs = append(recs, r)
		if i > 0 {
			payload = append(payload, ',')
		}
		payload = f.AppendRecord(payload, &r)
		fmt.Println(i+1, "records:", len(payload)+len(`]}`), "bytes")
	}
	payload = append(payload, `]}`...)
	fmt.Println("same as AppendS3:", string(payload) == string(batch.AppendS3(nil, recs)))
	// Output:
	// 1 records: 622 bytes
	// 2 records: 1231 bytes
	// 3 records: 1840 bytes
	// same as AppendS3: true
}

// A COS bucket's full name is <name>-<appid>.
func ExampleSplitCOSBucket() {
	fmt.Println(batch.SplitCOSBucket("testpic-1253970026"))
	fmt.Println(batch.SplitCOSBucket("logs"))
	// Output:
	// testpic 1253970026
	// logs
}

// A Decoder reads event lines and payloads, one JSON value after another; a
// bad value or record is an error of its own, and decoding goes on.
func ExampleNewDecoder() {
	input := `{"bucket":"testpic-1253970026","event":"cos:ObjectCreated:Put","key":"images/a.jpg"}
{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-west-2","eventTime":"2024-05-01T10:00:00.000Z",
  "eventName":"ObjectRemoved:Delete","s3":{"configurationId":"cleanup","bucket":{"name":"logs"},"object":{"key":"2024/a+b.log"}}}]}
{"event":"cos:ObjectCreated:Putt","key":"x"}
{"event":"cos:ObjectCreated:*","key":"y"}
`
	d := batch.NewDecoder(strings.NewReader(input), batch.DecoderConfig{})
	for {
		in, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		fmt.Printf("line %d %s: %s %s %q\n", in.Line, in.Source, in.Record.Event, in.Record.Bucket, in.Record.Key)
	}
	// Output:
	// line 1 line: cos:ObjectCreated:Put testpic-1253970026 "images/a.jpg"
	// line 2 s3: cos:ObjectRemove:Delete logs "2024/a b.log"
	// error: line 4: "event": unknown event "cos:ObjectCreated:Putt" (did you mean "cos:ObjectCreated:Put"?)
	// error: line 5: "event": wildcard event name: "cos:ObjectCreated:*" names a family of event types, as a rule does (the SCF console's COS test template sends it), but an event must name the one type that happened, so no rule can be chosen for it; send a concrete type such as "cos:ObjectCreated:Put"
}
