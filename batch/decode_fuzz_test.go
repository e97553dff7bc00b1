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
