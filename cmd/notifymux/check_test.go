package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/notifymux/notifymux/match"
	"github.com/notifymux/notifymux/match/config"
)

// writeRulesFile writes n rules in n/10 buckets, with one overlapping pair
// per bucket, as a JSON rules file, and returns its path.
func writeRulesFile(tb testing.TB, n int) string {
	tb.Helper()
	doc := &config.Document{}
	for i := 0; len(doc.Rules) < n; i++ {
		for j := 0; j < 10 && len(doc.Rules) < n; j++ {
			r := match.Rule{ID: fmt.Sprint("r", j), Bucket: fmt.Sprint("bucket-", i), Events: match.ObjectCreated,
				Prefix: fmt.Sprintf("dir%d/", j), Suffix: ".jpg", Target: fmt.Sprintf("qcs::scf:ap-guangzhou:uin/1:namespace/default/function/fn-%d-%d", i, j)}
			if j == 9 {
				r.Prefix = "dir1"
			}
			doc.Rules = append(doc.Rules, r)
		}
	}
	path := filepath.Join(tb.TempDir(), "rules.json")
	var buf bytes.Buffer
	if err := config.WriteJSON(&buf, doc); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

func TestCheckReportsEveryPair(t *testing.T) {
	path := writeRulesFile(t, 1000)
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"check", "-profile", "cos", path}, nil, &out, &errOut)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if code != exitFindings || len(lines) != 101 {
		t.Fatalf("exit %d, %d lines, stderr %s", code, len(lines), errOut.String())
	}
	want := fmt.Sprintf(`%s: rule "r9" overlaps rule "r1" in bucket "bucket-42": both match cos:ObjectCreated:Put on key "dir1/.jpg"`, path)
	if lines[42] != want {
		t.Errorf("line 42 = %s\nwant      %s", lines[42], want)
	}
	if lines[100] != "1000 rules in 100 buckets: 100 problems" {
		t.Errorf("summary %q", lines[100])
	}
}

// BenchmarkCheck runs `notifymux check` on a JSON file of 100,000 rules in
// 10,000 buckets with 10,000 overlapping pairs: reading, every pair, the
// cos limits and the output.
func BenchmarkCheck(b *testing.B) {
	path := writeRulesFile(b, 100000)
	b.ReportAllocs()
	for b.Loop() {
		if code := run(context.Background(), []string{"check", "-profile", "cos", path}, nil, io.Discard, io.Discard); code != exitFindings {
			b.Fatal(code)
		}
	}
}
