package batch_test

// These tests decode every payload with encoding/json into structs whose
// field names are copied from the documents: the COS event on the SCF "COS
// trigger" page (seed 004, kept in testdata/cos_seed004.json), the S3 user
// guide's "Event message structure" example (testdata/s3_sample.json), and
// the CloudEvents 1.0 spec's attribute names. They are not derived from the
// encoders.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/notifymux/notifymux/batch"
	"github.com/notifymux/notifymux/match"
)

// cosPayload is seed 004's event structure.
type cosPayload struct {
	Records []struct {
		Cos struct {
			CosSchemaVersion string `json:"cosSchemaVersion"`
			CosObject        struct {
				URL  string            `json:"url"`
				Meta map[string]string `json:"meta"`
				Vid  string            `json:"vid"`
				Key  string            `json:"key"`
				Size int64             `json:"size"`
			} `json:"cosObject"`
			CosBucket struct {
				Region string `json:"region"`
				Name   string `json:"name"`
				Appid  string `json:"appid"`
			} `json:"cosBucket"`
			CosNotificationID string `json:"cosNotificationId"`
		} `json:"cos"`
		Event struct {
			EventName         string `json:"eventName"`
			EventVersion      string `json:"eventVersion"`
			EventTime         int64  `json:"eventTime"`
			EventSource       string `json:"eventSource"`
			RequestParameters struct {
				RequestSourceIP string            `json:"requestSourceIP"`
				RequestHeaders  map[string]string `json:"requestHeaders"`
			} `json:"requestParameters"`
			EventQueue   string `json:"eventQueue"`
			ReservedInfo string `json:"reservedInfo"`
			Reqid        int64  `json:"reqid"`
		} `json:"event"`
	} `json:"Records"`
}

// s3Record is the S3 user guide's event record, version 2.1.
type s3Record struct {
	EventVersion string `json:"eventVersion"`
	EventSource  string `json:"eventSource"`
	AwsRegion    string `json:"awsRegion"`
	EventTime    string `json:"eventTime"`
	EventName    string `json:"eventName"`
	UserIdentity struct {
		PrincipalID string `json:"principalId"`
	} `json:"userIdentity"`
	RequestParameters struct {
		SourceIPAddress string `json:"sourceIPAddress"`
	} `json:"requestParameters"`
	ResponseElements struct {
		XAmzRequestID string `json:"x-amz-request-id"`
		XAmzID2       string `json:"x-amz-id-2"`
	} `json:"responseElements"`
	S3 struct {
		S3SchemaVersion string `json:"s3SchemaVersion"`
		ConfigurationID string `json:"configurationId"`
		Bucket          struct {
			Name          string `json:"name"`
			OwnerIdentity struct {
				PrincipalID string `json:"principalId"`
			} `json:"ownerIdentity"`
			Arn string `json:"arn"`
		} `json:"bucket"`
		Object struct {
			Key       string  `json:"key"`
			Size      *int64  `json:"size"`
			ETag      *string `json:"eTag"`
			VersionID *string `json:"versionId"`
			Sequencer *string `json:"sequencer"`
		} `json:"object"`
	} `json:"s3"`
}

type s3Payload struct {
	Records []s3Record `json:"Records"`
}

// cloudEvent has the CloudEvents 1.0 context attributes we write.
type cloudEvent struct {
	SpecVersion     string   `json:"specversion"`
	ID              string   `json:"id"`
	Source          string   `json:"source"`
	Type            string   `json:"type"`
	Subject         string   `json:"subject"`
	Time            string   `json:"time"`
	DataContentType string   `json:"datacontenttype"`
	Data            s3Record `json:"data"`
}

// decodeStrict decodes data into v, refusing fields v does not name.
func decodeStrict(t *testing.T, data []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	if dec.More() {
		t.Fatalf("trailing data after payload %s", data)
	}
}

// paths lists every object member path in a JSON document, with array
// elements written as [].
func paths(t *testing.T, data []byte) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, c := range v {
				out = append(out, prefix+"."+k)
				walk(prefix+"."+k, c)
			}
		case []any:
			for _, c := range v {
				walk(prefix+"[]", c)
			}
		}
	}
	walk("", v)
	sort.Strings(out)
	return slices.Compact(out)
}

