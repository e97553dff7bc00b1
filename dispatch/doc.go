// Package dispatch delivers batches of matched object events to their target
// functions: asynchronously, in bounded memory, with retries, and without
// losing anything silently.
//
// A Dispatcher delivers one batch.Batch (Func: an in-process function;
// JSONLines: one JSON line per batch to an io.Writer; HTTP: a signed POST to
// the target's URL). A Pipeline sits between the matcher and a Dispatcher:
// Publish hands it a matched batch.Record and returns at once; workers group
// records into batches per target (batch.Batcher), and per-target delivery
// lanes send them, retry failures with exponential backoff and full jitter,
// and hand what cannot be delivered to a dead-letter Dispatcher.
//
// # Delivery guarantees
//
// At least once. A record accepted by Publish (it returned nil and did not
// drop it) is, by the time Close returns, either delivered (the Dispatcher
// returned nil; for HTTP, a 2xx status was received) or handed to the
// dead-letter dispatcher with its reason, last error, attempt count and
// timestamps. A record can be delivered more than once: when an attempt
// fails after the function received it (a timeout, a connection broken
// after the request was sent), the batch is sent again. HTTP requests carry
// X-Notifymux-Delivery, equal on every retry of a batch, so a function can
// drop duplicates.
//
// What can be lost, and when:
//   - DropNewest policy (the default): a record published while its
//     target's queue holds QueueRecords records is dropped; Publish returns
//     nil and Stats.Dropped counts it. Reject returns *QueueFullError instead
//     (the caller decides, e.g. answers 503); Block waits. Neither loses it.
//   - When the dead-letter dispatcher itself fails (disk full), the batch is
//     lost: Stats.DeadLetterFailed counts its records and
//     Config.OnDeadLetterError is called with it, the one place to log it.
//   - Records held in memory are lost if the process dies without Close
//     (crash, SIGKILL): the queue is not persisted. Call Close on shutdown;
//     with a deadline, whatever is not delivered by then is dead-lettered.
//   - A record without a Target (no rule matched) is only counted
//     (Stats.Unmatched).
//
// Retries stop at the first permanent error (errors.Is(err, ErrPermanent):
// HTTP 3xx and 4xx other than 408 and 429, an unknown target), after
// 1+MaxRetries attempts (default 3), or when the next attempt would start
// more than MaxEventAge (default 6 h) after the batch's first record arrived.
// A 429 or 503 with Retry-After delays the next attempt at least that long.
//
// Order: the records of one key (bucket and key, routed by batch.Route) go
// through one worker and one lane, and a lane delivers one batch at a time,
// retrying in place; so they are delivered in publish order, duplicates from
// retries aside. A record dead-lettered ends that order: the next record of
// the key may be delivered. Across keys there is no order. Payloads carry
// the Sequencer for functions that must order events themselves.
//
// Statistics add up, in records: Published = Unmatched + Matched and Matched =
// Delivered + DeadLettered + DeadLetterFailed + Dropped + Rejected + Queued,
// with Queued = 0 after Close.
//
// Memory is bounded: each target holds at most QueueRecords records from
// Publish until they are delivered or dead-lettered, wherever they wait, so a
// stalled target costs at most that much and does not slow the others. The
// HTTP dispatcher bounds the requests in flight per target (MaxInFlight) and
// the time of each (Timeout).
package dispatch
