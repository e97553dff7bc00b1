package main

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/notifymux/notifymux/match"
)

// seedRecord is the COS record of seed 004, with a concrete event name.
const seedRecord = `{"Records":[{"cos":{"cosSchemaVersion":"1.0","cosObject":{"url":"http://testpic-1253970026.cos.ap-chengdu.myqcloud.com/testfile","meta":{"x-cos-request-id":"NWMxOWY4MGFfMjViMjU4NjRfMTUyMV8yNzhhZjM=","Content-Type":"image/png","x-cos-meta-origin":"camera"},"vid":"v1","key":"/1253970026/testpic/dir/testfile","size":1029},"cosBucket":{"region":"cd","name":"testpic","appid":"1253970026"},"cosNotificationId":"unkown"},"event":{"eventName":"cos:ObjectCreated:Put","eventVersion":"1.0","eventTime":1545205770,"eventSource":"qcs::cos","requestParameters":{"requestSourceIP":"192.168.15.101","requestHeaders":{}},"eventQueue":"qcs:0:lambda:cd:appid/1253970026:default.printevent.$LATEST","reservedInfo":"","reqid":179398952}}]}`

const s3Record = `{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-west-2","eventTime":"1970-01-01T00:00:00.000Z","eventName":"ObjectRemoved:DeleteMarkerCreated","requestParameters":{"sourceIPAddress":"10.0.0.1"},"responseElements":{"x-amz-request-id":"C3D13FE58DE4C810"},"s3":{"s3SchemaVersion":"1.0","configurationId":"rule-1","bucket":{"name":"my-bucket"},"object":{"key":"a%2Fb+c.txt","size":5,"eTag":"d41d8","versionId":"096fKKXTRTtl3on89fVO.nfljtsv6qko","sequencer":"0055AED6DCD90281E5"}}}]}`

