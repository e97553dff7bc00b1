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

// checkCmd runs notifymux check with args and returns the exit status,
// standard output and standard error.
func checkCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), append([]string{"check"}, args...), nil, &out, &errOut)
	return code, out.String(), errOut.String()
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// A directory with no rules file checks nothing, so it must not pass.
func TestCheckDirectoryIsNotOK(t *testing.T) {
	dir := t.TempDir()
	for _, arg := range []string{dir, dir + "/..."} {
		code, out, errOut := checkCmd(t, arg)
		if code != exitUsage || strings.Contains(out, ": ok") {
			t.Errorf("check %s: exit %d, stdout %q; want exit %d and no ok", arg, code, out, exitUsage)
		}
		if !strings.Contains(errOut, "no .xml or .json file") {
			t.Errorf("check %s: stderr %q does not say the directory holds no rules file", arg, errOut)
		}
	}
}

func TestCheckMissingFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.xml")
	code, out, errOut := checkCmd(t, missing)
	if code != exitUsage || strings.Contains(out, "ok") {
		t.Errorf("exit %d, stdout %q; want exit %d and no ok", code, out, exitUsage)
	}
	if want := "0 rules in 0 buckets: 1 file not read\n"; out != want {
		t.Errorf("stdout %q, want %q", out, want)
	}
	if !strings.Contains(errOut, "no such file") {
		t.Errorf("stderr %q", errOut)
	}
}

func TestCheckCountsSyntaxErrors(t *testing.T) {
	broken := writeFile(t, "broken.json", "{\"rules\": [\n  {\"id\": \"a\",,\n")
	good := writeFile(t, "good.json", `{"rules":[{"id":"a","bucket":"b","events":["cos:ObjectCreated:*"],"target":"f"}]}`)
	code, out, errOut := checkCmd(t, broken, good)
	if code != exitFindings {
		t.Errorf("exit %d, want %d (stderr %q)", code, exitFindings, errOut)
	}
	if !strings.Contains(out, broken+":2: invalid character") {
		t.Errorf("stdout %q does not report the syntax error as a finding", out)
	}
	if !strings.HasSuffix(out, "1 rule in 1 bucket: 1 problem\n") {
		t.Errorf("stdout %q, want the summary to count the syntax error", out)
	}
}

