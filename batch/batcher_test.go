package batch_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/notifymux/notifymux/batch"
	"github.com/notifymux/notifymux/batch/schema"
	"github.com/notifymux/notifymux/match"
)

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// collector records emitted batches.
type collector struct{ batches []batch.Batch }

func (c *collector) emit(b batch.Batch) { c.batches = append(c.batches, b) }

func newBatcher(t *testing.T, cfg batch.Config) (*batch.Batcher, *collector) {
	t.Helper()
	c := new(collector)
	b, err := batch.NewBatcher(cfg, c.emit)
	if err != nil {
		t.Fatalf("NewBatcher(%+v): %v", cfg, err)
	}
	return b, c
}

func rec(target, key string) batch.Record {
	return batch.Record{
		Bucket: "testpic", AppID: "1253970026", Region: "ap-guangzhou", Key: key, Size: 10,
		Event: match.ObjectCreatedPut, Time: t0, RequestID: "req", RuleID: "r", Target: target,
	}
}

func keys(recs []batch.Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.Key)
	}
	return out
}

func TestNewBatcherDefaults(t *testing.T) {
	b, _ := newBatcher(t, batch.Config{})
	want := batch.Config{MaxRecords: 10, MaxBytes: 256 << 10, MaxWait: 100 * time.Millisecond, Format: batch.FormatCOS}
	if got := b.Config(); got != want {
		t.Errorf("Config() = %+v, want %+v", got, want)
	}
}

func TestNewBatcherRefusesBadConfig(t *testing.T) {
	tests := []struct {
		cfg   batch.Config
		field string
	}{
		{batch.Config{MaxRecords: -1}, "MaxRecords"},
		{batch.Config{MaxBytes: -5}, "MaxBytes"},
		{batch.Config{MaxBytes: 14}, "MaxBytes"}, // {"Records":[ ]} is 14 bytes
		{batch.Config{MaxWait: -time.Second}, "MaxWait"},
		{batch.Config{Format: 7}, "Format"},
	}
	for _, tt := range tests {
		_, err := batch.NewBatcher(tt.cfg, func(batch.Batch) {})
		var ce *batch.ConfigError
		if !errors.As(err, &ce) || ce.Field != tt.field || !errors.Is(err, batch.ErrInvalidConfig) {
			t.Errorf("NewBatcher(%+v) = %v, want a *ConfigError for %s", tt.cfg, err, tt.field)
			continue
		}
		if !strings.Contains(err.Error(), "Config."+tt.field) {
			t.Errorf("error %q does not name Config.%s", err, tt.field)
		}
	}
	if _, err := batch.NewBatcher(batch.Config{MaxBytes: 15}, func(batch.Batch) {}); err != nil {
		t.Errorf("MaxBytes 15 (envelope + 1) refused: %v", err)
	}
	if _, err := batch.NewBatcher(batch.Config{}, nil); !errors.Is(err, batch.ErrInvalidConfig) || !strings.Contains(err.Error(), "emit") {
		t.Errorf("nil emit: err = %v, want ErrInvalidConfig naming emit", err)
	}
}

func TestBatcherMaxRecords(t *testing.T) {
	b, c := newBatcher(t, batch.Config{MaxRecords: 10})
	for i := range 25 {
		if err := b.Add(rec("f", fmt.Sprint(i)), t0); err != nil {
			t.Fatal(err)
		}
		if want := (i + 1) / 10; len(c.batches) != want {
			t.Fatalf("after %d records: %d batches emitted, want %d", i+1, len(c.batches), want)
		}
	}
	if b.Len() != 5 {
		t.Errorf("Len() = %d, want 5", b.Len())
	}
	b.Flush()
	if len(c.batches) != 3 || b.Len() != 0 {
		t.Fatalf("after Flush: %d batches, Len %d; want 3, 0", len(c.batches), b.Len())
	}
	var all []string
	for i, bt := range c.batches {
		all = append(all, keys(bt.Records)...)
		var p schema.COSPayload
		decodeStrict(t, bt.Payload, &p)
		if len(p.Records) != len(bt.Records) {
			t.Errorf("batch %d: payload has %d records, Records %d", i, len(p.Records), len(bt.Records))
		}
		for j, r := range p.Records {
			if want := "/1253970026/testpic/" + bt.Records[j].Key; r.COS.Object.Key != want {
				t.Errorf("batch %d record %d: key %q, want %q", i, j, r.COS.Object.Key, want)
			}
		}
		if bt.Target != "f" || bt.ContentType != "application/json" || bt.Format != batch.FormatCOS || !bt.Opened.Equal(t0) {
			t.Errorf("batch %d: target %q content type %q format %v opened %v", i, bt.Target, bt.ContentType, bt.Format, bt.Opened)
		}
	}
	want := make([]string, 25)
	for i := range want {
		want[i] = fmt.Sprint(i)
	}
	if !slices.Equal(all, want) {
		t.Errorf("records left in order %v, want %v", all, want)
	}
}

