package fuzz

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/notifymux/notifymux/fuzz/internal/oracle"
)

// FuzzIndex decodes data into Add, AddAll, Remove and Replace calls (see oracle.DecodeOps),
// makes them on a match.Index and the oracle Index side by side, and checks
// after every step (see Checker): decisions and errors agree and explain
// themselves, refused changes change nothing, Len and Match agree.
func FuzzIndex(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		ops := oracle.DecodeOps(data)
		keys := oracle.KeysFor(data)
		if err := oracle.CheckOps(ops, keys); err != nil {
			t.Fatal(oracle.Shrink(ops, keys, err))
		}
	})
}

// FuzzOverlap decodes two rules (see oracle.DecodeRulePair) and checks match.Overlap
// against the oracle.
func FuzzOverlap(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		a, b := oracle.DecodeRulePair(data)
		if err := oracle.CheckOverlapPair(a, b); err != nil {
			t.Fatal(err)
		}
	})
}

// updateSeeds makes TestFuzzIndexSeeds write the seed files it checks.
var updateSeeds = flag.Bool("update-seeds", false, "write the FuzzIndex seeds of oracle.SeedOps to testdata/fuzz/FuzzIndex")

// TestFuzzIndexSeeds checks that the seed files of oracle.SeedOps hold their
// encodings (with -update-seeds, writes them), and that they decode back
// to the same Ops.
func TestFuzzIndexSeeds(t *testing.T) {
	for name, ops := range oracle.SeedOps() {
		data, err := oracle.EncodeOps(ops)
		if err != nil {
			t.Fatal(err)
		}
		if got := oracle.DecodeOps(data); fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", ops) {
			t.Fatalf("%s: oracle.DecodeOps(oracle.EncodeOps(ops)) = %v, want %v", name, got, ops)
		}
		want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
		path := filepath.Join("testdata", "fuzz", "FuzzIndex", name)
		if *updateSeeds {
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if got, err := os.ReadFile(path); err != nil || string(got) != want {
			t.Errorf("%s does not hold the encoding of oracle.SeedOps()[%q] (rerun with -update-seeds): %v", path, name, err)
		}
	}
}
