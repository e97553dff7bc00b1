package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/notifymux/notifymux/batch"
	"github.com/notifymux/notifymux/batch/schema"
	"github.com/notifymux/notifymux/match"
)

// eventCommand runs `notifymux event args...`.
func eventCommand(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), append([]string{"event"}, args...), nil, &out, &errOut)
	return code, out.String(), errOut.String()
}

const eventKey = "photos/2024/red flower+ü.jpg"

func TestEventCOS(t *testing.T) {
	code, out, errOut := eventCommand("-bucket", "testpic", "-key", eventKey, "-event", "cos:ObjectRemove:DeleteMarkerCreated",
		"-time", "2024-05-01T10:00:00Z", "-size", "99", "-appid", "1253970026", "-region", "ap-chengdu", "-version-id", "v2",
		"-meta", "x-cos-meta-origin=camera", "-content-type", "image/jpeg", "-source-ip", "10.1.2.3", "-rule", "r1", "-target", "fn")
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var p schema.COSPayload
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(p.Records) != 1 {
		t.Fatalf("%d records", len(p.Records))
	}
	c, e := p.Records[0].COS, p.Records[0].Event
	for _, f := range []struct{ name, got, want string }{
		{"cosSchemaVersion", c.SchemaVersion, "1.0"},
		{"cosObject.url", c.Object.URL, "https://testpic-1253970026.cos.ap-chengdu.myqcloud.com/photos/2024/red%20flower%2B%C3%BC.jpg"},
		{"cosObject.key", c.Object.Key, "/1253970026/testpic/" + eventKey},
		{"cosObject.vid", c.Object.VersionID, "v2"},
		{"cosObject.meta.Content-Type", meta(c.Object.Meta, "Content-Type"), "image/jpeg"},
		{"cosObject.meta.x-cos-meta-origin", meta(c.Object.Meta, "x-cos-meta-origin"), "camera"},
		{"cosBucket.name", c.Bucket.Name, "testpic"},
		{"cosBucket.appid", c.Bucket.AppID, "1253970026"},
		{"cosBucket.region", c.Bucket.Region, "ap-chengdu"},
		{"cosNotificationId", c.NotificationID, "r1"},
		{"event.eventName", e.Name, "cos:ObjectRemove:DeleteMarkerCreated"},
		{"event.eventVersion", e.Version, "1.0"},
		{"event.eventSource", e.Source, "qcs::cos"},
		{"event.eventQueue", e.Queue, "fn"},
		{"event.requestParameters.requestSourceIP", e.RequestParameters.SourceIP, "10.1.2.3"},
	} {
		if f.got != f.want {
			t.Errorf("%s = %q, want %q", f.name, f.got, f.want)
		}
	}
	if c.Object.Size != 99 || e.Time != 1714557600 || len(e.RequestParameters.Headers) != 0 {
		t.Errorf("size %d, eventTime %d, requestHeaders %v", c.Object.Size, e.Time, e.RequestParameters.Headers)
	}
	if meta(c.Object.Meta, "x-cos-request-id") == "" || e.ReqID == 0 {
		t.Errorf("no request id: meta %v, reqid %d", c.Object.Meta, e.ReqID)
	}
}

func TestEventS3(t *testing.T) {
	code, out, errOut := eventCommand("-format", "s3", "-bucket", "logs", "-key", eventKey, "-event", "s3:ObjectCreated:CompleteMultipartUpload",
		"-time", "2024-05-01T10:00:00.5Z", "-etag", "abc", "-rule", "r1", "-request-id", "REQ", "-sequencer", "00AB")
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var p struct {
		Records []schema.S3Record `json:"Records"`
	}
	if err := json.Unmarshal([]byte(out), &p); err != nil || len(p.Records) != 1 {
		t.Fatalf("%v, %d records: %s", err, len(p.Records), out)
	}
	r := p.Records[0]
	key, err := url.QueryUnescape(r.S3.Object.Key)
	if err != nil || key != eventKey {
		t.Errorf("s3.object.key %q decodes to %q (%v), want %q", r.S3.Object.Key, key, err, eventKey)
	}
	for _, f := range []struct{ name, got, want string }{
		{"eventVersion", r.EventVersion, "2.1"},
		{"eventSource", r.EventSource, "aws:s3"},
		{"awsRegion", r.AWSRegion, sampleS3Region},
		{"eventTime", r.EventTime, "2024-05-01T10:00:00.500Z"},
		{"eventName", r.EventName, "ObjectCreated:CompleteMultipartUpload"},
		{"requestParameters.sourceIPAddress", r.RequestParameters.SourceIPAddress, sampleSourceIP},
		{"responseElements.x-amz-request-id", r.ResponseElements.RequestID, "REQ"},
		{"s3.s3SchemaVersion", r.S3.SchemaVersion, "1.0"},
		{"s3.configurationId", r.S3.ConfigurationID, "r1"},
		{"s3.bucket.name", r.S3.Bucket.Name, "logs"},
		{"s3.bucket.arn", r.S3.Bucket.ARN, "arn:aws:s3:::logs"},
		{"s3.object.eTag", r.S3.Object.ETag, "abc"},
		{"s3.object.sequencer", r.S3.Object.Sequencer, "00AB"},
		{"userIdentity.principalId", r.UserIdentity.PrincipalID, ""},
	} {
		if f.got != f.want {
			t.Errorf("%s = %q, want %q", f.name, f.got, f.want)
		}
	}
	if r.S3.Object.Size != 1024 {
		t.Errorf("s3.object.size = %d, want the default 1024", r.S3.Object.Size)
	}
}