func TestBatcherMaxBytesBoundary(t *testing.T) {
	recs := []batch.Record{rec("f", "a"), rec("f", "bb"), rec("f", "ccc"), rec("f", "dddd")}
	three := len(batch.AppendS3(nil, recs[:3]))
	for _, tt := range []struct {
		max   int
		sizes []int
	}{
		{three, []int{3, 1}},
		{three - 1, []int{2, 2}},
		{three + 1, []int{3, 1}},
	} {
		b, c := newBatcher(t, batch.Config{MaxBytes: tt.max, Format: batch.FormatS3})
		for _, r := range recs {
			if err := b.Add(r, t0); err != nil {
				t.Fatal(err)
			}
		}
		b.Flush()
		var sizes []int
		for _, bt := range c.batches {
			sizes = append(sizes, len(bt.Records))
			if len(bt.Payload) > tt.max {
				t.Errorf("MaxBytes %d: payload of %d bytes", tt.max, len(bt.Payload))
			}
			if want := batch.AppendS3(nil, bt.Records); string(bt.Payload) != string(want) {
				t.Errorf("MaxBytes %d: payload differs from AppendS3 of its records:\n%s\n%s", tt.max, bt.Payload, want)
			}
		}
		if !slices.Equal(sizes, tt.sizes) {
			t.Errorf("MaxBytes %d: batch sizes %v, want %v", tt.max, sizes, tt.sizes)
		}
	}
}

func TestBatcherRecordTooLarge(t *testing.T) {
	small := rec("f", "small")
	limit := len(batch.AppendCOS(nil, []batch.Record{small, small})) + 10
	b, c := newBatcher(t, batch.Config{MaxBytes: limit})
	if err := b.Add(small, t0); err != nil {
		t.Fatal(err)
	}
	big := rec("f", strings.Repeat("k", 2000))
	err := b.Add(big, t0)
	var tl *batch.RecordTooLargeError
	if !errors.As(err, &tl) || !errors.Is(err, batch.ErrRecordTooLarge) {
		t.Fatalf("Add(big) = %v, want *RecordTooLargeError", err)
	}
	wantSize := len(batch.AppendCOS(nil, []batch.Record{big}))
	if tl.Target != "f" || tl.Key != big.Key || tl.Bucket != "testpic" || tl.Size != wantSize || tl.Limit != limit {
		t.Errorf("error fields %+v, want target f, key, size %d, limit %d", tl, wantSize, limit)
	}
	for _, part := range []string{`"f"`, big.Key, fmt.Sprint(wantSize), fmt.Sprint(limit)} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not mention %s", err, part)
		}
	}
	if b.Len() != 1 || len(c.batches) != 0 {
		t.Errorf("after refusing: Len %d, %d batches; want 1, 0", b.Len(), len(c.batches))
	}
	if err := b.Add(rec("f", "after"), t0); err != nil {
		t.Fatal(err)
	}
	b.Flush()
	if len(c.batches) != 1 || !slices.Equal(keys(c.batches[0].Records), []string{"small", "after"}) {
		t.Fatalf("%d batches (first %v), want one with small, after", len(c.batches), keys(c.batches[0].Records))
	}
	var p schema.COSPayload
	decodeStrict(t, c.batches[0].Payload, &p)
	if len(p.Records) != 2 {
		t.Errorf("payload has %d records, want 2", len(p.Records))
	}
}

func TestBatcherRefusesInvalidRecords(t *testing.T) {
	b, c := newBatcher(t, batch.Config{})
	noTarget := rec("", "k")
	badEvent := rec("f", "k2")
	badEvent.Event = 0
	for _, tt := range []struct {
		r     batch.Record
		field string
	}{{noTarget, "Target"}, {badEvent, "Event"}} {
		err := b.Add(tt.r, t0)
		var re *batch.RecordError
		if !errors.As(err, &re) || re.Field != tt.field || !errors.Is(err, batch.ErrInvalidRecord) || !strings.Contains(err.Error(), tt.r.Key) {
			t.Errorf("Add(%+v) = %v, want a *RecordError for %s naming the key", tt.r, err, tt.field)
		}
	}
	b.Flush()
	if b.Len() != 0 || len(c.batches) != 0 {
		t.Errorf("refused records were kept: Len %d, %d batches", b.Len(), len(c.batches))
	}
}

