// Benchmarks of batch.Decoder: a COS payload of 1 and of 100 records, an
// S3 payload of 100 records, and event lines, each read from an endless
// stream of the same input so that only decoding is timed (one Decoder for
// the whole run, as a reader of standard input or of one connection has).
// Each reports records/s and ns/record; allocations are per op (one input
// value for payloads, 100 lines for event lines).
//
//	go test ./bench -run='^$' -bench=Decode -benchmem -count=6 | tee dec.txt
//	benchstat dec.txt
package bench

import (
	"fmt"
	"strings"
	"testing"

	"github.com/notifymux/notifymux/batch"
)

var decSinkInt int

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

// decWorkload returns n records shaped like encWorkload's.
func decWorkload(n int) []batch.Record {
	base := encWorkload()
	recs := make([]batch.Record, n)
	for i := range recs {
		recs[i] = base[i%len(base)]
		recs[i].Key = fmt.Sprintf("photos/2024/05/%02d/IMG_%04d.jpg", i%28+1, i)
	}
	return recs
}

// eventLines returns one event line per record.
func eventLines(recs []batch.Record) []byte {
	var b strings.Builder
	for _, r := range recs {
		fmt.Fprintf(&b, `{"bucket":"%s-%s","event":"%s","key":"%s","size":%d,"etag":"%s","requestId":"%s"}`+"\n",
			r.Bucket, r.AppID, r.Event, r.Key, r.Size, r.ETag, r.RequestID)
	}
	return []byte(b.String())
}

func BenchmarkDecode(b *testing.B) {
	for _, tc := range []struct {
		name    string
		input   []byte
		records int // per op
	}{
		{"input=cos/records=1", append(batch.AppendCOS(nil, decWorkload(1)), '\n'), 1},
		{"input=cos/records=100", append(batch.AppendCOS(nil, decWorkload(100)), '\n'), 100},
		{"input=s3/records=100", append(batch.AppendS3(nil, decWorkload(100)), '\n'), 100},
		{"input=lines/records=100", eventLines(decWorkload(100)), 100},
	} {
		b.Run(tc.name, func(b *testing.B) {
			d := batch.NewDecoder(&cycleReader{data: tc.input}, batch.DecoderConfig{})
			next := func() {
				for range tc.records {
					in, err := d.Next()
					if err != nil {
						b.Fatal(err)
					}
					decSinkInt += len(in.Record.Key)
				}
			}
			next() // warm up: buffers grow to size
			b.SetBytes(int64(len(tc.input)))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				next()
			}
			n := float64(b.N * tc.records)
			b.ReportMetric(n/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/record")
		})
	}
}
