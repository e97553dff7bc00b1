// Benchmarks of package batch: the hand-written payload encoders against
// encoding/json marshaling equivalent structs, and the Batcher.
//
// Each encoder benchmark encodes one payload of 10 records (the default
// batch) into a reused buffer and reports ns/record. The encoding/json side
// is given every advantage: its structs (package batch/schema, with the S3
// key already URL-encoded) are built once outside the timed loop, and
// it writes through a json.Encoder into a reused bytes.Buffer, so only the
// marshaling is timed. Both sides produce the same JSON document (the test
// TestEncodeEquivalent checks that they decode to equal values), with the
// same HTML-safe escaping.
//
//	go test ./bench -run='^$' -bench='Encode|Batcher' -benchmem -count=6 | tee enc.txt
//	benchstat -col /impl enc.txt
package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/notifymux/notifymux/batch"
	"github.com/notifymux/notifymux/batch/schema"
	"github.com/notifymux/notifymux/match"
)

var (
	encSinkBytes []byte
	encSinkInt   int
)

const encRecords = 10

// encWorkload is 10 records as a COS trigger sees them: mixed events, keys
// with spaces and non-ASCII, two user metadata entries.
func encWorkload() []batch.Record {
	events := []match.Event{match.ObjectCreatedPut, match.ObjectCreatedCompleteMultipartUpload, match.ObjectRemoveDelete, match.ObjectCreatedCopy}
	recs := make([]batch.Record, encRecords)
	for i := range recs {
		recs[i] = batch.Record{
			Bucket: "examplebucket", AppID: "1250000000", Region: "ap-guangzhou",
			Key:  fmt.Sprintf("photos/2024/05/%02d/IMG_%04d copy 照片.jpg", i%28+1, i),
			Size: int64(1 << 20 * (i + 1)), ETag: "9a4802d5c99dafe1c04da0a8e7e166bf",
			Event:       events[i%len(events)],
			Time:        time.Date(2024, 5, 1, 12, 0, i, 123e6, time.UTC),
			RequestID:   fmt.Sprintf("NWMxOWY4MGFfMjViMjU4NjRfMTUyMV8y%08d", i),
			SourceIP:    "203.0.113.7",
			ContentType: "image/jpeg",
			Meta:        []batch.Meta{{Name: "x-cos-meta-camera", Value: "X100V"}, {Name: "x-cos-meta-album", Value: "Trip <2024>"}},
			Sequencer:   fmt.Sprintf("0055AED6DCD9028%03X", i),
			RuleID:      "thumbnails",
			Target:      "qcs:0:lambda:ap-guangzhou:appid/1250000000:default.thumb.$LATEST",
		}
	}
	return recs
}

// The encoding/json side marshals the wire structs of package batch/schema.

// toJSONStructs builds the encoding/json input for recs in format f.
func toJSONStructs(f batch.Format, recs []batch.Record) any {
	const iso = "2006-01-02T15:04:05.000Z"
	s3rec := func(r batch.Record) schema.S3Record {
		var j schema.S3Record
		j.EventVersion, j.EventSource, j.AWSRegion = "2.1", "aws:s3", r.Region
		j.EventTime = r.Time.UTC().Format(iso)
		j.EventName = strings.TrimPrefix(r.Event.S3Name(), "s3:")
		j.UserIdentity.PrincipalID = r.AppID
		j.RequestParameters.SourceIPAddress = r.SourceIP
		j.ResponseElements.RequestID = r.RequestID
		j.S3.SchemaVersion, j.S3.ConfigurationID = "1.0", r.RuleID
		j.S3.Bucket.Name, j.S3.Bucket.OwnerIdentity.PrincipalID, j.S3.Bucket.ARN = r.Bucket, r.AppID, "arn:aws:s3:::"+r.Bucket
		j.S3.Object.Key = strings.NewReplacer("%20", "+", "%2F", "/").Replace(url.PathEscape(r.Key))
		if !match.ObjectRemove.Has(r.Event) {
			j.S3.Object.Size, j.S3.Object.ETag = r.Size, r.ETag // the workload has no size 0 or empty eTag
		}
		j.S3.Object.VersionID, j.S3.Object.Sequencer = r.VersionID, r.Sequencer
		return j
	}
	switch f {
	case batch.FormatCOS:
		var p schema.COSPayload
		for _, r := range recs {
			var j schema.COSRecord
			c := &j.COS
			c.SchemaVersion = "1.0"
			c.Object.URL = "https://" + r.Bucket + "-" + r.AppID + ".cos." + r.Region + ".myqcloud.com/" + strings.ReplaceAll(url.PathEscape(r.Key), "%2F", "/")
			c.Object.Meta = schema.Metadata{{Name: "x-cos-request-id", Value: r.RequestID}, {Name: "Content-Type", Value: r.ContentType}}
			for _, m := range r.Meta {
				c.Object.Meta = append(c.Object.Meta, schema.MetaField(m))
			}
			c.Object.VersionID, c.Object.Key, c.Object.Size = r.VersionID, "/"+r.AppID+"/"+r.Bucket+"/"+r.Key, r.Size
			c.Bucket.Region, c.Bucket.Name, c.Bucket.AppID = r.Region, r.Bucket, r.AppID
			c.NotificationID = r.RuleID
			e := &j.Event
			e.Name, e.Version, e.Time = r.Event.String(), "1.0", r.Time.Unix()
			e.Source = "qcs::cos"
			e.RequestParameters.SourceIP = r.SourceIP
			e.RequestParameters.Headers = map[string]string{}
			e.Queue = r.Target
			p.Records = append(p.Records, j)
		}
		return p
	case batch.FormatS3:
		var p schema.S3Payload
		for _, r := range recs {
			p.Records = append(p.Records, s3rec(r))
		}
		return p
	default:
		var p []schema.CloudEvent
		for _, r := range recs {
			p = append(p, schema.CloudEvent{
				SpecVersion: "1.0", ID: r.RequestID + "." + r.Sequencer,
				Source: "aws:s3." + r.Region + "." + r.Bucket,
				Type:   "com.amazonaws.s3." + strings.TrimPrefix(r.Event.S3Name(), "s3:"), Subject: r.Key,
				Time: r.Time.UTC().Format(iso), DataContentType: "application/json", Data: s3rec(r),
			})
		}
		return p
	}
}

