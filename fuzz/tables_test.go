package fuzz

import (
	"os"
	"os/exec"
	"testing"
)

// TestWithTables reruns the differential tests, the FuzzIndex seeds and the
// concurrency test in a child process with NOTIFYMUX_MATCH_TABLES=1, which
// makes match.Index keep its prefix tables and suffix tries for buckets of
// any size. The generators make buckets of at most eight rules, which
// match.Index otherwise stores as small buckets, so without this run the
// oracle would never see the tables.
func TestWithTables(t *testing.T) {
	if os.Getenv("NOTIFYMUX_MATCH_TABLES") == "1" {
		t.Skip("already running with the tables")
	}
	args := []string{"-test.run=^(TestDifferential|FuzzIndex|TestConcurrentMatch|TestAddAll)$", "-test.count=1"}
	if testing.Short() {
		args = append(args, "-test.short")
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "NOTIFYMUX_MATCH_TABLES=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("with NOTIFYMUX_MATCH_TABLES=1: %v\n%s", err, out)
	}
	t.Logf("with NOTIFYMUX_MATCH_TABLES=1:\n%s", out)
}
