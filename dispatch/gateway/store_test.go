package gateway_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/notifymux/notifymux/dispatch/gateway"
	"github.com/notifymux/notifymux/match"
)

func TestStore(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ".tmp-shard-0001.db-123"), []byte("notif"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A temporary file left by a write a crash interrupted is removed at
	// open and never read as a configuration.
	st, err := gateway.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".tmp-shard-0001.db-123")); !os.IsNotExist(err) {
		t.Errorf("the leftover temporary file is still there: %v", err)
	}
	if err := st.Put("photos", []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := st.Put("photos", []byte("two")); err != nil {
		t.Fatal(err)
	}
	if got, err := st.Get("photos"); string(got) != "two" || err != nil {
		t.Errorf("Get: got %q, %v, want two", got, err)
	}
	if got, err := st.Get("never"); got != nil || err != nil {
		t.Errorf("Get of a bucket never stored: got %q, %v", got, err)
	}
	if err := st.Put("../etc", []byte("x")); err == nil {
		t.Errorf("Put accepted the bucket name ../etc")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || !strings.HasPrefix(entries[0].Name(), "shard-") {
		t.Errorf("directory holds %v, want one shard file", entries)
	}
	// Many buckets share shards; each keeps its own document.
	docs := map[string][]byte{}
	for i := range 200 {
		docs[fmt.Sprintf("b-%d", i)] = []byte(fmt.Sprintf("doc\n%d", i))
	}
	if err := st.PutAll(docs); err != nil {
		t.Fatal(err)
	}
	if err := st.Put("b-7", []byte("seven")); err != nil {
		t.Fatal(err)
	}
	docs["b-7"] = []byte("seven")
	docs["photos"] = []byte("two")
	seen := map[string]string{}
	var mu sync.Mutex
	if err := st.All(4, func(b string, doc []byte) error {
		mu.Lock()
		seen[b] = string(doc)
		mu.Unlock()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(seen) != len(docs) {
		t.Fatalf("All saw %d buckets, want %d", len(seen), len(docs))
	}
	for b, d := range docs {
		if seen[b] != string(d) {
			t.Fatalf("All: bucket %s: got %q, want %q", b, seen[b], d)
		}
	}
	// A damaged shard is an error naming the file, not a silent loss.
	shard, _ := filepath.Glob(filepath.Join(dir, "shard-*.db"))
	os.WriteFile(shard[0], []byte("notifymux-buckets 1\nphotos 999\nshort\n"), 0o600)
	if err := st.All(1, func(string, []byte) error { return nil }); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("a damaged shard: got %v", err)
	}
	os.Remove(shard[0])
	if err := st.Delete("photos"); err != nil || st.Has("photos") {
		t.Errorf("Delete: %v, Has %v", err, st.Has("photos"))
	}
	if err := st.Delete("photos"); err != nil {
		t.Errorf("Delete of a bucket without a file: %v", err)
	}
}

func TestValidBucketName(t *testing.T) {
	for name, want := range map[string]bool{
		"photos": true, "photos-1250000000": true, "a.b-c": true, "abc": true,
		"ab": false, "Photos": false, ".abc": false, "abc-": false, "a..b": false, "a/b": false, "a_b": false,
		strings.Repeat("a", 63): true, strings.Repeat("a", 64): false,
	} {
		if got := gateway.ValidBucketName(name); got != want {
			t.Errorf("ValidBucketName(%q) = %v, want %v", name, got, want)
		}
	}
}

// writeStored stores n configurations, one rule each, with PutAll.
func writeStored(t testing.TB, dir string, n int) {
	t.Helper()
	st, err := gateway.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	docs := make(map[string][]byte, n)
	for i := range n {
		docs[fmt.Sprintf("bucket-%07d", i)] = fmt.Appendf(nil, `<NotificationConfiguration><CloudFunctionConfiguration><Id>r%d</Id><Filter><S3Key><FilterRule><Name>prefix</Name><Value>in/%d/</Value></FilterRule></S3Key></Filter><Event>cos:ObjectCreated:*</Event><CloudFunction>qcs:0:lambda:gz:appid/1250000000:default.fn%d.$LATEST</CloudFunction></CloudFunctionConfiguration></NotificationConfiguration>`, i, i, i%100)
	}
	if err := st.PutAll(docs); err != nil {
		t.Fatal(err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	const n = 300
	writeStored(t, dir, n)
	st, _ := gateway.OpenStore(dir)
	start := time.Now()
	g, err := gateway.New(gateway.Config{Store: st, Keys: map[string]string{testAccessKey: testSecretKey}, IngestToken: testToken})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("loaded %d configurations in %v", n, time.Since(start))
	if l := g.Loaded(); l.Buckets != n || l.Rules != n {
		t.Fatalf("Loaded: %+v, want %d buckets and rules", l, n)
	}
	if r, ok := g.Index().Match("bucket-0000123", match.ObjectCreatedPut, "in/123/x"); !ok || r.ID != "r123" {
		t.Errorf("Match after load: %v %v", r, ok)
	}
	if g.Stats().Buckets != n {
		t.Errorf("Stats().Buckets = %d, want %d", g.Stats().Buckets, n)
	}

	// A stored file that does not parse stops the start, naming the bucket.
	if err := st.Put("broken", []byte("<NotificationConfiguration><Cloud")); err != nil {
		t.Fatal(err)
	}
	_, err = gateway.New(gateway.Config{Store: st, Keys: map[string]string{testAccessKey: testSecretKey}, IngestToken: testToken})
	if err == nil || !strings.Contains(err.Error(), `"broken"`) {
		t.Errorf("a broken stored file: got %v, want an error naming bucket broken", err)
	}
}
