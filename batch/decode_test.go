package batch_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/notifymux/notifymux/batch"
	"github.com/notifymux/notifymux/batch/schema"
	"github.com/notifymux/notifymux/match"
)

// result is one return of Decoder.Next.
type result struct {
	in  batch.Inbound
	err error
}

func (r result) String() string {
	if r.err != nil {
		return "error " + r.err.Error()
	}
	return fmt.Sprintf("%s line %d #%d %s %q", r.in.Source, r.in.Line, r.in.Index, r.in.Record.Bucket, r.in.Record.Key)
}

// decodeAll decodes input to the end and returns every record and error.
func decodeAll(t *testing.T, input string, cfg batch.DecoderConfig) []result {
	t.Helper()
	d := batch.NewDecoder(strings.NewReader(input), cfg)
	var out []result
	for range 100000 {
		in, err := d.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			var de *batch.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Next: %v is not a *DecodeError", err)
			}
			checkMessage(t, err)
			out = append(out, result{err: err})
			continue
		}
		out = append(out, result{in: *in})
	}
	t.Fatal("Next never returned io.EOF")
	return nil
}

// checkMessage fails when an error message names a Go type or quotes too
// much.
func checkMessage(t *testing.T, err error) {
	t.Helper()
	msg := err.Error()
	for _, bad := range []string{"main.", "batch.", "schema.", "Go ", "struct", "int64", "json:", "EventLine", "S3Record"} {
		if strings.Contains(msg, bad) {
			t.Errorf("error message names %q: %s", bad, msg)
		}
	}
	if len(msg) > 600 {
		t.Errorf("error message is %d bytes: %.300s…", len(msg), msg)
	}
}

// fmtInbound prints every field of in.
func fmtInbound(in batch.Inbound) string { return fmt.Sprintf("%+v", in) }