var encFormats = []batch.Format{batch.FormatCOS, batch.FormatS3, batch.FormatCloudEvents}

// TestEncodeEquivalent checks that both sides of BenchmarkEncode produce the
// same document (reqid aside: the appender derives it from the request id),
// so the comparison is fair.
func TestEncodeEquivalent(t *testing.T) {
	recs := encWorkload()
	for _, f := range encFormats {
		var a, b any
		if err := json.Unmarshal(f.Append(nil, recs), &a); err != nil {
			t.Fatal(err)
		}
		js, err := json.Marshal(toJSONStructs(f, recs))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(js, &b); err != nil {
			t.Fatal(err)
		}
		if f == batch.FormatCOS {
			for _, v := range []any{a, b} {
				for _, r := range v.(map[string]any)["Records"].([]any) {
					delete(r.(map[string]any)["event"].(map[string]any), "reqid")
				}
			}
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%v: appender and encoding/json documents differ:\n%.2000s\n%.2000s", f, f.Append(nil, recs), js)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	recs := encWorkload()
	for _, f := range encFormats {
		b.Run(fmt.Sprintf("format=%v/impl=appender", f), func(b *testing.B) {
			dst := f.Append(nil, recs)
			b.SetBytes(int64(len(dst)))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				dst = f.Append(dst[:0], recs)
			}
			encSinkBytes = dst
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*encRecords), "ns/record")
		})
		b.Run(fmt.Sprintf("format=%v/impl=encoding_json", f), func(b *testing.B) {
			v := toJSONStructs(f, recs)
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			if err := enc.Encode(v); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(buf.Len()))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				buf.Reset()
				if err := enc.Encode(v); err != nil {
					b.Fatal(err)
				}
			}
			encSinkInt = buf.Len()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*encRecords), "ns/record")
		})
	}
}

// BenchmarkBatcher adds records for 10 targets to one Batcher with the
// default limits (10 records, 256 KiB); emit keeps only the count. Without
// recycling each batch costs two fresh buffers handed to emit (payload and
// Records); with recycle=true emit hands them back with Batcher.Recycle, as a
// dispatcher does once a batch is delivered.
func BenchmarkBatcher(b *testing.B) {
	base := encWorkload()
	recs := make([]batch.Record, 1000)
	for i := range recs {
		recs[i] = base[i%len(base)]
		recs[i].Target = fmt.Sprintf("function-%d", i%10)
	}
	for _, f := range encFormats {
		for _, recycle := range []bool{false, true} {
			b.Run(fmt.Sprintf("format=%v/recycle=%v", f, recycle), func(b *testing.B) {
				emitted := 0
				var bt *batch.Batcher
				bt, err := batch.NewBatcher(batch.Config{Format: f}, func(out batch.Batch) {
					emitted += len(out.Records)
					if recycle {
						bt.Recycle(out)
					}
				})
				if err != nil {
					b.Fatal(err)
				}
				now := time.Unix(1700000000, 0)
				b.ReportAllocs()
				b.ResetTimer()
				i := 0
				for b.Loop() {
					if err := bt.Add(recs[i%len(recs)], now); err != nil {
						b.Fatal(err)
					}
					i++
				}
				bt.Flush()
				encSinkInt = emitted
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
			})
		}
	}
}
