package batch_test

// These tests decode every payload with encoding/json into the schema
// package's structs, whose member names are copied from the documents: the
// COS event on the SCF "COS trigger" page (kept in
// testdata/cos_seed004.json), the S3 user guide's "Event message structure"
// example (testdata/s3_sample.json), and the CloudEvents 1.0 spec's
// attribute names. They are not derived from the encoders;
// TestCOSStructureIsSeed004 and TestS3StructureIsTheS3Document check the
// structs against the samples.

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
	"github.com/notifymux/notifymux/batch/schema"
	"github.com/notifymux/notifymux/match"
)

// objectMembers lists, for each record of an S3 payload (or the data of
// each CloudEvent), which members its s3.object has: the schema's optional
// members decode to "" or 0 whether absent or empty, and the encoder must
// leave them out.
func objectMembers(t *testing.T, data []byte, cloudEvents bool) []map[string]bool {
	t.Helper()
	type probe struct {
		S3 struct {
			Object map[string]json.RawMessage `json:"object"`
		} `json:"s3"`
	}
	var recs []probe
	if cloudEvents {
		var events []struct {
			Data probe `json:"data"`
		}
		if err := json.Unmarshal(data, &events); err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			recs = append(recs, e.Data)
		}
	} else {
		var p struct{ Records []probe }
		if err := json.Unmarshal(data, &p); err != nil {
			t.Fatal(err)
		}
		recs = p.Records
	}
	var out []map[string]bool
	for _, r := range recs {
		m := map[string]bool{}
		for k := range r.S3.Object {
			m[k] = true
		}
		out = append(out, m)
	}
	return out
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
	var fromSeed schema.COSPayload
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
	var p schema.COSPayload
	decodeStrict(t, batch.AppendCOS(nil, recs), &p)
	if len(p.Records) != len(recs) {
		t.Fatalf("got %d records, want %d", len(p.Records), len(recs))
	}
	for i, r := range recs {
		c, e := p.Records[i].COS, p.Records[i].Event
		check := func(field string, got, want any) {
			t.Helper()
			if got != want {
				t.Errorf("record %d: %s = %v, want %v", i, field, got, want)
			}
		}
		check("cosSchemaVersion", c.SchemaVersion, "1.0")
		check("cosObject.key", c.Object.Key, "/"+r.AppID+"/"+r.Bucket+"/"+r.Key)
		check("cosObject.size", c.Object.Size, r.Size)
		check("cosObject.vid", c.Object.VersionID, r.VersionID)
		check("cosObject.meta[x-cos-request-id]", metaGet(c.Object.Meta, "x-cos-request-id"), r.RequestID)
		check("cosObject.meta[Content-Type]", metaGet(c.Object.Meta, "Content-Type"), r.ContentType)
		u, err := url.Parse(c.Object.URL)
		if err != nil {
			t.Errorf("record %d: url %q: %v", i, c.Object.URL, err)
		} else {
			check("url host", u.Host, r.Bucket+"-"+r.AppID+".cos."+r.Region+".myqcloud.com")
			check("url path", u.Path, "/"+r.Key)
		}
		check("cosBucket.region", c.Bucket.Region, r.Region)
		check("cosBucket.name", c.Bucket.Name, r.Bucket)
		check("cosBucket.appid", c.Bucket.AppID, r.AppID)
		check("cosNotificationId", c.NotificationID, r.RuleID)
		check("eventName", e.Name, r.Event.String())
		check("eventVersion", e.Version, "1.0")
		check("eventTime", e.Time, r.Time.Unix())
		check("eventSource", e.Source, "qcs::cos")
		check("requestSourceIP", e.RequestParameters.SourceIP, r.SourceIP)
		check("len(requestHeaders)", len(e.RequestParameters.Headers), 0)
		check("eventQueue", e.Queue, r.Target)
		check("reservedInfo", e.ReservedInfo, "")
	}
	meta := metaMap(t, p.Records[0].COS.Object.Meta)
	if want := map[string]string{
		"x-cos-request-id": recs[0].RequestID, "Content-Type": "text/plain",
		"x-cos-meta-origin": "camera <1>", "X-Amz-Meta-Owner": "李",
	}; !mapsEqual(meta, want) {
		t.Errorf("meta = %v, want %v (Authorization must never be copied)", meta, want)
	}
	if got := p.Records[1].Event.ReqID; got != 12345 {
		t.Errorf("reqid for decimal request id 12345 = %d, want 12345", got)
	}
	if got := p.Records[2].Event.ReqID; got != 0 {
		t.Errorf("reqid without request id = %d, want 0", got)
	}
	if got := p.Records[0].Event.ReqID; got <= 0 || got >= 1<<53 {
		t.Errorf("reqid for a non-numeric request id = %d, want in (0, 2^53)", got)
	}
}