func readFile(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestDecodeCOSSeed(t *testing.T) {
	seed := readFile(t, "testdata/cos_seed004.json")
	lines := strings.Count(seed, "\n")

	// As it is, the sample names a wildcard: an explained error.
	got := decodeAll(t, seed+`{"bucket":"b","event":"cos:ObjectCreated:Put","key":"after"}`+"\n", batch.DecoderConfig{})
	if len(got) != 2 {
		t.Fatalf("got %v, want a wildcard error and one record", got)
	}
	var de *batch.DecodeError
	if !errors.As(got[0].err, &de) || !errors.Is(de, batch.ErrWildcardEvent) || de.Line != 1 || !de.InRecords || de.Index != 0 {
		t.Fatalf("seed as it is: %v, want a DecodeError of line 1, record 0, wrapping ErrWildcardEvent", got[0].err)
	}
	msg := got[0].err.Error()
	for _, want := range []string{"line 1: record 0 of Records: ", `"cos:ObjectCreated:*"`, "test template", `"cos:ObjectCreated:Put"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("wildcard error %q lacks %q", msg, want)
		}
	}
	if got[1].in.Line != lines+1 || got[1].in.Record.Key != "after" {
		t.Errorf("the line after the pretty-printed payload: %v, want line %d", got[1], lines+1)
	}

	// With a concrete event name, every field the record carries is kept.
	concrete := strings.Replace(seed, `"cos:ObjectCreated:*"`, `"cos:ObjectCreated:Put"`, 1)
	got = decodeAll(t, concrete, batch.DecoderConfig{})
	if len(got) != 1 || got[0].err != nil {
		t.Fatalf("got %v, want one record", got)
	}
	in := got[0].in
	want := batch.Inbound{
		Line: 1, Index: 0, Source: batch.SourceCOS, EventName: "cos:ObjectCreated:Put", NotificationID: "unkown",
		Record: batch.Record{
			Bucket: "testpic", AppID: "1253970026", Region: "cd", Key: "testfile",
			URL:  "http://testpic-1253970026.cos.ap-chengdu.myqcloud.com/testfile",
			Size: 1029, Event: match.ObjectCreatedPut, Time: time.Unix(1545205770, 0).UTC(),
			RequestID: "NWMxOWY4MGFfMjViMjU4NjRfMTUyMV8yNzhhZjM=", SourceIP: "192.168.15.101",
		},
	}
	if s1, s2 := fmt.Sprintf("%+v", in), fmt.Sprintf("%+v", want); s1 != s2 {
		t.Errorf("decoded\n%s\nwant\n%s", s1, s2)
	}
	if strings.Contains(fmt.Sprintf("%+v", in), "q-sign") {
		t.Error("the request's Authorization header was read")
	}
}

func TestDecodeS3Sample(t *testing.T) {
	got := decodeAll(t, readFile(t, "testdata/s3_sample.json"), batch.DecoderConfig{})
	if len(got) != 1 || got[0].err != nil {
		t.Fatalf("got %v, want one record", got)
	}
	want := batch.Inbound{
		Line: 1, Source: batch.SourceS3, EventName: "ObjectCreated:Put", NotificationID: "testConfigRule",
		Record: batch.Record{
			Bucket: "amzn-s3-demo-bucket", AppID: "A3NL1KOZZKExample", Region: "us-west-2", Key: "HappyFace.jpg",
			Size: 1024, ETag: "d41d8cd98f00b204e9800998ecf8427e", VersionID: "096fKKXTRTtl3on89fVO.nfljtsv6qko",
			Event: match.ObjectCreatedPut, Time: time.Unix(0, 0).UTC(), RequestID: "C3D13FE58DE4C810",
			SourceIP: "127.0.0.1", Sequencer: "0055AED6DCD90281E5",
		},
	}
	if s1, s2 := fmt.Sprintf("%+v", got[0].in), fmt.Sprintf("%+v", want); s1 != s2 {
		t.Errorf("decoded\n%s\nwant\n%s", s1, s2)
	}
}

func TestDecodeEventLine(t *testing.T) {
	line := `{"bucket":"testpic-1253970026","event":"s3:ObjectRemoved:Delete","key":"a b/c.jpg","appid":"1253970026",` +
		`"region":"ap-chengdu","size":7,"etag":"e1","versionId":"v1","time":"2024-02-29T08:00:00.001+08:00",` +
		`"requestId":"r1","sequencer":"0A","sourceIp":"10.0.0.1","contentType":"image/jpeg",` +
		`"meta":{"x-cos-meta-b":"2","x-cos-meta-a":"1"},"url":"https://example.com/a"}`
	got := decodeAll(t, line+"\n"+`{"event":"cos:ObjectCreated:Put","key":"k"}`, batch.DecoderConfig{})
	if len(got) != 2 || got[0].err != nil || got[1].err != nil {
		t.Fatalf("got %v, want two records", got)
	}
	want := batch.Inbound{
		Line: 1, Source: batch.SourceLine, EventName: "s3:ObjectRemoved:Delete",
		Record: batch.Record{
			Bucket: "testpic-1253970026", AppID: "1253970026", Region: "ap-chengdu", Key: "a b/c.jpg",
			URL: "https://example.com/a", Size: 7, ETag: "e1", VersionID: "v1", Event: match.ObjectRemoveDelete,
			Time:      time.Date(2024, 2, 29, 0, 0, 0, 1e6, time.UTC),
			RequestID: "r1", SourceIP: "10.0.0.1", ContentType: "image/jpeg",
			Meta:      []batch.Meta{{Name: "x-cos-meta-b", Value: "2"}, {Name: "x-cos-meta-a", Value: "1"}},
			Sequencer: "0A",
		},
	}
	if s1, s2 := fmt.Sprintf("%+v", got[0].in), fmt.Sprintf("%+v", want); s1 != s2 {
		t.Errorf("decoded\n%s\nwant\n%s", s1, s2)
	}
	if r := got[1].in; r.Line != 2 || r.Record.Bucket != "" || r.Record.Key != "k" {
		t.Errorf("line without bucket and without a final newline: %v", got[1])
	}
}

func TestDecodeMinIOWebhook(t *testing.T) {
	// The body a MinIO webhook target posts for one PUT.
	body := `{"EventName":"s3:ObjectCreated:Put","Key":"photos/2024/a b.jpg","Records":[{"eventVersion":"2.0",` +
		`"eventSource":"minio:s3","awsRegion":"","eventTime":"2024-05-01T10:00:00.123Z","eventName":"s3:ObjectCreated:Put",` +
		`"userIdentity":{"principalId":"minioadmin"},"requestParameters":{"principalId":"minioadmin","region":"",` +
		`"sourceIPAddress":"172.17.0.1"},"responseElements":{"content-length":"0","x-amz-id-2":"dd9025bab4ad464b",` +
		`"x-amz-request-id":"17CB0A5D3F5F1E4A","x-minio-deployment-id":"5a2f","x-minio-origin-endpoint":"http://172.17.0.2:9000"},` +
		`"s3":{"s3SchemaVersion":"1.0","configurationId":"Config","bucket":{"name":"photos","ownerIdentity":{"principalId":"minioadmin"},` +
		`"arn":"arn:aws:s3:::photos"},"object":{"key":"2024%2Fa+b.jpg","size":5,"eTag":"5d41402abc4b2a76b9719d911017c592",` +
		`"contentType":"image/jpeg","userMetadata":{"content-type":"image/jpeg","X-Amz-Meta-Owner":"li"},"sequencer":"17CB0A5D3F8A2C10"}},` +
		`"source":{"host":"172.17.0.1","port":"","userAgent":"MinIO (linux; amd64) minio-go/v7.0.70"}}]}`
	got := decodeAll(t, body, batch.DecoderConfig{})
	if len(got) != 1 || got[0].err != nil {
		t.Fatalf("got %v, want one record", got)
	}
	var hook schema.MinIOWebhook
	if err := json.Unmarshal([]byte(body), &hook); err != nil {
		t.Fatal(err)
	}
	if r := got[0].in.Record; hook.Key != r.Bucket+"/"+r.Key || hook.EventName != got[0].in.EventName {
		t.Errorf("body names %q %q; the record decodes to bucket %q key %q event %q",
			hook.EventName, hook.Key, r.Bucket, r.Key, got[0].in.EventName)
	}
	want := batch.Inbound{
		Line: 1, Source: batch.SourceMinIO, EventName: "s3:ObjectCreated:Put", NotificationID: "Config",
		Record: batch.Record{
			Bucket: "photos", AppID: "minioadmin", Key: "2024/a b.jpg", Size: 5, ETag: "5d41402abc4b2a76b9719d911017c592",
			Event: match.ObjectCreatedPut, Time: time.Date(2024, 5, 1, 10, 0, 0, 123e6, time.UTC),
			RequestID: "17CB0A5D3F5F1E4A", SourceIP: "172.17.0.1", ContentType: "image/jpeg",
			Meta: []batch.Meta{{Name: "X-Amz-Meta-Owner", Value: "li"}}, Sequencer: "17CB0A5D3F8A2C10",
		},
	}
	if s1, s2 := fmt.Sprintf("%+v", got[0].in), fmt.Sprintf("%+v", want); s1 != s2 {
		t.Errorf("decoded\n%s\nwant\n%s", s1, s2)
	}
}

// sameRecord compares what a payload carries of a record.
func sameRecord(t *testing.T, f batch.Format, i int, got, want batch.Record) {
	t.Helper()
	check := func(field string, g, w any) {
		t.Helper()
		if g != w {
			t.Errorf("%v record %d: %s = %v, want %v", f, i, field, g, w)
		}
	}
	check("Bucket", got.Bucket, want.Bucket)
	check("Key", got.Key, want.Key)
	check("Event", got.Event, want.Event)
	check("VersionID", got.VersionID, want.VersionID)
	check("RequestID", got.RequestID, want.RequestID)
	check("SourceIP", got.SourceIP, want.SourceIP)
	check("AppID", got.AppID, want.AppID)
	check("Region", got.Region, want.Region)
	switch f {
	case batch.FormatCOS:
		check("Time", got.Time, want.Time.Truncate(time.Second).UTC())
		check("Size", got.Size, want.Size)
		check("ContentType", got.ContentType, want.ContentType)
		var meta []batch.Meta
		for _, m := range want.Meta {
			if strings.HasPrefix(strings.ToLower(m.Name), "x-cos-meta-") || strings.HasPrefix(strings.ToLower(m.Name), "x-amz-meta-") {
				meta = append(meta, m)
			}
		}
		check("Meta", fmt.Sprint(got.Meta), fmt.Sprint(meta))
	default:
		check("Time", got.Time, want.Time.Truncate(time.Millisecond).UTC())
		check("Sequencer", got.Sequencer, want.Sequencer)
		if !match.ObjectRemove.Has(want.Event) {
			check("Size", got.Size, want.Size)
			check("ETag", got.ETag, want.ETag)
		}
	}
}

func TestDecodeWhatTheEncodersWrite(t *testing.T) {
	recs := records()
	for _, f := range []batch.Format{batch.FormatCOS, batch.FormatS3, batch.FormatCloudEvents} {
		got := decodeAll(t, string(f.Append(nil, recs)), batch.DecoderConfig{})
		if len(got) != len(recs) {
			t.Fatalf("%v: got %v, want %d records", f, got, len(recs))
		}
		for i, r := range got {
			if r.err != nil {
				t.Fatalf("%v record %d: %v", f, i, r.err)
			}
			if r.in.Index != i || r.in.Line != 1 || r.in.NotificationID != recs[i].RuleID {
				t.Errorf("%v record %d: index %d line %d notification id %q", f, i, r.in.Index, r.in.Line, r.in.NotificationID)
			}
			sameRecord(t, f, i, r.in.Record, recs[i])
		}
	}
}

func TestDecodeRoundTripIsByteIdentical(t *testing.T) {
	recs := records()
	recs = append(recs, batch.Record{Bucket: "logs-1250000000", Key: "no/region", Event: match.ObjectCreatedAppend, Target: "t"})
	for _, f := range []batch.Format{batch.FormatCOS, batch.FormatS3, batch.FormatCloudEvents} {
		first := f.Append(nil, recs)
		again := reencode(t, f, first)
		third := reencode(t, f, again)
		if !bytes.Equal(again, third) {
			t.Errorf("%v: encode → decode → encode differs:\n%s\n%s", f, again, third)
		}
	}
}

// reencode decodes payload and encodes its records again in format f.
func reencode(t *testing.T, f batch.Format, payload []byte) []byte {
	t.Helper()
	var recs []batch.Record
	for _, r := range decodeAll(t, string(payload), batch.DecoderConfig{}) {
		if r.err != nil {
			t.Fatalf("%v: %v", f, r.err)
		}
		rec := r.in.Record
		rec.RuleID, rec.Target = r.in.NotificationID, "t"
		recs = append(recs, rec)
	}
	return f.Append(nil, recs)
}

func TestDecodeKeyTooLong(t *testing.T) {
	long, limit := strings.Repeat("k", batch.MaxKeyLen+1), strings.Repeat("k", batch.MaxKeyLen)
	line := func(key string) string {
		return `{"bucket":"b","event":"cos:ObjectCreated:Put","key":"` + key + `"}` + "\n"
	}
	cos := func(key string) string {
		r := records()[0]
		r.Key = key
		return string(batch.AppendCOS(nil, []batch.Record{r})) + "\n"
	}
	s3 := func(key string) string {
		r := records()[0]
		r.Key = key
		return string(batch.AppendS3(nil, []batch.Record{r})) + "\n"
	}
	for name, input := range map[string]func(string) string{"line": line, "cos": cos, "s3": s3} {
		got := decodeAll(t, input(long)+input(limit)+input(strings.Repeat("k", 1<<20)), batch.DecoderConfig{})
		if len(got) != 3 || got[1].err != nil || got[1].in.Record.Key != limit {
			t.Fatalf("%s: got %d results, want an error, a record with a key of MaxKeyLen bytes, an error", name, len(got))
		}
		for _, r := range []result{got[0], got[2]} {
			if !errors.Is(r.err, batch.ErrKeyTooLong) {
				t.Errorf("%s: %v, want ErrKeyTooLong", name, r.err)
				continue
			}
			if msg := r.err.Error(); !strings.Contains(msg, "1024-byte limit") || !strings.Contains(msg, " bytes") {
				t.Errorf("%s: %q does not state the length and the limit", name, msg)
			}
		}
	}
}

func TestDecodeWildcardEvent(t *testing.T) {
	input := `{"bucket":"b","event":"s3:ObjectCreated:*","key":"k"}` + "\n" +
		`{"Records":[{"eventName":"ObjectRemoved:*","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]}` + "\n"
	got := decodeAll(t, input, batch.DecoderConfig{})
	for i, want := range []string{`"s3:ObjectCreated:Put"`, `"s3:ObjectRemoved:Delete"`} {
		if i >= len(got) || !errors.Is(got[i].err, batch.ErrWildcardEvent) || !strings.Contains(got[i].err.Error(), want) {
			t.Errorf("result %d: %v, want ErrWildcardEvent suggesting %s", i, got, want)
		}
	}
}

func TestDecodeUnknownEventSuggests(t *testing.T) {
	got := decodeAll(t, `{"event":"cos:ObjectCreated:Putt","key":"k"}`+"\n"+
		`{"Records":[{"eventName":"ObjectCreated:Putt","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]}`, batch.DecoderConfig{})
	for i, want := range []string{`"event": unknown event "cos:ObjectCreated:Putt" (did you mean "cos:ObjectCreated:Put"?)`,
		`eventName: unknown event "s3:ObjectCreated:Putt" (did you mean "s3:ObjectCreated:Put"?)`} {
		if i >= len(got) || !errors.Is(got[i].err, match.ErrUnknownEvent) || !strings.Contains(got[i].err.Error(), want) {
			t.Errorf("result %d: %v, want match.ErrUnknownEvent with %s", i, got, want)
		}
	}
}

// TestDecodeResync feeds bad values among good ones: each bad one is one
// error of the line where its value starts, and every good line after it is
// read.
func TestDecodeResync(t *testing.T) {
	ok := func(key string) string { return `{"event":"cos:ObjectCreated:Put","key":"` + key + `"}` }
	for _, tc := range []struct {
		name  string
		input string
		want  []string // "key@line" for a record, "!line" for an error
	}{
		{"unclosed object", ok("a") + "\n" + `{"event":"cos:ObjectCreated:Put","key":"b"` + "\n" + ok("c") + "\n",
			[]string{"a@1", "!2", "c@3"}},
		{"unclosed string", `{"event":"cos:ObjectCreated:Put","key":"b` + "\n" + ok("c") + "\n", []string{"!1", "c@2"}},
		{"text after the value", ok("a") + " trailing\n" + ok("b"), []string{"!1", "b@2"}},
		{"two values on a line", ok("a") + ok("b") + "\n" + ok("c"), []string{"!1", "c@2"}},
		{"not JSON", "hello\n" + ok("b") + "\n", []string{"!1", "b@2"}},
		{"scalars", "42\n\"s\"\nnull\ntrue\n" + ok("b"), []string{"!1", "!2", "!3", "!4", "b@5"}},
		{"blank lines and CRLF", "\r\n\n  " + ok("a") + "\r\n\t\n" + ok("b") + "\r\n", []string{"a@3", "b@5"}},
		{"byte-order mark", "\xef\xbb\xbf" + ok("a") + "\n", []string{"a@1"}},
		{"pretty-printed then bad", "{\n\"event\": \"cos:ObjectCreated:Put\",\n\"key\": \"a\"\n}\n{\n\"x\" 1\n}\n" + ok("b"),
			[]string{"a@1", "!5", "b@8"}},
		{"unclosed pretty-printed, next line good", "{\n\"Records\": [\n" + ok("b") + "\n" + ok("c"),
			[]string{"!1", "c@4"}},
		{"unclosed at the end", ok("a") + "\n{\"Records\":[", []string{"a@1", "!2"}},
		{"invalid UTF-8", `{"event":"cos:ObjectCreated:Put","key":"a` + "\xff" + `"}` + "\n" + ok("b"), []string{"!1", "b@2"}},
		{"deep nesting", strings.Repeat("[", 5000) + "\n" + ok("b"), []string{"!1", "b@2"}},
		{"empty records", `{"Records":[]}` + "\n" + ok("b"), []string{"b@2"}},
		{"record not an object", `{"Records":[1,{"eventName":"ObjectCreated:Put","s3":{"object":{"key":"b"}}}]}`, []string{"!1", "b@1"}},
		{"event line in Records", `{"Records":[` + ok("a") + `]}`, []string{"!1"}},
		{"garbage lines after a broken pretty-printed value", "{\n \"a\": 1 2\n x\n }\n\n" + ok("b"), []string{"!1", "b@6"}},
		{"single COS record", `{"cos":{},"event":{}}` + "\n" + ok("b"), []string{"!1", "b@2"}},
		{"wrong type", `{"event":"cos:ObjectCreated:Put","key":"a","size":"7"}` + "\n" + ok("b"), []string{"!1", "b@2"}},
		{"no key", `{"event":"cos:ObjectCreated:Put"}` + "\n" + ok("b"), []string{"!1", "b@2"}},
		{"no event", `{"key":"a"}` + "\n" + ok("b"), []string{"!1", "b@2"}},
		{"bad time", `{"event":"cos:ObjectCreated:Put","key":"a","time":"yesterday"}` + "\n" + ok("b"), []string{"!1", "b@2"}},
	} {
		var got []string
		for _, r := range decodeAll(t, tc.input, batch.DecoderConfig{}) {
			if r.err != nil {
				var de *batch.DecodeError
				errors.As(r.err, &de)
				got = append(got, fmt.Sprintf("!%d", de.Line))
			} else {
				got = append(got, fmt.Sprintf("%s@%d", r.in.Record.Key, r.in.Line))
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestDecodeErrorMessages(t *testing.T) {
	for _, tc := range []struct{ input, want string }{
		{`{"event":"cos:ObjectCreated:Put","key":"a","size":"7"}`, `line 1: not an object event: "size" is a JSON string, want an integer`},
		{`{"Records":[{"cos":{"cosObject":{"key":"/1/b/k","size":"x"}},"event":{}}]}`,
			`line 1: record 0 of Records: not an object event: "cos.cosObject.size" is a JSON string, want an integer`},
		{`{"Records":[{"cos":{"cosObject":{"key":"/1/b/k"},"cosBucket":{"name":"c","appid":"1"}},"event":{"eventName":"cos:ObjectCreated:Put"}}]}`,
			`line 1: record 0 of Records: not an object event: cosObject.key "/1/b/k" does not start with "/1/c/"`},
		{`{"Records":[{"eventName":"ObjectCreated:Put","s3":{"object":{"key":"%zz"}}}]}`,
			`line 1: record 0 of Records: not an object event: s3.object.key "%zz" is not URL-encoded`},
		{`[{"specversion":"0.3"}]`, `line 1: event 0 of the CloudEvents batch: not an object event: specversion is "0.3"`},
		{`{"event":"cos:ObjectCreated:Put","key":"a"`, `line 1: malformed JSON: the input ends inside the value`},
		{`{"event" "x"}`, `line 1: malformed JSON: unexpected character '"' after an object key, where ':' was expected`},
		{`{"event":"cos:ObjectCreated:Put","key":"a","meta":{"x-cos-meta-a":1}}`, `metadata member "x-cos-meta-a" is a JSON number, want a string`},
		{`{"x":"` + strings.Repeat("a", 10000) + `"}x`, `line 1: malformed JSON: "x" after the JSON value`},
	} {
		got := decodeAll(t, tc.input, batch.DecoderConfig{})
		if len(got) != 1 || got[0].err == nil || !strings.Contains(got[0].err.Error(), tc.want) {
			t.Errorf("%.80s: got %v, want an error containing %q", tc.input, got, tc.want)
		}
	}
}

// repeatReader yields n bytes of b, then EOF.
type repeatReader struct {
	b byte
	n int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	n := min(len(p), r.n)
	for i := range p[:n] {
		p[i] = r.b
	}
	r.n -= n
	return n, nil
}

func TestDecodeValueTooLargeIsSkippedInBoundedMemory(t *testing.T) {
	const size = 16 << 20
	input := io.MultiReader(
		strings.NewReader(`{"event":"cos:ObjectCreated:Put","key":"`),
		&repeatReader{b: 'k', n: size},
		strings.NewReader("\"}\n[\n"),
		&repeatReader{b: ' ', n: size},
		strings.NewReader("\n]\n"+`{"event":"cos:ObjectCreated:Put","key":"after"}`+"\n"),
	)
	d := batch.NewDecoder(input, batch.DecoderConfig{MaxValueBytes: 1 << 20})
	var before, after runtimeMem
	before.read()
	var got []string
	for {
		in, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if !errors.Is(err, batch.ErrValueTooLarge) {
				t.Fatalf("%v, want ErrValueTooLarge", err)
			}
			got = append(got, err.Error())
			continue
		}
		got = append(got, fmt.Sprintf("%s@%d", in.Record.Key, in.Line))
	}
	after.read()
	want := []string{
		"line 1: JSON value too large: the value is longer than MaxValueBytes (1048576 bytes); skipped",
		"line 2: JSON value too large: the value is longer than MaxValueBytes (1048576 bytes); skipped",
		"after@5",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if grew := after.total - before.total; grew > 8<<20 {
		t.Errorf("decoding two %d MiB values allocated %d MiB, want at most 8 MiB", size>>20, grew>>20)
	}
}

// failingReader returns its data, then err.
type failingReader struct {
	data string
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.data == "" {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestDecodeReadErrorIsFinal(t *testing.T) {
	boom := errors.New("disk on fire")
	d := batch.NewDecoder(&failingReader{data: `{"event":"cos:ObjectCreated:Put","key":"a"}` + "\n" + `{"event":`, err: boom}, batch.DecoderConfig{})
	if in, err := d.Next(); err != nil || in.Record.Key != "a" {
		t.Fatalf("first Next = %v, %v; want the record", in, err)
	}
	for range 2 {
		if in, err := d.Next(); in != nil || err != boom {
			t.Fatalf("Next = %v, %v; want the read error, again and again", in, err)
		}
	}
}

func TestDecodeDoesNotWaitForMoreInput(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	d := batch.NewDecoder(pr, batch.DecoderConfig{})
	go func() {
		_, _ = io.WriteString(pw, `{"event":"cos:ObjectCreated:Put","key":"a"}`+"\n")
	}()
	done := make(chan string, 1)
	go func() {
		in, err := d.Next()
		if err != nil {
			done <- err.Error()
			return
		}
		done <- in.Record.Key
	}()
	select {
	case got := <-done:
		if got != "a" {
			t.Errorf("Next = %q, want the record of the first line", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Next waited for input after a complete line")
	}
}

// cycleReader yields data over and over.
type cycleReader struct {
	data []byte
	off  int
}

func (c *cycleReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k := copy(p[n:], c.data[c.off:])
		n += k
		c.off = (c.off + k) % len(c.data)
	}
	return n, nil
}

// TestDecodeAllocations guards the fast path: a record's strings share one
// allocation (an escaped string and the Meta slice take one more each).
func TestDecodeAllocations(t *testing.T) {
	r := records()[0]
	r.Meta = []batch.Meta{{Name: "x-cos-meta-camera", Value: "X100V"}, {Name: "x-cos-meta-album", Value: "trip 2024"}}
	line := `{"bucket":"testpic-1253970026","event":"cos:ObjectCreated:Put","key":"images/a.jpg","size":7,"etag":"e","requestId":"r"}` + "\n"
	for _, tc := range []struct {
		name  string
		input []byte
		max   float64
	}{
		{"event line", []byte(line), 1},
		{"S3 record", append(batch.AppendS3(nil, []batch.Record{r}), '\n'), 1},
		{"COS record with user metadata", append(batch.AppendCOS(nil, []batch.Record{r}), '\n'), 2},
		{"CloudEvent", append(batch.AppendCloudEvents(nil, []batch.Record{r}), '\n'), 1},
	} {
		d := batch.NewDecoder(&cycleReader{data: tc.input}, batch.DecoderConfig{})
		next := func() {
			if _, err := d.Next(); err != nil {
				t.Fatal(err)
			}
		}
		next()
		if got := testing.AllocsPerRun(200, next); got > tc.max {
			t.Errorf("%s: %v allocations per record, want at most %v", tc.name, got, tc.max)
		}
	}
}

func TestDecodeS3TestMessage(t *testing.T) {
	msg := `{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2024-05-01T10:00:00.000Z","Bucket":"photos","RequestId":"5582815E1AEA5ADF","HostId":"8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE"}`
	got := decodeAll(t, msg, batch.DecoderConfig{})
	if len(got) != 1 || !errors.Is(got[0].err, batch.ErrNotEvent) || !strings.Contains(got[0].err.Error(), "s3:TestEvent") {
		t.Errorf("got %v, want one ErrNotEvent naming the S3 test message", got)
	}
}

func TestDecoderReset(t *testing.T) {
	d := batch.NewDecoder(strings.NewReader(`{"event":"cos:ObjectCreated:Put","key":"a"}`+"\n"+`{"Records":[`), batch.DecoderConfig{})
	if in, err := d.Next(); err != nil || in.Record.Key != "a" {
		t.Fatalf("Next = %v, %v", in, err)
	}
	// Reset in the middle of an unclosed value: nothing of it is left.
	d.Reset(strings.NewReader("\n\n" + `{"event":"cos:ObjectCreated:Put","key":"b"}`))
	if in, err := d.Next(); err != nil || in.Record.Key != "b" || in.Line != 3 {
		t.Fatalf("after Reset: %v, %v; want key b on line 3", in, err)
	}
	if in, err := d.Next(); err != io.EOF {
		t.Fatalf("after Reset: %v, %v; want io.EOF", in, err)
	}
}

// TestDecodeEmptyRecordsAfterAnArray: an empty Records array after a
// CloudEvents batch is still an empty payload, not an event line.
func TestDecodeEmptyRecordsAfterAnArray(t *testing.T) {
	for _, first := range []string{`[]`, `[{"specversion":"1.0"}]`, `[1,[2]]`} {
		got := decodeAll(t, first+"\n"+`{"Records":[]}`+"\n", batch.DecoderConfig{})
		for _, r := range got {
			var de *batch.DecodeError
			if errors.As(r.err, &de) && de.Line == 2 {
				t.Errorf("after %s: %v", first, r.err)
			}
		}
	}
}

// TestDecodeS3KeyInvalidUTF8: an S3 key is URL-encoded, so "%80" decodes to
// a byte that is not UTF-8. Such a key is refused, as COS and S3 keys are
// UTF-8; it used to pass, and an encoder then wrote it as U+FFFD, so the
// record changed on its way through.
func TestDecodeS3KeyInvalidUTF8(t *testing.T) {
	input := `{"Records":[{"eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"b"},"object":{"key":"ok%2F%80"}}}]}` + "\n"
	got := decodeAll(t, input, batch.DecoderConfig{})
	if len(got) != 1 || got[0].err == nil || !strings.Contains(got[0].err.Error(), "UTF-8") {
		t.Fatalf("got %+v, want one error naming UTF-8", got)
	}
}
