package batch_test

// Fuzz targets of the Decoder. FuzzDecode feeds any input and checks what
// every result must satisfy; the FuzzRoundTrip targets encode whatever
// records the input decodes to, decode that payload and encode it again, and
// require the two payloads to be byte for byte the same. The seed corpora
// are in testdata/fuzz.

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"unicode/utf8"

	"github.com/notifymux/notifymux/batch"
)

// fuzzSeeds adds the inputs every Decoder fuzz target starts from.
func fuzzSeeds(f *testing.F) {
	f.Add([]byte(`{"bucket":"testpic-1253970026","event":"cos:ObjectCreated:Put","key":"images/a.jpg"}` + "\n"))
	f.Add([]byte(`{"event":"s3:ObjectRemoved:Delete","key":"a b+c","time":"2024-02-29T08:00:00.001+08:00","meta":{"x-cos-meta-a":"1"}}`))
	f.Add(batch.AppendCOS(nil, records()))
	f.Add(batch.AppendS3(nil, records()))
	f.Add(batch.AppendCloudEvents(nil, records()))
}

func FuzzDecode(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, input []byte) {
		d := batch.NewDecoder(bytes.NewReader(input), batch.DecoderConfig{MaxValueBytes: 4096})
		var records, malformed int
		line := 0
		for calls := 0; ; calls++ {
			if calls > 2*len(input)+10 {
				t.Fatalf("Next did not reach io.EOF after %d calls on %d bytes", calls, len(input))
			}
			in, err := d.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				var de *batch.DecodeError
				if !errors.As(err, &de) {
					t.Fatalf("Next: %v is not a *DecodeError", err)
				}
				checkMessage(t, err)
				if errors.Is(err, batch.ErrMalformedJSON) {
					malformed++
				}
				if de.Line < line {
					t.Fatalf("error of line %d after line %d", de.Line, line)
				}
				line = de.Line
				continue
			}
			records++
			r := &in.Record
			if !r.Event.Valid() || r.Key == "" || len(r.Key) > batch.MaxKeyLen || r.RuleID != "" || r.Target != "" {
				t.Fatalf("record %+v: invalid event, key length %d, or rule filled in", *r, len(r.Key))
			}
			if in.Line < line || in.Line < 1 || in.Source < batch.SourceLine || in.Source > batch.SourceCloudEvents {
				t.Fatalf("record of line %d (after line %d) from %v", in.Line, line, in.Source)
			}
			line = in.Line
		}
		// One value without a line break: the scanner must agree with
		// encoding/json on whether it is JSON (which takes invalid UTF-8; the
		// Decoder refuses it).
		trimmed := bytes.TrimSpace(input)
		if len(trimmed) == 0 || !utf8.Valid(input) || bytes.ContainsAny(input, "\n") || bytes.HasPrefix(input, []byte("\xef\xbb\xbf")) || len(input) > 4096 {
			return
		}
		switch valid := json.Valid(input); {
		case valid && malformed > 0:
			t.Fatalf("encoding/json takes %q, the Decoder calls it malformed", input)
		case !valid && (records > 0 || malformed == 0):
			t.Fatalf("encoding/json refuses %q, the Decoder gave %d records and no malformed-JSON error", input, records)
		}
	})
}

// roundTrip decodes input, encodes its records in format f, and checks that
// decoding and encoding that payload gives it back byte for byte.
func roundTrip(t *testing.T, f batch.Format, input []byte) {
	recs := decodeRecords(t, input, false)
	if len(recs) == 0 {
		return
	}
	first := f.Append(nil, recs)
	again := decodeRecords(t, first, true)
	if len(again) != len(recs) {
		t.Fatalf("%v payload of %d records decodes to %d:\n%s", f, len(recs), len(again), first)
	}
	second := f.Append(nil, again)
	if !bytes.Equal(first, second) {
		t.Fatalf("%v: encode → decode → encode differs:\n%s\n%s", f, first, second)
	}
}

// decodeRecords returns the records of input, with their notification id as
// RuleID and a target; strict fails on any error.
func decodeRecords(t *testing.T, input []byte, strict bool) []batch.Record {
	t.Helper()
	d := batch.NewDecoder(bytes.NewReader(input), batch.DecoderConfig{MaxValueBytes: 1 << 20})
	var recs []batch.Record
	for {
		in, err := d.Next()
		if err == io.EOF {
			return recs
		}
		if err != nil {
			if strict {
				t.Fatalf("decoding our own payload: %v\n%s", err, input)
			}
			continue
		}
		r := in.Record
		r.RuleID, r.Target = in.NotificationID, "fn"
		recs = append(recs, r)
	}
}

func FuzzRoundTripCOS(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, input []byte) { roundTrip(t, batch.FormatCOS, input) })
}

