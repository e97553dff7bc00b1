package dispatch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/notifymux/notifymux/batch"
)

// batchingPublisher is a BatchPublisher over a Pipeline that keeps the
// size of every batch and refuses records whose key contains "refuse".
type batchingPublisher struct {
	*Pipeline
	sizes []int
}

func (b *batchingPublisher) PublishBatch(ctx context.Context, recs []batch.Record, errs []error) {
	b.sizes = append(b.sizes, len(recs))
	for i, r := range recs {
		if strings.Contains(r.Key, "refuse") {
			errs[i] = &QueueFullError{Target: r.Target, Limit: 1}
			continue
		}
		errs[i] = b.PublishContext(ctx, r)
	}
}

// RouteAll with a BatchPublisher counts and reports exactly what it does
// with a plain Publisher, reports refusals in the order of the input, and
// hands over batches of at most MaxRouteBatch, cut before a record that
// cannot be read.
func TestRouteAllBatches(t *testing.T) {
	var lines []string
	for i := range 600 {
		key := fmt.Sprintf("images/%d.jpg", i)
		switch i {
		case 7, 300, 599:
			key = fmt.Sprintf("images/refuse-%d.jpg", i) // refused by the publisher
		case 400:
			lines = append(lines, "not json") // a record that cannot be read
			continue
		case 450:
			key = strings.Repeat("k", batch.MaxKeyLen+1) // refused by the Router
		}
		lines = append(lines, `{"bucket":"photos","event":"cos:ObjectCreated:Put","key":"`+key+`"}`)
	}
	input := strings.Join(lines, "\n")
	route := func(batching bool) (Counts, []int, []int, map[string]batch.Record) {
		r, p, c := routerFixture(t, RouterConfig{})
		bp := &batchingPublisher{Pipeline: p}
		var pub Publisher = p
		if batching {
			pub = bp
		} else {
			pub = refusingPublisher{p}
		}
		r.cfg.Pipeline = pub
		var errLines []int
		counts, err := r.RouteAll(t.Context(), batch.NewDecoder(strings.NewReader(input), batch.DecoderConfig{}), func(e *RouteError) error {
			errLines = append(errLines, e.Line)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		return counts, errLines, bp.sizes, c.byKey()
	}
	plainCounts, plainErrs, _, plainGot := route(false)
	counts, errLines, sizes, got := route(true)
	if want := (Counts{Accepted: 595, Matched: 595, Refused: 5}); counts != want || plainCounts != want {
		t.Errorf("counts with batches %+v, one by one %+v, want %+v", counts, plainCounts, want)
	}
	if want := []int{8, 301, 401, 451, 600}; !slices.Equal(errLines, want) || !slices.Equal(plainErrs, want) {
		t.Errorf("refused lines with batches %v, one by one %v, want %v", errLines, plainErrs, want)
	}
	// Cut at 256, before line 401 (unreadable: the 256+144 records read by
	// then), before line 451 (refused by the Router), and at the end.
	if want := []int{256, 144, 49, 149}; !slices.Equal(sizes, want) {
		t.Errorf("batch sizes %v, want %v", sizes, want)
	}
	if len(got) != 595 || len(plainGot) != 595 {
		t.Errorf("delivered %d records with batches, %d one by one, want 595", len(got), len(plainGot))
	}
}

// refusingPublisher is the one-by-one twin of batchingPublisher.
type refusingPublisher struct{ *Pipeline }

func (p refusingPublisher) PublishContext(ctx context.Context, r batch.Record) error {
	if strings.Contains(r.Key, "refuse") {
		return &QueueFullError{Target: r.Target, Limit: 1}
	}
	return p.Pipeline.PublishContext(ctx, r)
}

// When the BatchPublisher refuses a whole batch as full, RouteAll stops
// with an error that is ErrQueueFull instead of reading and waiting on the
// rest; a batch only partly refused does not stop it.
func TestRouteAllStopsWhenABatchIsRefused(t *testing.T) {
	var lines []string
	for i := range 2*MaxRouteBatch + 10 {
		key := fmt.Sprintf("images/%d.jpg", i)
		if i == 3 || i >= MaxRouteBatch { // one refusal in the first batch, all of the second
			key = fmt.Sprintf("images/refuse-%d.jpg", i)
		}
		lines = append(lines, `{"bucket":"photos","event":"cos:ObjectCreated:Put","key":"`+key+`"}`)
	}
	r, p, _ := routerFixture(t, RouterConfig{})
	bp := &batchingPublisher{Pipeline: p}
	r.cfg.Pipeline = bp
	reported := 0
	counts, err := r.RouteAll(t.Context(), batch.NewDecoder(strings.NewReader(strings.Join(lines, "\n")), batch.DecoderConfig{}), func(*RouteError) error {
		reported++
		return nil
	})
	if !errors.Is(err, ErrQueueFull) {
		t.Fatalf("RouteAll: %v, want ErrQueueFull", err)
	}
	if want := (Counts{Accepted: MaxRouteBatch - 1, Matched: MaxRouteBatch - 1, Refused: MaxRouteBatch + 1}); counts != want || reported != MaxRouteBatch+1 {
		t.Errorf("counts %+v with %d reported, want %+v all reported", counts, reported, want)
	}
	if want := []int{MaxRouteBatch, MaxRouteBatch}; !slices.Equal(bp.sizes, want) {
		t.Errorf("batches %v, want %v: the last 10 records are not read", bp.sizes, want)
	}
	if err := p.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
}
