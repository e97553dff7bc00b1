// This file holds the Pipeline's statistics. Counters live per target in
// atomics updated where the event happens (Publish, a lane's delivery or
// dead letter), so the hot path touches only its own target's cache lines;
// Stats sums them into a snapshot.
//
// All counts are in records. They add up: every Publish is either unmatched
// or matched, and every matched record is, at any time, in exactly one of
// delivered, dead-lettered, dead-letter-failed, dropped, rejected or queued:
//
//	Published = Unmatched + Matched
//	Matched   = Delivered + DeadLettered + DeadLetterFailed + Dropped + Rejected + Queued
//
// After Close returns, Queued is 0. Retried counts records sent again (a
// batch of 10 retried twice adds 20), RetryAttempts the attempts that sent
// them (2 there); neither is part of the sums. A snapshot
// taken while records flow reads the counters one by one, so the sums may
// be off by the records that moved meanwhile.

package dispatch

import (
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
)

// Stats is a snapshot of a Pipeline's counters, in records.
type Stats struct {
	Published        uint64 // Publish calls
	Unmatched        uint64 // records without a Target (no rule matched)
	Matched          uint64 // records with a Target
	Delivered        uint64 // records the Dispatcher accepted
	Batches          uint64 // batches the Dispatcher accepted
	Retried          uint64 // records sent again after a failed attempt
	RetryAttempts    uint64 // attempts (requests, for HTTP) that sent a batch again
	DeadLettered     uint64 // records the dead-letter dispatcher accepted
	DeadLetterFailed uint64 // records the dead-letter dispatcher failed to take: lost
	Dropped          uint64 // records dropped by DropNewest on a full queue
	Rejected         uint64 // records refused with an error (ErrQueueFull, ErrClosed)
	Queued           int64  // records accepted and not yet delivered or dead-lettered
	Targets          []TargetStats
}

// TargetStats is the share of one target in Stats.
type TargetStats struct {
	Target           string // the target function
	Matched          uint64 // records published to it
	Delivered        uint64 // records delivered
	Batches          uint64 // batches delivered
	Retried          uint64 // records sent again
	RetryAttempts    uint64 // attempts that sent a batch again
	DeadLettered     uint64 // records dead-lettered
	DeadLetterFailed uint64 // records the dead-letter dispatcher failed to take
	Dropped          uint64 // records dropped on a full queue (DropNewest)
	Rejected         uint64 // records refused (ErrQueueFull, ErrClosed)
	Queued           int64  // the queue depth: held from Publish until delivered or dead-lettered
}

// targetCounters are a target's live counters.
type targetCounters struct {
	matched, delivered, batches, retried atomic.Uint64
	retryRequests                        atomic.Uint64
	deadLettered, deadLetterFailed       atomic.Uint64
	dropped, rejected                    atomic.Uint64
}

// Stats returns a snapshot of the counters, with Targets sorted by name. It is
// safe for concurrent use and on a nil *Pipeline (all zero).
func (p *Pipeline) Stats() Stats {
	var s Stats
	if p == nil {
		return s
	}
	s.Unmatched = p.unmatched.Load()
	s.Rejected = p.rejectedUnknown.Load()
	s.Matched = s.Rejected
	for _, t := range *p.targets.Load() {
		ts := TargetStats{
			Target:           t.name,
			Matched:          t.matched.Load(),
			Delivered:        t.delivered.Load(),
			Batches:          t.batches.Load(),
			Retried:          t.retried.Load(),
			RetryAttempts:    t.retryRequests.Load(),
			DeadLettered:     t.deadLettered.Load(),
			DeadLetterFailed: t.deadLetterFailed.Load(),
			Dropped:          t.dropped.Load(),
			Rejected:         t.rejected.Load(),
			Queued:           t.depth.Load(),
		}
		s.Matched += ts.Matched
		s.Delivered += ts.Delivered
		s.Batches += ts.Batches
		s.Retried += ts.Retried
		s.RetryAttempts += ts.RetryAttempts
		s.DeadLettered += ts.DeadLettered
		s.DeadLetterFailed += ts.DeadLetterFailed
		s.Dropped += ts.Dropped
		s.Rejected += ts.Rejected
		s.Queued += ts.Queued
		s.Targets = append(s.Targets, ts)
	}
	s.Published = s.Matched + s.Unmatched
	slices.SortFunc(s.Targets, func(a, b TargetStats) int { return strings.Compare(a.Target, b.Target) })
	return s
}

// String summarises s on one line, e.g. "published 12 (matched 10,
// unmatched 2): delivered 9 in 2 batches, retried 3 records in 1 attempt,
// dead-lettered 1, dead-letter failed 0, dropped 0, rejected 0, queued 0".
func (s Stats) String() string {
	return fmt.Sprintf("published %d (matched %d, unmatched %d): delivered %d in %s, retried %s in %s, "+
		"dead-lettered %d, dead-letter failed %d, dropped %d, rejected %d, queued %d",
		s.Published, s.Matched, s.Unmatched, s.Delivered, plural(s.Batches, "batch", "batches"),
		plural(s.Retried, "record", "records"), plural(s.RetryAttempts, "attempt", "attempts"),
		s.DeadLettered, s.DeadLetterFailed, s.Dropped, s.Rejected, s.Queued)
}

// plural returns "1 record" or "n records".
func plural(n uint64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
