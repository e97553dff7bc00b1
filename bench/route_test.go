//go:build unix

// Benchmarks of the routing step, dispatch.Router: an object store's events
// decoded (batch.Decoder), matched (match.Index) and published to a Pipeline
// that delivers them into an in-process sink. The timer covers all of it,
// RouteAll over the whole input and the drain at Close, so records/s is the
// rate at which a gateway or `notifymux run` can take events in on this
// machine. cpu-ns/record is the process's CPU time per record (getrusage),
// the steadier number on a shared machine. The input is built before the timer starts: COS payloads of 1 or
// 100 records per line, or plain event lines, for one bucket of 10 rules
// (10 targets) as COS allows.
package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/notifymux/notifymux/batch"
	"github.com/notifymux/notifymux/dispatch"
	"github.com/notifymux/notifymux/match"
)

// routeIndex returns a bucket photos-1250000000 of 10 rules, one per
// target fn-0 … fn-9, by prefix users/<i>/.
func routeIndex(b *testing.B) *match.Index {
	x := match.New()
	created, _ := match.ParseEventSet("cos:ObjectCreated:*")
	rules := make([]match.Rule, 10)
	for i := range rules {
		rules[i] = match.Rule{ID: fmt.Sprintf("r%d", i), Bucket: "photos-1250000000", Events: created,
			Prefix: fmt.Sprintf("users/%d/", i), Target: fmt.Sprintf("fn-%d", i)}
	}
	if err := x.AddAll(rules); err != nil {
		b.Fatal(err)
	}
	return x
}

// routeInput returns n records as input: COS payloads of perLine records
// each, or event lines when perLine is 0.
func routeInput(b *testing.B, n, perLine int) []byte {
	recs := benchRecords(n)
	for i := range recs {
		recs[i].Key = fmt.Sprintf("users/%d/uploads/IMG_%06d.jpg", i%10, i)
		recs[i].RuleID, recs[i].Target = "", "" // an object store's event names no function
	}
	var out []byte
	if perLine == 0 {
		for _, r := range recs {
			out = fmt.Appendf(out, `{"bucket":%q,"event":%q,"key":%q,"size":%d}`+"\n", r.Bucket, r.Event.String(), r.Key, r.Size)
		}
		return out
	}
	for i := 0; i < n; i += perLine {
		var err error
		out, err = batch.Encode(batch.FormatCOS, out, recs[i:min(n, i+perLine)])
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, '\n')
	}
	return out
}

func BenchmarkRoute(b *testing.B) {
	const n = 100_000
	for _, c := range []struct {
		name    string
		perLine int
	}{{"input=cos1", 1}, {"input=cos100", 100}, {"input=lines", 0}} {
		b.Run(c.name, func(b *testing.B) {
			x := routeIndex(b)
			input := routeInput(b, n, c.perLine)
			b.ReportAllocs()
			var total int
			b.ResetTimer()
			cpu0 := cpuTime()
			for b.Loop() {
				p, err := dispatch.NewPipeline(dispatch.Config{
					Dispatcher:     dispatch.Func(func(context.Context, batch.Batch) error { return nil }),
					DeadLetter:     dispatch.NewJSONLines(io.Discard),
					Policy:         dispatch.Block,
					QueueRecords:   10_000,
					RecycleBatches: true,
				})
				if err != nil {
					b.Fatal(err)
				}
				r, err := dispatch.NewRouter(dispatch.RouterConfig{Index: x, Pipeline: p, Region: "ap-guangzhou"})
				if err != nil {
					b.Fatal(err)
				}
				counts, err := r.RouteAll(context.Background(), batch.NewDecoder(bytes.NewReader(input), batch.DecoderConfig{}), nil)
				if err != nil || counts.Matched != n {
					b.Fatalf("RouteAll: %+v, %v; want %d matched", counts, err, n)
				}
				if err := p.Close(context.Background()); err != nil {
					b.Fatal(err)
				}
				total += n
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(total), "cpu-ns/record")
			b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(total), "ns/record")
		})
	}
}
