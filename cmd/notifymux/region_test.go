package main

import (
	"strings"
	"testing"
)

// TestWrongURLRegion: `event -region gz` wrote the url host
// cos.gz.myqcloud.com; a COS url names the full region.
func TestWrongURLRegion(t *testing.T) {
	code, out, stderr := eventCommand("-bucket", "b", "-key", "k", "-event", "cos:ObjectCreated:Put", "-region", "gz")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	if !strings.Contains(out, ".cos.ap-guangzhou.myqcloud.com/") || strings.Contains(out, "cos.gz.") {
		t.Errorf("payload %s\nwant the url host to name ap-guangzhou", out)
	}
}

// TestBrokenCOSFieldsRegionChecked: with -format cos, -region must be a COS
// region (run and event accepted "mars"); with s3 or cloudevents an
// AWS-style name is accepted.
func TestBrokenCOSFieldsRegionChecked(t *testing.T) {
	for _, c := range []struct {
		args []string
		ok   bool
	}{
		{[]string{"-region", "mars"}, false},
		{[]string{"-region", "us-west-2"}, false},
		{[]string{"-region", "ap-chengdu"}, true},
		{[]string{"-region", "cd"}, true},
		{[]string{"-format", "s3", "-region", "us-west-2"}, true},
		{[]string{"-format", "cloudevents", "-region", "eu-central-1"}, true},
		{[]string{"-format", "s3", "-region", "mars"}, false},
	} {
		args := append([]string{"-bucket", "b", "-key", "k", "-event", "cos:ObjectCreated:Put"}, c.args...)
		code, _, stderr := eventCommand(args...)
		if (code == exitOK) != c.ok {
			t.Errorf("event %v: exit %d, want ok=%v; stderr %s", c.args, code, c.ok, stderr)
		}
		if !c.ok && !strings.Contains(stderr, "-region") {
			t.Errorf("event %v: stderr %q does not name -region", c.args, stderr)
		}
		code, _, stderr = runCommand(t.Context(), append([]string{"-rules", "examples/testpic.xml", "-in", "examples/events.jsonl"}, c.args...)...)
		if !c.ok && (code != exitUsage || !strings.Contains(stderr, "-region")) {
			t.Errorf("run %v: exit %d, want %d naming -region; stderr %s", c.args, code, exitUsage, stderr)
		}
	}
}

// TestEventPrintsSCFTemplate: `event -scf-template` prints the SCF
// console's COS test template, without the sample's Authorization header,
// and says why it cannot be routed.
func TestEventPrintsSCFTemplate(t *testing.T) {
	code, out, stderr := eventCommand("-scf-template")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	if !strings.Contains(out, `"eventName": "cos:ObjectCreated:*"`) || strings.Contains(out, "q-sign-algorithm") {
		t.Errorf("template %s\nwant the wildcard eventName and no Authorization header", out)
	}
	if !strings.Contains(stderr, "wildcard") {
		t.Errorf("stderr %q does not explain the wildcard", stderr)
	}
}
