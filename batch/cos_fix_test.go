package batch_test

// Tests of the COS url, cosObject.key and cosBucket fields for records that
// lack a region or an APPID, and of the CloudEvents source. Each test is
// named after the defect it guards against.

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/notifymux/notifymux/batch"
	"github.com/notifymux/notifymux/batch/schema"
	"github.com/notifymux/notifymux/match"
)

// cosRecordOf encodes r as a COS payload and decodes its one record.
func cosRecordOf(t *testing.T, r batch.Record) schema.COSRecord {
	t.Helper()
	var p schema.COSPayload
	decodeStrict(t, batch.AppendCOS(nil, []batch.Record{r}), &p)
	if len(p.Records) != 1 {
		t.Fatalf("got %d records, want 1", len(p.Records))
	}
	return p.Records[0]
}

func TestCOSURLUsesFullRegion(t *testing.T) {
	for _, tt := range []struct{ region, wantHost string }{
		{"cd", "testpic-1253970026.cos.ap-chengdu.myqcloud.com"},
		{"gz", "testpic-1253970026.cos.ap-guangzhou.myqcloud.com"},
		{"ap-chengdu", "testpic-1253970026.cos.ap-chengdu.myqcloud.com"},
		{"AP-Beijing", "testpic-1253970026.cos.ap-beijing.myqcloud.com"},
	} {
		r := batch.Record{Bucket: "testpic", AppID: "1253970026", Region: tt.region, Key: "testfile",
			Event: match.ObjectCreatedPut, Target: "f"}
		c := cosRecordOf(t, r)
		if want := "https://" + tt.wantHost + "/testfile"; c.COS.Object.URL != want {
			t.Errorf("region %q: url = %q, want %q", tt.region, c.COS.Object.URL, want)
		}
		if c.COS.Bucket.Region != tt.region {
			t.Errorf("region %q: cosBucket.region = %q, want it as the record holds it", tt.region, c.COS.Bucket.Region)
		}
	}
}

func TestCOSNoEmptyHostLabelOrPathSegment(t *testing.T) {
	for _, tt := range []struct {
		name                string
		r                   batch.Record
		wantURL, wantKey    string
		wantName, wantAppID string
	}{
		{"no appid, no region",
			batch.Record{Bucket: "testpic", Key: "images/a.jpg"},
			"https://testpic.cos.myqcloud.com/images/a.jpg", "/testpic/images/a.jpg", "testpic", ""},
		{"appid in the bucket name, no region",
			batch.Record{Bucket: "testpic-1253970026", Key: "images/a.jpg"},
			"https://testpic-1253970026.cos.myqcloud.com/images/a.jpg", "/1253970026/testpic/images/a.jpg", "testpic", "1253970026"},
		{"appid in the bucket name, short region",
			batch.Record{Bucket: "testpic-1253970026", Region: "cd", Key: "testfile"},
			"https://testpic-1253970026.cos.ap-chengdu.myqcloud.com/testfile", "/1253970026/testpic/testfile", "testpic", "1253970026"},
		{"appid given and in the bucket name",
			batch.Record{Bucket: "testpic-1253970026", AppID: "1253970026", Region: "ap-chengdu", Key: "k"},
			"https://testpic-1253970026.cos.ap-chengdu.myqcloud.com/k", "/1253970026/testpic/k", "testpic", "1253970026"},
		{"no bucket",
			batch.Record{Region: "gz", Key: "k"},
			"https://cos.ap-guangzhou.myqcloud.com/k", "/k", "", ""},
	} {
		tt.r.Event, tt.r.Target = match.ObjectCreatedPut, "f"
		c := cosRecordOf(t, tt.r)
		o, b := c.COS.Object, c.COS.Bucket
		if o.URL != tt.wantURL || o.Key != tt.wantKey || b.Name != tt.wantName || b.AppID != tt.wantAppID {
			t.Errorf("%s: url %q, cosObject.key %q, cosBucket name %q appid %q;\nwant %q, %q, %q, %q",
				tt.name, o.URL, o.Key, b.Name, b.AppID, tt.wantURL, tt.wantKey, tt.wantName, tt.wantAppID)
		}
		host := strings.TrimPrefix(o.URL, "https://")
		host, _, _ = strings.Cut(host, "/")
		if strings.Contains(host, "..") || strings.HasPrefix(host, ".") || strings.Contains(o.Key, "//") {
			t.Errorf("%s: empty host label or path segment: url %q, key %q", tt.name, o.URL, o.Key)
		}
	}
}

func TestCOSKeepsIncomingURL(t *testing.T) {
	const url = "http://testpic-1253970026.cos.ap-chengdu.myqcloud.com/testfile"
	r := batch.Record{Bucket: "testpic", AppID: "1253970026", Region: "cd", Key: "testfile",
		URL: url, Event: match.ObjectCreatedPut, Target: "f"}
	if got := cosRecordOf(t, r).COS.Object.URL; got != url {
		t.Errorf("url = %q, want the record's own %q", got, url)
	}
}

func TestCloudEventsSourceHasNoEmptyLabel(t *testing.T) {
	for _, tt := range []struct{ region, bucket, want string }{
		{"us-west-2", "photos", "aws:s3.us-west-2.photos"},
		{"", "photos", "aws:s3.photos"},
		{"us-west-2", "", "aws:s3.us-west-2"},
		{"", "", "aws:s3"},
	} {
		r := batch.Record{Bucket: tt.bucket, Region: tt.region, Key: "k", Event: match.ObjectCreatedPut, Target: "f"}
		var events []schema.CloudEvent
		if err := json.Unmarshal(batch.AppendCloudEvents(nil, []batch.Record{r}), &events); err != nil {
			t.Fatal(err)
		}
		if events[0].Source != tt.want {
			t.Errorf("region %q bucket %q: source = %q, want %q", tt.region, tt.bucket, events[0].Source, tt.want)
		}
	}
}

func TestSplitCOSBucket(t *testing.T) {
	for _, tt := range []struct{ bucket, name, appid string }{
		{"testpic-1253970026", "testpic", "1253970026"},
		{"my-photos-1250000000", "my-photos", "1250000000"},
		{"testpic", "testpic", ""},
		{"logs-v2", "logs-v2", ""},
		{"a-12x", "a-12x", ""},
		{"-1253970026", "-1253970026", ""},
		{"testpic-", "testpic-", ""},
		{"", "", ""},
	} {
		name, appid := batch.SplitCOSBucket(tt.bucket)
		if name != tt.name || appid != tt.appid {
			t.Errorf("SplitCOSBucket(%q) = %q, %q; want %q, %q", tt.bucket, name, appid, tt.name, tt.appid)
		}
	}
}

// TestCOSEventTimeZeroWithoutTime: a record without a time is written with
// eventTime 0, which the decoder reads as no time, so that an event at the
// Unix epoch (the S3 guide's sample) and one without a time both encode the
// same way after a round trip.
func TestCOSEventTimeZeroWithoutTime(t *testing.T) {
	r := batch.Record{Bucket: "b", Key: "k", Event: match.ObjectCreatedPut, Target: "f"}
	if got := cosRecordOf(t, r).Event.Time; got != 0 {
		t.Errorf("eventTime of a record without time = %d, want 0", got)
	}
	d := batch.NewDecoder(strings.NewReader(string(batch.AppendCOS(nil, []batch.Record{r}))), batch.DecoderConfig{})
	in, err := d.Next()
	if err != nil || !in.Record.Time.IsZero() {
		t.Errorf("decoded eventTime 0: %v, %v; want no time", in, err)
	}
}
