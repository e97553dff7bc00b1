package main

import (
	"fmt"
	"io"
	"runtime"
	"testing"
)

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
	if code, err := m.run(t.Context(), probe, "input ", io.Discard); code != exitOK || err != nil {
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
