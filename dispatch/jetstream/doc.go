// Package jetstream is durable delivery on NATS JetStream: the stage that
// sits where the in-memory dispatch.Pipeline sits, so that nothing accepted
// is lost when a process dies and several gateways share the work.
//
// The path of a record:
//
//	dispatch.Router ── Publisher.PublishContext ──▶ stream NOTIFYMUX_EVENTS
//	    (file storage, acknowledged before it returns; DiscardNew limits)
//	durable pull consumer notifymux-delivery, shared by every gateway ──▶
//	Deliverer: fetch, batch.Batcher, dispatch.Dispatcher (HTTP, …) ──▶
//	ack after 2xx, or dead letter (stream NOTIFYMUX_DEAD) then ack
//
// StartServer runs an embedded NATS server with JetStream under a data
// directory (no port unless asked, a token when listening); Connect reaches
// an external server or cluster instead, and the same code runs on both.
// EnsureStreams creates the streams; NewPublisher and NewDeliverer are the
// two sides, which may run in different processes. Redrive sends the
// dead-letter stream back to the event stream. ConfigStore keeps bucket
// configurations in a key-value bucket that every gateway watches
// (GatewayStore adapts it to dispatch/gateway, RuleLoader to
// dispatch/rulecache).
//
// # Guarantees
//
//   - At least once. A record PublishContext accepted (it returned nil) is
//     on disk in the stream (on every replica of a clustered stream), and
//     stays there until a Deliverer got a 2xx for it or stored its dead
//     letter. A process killed at any point loses nothing: what it held
//     unacknowledged is delivered again, by another gateway or by itself
//     after a restart, within AckWait (default 30 s). With SyncInterval a
//     machine that loses power can lose what was written since the last
//     sync; SyncAlways closes that window at the cost of an fsync per
//     publish.
//   - Duplicates. A record can be delivered more than once: after a failed
//     attempt that the function did receive, after a gateway died
//     mid-delivery, or when an acknowledgement is lost. A publish repeated
//     within the duplicate window (default 2 min) with the same identity
//     (MsgID: request id or sequencer, bucket, key, event) is stored once;
//     a record without an identity is never merged with another.
//   - No order. Records of one key may be delivered in any order (a retried
//     record can be overtaken by a later one, and gateways deliver in
//     parallel). Every payload carries the sequencer; a function that needs
//     order sorts by it, as S3 documents for its own notifications.
//   - Nothing is dropped silently. A full stream refuses the publish
//     (ErrStreamFull: answer 503 with Retry-After). A record past
//     MaxEventAge, or whose attempts ran out, or that the function refused
//     permanently, goes to the dead-letter stream with its reason, attempts
//     and last error; the streams have no MaxAge. When the dead-letter
//     stream is full, the record stays in the event stream and is retried.
//   - Close (SIGTERM) leaves undelivered records unacknowledged in the
//     stream for the next start or another gateway; it dead-letters none.
package jetstream
