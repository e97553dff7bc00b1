package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// matchCommand runs `notifymux match args...` on stdin.
func matchCommand(stdin string, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), append([]string{"match"}, args...), strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestKeysOver1024: match matched a 10 MiB key and run dead-lettered one with
// payload null, while event refused it. Every command now refuses a key over
// 1024 bytes at input, with a per-line error that names the limit and does
// not echo the key.
func TestKeysOver1024(t *testing.T) {
	long := strings.Repeat("k", 10<<20)
	line := `{"bucket":"testpic","event":"cos:ObjectRemove:Delete","key":"` + long + `"}` + "\n" +
		`{"bucket":"testpic","event":"cos:ObjectRemove:Delete","key":"ok"}` + "\n"
	code, out, stderr := matchCommand(line, "-rules", "examples/testpic.xml")
	if code != exitUsage || strings.Count(out, "\n") != 1 || !strings.Contains(out, `"key":"ok"`) {
		t.Errorf("match: exit %d, stdout %.300s", code, out)
	}
	if !strings.Contains(stderr, "input line 1") || !strings.Contains(stderr, "1024") || len(stderr) > 2000 {
		t.Errorf("match stderr (%d bytes) %.500s: want line 1 named, the 1024-byte limit, and no echo of the key", len(stderr), stderr)
	}

	in := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(in, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	dl := filepath.Join(t.TempDir(), "dl.jsonl")
	code, out, stderr = runCommand(t.Context(), "-rules", "examples/testpic.xml", "-in", in, "-dead-letter", dl, "-region", "cd")
	if code != exitUsage || !strings.Contains(stderr, "input line 1") || !strings.Contains(stderr, "1024") || len(stderr) > 4000 {
		t.Errorf("run: exit %d, stderr (%d bytes) %.500s", code, len(stderr), stderr)
	}
	if _, err := os.Stat(dl); err == nil {
		t.Error("run wrote a dead-letter file for a key it should have refused at input")
	}
	if strings.Count(out, "\n") != 1 {
		t.Errorf("run delivered %d batches, want the one good line", strings.Count(out, "\n"))
	}

	code, _, stderr = eventCommand("-bucket", "b", "-key", strings.Repeat("k", 1025), "-event", "cos:ObjectCreated:Put")
	if code != exitUsage || !strings.Contains(stderr, "1024") {
		t.Errorf("event: exit %d, stderr %.300s", code, stderr)
	}
}

// TestLineWithoutBucketUsesTheRulesBucket: when a line names no bucket and
// the rules name exactly one, match and run use it.
func TestLineWithoutBucketUsesTheRulesBucket(t *testing.T) {
	line := `{"event":"cos:ObjectRemove:Delete","key":"a"}` + "\n"
	code, out, stderr := matchCommand(line, "-rules", "examples/testpic.xml")
	if code != exitOK || !strings.Contains(out, `"bucket":"testpic"`) || !strings.Contains(out, `"rule":"cleanup"`) {
		t.Errorf("match: exit %d, stdout %s, stderr %s", code, out, stderr)
	}
	recs, _ := runPayloads(t, line, "-rules", "examples/testpic.xml", "-region", "cd")
	if len(recs) != 1 || recs[0].COS.Bucket.Name != "testpic" {
		t.Errorf("run delivered %+v", recs)
	}
}

// TestErrorsNameNoGoTypes: a field of the wrong JSON type was reported with
// Go's type names (main.lineJSON); errors name the field and what it should be.
func TestErrorsNameNoGoTypes(t *testing.T) {
	goType := regexp.MustCompile(`\b(main|batch|schema|json)\.[A-Za-z]`)
	for _, in := range []string{
		`{"bucket":5,"event":"cos:ObjectCreated:Put","key":"k"}`,
		`{"bucket":"b","event":["x"],"key":"k"}`,
		`{"Records":[{"cos":{"cosObject":{"key":7}}}]}`,
		`{"Records":"no"}`,
		`[1,2]`,
	} {
		_, _, stderr := matchCommand(in+"\n", "-rules", "examples/testpic.xml")
		if stderr == "" || goType.MatchString(stderr) {
			t.Errorf("input %s: stderr %q names a Go type or says nothing", in, stderr)
		}
	}
}
