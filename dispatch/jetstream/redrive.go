// This file sends the dead letters of the dead-letter stream back for
// delivery once their function is fixed: each record is published again to
// the event stream, where the Deliverers pick it up as a new record (its
// maximum event age counts from then), and is deleted from the dead-letter
// stream once the event stream acknowledged it.
//
// Redrive reads the dead-letter stream by sequence, up to the last message
// it held when the redrive began, so that records dead-lettered again while
// it runs are left for a later redrive instead of looping. It is
// interruptible between records and resumable: what was redriven is gone
// from the dead-letter stream, so the next run starts with the rest. A
// record republished but not yet deleted when the process stopped is
// republished by the next run with the same message ID
// (nmx-redrive-<stream>-<sequence>), which the event stream's duplicate
// window drops. The record's own message ID is not used: the original
// publish may still be in that window, and the redriven copy would be
// dropped as its duplicate.

package jetstream

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/notifymux/notifymux/batch"
	"github.com/notifymux/notifymux/dispatch"
)

// RedriveConfig configures Redrive.
type RedriveConfig struct {
	// Names are the event stream and the dead-letter stream.
	Names
	// Target, if set, redrives only the records for this target; the
	// others stay.
	Target string
	// OnRecord, if set, is called after each dead-letter message is
	// settled, with its record (zero when it was not a record), the error
	// that kept it in the dead-letter stream (nil when it was redriven)
	// and the counts so far.
	OnRecord func(r batch.Record, err error, s RedriveStats)
}

// RedriveStats counts what Redrive did, in records (one message each).
type RedriveStats struct {
	Redriven   int    // published to the event stream and deleted
	Duplicates int    // already republished by an interrupted run: deleted
	Skipped    int    // for another Target: kept
	Invalid    int    // not a record: kept
	Remaining  int    // still in the dead-letter stream after this run
	LastSeq    uint64 // the last sequence this run considered
	Done       bool   // every message up to LastSeq was considered
}

// Redrive publishes the dead letters of the dead-letter stream to the event
// stream, in stream order, and deletes each one once it is stored. It stops
// at the first error: ctx ending (dispatch.ErrRedriveInterrupted), a full
// event stream (ErrStreamFull), or a server error; what is not redriven
// stays in the dead-letter stream.
func Redrive(ctx context.Context, js jetstream.JetStream, cfg RedriveConfig) (st RedriveStats, err error) {
	n := cfg.Names.withDefaults()
	dead, err := js.Stream(ctx, n.DeadStream)
	if err != nil {
		return st, fmt.Errorf("jetstream: redrive: stream %s: %w", n.DeadStream, err)
	}
	info, err := dead.Info(ctx)
	if err != nil {
		return st, fmt.Errorf("jetstream: redrive: stream %s: %w", n.DeadStream, err)
	}
	first, last := info.State.FirstSeq, info.State.LastSeq
	st.LastSeq = last
	defer func() {
		if info, err := dead.Info(context.WithoutCancel(ctx)); err == nil {
			st.Remaining = int(info.State.Msgs)
		}
	}()
	for next := first; next <= last && info.State.Msgs > 0; {
		if ctx.Err() != nil {
			return st, fmt.Errorf("jetstream: %w before sequence %d of stream %s: %w", dispatch.ErrRedriveInterrupted, next, n.DeadStream, ctx.Err())
		}
		// The first message at or after next: deleted sequences (redriven
		// before) cost nothing.
		m, err := dead.GetMsg(ctx, next, jetstream.WithGetMsgSubject(n.DeadSubject))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break
		}
		if err != nil {
			return st, fmt.Errorf("jetstream: redrive: read sequence %d of stream %s: %w", next, n.DeadStream, err)
		}
		seq := m.Sequence
		if seq > last {
			break
		}
		next = seq + 1
		r, err := decodeRecord(m.Data)
		if err != nil {
			st.Invalid++
			if cfg.OnRecord != nil {
				cfg.OnRecord(batch.Record{}, err, st)
			}
			continue
		}
		if cfg.Target != "" && r.Target != cfg.Target {
			st.Skipped++
			continue
		}
		msg := &nats.Msg{Subject: n.Subject, Data: m.Data, Header: nats.Header{headerTarget: []string{sanitizeHeader(r.Target)}}}
		id := "nmx-redrive-" + n.DeadStream + "-" + strconv.FormatUint(seq, 10)
		ack, err := js.PublishMsg(ctx, msg, jetstream.WithMsgID(id))
		if err != nil {
			if isFull(err) {
				return st, &StreamFullError{Stream: n.Stream, Err: err}
			}
			if ctx.Err() != nil {
				return st, fmt.Errorf("jetstream: %w at sequence %d of stream %s: %w", dispatch.ErrRedriveInterrupted, seq, n.DeadStream, ctx.Err())
			}
			return st, fmt.Errorf("jetstream: redrive sequence %d to stream %s: %w", seq, n.Stream, err)
		}
		// The record is stored in the event stream: deleting it from the
		// dead-letter stream may no longer be interrupted.
		if err := dead.DeleteMsg(context.WithoutCancel(ctx), seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
			return st, fmt.Errorf("jetstream: redrive: delete sequence %d of stream %s (already republished; a repeat is dropped as a duplicate): %w", seq, n.DeadStream, err)
		}
		if ack.Duplicate {
			st.Duplicates++
		} else {
			st.Redriven++
		}
		if cfg.OnRecord != nil {
			cfg.OnRecord(r, nil, st)
		}
	}
	st.Done = true
	return st, nil
}
