package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/notifymux/notifymux/batch"
	"github.com/notifymux/notifymux/match"
)

// benchMatcher returns a matcher over 100 buckets of 10 rules each.
func benchMatcher(tb testing.TB, out io.Writer) *matcher {
	tb.Helper()
	x := match.New()
	for b := 0; b < 100; b++ {
		for j := 0; j < 10; j++ {
			r := match.Rule{ID: fmt.Sprint("r", j), Bucket: fmt.Sprint("bucket-", b), Events: match.ObjectCreated,
				Prefix: fmt.Sprintf("images/%d", j), Suffix: ".jpg", Target: fmt.Sprint("fn-", j)}
			if err := x.Add(r); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return &matcher{x: x, out: newWriter(out)}
}

func TestAnswerAllocations(t *testing.T) {
	m := benchMatcher(t, io.Discard)
	ev := &batch.Inbound{Source: batch.SourceLine, EventName: "cos:ObjectCreated:Put",
		Record: batch.Record{Bucket: "bucket-7", Event: match.ObjectCreatedPut, Key: "images/3/a.jpg"}}
	_ = m.answer(ev)
	if n := testing.AllocsPerRun(1000, func() { _ = m.answer(ev) }); n != 0 {
		t.Errorf("answer allocates %v times per event, want 0", n)
	}
}

func TestRunInProcess(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"match", "-rules", "examples/testpic.xml", "-explain"},
		strings.NewReader(`{"bucket":"testpic","event":"cos:ObjectRestore:Post","key":"images/x.jpg"}`), &out, &errOut)
	if code != exitOK || errOut.Len() != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut.String())
	}
	want := `{"bucket":"testpic","event":"cos:ObjectRestore:Post","key":"images/x.jpg","target":"","rule":"","nearest":[` +
		`{"rule":"thumbnails","target":"qcs:0:lambda:cd:appid/1253970026:default.thumbnail.$LATEST","failed":["event"]},` +
		`{"rule":"cleanup","target":"qcs:0:lambda:cd:appid/1253970026:default.cleanup.$LATEST","failed":["event"]},` +
		`{"rule":"print-uploads","target":"qcs:0:lambda:cd:appid/1253970026:default.printevent.$LATEST","failed":["event","prefix"]}]}` + "\n"
	if out.String() != want {
		t.Errorf("got  %s\nwant %s", out.String(), want)
	}
	out.Reset()
	if code := run(context.Background(), []string{"check", "examples/overlap.json"}, nil, &out, &errOut); code != exitFindings ||
		!strings.HasSuffix(out.String(), "5 rules in 2 buckets: 3 problems\n") {
		t.Errorf("check: exit %d, output %s", code, out.String())
	}
}

func TestMatchCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m := benchMatcher(t, io.Discard)
	_, err := m.run(ctx, &lineSource{n: 10}, "input ", io.Discard)
	if err != context.Canceled {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

// BenchmarkMatchLines measures the match command's loop end to end: reading
// JSON event lines, Index.Match, writing JSON answer lines; lines/s is
// reported. Half the events hit a rule, half miss.
func BenchmarkMatchLines(b *testing.B) {
	var in bytes.Buffer
	const lines = 10000
	for i := 0; i < lines; i++ {
		ext := ".jpg"
		if i%2 == 1 {
			ext = ".png"
		}
		fmt.Fprintf(&in, `{"bucket":"bucket-%d","event":"cos:ObjectCreated:Put","key":"images/%d/photo-%d%s"}`+"\n", i%100, i%10, i, ext)
	}
	m := benchMatcher(b, io.Discard)
	b.SetBytes(int64(in.Len()))
	b.ReportAllocs()
	for b.Loop() {
		if code, err := m.run(context.Background(), bytes.NewReader(in.Bytes()), "input ", io.Discard); code != exitOK || err != nil {
			b.Fatal(code, err)
		}
	}
	b.ReportMetric(float64(lines)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