func collect(t *testing.T, input string) (evs []inputEvent, bad []string) {
	t.Helper()
	err := readEvents(strings.NewReader(input), func(ev *inputEvent) error {
		evs = append(evs, *ev)
		return nil
	}, func(line int, err error) error {
		bad = append(bad, fmt.Sprintf("%d: %v", line, err))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return evs, bad
}

func TestReadEventsCOS(t *testing.T) {
	evs, bad := collect(t, seedRecord)
	if len(bad) != 0 || len(evs) != 1 {
		t.Fatalf("got %d events, bad %v", len(evs), bad)
	}
	ev := evs[0]
	want := inputEvent{Line: 1, Source: "cos", Bucket: "testpic", EventName: "cos:ObjectCreated:Put", Event: match.ObjectCreatedPut,
		Key: "dir/testfile", AppID: "1253970026", Region: "cd", Size: 1029, VersionID: "v1", Time: time.Unix(1545205770, 0).UTC(),
		RequestID: "NWMxOWY4MGFfMjViMjU4NjRfMTUyMV8yNzhhZjM=", SourceIP: "192.168.15.101", ContentType: "image/png",
		Meta: map[string]string{"x-cos-meta-origin": "camera"}, NotificationID: "unkown"}
	ev.Raw = nil
	if fmt.Sprintf("%+v", ev) != fmt.Sprintf("%+v", want) {
		t.Errorf("got  %+v\nwant %+v", ev, want)
	}
	if !strings.HasPrefix(string(evs[0].Raw), `{"cos":`) {
		t.Errorf("Raw = %.40s…, want the record", evs[0].Raw)
	}
}

func TestReadEventsS3(t *testing.T) {
	evs, bad := collect(t, s3Record)
	if len(bad) != 0 || len(evs) != 1 {
		t.Fatalf("got %d events, bad %v", len(evs), bad)
	}
	ev := evs[0]
	if ev.Bucket != "my-bucket" || ev.Key != "a/b c.txt" || ev.EventName != "s3:ObjectRemoved:DeleteMarkerCreated" ||
		ev.Event != match.ObjectRemoveDeleteMarkerCreated || ev.Size != 5 || ev.ETag != "d41d8" || ev.Sequencer != "0055AED6DCD90281E5" ||
		ev.VersionID != "096fKKXTRTtl3on89fVO.nfljtsv6qko" || !ev.Time.Equal(time.Unix(0, 0)) || ev.Region != "us-west-2" ||
		ev.RequestID != "C3D13FE58DE4C810" || ev.SourceIP != "10.0.0.1" || ev.NotificationID != "rule-1" || ev.Source != "s3" {
		t.Errorf("got %+v", ev)
	}
}

func TestReadEventsLinesAndErrors(t *testing.T) {
	input := strings.Join([]string{
		`{"bucket":"b","event":"cos:ObjectCreated:Put","key":"k1"}`,
		``,
		`   `,
		`{"bucket":"b","event":"s3:ObjectRemoved:Delete","key":"k2"}` + "\r",
		`{"bucket":"b","event":"cos:ObjectCreated:*","key":"k"}`,
		`{"bucket":"b","key":"k"}`,
		`{"bucket":"b","event":"cos:ObjectCreated:Put"}`,
		`not json`,
		`{"Records":[{"s3":{"object":{"key":"%zz"}},"eventName":"ObjectCreated:Put"},{"s3":{"bucket":{"name":"b"},"object":{"key":"k3"}},"eventName":"ObjectCreated:Copy"},{"x":1}]}`,
		`{"Records":[{"cos":{"cosObject":{"key":"/1/b/k4"},"cosBucket":{"name":"b"}},"event":{"eventName":"cos:ObjectRestore:Post","eventTime":"soon"}}]}`,
		`{"bucket":"b","event":"cos:ObjectCreated:Put","key":"last"}`,
	}, "\n")
	evs, bad := collect(t, input)
	var got []string
	for _, ev := range evs {
		got = append(got, fmt.Sprintf("%d.%d %s %s %s", ev.Line, ev.Record, ev.Bucket, ev.Event, ev.Key))
	}
	wantEvents := []string{
		"1.0 b cos:ObjectCreated:Put k1",
		"4.0 b cos:ObjectRemove:Delete k2",
		"9.1 b cos:ObjectCreated:Copy k3",
		"11.0 b cos:ObjectCreated:Put last",
	}
	if strings.Join(got, "\n") != strings.Join(wantEvents, "\n") {
		t.Errorf("events:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantEvents, "\n"))
	}
	wantBad := []string{
		`5: event: event "cos:ObjectCreated:*" is a wildcard`,
		`6: neither an event line`,
		`7: event line has no "key"`,
		`8: not a JSON event line`,
		`9: record 0 of Records: s3.object.key "%zz" is not URL-encoded`,
		`9: record 2 of Records: record is neither COS`,
		`10: record 0 of Records: json: invalid number literal`,
	}
	if len(bad) != len(wantBad) {
		t.Fatalf("bad lines:\n%s", strings.Join(bad, "\n"))
	}
	for i, w := range wantBad {
		if !strings.HasPrefix(bad[i], w) {
			t.Errorf("bad[%d] = %q, want prefix %q", i, bad[i], w)
		}
	}
}

func TestReadEventsStops(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	err := readEvents(strings.NewReader(strings.Repeat(`{"bucket":"b","event":"cos:ObjectCreated:Put","key":"k"}`+"\n", 5)),
		func(*inputEvent) error { n++; return stop }, func(int, error) error { return nil })
	if err != stop || n != 1 {
		t.Errorf("fn error: got %v after %d events, want stop after 1", err, n)
	}
	err = readEvents(strings.NewReader("x\n"+seedRecord), func(*inputEvent) error { n++; return nil }, func(int, error) error { return stop })
	if err != stop {
		t.Errorf("bad error: got %v, want stop", err)
	}
}

func TestReadEventsLongLine(t *testing.T) {
	long := `{"bucket":"b","event":"cos:ObjectCreated:Put","key":"` + strings.Repeat("k", maxLineBytes) + `"}`
	mid := `{"bucket":"b","event":"cos:ObjectCreated:Put","key":"` + strings.Repeat("m", 200<<10) + `"}`
	evs, bad := collect(t, long+"\n"+mid+"\n"+`{"bucket":"b","event":"cos:ObjectCreated:Put","key":"after"}`)
	if len(bad) != 1 || !strings.Contains(bad[0], "1: line longer than") {
		t.Errorf("bad = %v, want line 1 too long", bad)
	}
	if len(evs) != 2 || len(evs[0].Key) != 200<<10 || evs[1].Key != "after" || evs[1].Line != 3 {
		t.Errorf("got %d events, want the 200 KiB one and line 3", len(evs))
	}
}

// lineSource generates n event lines without holding them.
type lineSource struct {
	n, i int
	cur  []byte
}

func (s *lineSource) Read(p []byte) (int, error) {
	if len(s.cur) == 0 {
		if s.i == s.n {
			return 0, io.EOF
		}
		s.cur = fmt.Appendf(s.cur[:0], `{"bucket":"bucket-%d","event":"cos:ObjectCreated:Put","key":"images/%d/photo.jpg"}`+"\n", s.i%100, s.i)
		s.i++
	}
	n := copy(p, s.cur)
	s.cur = s.cur[n:]
	return n, nil
}

// TestMatchMemoryBounded streams many lines through the match command's loop
// and checks that the live heap does not grow with the input.
func TestMatchMemoryBounded(t *testing.T) {
	const lines = 200000
	m := benchMatcher(t, io.Discard)
	var heap []uint64
	src := &lineSource{n: lines}
	probe := &probeReader{r: src, every: lines / 4, fn: func() {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		heap = append(heap, ms.HeapAlloc)
	}}
	if code, err := m.run(t.Context(), probe, io.Discard); code != exitOK || err != nil {
		t.Fatalf("run: %d %v", code, err)
	}
	if src.i != lines || len(heap) < 3 {
		t.Fatalf("read %d lines, %d probes", src.i, len(heap))
	}
	// About 17 MB of input went through; the live heap must not follow it.
	for i, h := range heap[1:] {
		if h > heap[0]+4<<20 {
			t.Errorf("live heap grew from %d to %d bytes by probe %d", heap[0], h, i+1)
		}
	}
}

// probeReader calls fn every `every` lines' worth of reads from r.
type probeReader struct {
	r     *lineSource
	every int
	next  int
	fn    func()
}

func (p *probeReader) Read(b []byte) (int, error) {
	if p.r.i >= p.next {
		p.fn()
		p.next += p.every
	}
	return p.r.Read(b)
}