func FuzzRoundTripS3(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, input []byte) { roundTrip(t, batch.FormatS3, input) })
}

func FuzzRoundTripCloudEvents(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, input []byte) { roundTrip(t, batch.FormatCloudEvents, input) })
}

// FuzzDecodeFastPath compares the Decoder with one that decodes every value
// with encoding/json: the fast path must give the same records and errors.
func FuzzDecodeFastPath(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(compareFastSlow)
}

// compareFastSlow decodes input with and without the fast path and fails at
// the first result that differs.
func compareFastSlow(t *testing.T, input []byte) {
	fast := batch.NewDecoder(bytes.NewReader(input), batch.DecoderConfig{MaxValueBytes: 1 << 16})
	slow := batch.NewDecoder(bytes.NewReader(input), batch.DecoderConfig{MaxValueBytes: 1 << 16})
	batch.DecodeSlowly(slow)
	show := func(in *batch.Inbound, err error) string {
		if err != nil {
			return "error " + err.Error()
		}
		return fmtInbound(*in)
	}
	for i := 0; ; i++ {
		a, aerr := fast.Next()
		b, berr := slow.Next()
		if as, bs := show(a, aerr), show(b, berr); as != bs {
			t.Fatalf("%q: result %d:\nfast path     %s\nencoding/json %s", input, i, as, bs)
		}
		if aerr == io.EOF {
			return
		}
	}
}

// TestDecodeFastPathMatchesEncodingJSON runs compareFastSlow on the inputs
// where the fast path must step aside: escapes, null, case-folded and
// repeated member names, numbers that are not plain integers, wrong kinds.
func TestDecodeFastPathMatchesEncodingJSON(t *testing.T) {
	for _, in := range []string{
		`{"event":"cos:ObjectCreated:Put","key":"a\u00e9\n"}`,
		`{"event":"cos:ObjectCreated:Put","key":"a","bucket":null}`,
		`{"event":"cos:ObjectCreated:Put","KEY":"a"}`,
		`{"event":"cos:ObjectCreated:Put","\u006bey":"a"}`,
		"{\"event\":\"cos:ObjectCreated:Put\",\"\u212aey\":\"a\"}", // KELVIN SIGN folds to k
		`{"event":"cos:ObjectCreated:Put","key":"a","key":"b","size":1,"size":-0}`,
		`{"event":"cos:ObjectCreated:Put","key":"a","size":1.5}`,
		`{"event":"cos:ObjectCreated:Put","key":"a","size":1e3}`,
		`{"event":"cos:ObjectCreated:Put","key":"a","size":9223372036854775808}`,
		`{"event":"cos:ObjectCreated:Put","key":"a","size":-9223372036854775808}`,
		`{"event":"cos:ObjectCreated:Put","key":"a","meta":{"x-cos-meta-a":"1"},"meta":{"x-cos-meta-b":"2"}}`,
		`{"event":"cos:ObjectCreated:Put","key":"a","meta":{"x-cos-meta-a":null}}`,
		`{"event":"cos:ObjectCreated:Put","key":"a","unknown":{"x":[1,"]}"]}}`,
		`{"Records":null}`,
		`{"Records":[]}`,
		`{"Records":{}}`,
		`{"Records":[{"cos":{"cosObject":{"key":"/k"}},"cos":{"cosBucket":{"name":""}},"event":{"eventName":"cos:ObjectCreated:Put"}}]}`,
		`{"Records":[{"cos":{"cosObject":{"key":"/k"}},"event":{"eventName":"cos:ObjectCreated:Put","requestParameters":{"requestHeaders":{"a":1}}}}]}`,
		`{"Records":[{"cos":{"cosObject":{"key":"/k"}},"event":{"eventName":"cos:ObjectCreated:Put","requestParameters":{"requestHeaders":[]}}}]}`,
		`{"Records":[{"eventName":"ObjectCreated:Put","s3":{"object":{"key":"k","userMetadata":{"x-amz-meta-a":"1"},"userMetadata":{"x-amz-meta-b":"2"}}}}]}`,
		`{"Records":[{"eventName":"ObjectCreated:Put","S3":{"object":{"key":"k"}}}]}`,
		`{"Records":[{"eventName":"ObjectCreated:Put","s3":{"object":{"key":"k"}},"Cos":{}}]}`,
		`{"EventName":"s3:ObjectCreated:Put","Key":"b/k","Records":[{"eventName":"s3:ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]}`,
		`[{"specversion":"1.0","data":{"eventName":"ObjectCreated:Put","s3":{"object":{"key":"k"}}}},{"specversion":"1.0","data":[]}]`,
	} {
		compareFastSlow(t, []byte(in+"\n"))
	}
}
