package batch

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/notifymux/notifymux/batch/schema"
	"github.com/notifymux/notifymux/match"
)

// marshalString is what encoding/json writes for s.
func marshalString(t testing.TB, s string) []byte {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatalf("json.Marshal(%q): %v", s, err)
	}
	return b
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	tests := []string{
		"",
		"plain/key.jpg",
		`quote " and backslash \`,
		"control \x00\x01\x07\x1f\x7f",
		"short escapes \b\f\n\r\t",
		"html <script>&amp;</script>",
		"line\u2028separator\u2029paragraph",
		"invalid \xff\xfe utf-8 \xc3",
		"truncated \xe2\x82",
		"surrogate half \xed\xa0\x80",
		"emoji 😀 and 中文 and é",
		"\x80",
		strings.Repeat("a", 100) + "\n",
	}
	for _, s := range tests {
		got := appendString(nil, s)
		want := marshalString(t, s)
		if !bytes.Equal(got, want) {
			t.Errorf("appendString(%q) = %s, want %s (encoding/json)", s, got, want)
		}
	}
}

func TestAppendStringKeepsDst(t *testing.T) {
	got := appendString([]byte("x:"), "a\"b")
	if want := `x:"a\"b"`; string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestAppendURLEscaped(t *testing.T) {
	tests := []struct {
		key        string
		plus, path string
	}{
		{"HappyFace.jpg", "HappyFace.jpg", "HappyFace.jpg"},
		{"red flower.jpg", "red+flower.jpg", "red%20flower.jpg"},
		{"a/b c+d%e", "a/b+c%2Bd%25e", "a/b%20c%2Bd%25e"},
		{"中", "%E4%B8%AD", "%E4%B8%AD"},
		{"\xff\"<", "%FF%22%3C", "%FF%22%3C"},
		{"~-_.", "~-_.", "~-_."},
	}
	for _, tt := range tests {
		if got := string(appendURLEscaped(nil, tt.key, true)); got != tt.plus {
			t.Errorf("form-escape %q = %q, want %q", tt.key, got, tt.plus)
		}
		if got := string(appendURLEscaped(nil, tt.key, false)); got != tt.path {
			t.Errorf("path-escape %q = %q, want %q", tt.key, got, tt.path)
		}
		if back, err := url.QueryUnescape(tt.plus); err != nil || back != tt.key {
			t.Errorf("url.QueryUnescape(%q) = %q, %v; want %q", tt.plus, back, err, tt.key)
		}
		if back, err := url.PathUnescape(tt.path); err != nil || back != tt.key {
			t.Errorf("url.PathUnescape(%q) = %q, %v; want %q", tt.path, back, err, tt.key)
		}
	}
}

func TestAppendISOTime(t *testing.T) {
	tests := []time.Time{
		time.Unix(0, 0),
		time.Date(2018, 12, 19, 7, 49, 30, 999999999, time.UTC),
		time.Date(2024, 2, 29, 23, 59, 59, 1e6, time.FixedZone("CST", 8*3600)),
		{},
		time.Date(12345, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	for _, tm := range tests {
		got := string(appendISOTime(nil, tm))
		want := tm.UTC().Format("2006-01-02T15:04:05.000Z07:00")
		if got != want {
			t.Errorf("appendISOTime(%v) = %s, want %s", tm, got, want)
		}
	}
}

// FuzzEscape feeds arbitrary keys and metadata through every encoder: the
// output must be valid JSON and decode to what encoding/json gives for the
// same input; the URL-encoded keys must decode to the exact key bytes.
func FuzzEscape(f *testing.F) {
	f.Add("photos/red flower.jpg", "origin", "camera")
	f.Add("a\"b\\c", "x<y>", "a&b")
	f.Add("\x00\x1f\x7f\b\f\n\r\t", "\u2028", "\u2029")
	f.Add("\xff\xfe\xc3", "\xed\xa0\x80", "\xe2\x82")
	f.Fuzz(func(t *testing.T, key, metaName, metaValue string) {
		if got, want := appendString(nil, key), marshalString(t, key); !bytes.Equal(got, want) {
			t.Fatalf("appendString(%q) = %s, want %s", key, got, want)
		}
		// What a JSON reader sees for s once encoding/json wrote it.
		roundTrip := func(s string) string {
			var back string
			if err := json.Unmarshal(marshalString(t, s), &back); err != nil {
				t.Fatal(err)
			}
			return back
		}
		name := "x-cos-meta-" + metaName
		r := Record{
			Bucket: "b" + metaName, AppID: "125", Region: "ap-guangzhou", Key: key, Size: 1,
			ETag: metaValue, Event: match.ObjectCreatedPut, Time: time.Unix(1, 0),
			RequestID: metaValue, SourceIP: key, ContentType: metaValue,
			Meta:   []Meta{{Name: name, Value: metaValue}},
			RuleID: metaName, Target: key, Sequencer: metaName,
		}
		for f := range Format(len(formatNames)) {
			out := f.Append(nil, []Record{r})
			if !json.Valid(out) {
				t.Fatalf("%s payload is not valid JSON: %s", f, out)
			}
		}

		var cos schema.COSPayload
		if err := json.Unmarshal(AppendCOS(nil, []Record{r}), &cos); err != nil {
			t.Fatal(err)
		}
		o := cos.Records[0].COS.Object
		// The bucket's short name: the encoder drops a "-<appid>" suffix.
		if want := roundTrip("/125/" + strings.TrimSuffix("b"+metaName, "-125") + "/" + key); o.Key != want {
			t.Errorf("cosObject.key = %q, want %q", o.Key, want)
		}
		if got, _ := o.Meta.Get(roundTrip(name)); got != roundTrip(metaValue) {
			want := roundTrip(metaValue)
			t.Errorf("cosObject.meta[%q] = %q, want %q", name, got, want)
		}
		if got, want := cos.Records[0].Event.Queue, roundTrip(key); got != want {
			t.Errorf("eventQueue = %q, want %q", got, want)
		}
		if i := strings.Index(o.URL, ".myqcloud.com/"); i < 0 {
			t.Errorf("url %q lacks the host", o.URL)
		} else if back, err := url.PathUnescape(o.URL[i+len(".myqcloud.com/"):]); err != nil || back != key {
			t.Errorf("url path %q unescapes to %q, %v; want %q", o.URL, back, err, key)
		}

		var ce []schema.CloudEvent
		if err := json.Unmarshal(AppendCloudEvents(nil, []Record{r}), &ce); err != nil {
			t.Fatal(err)
		}
		if want := roundTrip(key); ce[0].Subject != want {
			t.Errorf("subject = %q, want %q", ce[0].Subject, want)
		}
		if back, err := url.QueryUnescape(ce[0].Data.S3.Object.Key); err != nil || back != key {
			t.Errorf("s3.object.key %q unescapes to %q, %v; want %q", ce[0].Data.S3.Object.Key, back, err, key)
		}
	})
}

// TestNeedsEscape compares the eight-byte test with the byte table: every
// byte value in every position of an otherwise safe word, and random words.
func TestNeedsEscape(t *testing.T) {
	unsafe := func(w [8]byte) bool {
		for _, b := range w {
			if b >= 0x80 || !jsonSafe[b] {
				return true
			}
		}
		return false
	}
	check := func(w [8]byte) {
		t.Helper()
		if got, want := needsEscape(binary.LittleEndian.Uint64(w[:])), unsafe(w); got != want {
			t.Fatalf("needsEscape(%q) = %v, want %v", w, got, want)
		}
	}
	for pos := range 8 {
		for b := range 256 {
			w := [8]byte{'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'}
			w[pos] = byte(b)
			check(w)
			w = [8]byte{0x20, 0x7f, '!', '=', '?', '[', '%', 0x7e}
			w[pos] = byte(b)
			check(w)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 200000 {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], rng.Uint64())
		for j := range w { // bias towards ASCII so safe words occur
			if rng.IntN(2) == 0 {
				w[j] = byte(0x20 + rng.IntN(0x60))
			}
		}
		check(w)
	}
}