func TestEventCloudEvents(t *testing.T) {
	code, out, errOut := eventCommand("-format", "cloudevents", "-bucket", "logs", "-key", eventKey, "-event", "cos:ObjectCreated:Put",
		"-time", "1714557600", "-region", "eu-west-1")
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var batch []schema.CloudEvent
	if err := json.Unmarshal([]byte(out), &batch); err != nil || len(batch) != 1 {
		t.Fatalf("%v, %d events: %s", err, len(batch), out)
	}
	e := batch[0]
	for _, f := range []struct{ name, got, want string }{
		{"specversion", e.SpecVersion, "1.0"},
		{"source", e.Source, "aws:s3.eu-west-1.logs"},
		{"type", e.Type, "com.amazonaws.s3.ObjectCreated:Put"},
		{"subject", e.Subject, eventKey},
		{"time", e.Time, "2024-05-01T10:00:00.000Z"},
		{"datacontenttype", e.DataContentType, "application/json"},
		{"data.eventName", e.Data.EventName, "ObjectCreated:Put"},
		{"data.s3.bucket.name", e.Data.S3.Bucket.Name, "logs"},
	} {
		if f.got != f.want {
			t.Errorf("%s = %q, want %q", f.name, f.got, f.want)
		}
	}
	if e.ID == "" {
		t.Error("empty id")
	}
}

// TestEventRoundTrip reads the COS and S3 payloads of event back as
// notifymux match and run do: the same event comes out.
func TestEventRoundTrip(t *testing.T) {
	for _, format := range []string{"cos", "s3"} {
		code, out, errOut := eventCommand("-format", format, "-bucket", "testpic", "-key", eventKey, "-event", "cos:ObjectCreated:Copy",
			"-time", "2024-05-01T10:00:00Z", "-size", "7", "-region", "ap-chengdu", "-version-id", "v1", "-rule", "r1")
		if code != exitOK {
			t.Fatalf("%s: exit %d: %s", format, code, errOut)
		}
		dec := batch.NewDecoder(strings.NewReader(out), batch.DecoderConfig{})
		in, err := dec.Next()
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if _, err := dec.Next(); err != io.EOF {
			t.Fatalf("%s: a second record or error %v, want io.EOF", format, err)
		}
		ev := struct {
			batch.Record
			NotificationID string
		}{in.Record, in.NotificationID}
		if ev.Bucket != "testpic" || ev.Key != eventKey || ev.Event != match.ObjectCreatedCopy || ev.Size != 7 ||
			!ev.Time.Equal(time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)) || ev.Region != "ap-chengdu" || ev.VersionID != "v1" ||
			ev.NotificationID != "r1" || ev.RequestID == "" {
			t.Errorf("%s: read back %+v", format, ev)
		}
	}
}

// TestEventDerivedIDs: the request id and sequencer follow -time, so a fixed
// time fixes the payload, and another time changes them.
func TestEventDerivedIDs(t *testing.T) {
	args := []string{"-format", "s3", "-bucket", "b", "-key", "k", "-event", "cos:ObjectCreated:Put"}
	_, a, _ := eventCommand(append(args, "-time", "2024-05-01T10:00:00Z")...)
	_, b, _ := eventCommand(append(args, "-time", "1714557600")...)
	_, c, _ := eventCommand(append(args, "-time", "2024-05-01T10:00:01Z")...)
	if a != b {
		t.Errorf("the same time gave different payloads:\n%s\n%s", a, b)
	}
	if a == c {
		t.Errorf("different times gave the same payload:\n%s", a)
	}
}

func TestEventBadKey(t *testing.T) {
	for _, tc := range []struct{ key, want string }{
		{strings.Repeat("k", maxObjectKeySize+1), "-key: 1025 bytes, over the 1024-byte limit of object keys"},
		{"bad\xff", "-key: not valid UTF-8"},
	} {
		code, out, errOut := eventCommand("-bucket", "b", "-key", tc.key, "-event", "cos:ObjectCreated:Put")
		if code != exitUsage || out != "" || !strings.Contains(errOut, tc.want) {
			t.Errorf("key %.20q: exit %d, stdout %q, stderr %q; want exit 2 and %q", tc.key, code, out, errOut, tc.want)
		}
	}
	// The longest key is fine.
	if code, _, errOut := eventCommand("-bucket", "b", "-key", strings.Repeat("k", maxObjectKeySize), "-event", "cos:ObjectCreated:Put"); code != exitOK {
		t.Errorf("a key of %d bytes: exit %d: %s", maxObjectKeySize, code, errOut)
	}
}

// meta returns the value of the metadata entry name, "" when there is none.
func meta(m schema.Metadata, name string) string {
	v, _ := m.Get(name)
	return v
}