func TestRulesFileSizeLimit(t *testing.T) {
	rules := `{"rules":[{"id":"a","bucket":"b","events":["cos:ObjectCreated:*"],"target":"f"}]}` + strings.Repeat(" ", 2000)
	path := writeFile(t, "big.json", rules)
	code, out, errOut := checkCmd(t, "-max-file-size", "1KiB", path)
	if code != exitUsage || strings.Contains(out, "ok") {
		t.Errorf("exit %d, stdout %q", code, out)
	}
	if !strings.Contains(errOut, "-max-file-size") || !strings.Contains(errOut, "1024") {
		t.Errorf("stderr %q does not name the limit", errOut)
	}
	if code, out, errOut := checkCmd(t, "-max-file-size", "4KiB", path); code != exitOK {
		t.Errorf("under the limit: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// match and run take the same flag.
	for _, cmd := range [][]string{
		{"match", "-max-file-size", "1KiB", "-rules", path, `{"bucket":"b","event":"cos:ObjectCreated:Put","key":"k"}`},
		{"run", "-max-file-size", "1KiB", "-rules", path, "-in", os.DevNull},
	} {
		var out, errOut bytes.Buffer
		code := run(context.Background(), cmd, strings.NewReader(""), &out, &errOut)
		if code != exitUsage || !strings.Contains(errOut.String(), "-max-file-size") {
			t.Errorf("%s: exit %d, stderr %q", cmd[0], code, errOut.String())
		}
	}
	// /dev/zero is refused from its first byte, not read to the end of memory.
	if _, err := os.Stat("/dev/zero"); err == nil {
		code, out, errOut := checkCmd(t, "-bucket", "z", "/dev/zero")
		if code == exitOK || !strings.Contains(out+errOut, "neither XML") {
			t.Errorf("/dev/zero: exit %d, stdout %q, stderr %q", code, out, errOut)
		}
	}
}

func TestCheckInvalidUTF8(t *testing.T) {
	path := writeFile(t, "r.json", "{\"rules\":[\n{\"id\":\"i\",\"bucket\":\"b\",\"events\":[\"cos:ObjectCreated:*\"],\"prefix\":\"ab\xff/\",\"target\":\"f\"}]}")
	code, out, _ := checkCmd(t, path)
	if code != exitFindings {
		t.Errorf("exit %d, want %d; stdout %q", code, exitFindings, out)
	}
	if want := path + `:2: configuration "i": rules[0].prefix: invalid UTF-8`; !strings.Contains(out, want) {
		t.Errorf("stdout %q, want it to contain %q", out, want)
	}
}

// A value of a megabyte is quoted in 200 bytes at most, however many
// messages name it.
func TestCheckQuotesLongValues(t *testing.T) {
	id := strings.Repeat("x", 1<<20)
	rule := `{"id":"` + id + `","bucket":"b","events":["cos:ObjectCreated:Pux"],"target":"f"}`
	path := writeFile(t, "long.json", `{"rules":[`+rule+","+rule+`]}`)
	code, out, errOut := checkCmd(t, path)
	if code != exitFindings {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	if n := len(out) + len(errOut); n > 4000 {
		t.Errorf("%d bytes of output for 2 rules with a 1 MiB id:\n%.600s", n, out)
	}
	if !strings.Contains(out, "(1048576 bytes)") {
		t.Errorf("stdout does not give the quoted id's length: %.600s", out)
	}
}

const s3Overlap = `<NotificationConfiguration>
  <TopicConfiguration>
    <Id>a</Id>
    <Event>s3:ObjectRemoved:*</Event>
    <Topic>arn:aws:sns:us-east-1:1:a</Topic>
  </TopicConfiguration>
  <TopicConfiguration>
    <Id>b</Id>
    <Event>s3:ObjectRemoved:Delete</Event>
    <Topic>arn:aws:sns:us-east-1:1:b</Topic>
  </TopicConfiguration>
</NotificationConfiguration>
`

func TestCheckS3EventNames(t *testing.T) {
	path := writeFile(t, "logs.xml", s3Overlap)
	_, out, _ := checkCmd(t, path)
	if want := `rule "b" overlaps rule "a" in bucket "logs": both match s3:ObjectRemoved:Delete on key ""`; !strings.Contains(out, want) {
		t.Errorf("stdout %q, want %q", out, want)
	}
	if strings.Contains(out, "cos:") {
		t.Errorf("stdout %q names an S3 rule's event in COS spelling", out)
	}
}

func TestProfileCOSFlagsNonSCFTarget(t *testing.T) {
	path := writeFile(t, "r.json", `{"rules":[
{"id":"lambda","bucket":"b","events":["cos:ObjectCreated:*"],"prefix":"a/","target":"arn:aws:lambda:us-east-1:1:function:f"},
{"id":"scf","bucket":"b","events":["cos:ObjectCreated:*"],"prefix":"b/","target":"qcs::scf:ap-guangzhou:uin/1:namespace/default/function/f"},
{"id":"old","bucket":"b","events":["cos:ObjectCreated:*"],"prefix":"c/","target":"qcs:0:lambda:gz:appid/1:default.f.$LATEST"}]}`)
	code, out, _ := checkCmd(t, "-profile", "cos", path)
	if code != exitFindings {
		t.Errorf("exit %d", code)
	}
	if want := `rule "lambda" in bucket "b": target "arn:aws:lambda:us-east-1:1:function:f" is not an SCF function`; !strings.Contains(out, want) {
		t.Errorf("stdout %q, want %q", out, want)
	}
	if !strings.HasSuffix(out, "3 rules in 1 bucket: 1 problem\n") {
		t.Errorf("stdout %q, want only the Lambda target flagged", out)
	}
	if code, out, _ := checkCmd(t, path); code != exitOK {
		t.Errorf("without -profile cos: exit %d, stdout %q", code, out)
	}
}

func TestProfileCOSFlagsS3OnlyEvents(t *testing.T) {
	path := writeFile(t, "r.json", `{"rules":[
{"id":"tags","bucket":"b","events":["s3:ObjectCreated:*","s3:ObjectTagging:*"],"target":"qcs::scf:ap-guangzhou:uin/1:namespace/default/function/f"}]}`)
	code, out, _ := checkCmd(t, "-profile", "cos", path)
	if code != exitFindings {
		t.Errorf("exit %d", code)
	}
	if want := `rule "tags" in bucket "b": event s3:ObjectTagging:* is not a COS event`; !strings.Contains(out, want) {
		t.Errorf("stdout %q, want %q", out, want)
	}
}

// BenchmarkLoadIndex reads a JSON file of 100,000 rules without overlaps
// (10 per bucket) and builds the index that match and run use.
func BenchmarkLoadIndex(b *testing.B) {
	doc := &config.Document{}
	for i := range 100000 {
		doc.Rules = append(doc.Rules, match.Rule{ID: fmt.Sprint("r", i%10), Bucket: fmt.Sprint("bucket-", i/10), Events: match.ObjectCreated,
			Prefix: fmt.Sprintf("dir%d/", i%10), Target: fmt.Sprint("fn-", i)})
	}
	var buf bytes.Buffer
	if err := config.WriteJSON(&buf, doc); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "rules.json")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := loadIndex(path, "", defaultMaxFileSize); err != nil {
			b.Fatal(err)
		}
	}
}
