package batch_test

// Tests against aws-lambda-go's events.S3Event, the struct AWS's own Go
// runtime decodes S3 notifications into: what our S3 encoder writes decodes
// into it strictly, and what it marshals our decoder reads back.

import (
	"bytes"
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/notifymux/notifymux/batch"
	"github.com/notifymux/notifymux/match"
)

func TestS3EncoderOutputDecodesIntoLambdaS3Event(t *testing.T) {
	recs := records()
	dec := json.NewDecoder(bytes.NewReader(batch.AppendS3(nil, recs)))
	dec.DisallowUnknownFields()
	var ev events.S3Event
	if err := dec.Decode(&ev); err != nil {
		t.Fatalf("decode into events.S3Event: %v", err)
	}
	if len(ev.Records) != len(recs) {
		t.Fatalf("got %d records, want %d", len(ev.Records), len(recs))
	}
	for i, r := range recs {
		e := ev.Records[i]
		check := func(field string, got, want any) {
			t.Helper()
			if got != want {
				t.Errorf("record %d: %s = %v, want %v", i, field, got, want)
			}
		}
		check("EventVersion", e.EventVersion, "2.1")
		check("EventSource", e.EventSource, "aws:s3")
		check("AWSRegion", e.AWSRegion, r.Region)
		check("EventTime", e.EventTime, r.Time.Truncate(time.Millisecond).UTC())
		if got, err := match.ParseEvent("s3:" + e.EventName); r.Event.S3Name() != "" && (err != nil || got != r.Event) {
			t.Errorf("record %d: EventName %q, want %v", i, e.EventName, r.Event)
		}
		check("PrincipalID", e.PrincipalID.PrincipalID, r.AppID)
		check("SourceIPAddress", e.RequestParameters.SourceIPAddress, r.SourceIP)
		check("x-amz-request-id", e.ResponseElements["x-amz-request-id"], r.RequestID)
		check("ConfigurationID", e.S3.ConfigurationID, r.RuleID)
		check("Bucket.Name", e.S3.Bucket.Name, r.Bucket)
		check("Bucket.Arn", e.S3.Bucket.Arn, "arn:aws:s3:::"+r.Bucket)
		check("Object.URLDecodedKey", e.S3.Object.URLDecodedKey, r.Key)
		check("Object.VersionID", e.S3.Object.VersionID, r.VersionID)
		check("Object.Sequencer", e.S3.Object.Sequencer, r.Sequencer)
		if !match.ObjectRemove.Has(r.Event) {
			check("Object.Size", e.S3.Object.Size, r.Size)
			check("Object.ETag", e.S3.Object.ETag, r.ETag)
		}
	}
}

func TestDecodeLambdaS3Event(t *testing.T) {
	key := "photos/2024/red flower+1 李.jpg"
	in := events.S3Event{Records: []events.S3EventRecord{{
		EventVersion: "2.1", EventSource: "aws:s3", AWSRegion: "eu-west-1",
		EventTime: time.Date(2024, 5, 1, 10, 0, 0, 123e6, time.UTC), EventName: "ObjectCreated:CompleteMultipartUpload",
		PrincipalID:       events.S3UserIdentity{PrincipalID: "AWS:AIDAEXAMPLE"},
		RequestParameters: events.S3RequestParameters{SourceIPAddress: "203.0.113.7"},
		ResponseElements:  map[string]string{"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"},
		S3: events.S3Entity{
			SchemaVersion: "1.0", ConfigurationID: "thumbnails",
			Bucket: events.S3Bucket{Name: "photos-bucket", OwnerIdentity: events.S3UserIdentity{PrincipalID: "A3NL1KOZZKExample"},
				Arn: "arn:aws:s3:::photos-bucket"},
			Object: events.S3Object{Key: url.QueryEscape(key), Size: 123456, ETag: "d41d8cd98f00b204e9800998ecf8427e",
				VersionID: "096fKKXTRTtl3on89fVO.nfljtsv6qko", Sequencer: "0055AED6DCD90281E5"},
		},
	}}}
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	got := decodeAll(t, string(data), batch.DecoderConfig{})
	if len(got) != 1 || got[0].err != nil {
		t.Fatalf("got %v, want one record", got)
	}
	g := got[0].in
	want := batch.Inbound{
		Line: 1, Source: batch.SourceS3, EventName: "ObjectCreated:CompleteMultipartUpload", NotificationID: "thumbnails",
		Record: batch.Record{
			Bucket: "photos-bucket", AppID: "A3NL1KOZZKExample", Region: "eu-west-1", Key: key,
			Size: 123456, ETag: "d41d8cd98f00b204e9800998ecf8427e", VersionID: "096fKKXTRTtl3on89fVO.nfljtsv6qko",
			Event: match.ObjectCreatedCompleteMultipartUpload, Time: in.Records[0].EventTime,
			RequestID: "C3D13FE58DE4C810", SourceIP: "203.0.113.7", Sequencer: "0055AED6DCD90281E5",
		},
	}
	if s1, s2 := fmtInbound(g), fmtInbound(want); s1 != s2 {
		t.Errorf("decoded\n%s\nwant\n%s", s1, s2)
	}
}