func records() []batch.Record {
	return []batch.Record{
		{
			Bucket: "testpic", AppID: "1253970026", Region: "ap-chengdu", Key: "testfile", Size: 1029,
			ETag: "9a4802d5c99dafe1c04da0a8e7e166bf", Event: match.ObjectCreatedPut,
			Time:      time.Date(2018, 12, 19, 7, 49, 30, 500e6, time.UTC),
			RequestID: "NWMxOWY4MGFfMjViMjU4NjRfMTUyMV8yNzhhZjM=", SourceIP: "192.168.15.101",
			ContentType: "text/plain",
			Meta: []batch.Meta{
				{Name: "x-cos-meta-origin", Value: "camera <1>"},
				{Name: "Authorization", Value: "q-sign-algorithm=sha1&q-ak=AKIDsecret"},
				{Name: "X-Amz-Meta-Owner", Value: "李"},
			},
			Sequencer: "0055AED6DCD90281E5", RuleID: "rule-1",
			Target: "qcs:0:lambda:cd:appid/1253970026:default.printevent.$LATEST",
		},
		{
			Bucket: "logs", AppID: "1250000000", Region: "ap-guangzhou", Key: "2024/red flower+1.jpg",
			Event: match.ObjectRemoveDeleteMarkerCreated, VersionID: "MTg0NDUxNTc1NjIzMTQ1MjAwODk",
			Time:      time.Date(2024, 2, 29, 8, 0, 0, 1e6, time.FixedZone("CST", 8*3600)),
			RequestID: "12345", SourceIP: "2001:db8::1", Sequencer: "0055AED6DCD90281E6",
			RuleID: "rule-2", Target: "cleanup",
		},
		{
			Bucket: "img", AppID: "1250000001", Region: "ap-beijing", Key: "origin/a\"b\\c\n.png", Size: 7,
			ETag: "e", Event: match.ObjectCreatedOrigin, Time: time.Unix(1700000000, 0),
			RuleID: "rule-3", Target: "thumb",
		},
	}
}