// metaGet returns the value of the member name of m, "" when absent.
func metaGet(m schema.Metadata, name string) string {
	v, _ := m.Get(name)
	return v
}

// metaMap returns m as a map, failing on a name given twice.
func metaMap(t *testing.T, m schema.Metadata) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, f := range m {
		if _, dup := out[f.Name]; dup {
			t.Errorf("meta member %q written twice", f.Name)
		}
		out[f.Name] = f.Value
	}
	return out
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
	var fromDoc schema.S3Payload
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

func checkS3Record(t *testing.T, i int, got schema.S3Record, members map[string]bool, r batch.Record) {
	t.Helper()
	check := func(field string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("record %d: %s = %v, want %v", i, field, got, want)
		}
	}
	check("eventVersion", got.EventVersion, "2.1")
	check("eventSource", got.EventSource, "aws:s3")
	check("awsRegion", got.AWSRegion, r.Region)
	check("eventTime", got.EventTime, r.Time.UTC().Format("2006-01-02T15:04:05.000Z"))
	wantName := strings.TrimPrefix(r.Event.S3Name(), "s3:")
	if wantName == "" {
		wantName = strings.TrimPrefix(r.Event.String(), "cos:")
	}
	check("eventName", got.EventName, wantName)
	check("userIdentity.principalId", got.UserIdentity.PrincipalID, r.AppID)
	check("sourceIPAddress", got.RequestParameters.SourceIPAddress, r.SourceIP)
	check("x-amz-request-id", got.ResponseElements.RequestID, r.RequestID)
	check("s3SchemaVersion", got.S3.SchemaVersion, "1.0")
	check("configurationId", got.S3.ConfigurationID, r.RuleID)
	check("bucket.name", got.S3.Bucket.Name, r.Bucket)
	check("bucket.ownerIdentity.principalId", got.S3.Bucket.OwnerIdentity.PrincipalID, r.AppID)
	check("bucket.arn", got.S3.Bucket.ARN, "arn:aws:s3:::"+r.Bucket)
	key, err := url.QueryUnescape(got.S3.Object.Key)
	check("object.key unescaped", key, r.Key)
	check("object.key error", err, nil)
	if strings.Contains(r.Key, " ") && !strings.Contains(got.S3.Object.Key, "+") {
		t.Errorf("record %d: key %q: spaces not encoded as '+'", i, got.S3.Object.Key)
	}
	removal := match.ObjectRemove.Has(r.Event)
	if removal {
		check("object.size present", members["size"], false)
		check("object.eTag present", members["eTag"], false)
	} else if !members["size"] || !members["eTag"] {
		t.Errorf("record %d: size or eTag missing for %v", i, r.Event)
	} else {
		check("object.size", got.S3.Object.Size, r.Size)
		check("object.eTag", got.S3.Object.ETag, r.ETag)
	}
	optional := func(field, member string, got string, want string) {
		t.Helper()
		switch {
		case want == "" && members[member]:
			t.Errorf("record %d: %s = %q, want it left out", i, field, got)
		case want != "" && got != want:
			t.Errorf("record %d: %s = %q, want %q", i, field, got, want)
		}
	}
	optional("object.versionId", "versionId", got.S3.Object.VersionID, r.VersionID)
	optional("object.sequencer", "sequencer", got.S3.Object.Sequencer, r.Sequencer)
}

func TestS3Fields(t *testing.T) {
	recs := records()
	var p schema.S3Payload
	payload := batch.AppendS3(nil, recs)
	decodeStrict(t, payload, &p)
	if len(p.Records) != len(recs) {
		t.Fatalf("got %d records, want %d", len(p.Records), len(recs))
	}
	members := objectMembers(t, payload, false)
	for i, r := range recs {
		checkS3Record(t, i, p.Records[i], members[i], r)
	}
}

func TestCloudEventsFields(t *testing.T) {
	recs := records()
	var events []schema.CloudEvent
	payload := batch.AppendCloudEvents(nil, recs)
	decodeStrict(t, payload, &events)
	members := objectMembers(t, payload, true)
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
		checkS3Record(t, i, e.Data, members[i], r)
	}
}

func TestEventNamesForEveryEvent(t *testing.T) {
	for e := match.Event(1); e <= match.MaxEvent; e++ {
		r := records()[0]
		r.Event = e
		var c schema.COSPayload
		decodeStrict(t, batch.AppendCOS(nil, []batch.Record{r}), &c)
		if got, err := match.ParseEvent(c.Records[0].Event.Name); err != nil || got != e {
			t.Errorf("COS eventName %q parses to %v, %v; want %v", c.Records[0].Event.Name, got, err, e)
		}
		var s schema.S3Payload
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