func TestBatcherMaxWait(t *testing.T) {
	b, c := newBatcher(t, batch.Config{MaxWait: 100 * time.Millisecond})
	if _, ok := b.Next(); ok {
		t.Error("Next() reports a due time with no open batch")
	}
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	_ = b.Add(rec("a", "a1"), ms(0))
	_ = b.Add(rec("b", "b1"), ms(30))
	_ = b.Add(rec("a", "a2"), ms(60)) // joins a's batch; a is still due at 100
	if next, ok := b.Next(); !ok || !next.Equal(ms(100)) {
		t.Errorf("Next() = %v, %v; want +100ms", next.Sub(t0), ok)
	}
	b.Due(ms(99))
	if len(c.batches) != 0 {
		t.Fatalf("Due(+99ms) emitted %d batches", len(c.batches))
	}
	b.Due(ms(100))
	if len(c.batches) != 1 || c.batches[0].Target != "a" || len(c.batches[0].Records) != 2 || !c.batches[0].Opened.Equal(ms(0)) {
		t.Fatalf("Due(+100ms) emitted %+v, want a's batch of 2 opened at +0", c.batches)
	}
	if next, ok := b.Next(); !ok || !next.Equal(ms(130)) {
		t.Errorf("Next() = %v, %v; want +130ms", next.Sub(t0), ok)
	}
	// A clock that steps back: c opens before b and becomes due first.
	_ = b.Add(rec("c", "c1"), ms(10))
	if next, _ := b.Next(); !next.Equal(ms(110)) {
		t.Errorf("Next() after an earlier record = %v, want +110ms", next.Sub(t0))
	}
	_ = b.Add(rec("a", "a3"), ms(120))
	b.Due(ms(130))
	var got []string
	for _, bt := range c.batches[1:] {
		got = append(got, bt.Target)
	}
	if !slices.Equal(got, []string{"c", "b"}) {
		t.Errorf("Due(+130ms) emitted %v, want [c b] (oldest first)", got)
	}
	if next, ok := b.Next(); !ok || !next.Equal(ms(220)) || b.Len() != 1 {
		t.Errorf("Next() = %v, %v, Len %d; want +220ms, true, 1", next.Sub(t0), ok, b.Len())
	}
	b.Due(ms(1000))
	if _, ok := b.Next(); ok || b.Len() != 0 || len(c.batches) != 4 {
		t.Errorf("after Due(+1s): ok %v, Len %d, %d batches", ok, b.Len(), len(c.batches))
	}
}