func TestCOSStructureIsSeed004(t *testing.T) {
	seed, err := os.ReadFile("testdata/cos_seed004.json")
	if err != nil {
		t.Fatal(err)
	}
	var fromSeed cosPayload
	decodeStrict(t, seed, &fromSeed) // the test's struct is the seed's
	want := slices.DeleteFunc(paths(t, seed), func(p string) bool {
		return strings.HasPrefix(p, ".Records[].event.requestParameters.requestHeaders.") // the leaked credential
	})
	r := records()[0]
	r.Meta = nil
	got := paths(t, batch.AppendCOS(nil, []batch.Record{r}))
	if !slices.Equal(got, want) {
		t.Errorf("COS payload members:\n%s\nwant (seed 004 without requestHeaders contents):\n%s",
			strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestCOSFields(t *testing.T) {
	recs := records()
	var p cosPayload
	decodeStrict(t, batch.AppendCOS(nil, recs), &p)
	if len(p.Records) != len(recs) {
		t.Fatalf("got %d records, want %d", len(p.Records), len(recs))
	}
	for i, r := range recs {
		c, e := p.Records[i].Cos, p.Records[i].Event
		check := func(field string, got, want any) {
			t.Helper()
			if got != want {
				t.Errorf("record %d: %s = %v, want %v", i, field, got, want)
			}
		}
		check("cosSchemaVersion", c.CosSchemaVersion, "1.0")
		check("cosObject.key", c.CosObject.Key, "/"+r.AppID+"/"+r.Bucket+"/"+r.Key)
		check("cosObject.size", c.CosObject.Size, r.Size)
		check("cosObject.vid", c.CosObject.Vid, r.VersionID)
		check("cosObject.meta[x-cos-request-id]", c.CosObject.Meta["x-cos-request-id"], r.RequestID)
		check("cosObject.meta[Content-Type]", c.CosObject.Meta["Content-Type"], r.ContentType)
		u, err := url.Parse(c.CosObject.URL)
		if err != nil {
			t.Errorf("record %d: url %q: %v", i, c.CosObject.URL, err)
		} else {
			check("url host", u.Host, r.Bucket+"-"+r.AppID+".cos."+r.Region+".myqcloud.com")
			check("url path", u.Path, "/"+r.Key)
		}
		check("cosBucket.region", c.CosBucket.Region, r.Region)
		check("cosBucket.name", c.CosBucket.Name, r.Bucket)
		check("cosBucket.appid", c.CosBucket.Appid, r.AppID)
		check("cosNotificationId", c.CosNotificationID, r.RuleID)
		check("eventName", e.EventName, r.Event.String())
		check("eventVersion", e.EventVersion, "1.0")
		check("eventTime", e.EventTime, r.Time.Unix())
		check("eventSource", e.EventSource, "qcs::cos")
		check("requestSourceIP", e.RequestParameters.RequestSourceIP, r.SourceIP)
		check("len(requestHeaders)", len(e.RequestParameters.RequestHeaders), 0)
		check("eventQueue", e.EventQueue, r.Target)
		check("reservedInfo", e.ReservedInfo, "")
	}
	meta := p.Records[0].Cos.CosObject.Meta
	if want := map[string]string{
		"x-cos-request-id": recs[0].RequestID, "Content-Type": "text/plain",
		"x-cos-meta-origin": "camera <1>", "X-Amz-Meta-Owner": "李",
	}; !mapsEqual(meta, want) {
		t.Errorf("meta = %v, want %v (Authorization must never be copied)", meta, want)
	}
	if got := p.Records[1].Event.Reqid; got != 12345 {
		t.Errorf("reqid for decimal request id 12345 = %d, want 12345", got)
	}
	if got := p.Records[2].Event.Reqid; got != 0 {
		t.Errorf("reqid without request id = %d, want 0", got)
	}
	if got := p.Records[0].Event.Reqid; got <= 0 || got >= 1<<53 {
		t.Errorf("reqid for a non-numeric request id = %d, want in (0, 2^53)", got)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestNoRequestHeaderInAnyPayload(t *testing.T) {
	recs := records()
	for _, f := range []batch.Format{batch.FormatCOS, batch.FormatS3, batch.FormatCloudEvents} {
		out := f.Append(nil, recs)
		for _, secret := range []string{"Authorization", "AKIDsecret", "q-sign-algorithm"} {
			if bytes.Contains(out, []byte(secret)) {
				t.Errorf("%s payload contains %q: %s", f, secret, out)
			}
		}
	}
}

func TestS3StructureIsTheS3Document(t *testing.T) {
	sample, err := os.ReadFile("testdata/s3_sample.json")
	if err != nil {
		t.Fatal(err)
	}
	var fromDoc s3Payload
	decodeStrict(t, sample, &fromDoc)
	want := paths(t, sample)
	got := paths(t, batch.AppendS3(nil, records()[:1]))
	for _, p := range got {
		if !slices.Contains(want, p) {
			t.Errorf("S3 payload member %s is not in the S3 document", p)
		}
	}
	for _, p := range want {
		if !slices.Contains(got, p) && p != ".Records[].responseElements.x-amz-id-2" && p != ".Records[].s3.object.versionId" {
			t.Errorf("S3 payload lacks member %s of the S3 document", p)
		}
	}
}

func checkS3Record(t *testing.T, i int, got s3Record, r batch.Record) {
	t.Helper()
	check := func(field string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("record %d: %s = %v, want %v", i, field, got, want)
		}
	}
	check("eventVersion", got.EventVersion, "2.1")
	check("eventSource", got.EventSource, "aws:s3")
	check("awsRegion", got.AwsRegion, r.Region)
	check("eventTime", got.EventTime, r.Time.UTC().Format("2006-01-02T15:04:05.000Z"))
	wantName := strings.TrimPrefix(r.Event.S3Name(), "s3:")
	if wantName == "" {
		wantName = strings.TrimPrefix(r.Event.String(), "cos:")
	}
	check("eventName", got.EventName, wantName)
	check("userIdentity.principalId", got.UserIdentity.PrincipalID, r.AppID)
	check("sourceIPAddress", got.RequestParameters.SourceIPAddress, r.SourceIP)
	check("x-amz-request-id", got.ResponseElements.XAmzRequestID, r.RequestID)
	check("s3SchemaVersion", got.S3.S3SchemaVersion, "1.0")
	check("configurationId", got.S3.ConfigurationID, r.RuleID)
	check("bucket.name", got.S3.Bucket.Name, r.Bucket)
	check("bucket.ownerIdentity.principalId", got.S3.Bucket.OwnerIdentity.PrincipalID, r.AppID)
	check("bucket.arn", got.S3.Bucket.Arn, "arn:aws:s3:::"+r.Bucket)
	key, err := url.QueryUnescape(got.S3.Object.Key)
	check("object.key unescaped", key, r.Key)
	check("object.key error", err, nil)
	if strings.Contains(r.Key, " ") && !strings.Contains(got.S3.Object.Key, "+") {
		t.Errorf("record %d: key %q: spaces not encoded as '+'", i, got.S3.Object.Key)
	}
	removal := match.ObjectRemove.Has(r.Event)
	if removal {
		check("object.size present", got.S3.Object.Size != nil, false)
		check("object.eTag present", got.S3.Object.ETag != nil, false)
	} else if got.S3.Object.Size == nil || got.S3.Object.ETag == nil {
		t.Errorf("record %d: size or eTag missing for %v", i, r.Event)
	} else {
		check("object.size", *got.S3.Object.Size, r.Size)
		check("object.eTag", *got.S3.Object.ETag, r.ETag)
	}
	optional := func(field string, got *string, want string) {
		t.Helper()
		switch {
		case want == "" && got != nil:
			t.Errorf("record %d: %s = %q, want it left out", i, field, *got)
		case want != "" && (got == nil || *got != want):
			t.Errorf("record %d: %s = %v, want %q", i, field, got, want)
		}
	}
	optional("object.versionId", got.S3.Object.VersionID, r.VersionID)
	optional("object.sequencer", got.S3.Object.Sequencer, r.Sequencer)
}

func TestS3Fields(t *testing.T) {
	recs := records()
	var p s3Payload
	decodeStrict(t, batch.AppendS3(nil, recs), &p)
	if len(p.Records) != len(recs) {
		t.Fatalf("got %d records, want %d", len(p.Records), len(recs))
	}
	for i, r := range recs {
		checkS3Record(t, i, p.Records[i], r)
	}
}

func TestCloudEventsFields(t *testing.T) {
	recs := records()
	var events []cloudEvent
	decodeStrict(t, batch.AppendCloudEvents(nil, recs), &events)
	if len(events) != len(recs) {
		t.Fatalf("got %d events, want %d", len(events), len(recs))
	}
	ids := map[string]bool{}
	for i, r := range recs {
		e := events[i]
		if e.SpecVersion != "1.0" || e.DataContentType != "application/json" {
			t.Errorf("event %d: specversion %q datacontenttype %q", i, e.SpecVersion, e.DataContentType)
		}
		if want := "aws:s3." + r.Region + "." + r.Bucket; e.Source != want {
			t.Errorf("event %d: source = %q, want %q", i, e.Source, want)
		}
		wantType := "com.amazonaws.s3." + strings.TrimPrefix(r.Event.S3Name(), "s3:")
		if r.Event.S3Name() == "" {
			wantType = "com.tencent.cos." + strings.TrimPrefix(r.Event.String(), "cos:")
		}
		if e.Type != wantType {
			t.Errorf("event %d: type = %q, want %q", i, e.Type, wantType)
		}
		if e.Subject != r.Key {
			t.Errorf("event %d: subject = %q, want %q", i, e.Subject, r.Key)
		}
		if tm, err := time.Parse(time.RFC3339, e.Time); err != nil || !tm.Equal(r.Time.Truncate(time.Millisecond)) {
			t.Errorf("event %d: time = %q (%v), want %v", i, e.Time, err, r.Time)
		}
		if e.ID == "" || ids[e.ID] {
			t.Errorf("event %d: id %q is empty or repeated", i, e.ID)
		}
		ids[e.ID] = true
		if r.RequestID != "" && !strings.HasPrefix(e.ID, r.RequestID) {
			t.Errorf("event %d: id %q does not start with the request id %q", i, e.ID, r.RequestID)
		}
		checkS3Record(t, i, e.Data, r)
	}
}

func TestEventNamesForEveryEvent(t *testing.T) {
	for e := match.Event(1); e <= match.MaxEvent; e++ {
		r := records()[0]
		r.Event = e
		var c cosPayload
		decodeStrict(t, batch.AppendCOS(nil, []batch.Record{r}), &c)
		if got, err := match.ParseEvent(c.Records[0].Event.EventName); err != nil || got != e {
			t.Errorf("COS eventName %q parses to %v, %v; want %v", c.Records[0].Event.EventName, got, err, e)
		}
		var s s3Payload
		decodeStrict(t, batch.AppendS3(nil, []batch.Record{r}), &s)
		name := s.Records[0].EventName
		if strings.Contains(name, "s3:") || strings.Contains(name, "cos:") || name == "" {
			t.Errorf("S3 eventName %q for %v has a vocabulary prefix or is empty", name, e)
		}
		prefix := "s3:"
		if e.S3Name() == "" {
			prefix = "cos:"
		}
		if got, err := match.ParseEvent(prefix + name); err != nil || got != e {
			t.Errorf("S3 eventName %q (%s) parses to %v, %v; want %v", name, prefix+name, got, err, e)
		}
	}
}

func TestFormatNames(t *testing.T) {
	for _, tt := range []struct {
		name string
		f    batch.Format
		ct   string
	}{
		{"cos", batch.FormatCOS, "application/json"},
		{"s3", batch.FormatS3, "application/json"},
		{"cloudevents", batch.FormatCloudEvents, "application/cloudevents-batch+json"},
	} {
		f, err := batch.ParseFormat(tt.name)
		if err != nil || f != tt.f || f.String() != tt.name || f.ContentType() != tt.ct {
			t.Errorf("ParseFormat(%q) = %v, %v (content type %q)", tt.name, f, err, f.ContentType())
		}
		var g batch.Format
		if text, err := f.MarshalText(); err != nil || g.UnmarshalText(text) != nil || g != f {
			t.Errorf("text round trip of %v: %q, %v -> %v", f, text, err, g)
		}
	}
	if _, err := batch.ParseFormat("xml"); !errors.Is(err, batch.ErrUnknownFormat) || !strings.Contains(err.Error(), `"xml"`) {
		t.Errorf("ParseFormat(xml) error = %v, want ErrUnknownFormat naming it", err)
	}
	if out, err := batch.Encode(batch.Format(9), []byte("x"), records()); !errors.Is(err, batch.ErrUnknownFormat) || string(out) != "x" {
		t.Errorf("Encode(Format(9)) = %q, %v; want dst unchanged and ErrUnknownFormat", out, err)
	}
	for _, f := range []batch.Format{batch.FormatCOS, batch.FormatS3, batch.FormatCloudEvents} {
		out, err := batch.Encode(f, nil, records())
		if err != nil || !bytes.Equal(out, f.Append(nil, records())) {
			t.Errorf("Encode(%v) = %v, differs from Append", f, err)
		}
		if empty := f.Append(nil, nil); !json.Valid(empty) {
			t.Errorf("%v: empty payload %s is not valid JSON", f, empty)
		}
	}
}

func TestEncodersAllocateNothing(t *testing.T) {
	recs := records()
	for i := range 7 {
		r := recs[i%3]
		r.Key = fmt.Sprintf("k/%d", i)
		recs = append(recs, r)
	}
	for _, f := range []batch.Format{batch.FormatCOS, batch.FormatS3, batch.FormatCloudEvents} {
		dst := f.Append(nil, recs)
		allocs := testing.AllocsPerRun(100, func() {
			dst = f.Append(dst[:0], recs)
		})
		if allocs != 0 {
			t.Errorf("%v: %v allocations per %d-record payload into a reused buffer, want 0", f, allocs, len(recs))
		}
	}
}