// TestBatcherRandom drives a Batcher with random records, targets, limits
// and clock steps, and checks every documented promise on what comes out.
func TestBatcherRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		f := batch.Format(rng.IntN(3))
		cfg := batch.Config{
			MaxRecords: 1 + rng.IntN(12),
			MaxBytes:   300 + rng.IntN(6000),
			MaxWait:    time.Duration(1+rng.IntN(50)) * time.Millisecond,
			Format:     f,
		}
		type kept struct {
			bt   batch.Batch
			copy string
		}
		var (
			b        *batch.Batcher
			unshared []kept // batches not recycled, with a copy of their payload
			inAdd    *batch.Record
			emitted  = map[string][]string{}
			accepted = map[string][]string{}
			out      int
		)
		var err error
		b, err = batch.NewBatcher(cfg, func(bt batch.Batch) {
			out += len(bt.Records)
			if len(bt.Payload) > cfg.MaxBytes || len(bt.Records) == 0 || len(bt.Records) > cfg.MaxRecords {
				t.Fatalf("round %d %+v: batch of %d records, %d bytes", round, cfg, len(bt.Records), len(bt.Payload))
			}
			if want := f.Append(nil, bt.Records); string(want) != string(bt.Payload) {
				t.Fatalf("round %d: payload differs from %v.Append of its records", round, f)
			}
			if !json.Valid(bt.Payload) {
				t.Fatalf("round %d: invalid JSON payload", round)
			}
			for _, r := range bt.Records {
				if r.Target != bt.Target {
					t.Fatalf("round %d: record for %q in batch for %q", round, r.Target, bt.Target)
				}
			}
			if inAdd != nil && inAdd.Target == bt.Target && len(bt.Records) < cfg.MaxRecords {
				// Emitted for size: the record being added must not have fitted.
				next := len(bt.Payload) + 1 + len(f.AppendRecord(nil, inAdd))
				if next <= cfg.MaxBytes {
					t.Fatalf("round %d: batch of %d bytes emitted although the next record fitted (%d <= %d)",
						round, len(bt.Payload), next, cfg.MaxBytes)
				}
			}
			emitted[bt.Target] = append(emitted[bt.Target], keys(bt.Records)...)
			if rng.IntN(2) == 0 {
				b.Recycle(bt)
			} else {
				unshared = append(unshared, kept{bt, string(bt.Payload)})
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		now := t0
		for i := range 300 {
			r := rec(fmt.Sprint("t", rng.IntN(4)), fmt.Sprintf("%d/%s", i, strings.Repeat("k", rng.IntN(400))))
			r.Meta = []batch.Meta{{Name: "x-cos-meta-m", Value: strings.Repeat("<", rng.IntN(50))}}
			inAdd = &r
			err := b.Add(r, now)
			inAdd = nil
			if err != nil {
				if !errors.Is(err, batch.ErrRecordTooLarge) {
					t.Fatalf("round %d: Add: %v", round, err)
				}
				if alone := len(f.Append(nil, []batch.Record{r})); alone <= cfg.MaxBytes {
					t.Fatalf("round %d: refused a record whose payload is %d <= %d bytes", round, alone, cfg.MaxBytes)
				}
				continue
			}
			accepted[r.Target] = append(accepted[r.Target], r.Key)
			now = now.Add(time.Duration(rng.IntN(3)) * time.Millisecond)
			if rng.IntN(4) == 0 {
				b.Due(now)
				if next, ok := b.Next(); ok && !next.After(now) {
					t.Fatalf("round %d: after Due(now), a batch is still due at %v", round, next)
				}
			}
			total := 0
			for _, k := range accepted {
				total += len(k)
			}
			if b.Len() != total-out {
				t.Fatalf("round %d: Len() = %d, want %d accepted - %d emitted", round, b.Len(), total, out)
			}
		}
		b.Flush()
		if b.Len() != 0 {
			t.Fatalf("round %d: Len() = %d after Flush", round, b.Len())
		}
		for _, k := range unshared {
			if string(k.bt.Payload) != k.copy {
				t.Fatalf("round %d: a batch that was not recycled changed after emit", round)
			}
			if want := f.Append(nil, k.bt.Records); string(want) != k.copy {
				t.Fatalf("round %d: the Records of a batch that was not recycled changed after emit", round)
			}
		}
		for target, want := range accepted {
			if !slices.Equal(emitted[target], want) {
				t.Fatalf("round %d: target %s got %d records, want %d in order", round, target, len(emitted[target]), len(want))
			}
		}
	}
}

func TestBatcherAllocations(t *testing.T) {
	b, err := batch.NewBatcher(batch.Config{MaxRecords: 10}, func(batch.Batch) {})
	if err != nil {
		t.Fatal(err)
	}
	recs := make([]batch.Record, 10)
	for i := range recs {
		recs[i] = rec(fmt.Sprint("t", i%2), fmt.Sprintf("photos/%d.jpg", i))
	}
	for _, r := range recs { // warm up the size hints
		_ = b.Add(r, t0)
	}
	b.Flush()
	// Ten records to two targets make two batches: a payload buffer and a
	// Records slice each, handed to emit. Nothing is allocated per record.
	allocs := testing.AllocsPerRun(100, func() {
		for _, r := range recs {
			_ = b.Add(r, t0)
		}
		b.Flush()
	})
	if allocs > 4 {
		t.Errorf("%v allocations per 10 records in 2 batches, want at most 4", allocs)
	}
}

func TestBatcherRecycleReusesMemory(t *testing.T) {
	var last batch.Batch
	b, err := batch.NewBatcher(batch.Config{MaxRecords: 2}, func(bt batch.Batch) { last = bt })
	if err != nil {
		t.Fatal(err)
	}
	_ = b.Add(rec("f", "a"), t0)
	_ = b.Add(rec("f", "b"), t0)
	first := &last.Payload[:1][0]
	firstRecs := &last.Records[0]
	b.Recycle(last)
	_ = b.Add(rec("f", "c"), t0)
	_ = b.Add(rec("f", "d"), t0)
	if !slices.Equal(keys(last.Records), []string{"c", "d"}) {
		t.Fatalf("second batch has %v, want [c d]", keys(last.Records))
	}
	// sync.Pool may drop items at a garbage collection, so reuse is likely,
	// not certain; a GC between Recycle and Add here is very unlikely.
	if &last.Payload[:1][0] != first || &last.Records[0] != firstRecs {
		t.Log("recycled buffers were not reused (a GC may have emptied the pool)")
	}
	var p schema.COSPayload
	decodeStrict(t, last.Payload, &p)
	if len(p.Records) != 2 || !strings.HasSuffix(p.Records[1].COS.Object.Key, "/d") {
		t.Errorf("payload after recycling: %s", last.Payload)
	}
}
