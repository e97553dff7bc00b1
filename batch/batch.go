// Package batch turns matched object events into the {"Records":[…]} payloads
// that functions receive (COS, S3 and CloudEvents formats) and groups them per
// target function into batches; its Decoder reads incoming events.
//
// # Payloads
//
// AppendCOS, AppendS3 and AppendCloudEvents (or Format.Append, and
// Format.AppendRecord for one element) append a whole payload to a buffer:
//
//   - COS: the structure of the SCF "COS trigger" event (cos.go), with
//     cosNotificationId = the rule ID and eventQueue = the target.
//   - S3: the S3 event record, eventVersion 2.1 (s3.go), with configurationId
//     = the rule ID and the key URL-encoded.
//   - CloudEvents: a CloudEvents 1.0 JSON batch whose events follow the
//     CloudEvents S3 adapter and carry the S3 record as data (cloudevents.go).
//
// No request header is ever copied into a payload: the COS sample in the
// product documentation copies the request's Authorization header, which
// would hand a signed credential to every function. Only user metadata
// (x-cos-meta-*, x-amz-meta-*) is copied.
//
// The encoders are hand-written appenders: strings are escaped exactly as
// encoding/json escapes them (HTML-safe, invalid UTF-8 as U+FFFD), nothing is
// allocated once the buffer has room, and they run several times faster
// than encoding/json on the same payload.
//
// # Events in
//
// NewDecoder reads the inverse: a stream of event lines, COS, S3 and MinIO
// payloads and CloudEvents batches, one Inbound record at a time, with every
// field the input carries (decode.go). Bad input is a *DecodeError naming
// its line and record, and decoding goes on. The wire structs of every
// format are defined once, in package batch/schema.
//
// # Batches
//
// A Batcher keeps one open batch per target and emits it when it reaches
// Config.MaxRecords, before a record would push its payload past
// Config.MaxBytes, or once Config.MaxWait has passed since its first record.
// Records of one target leave in the order they were added; Route assigns each
// object key to one worker, so the events of a key stay in order.
//
// CONTRACT (written before the implementation; shared with package dispatch):
// the exported names and signatures in this file are fixed. Fields may be
// added; none may be removed or renamed.
package batch

import (
	"fmt"
	"sync"
	"time"

	"github.com/notifymux/notifymux/match"
)

// Record is one object event that matched a rule.
type Record struct {
	Bucket      string      // bucket name, e.g. "testpic"
	AppID       string      // APPID that owns the bucket, e.g. "1253970026"
	Region      string      // bucket region, e.g. "ap-guangzhou"
	Key         string      // object key, without a leading slash
	URL         string      // the object's URL as the incoming record gave it; "" lets the COS encoder build one
	Size        int64       // object size in bytes
	ETag        string      // object ETag, without quotes
	VersionID   string      // version id, "" when unversioned
	Event       match.Event // the concrete event type
	Time        time.Time   // when the storage operation happened
	RequestID   string      // the storage request's id (x-cos-request-id)
	SourceIP    string      // the requester's IP address
	ContentType string      // object Content-Type
	Meta        []Meta      // user metadata (x-cos-meta-*), in the order given
	Sequencer   string      // orders events of one key (hex, as S3's)
	RuleID      string      // ID of the matched rule
	Target      string      // the matched rule's target function
}

// Meta is one user metadata header of an object.
type Meta struct {
	Name  string // header name, e.g. "x-cos-meta-origin"
	Value string
}

// Format selects a payload encoding.
type Format uint8

// The payload formats.
const (
	FormatCOS         Format = iota // COS: {"Records":[{"cos":…,"event":…}]} (schema.COSPayload)
	FormatS3                        // S3: {"Records":[{"eventVersion":"2.1",…}]}
	FormatCloudEvents               // CloudEvents 1.0 batch mode (application/cloudevents-batch+json)
)

// Batch is a group of records for one target with its encoded payload.
type Batch struct {
	Target      string    // the function every record goes to
	Format      Format    // how Payload is encoded
	ContentType string    // MIME type of Payload
	Payload     []byte    // the whole encoded body; owned by the receiver
	Records     []Record  // the records in Payload, in order; owned by the receiver
	Opened      time.Time // when the first record entered the batch (by the Batcher's clock)
}

// Config configures a Batcher. The zero value of each field takes its default.
type Config struct {
	// MaxRecords is the most records in one batch; a batch is emitted as soon
	// as it holds this many. Default 10 (what SQS, SNS and EventBridge take
	// per call); 1 sends one record per payload.
	MaxRecords int
	// MaxBytes is the largest payload, in bytes, envelope included; a batch is
	// emitted before a record would push it past this. Default 256 KiB (an
	// SQS or SNS message); Lambda's asynchronous limit is 1 MB.
	MaxBytes int
	// MaxWait is the longest a record waits in an open batch: Due emits a
	// batch once MaxWait has passed since its first record. Default 100 ms.
	MaxWait time.Duration
	// Format is the payload encoding. Default FormatCOS.
	Format Format
}

// Default configuration values.
const (
	DefaultMaxRecords = 10
	DefaultMaxBytes   = 256 << 10
	DefaultMaxWait    = 100 * time.Millisecond
)

// Batcher groups records per target. It is not safe for concurrent use (but
// for Recycle): each pipeline worker owns one. Time is passed in, so tests
// can use a fake clock.
//
// Records of one target leave in the order they were added, so records routed
// to one worker by Route keep their order per key. Each open batch holds its
// payload already encoded: Add encodes a record once, into the open payload,
// and knows the payload size exactly.
//
// The emit function owns each Batch it receives (Payload and Records are
// never touched again by the Batcher until they are handed back with
// Recycle); it must not call back into the Batcher, except Recycle. Records
// are copied into the batch, but the strings and the Meta slice they point to
// are shared with the caller, who must not modify them.
type Batcher struct {
	cfg    Config
	emit   func(Batch)
	opener string
	closer string
	open   map[string]*openBatch // by target; entries stay to keep size hints
	head   *openBatch            // open batches with records, oldest Opened first
	tail   *openBatch
	n      int // records in open batches

	payloads sync.Pool // *[]byte from Recycle
	recSlots sync.Pool // *[]Record from Recycle
}

// openBatch is one target's batch being filled.
type openBatch struct {
	target     string
	buf        []byte   // opener and the encoded records, comma-separated; nil before first use
	recs       []Record // records in buf
	opened     time.Time
	prev, next *openBatch // position in the Batcher's list, when len(recs) > 0
	lastBytes  int        // size of the previous payload, to size the next buffer
	lastN      int        // records in the previous batch
}

// NewBatcher validates cfg (zero fields take defaults) and returns a Batcher
// that calls emit with each completed batch. A refused field is reported as a
// *ConfigError naming it.
func NewBatcher(cfg Config, emit func(Batch)) (*Batcher, error) {
	if cfg.MaxRecords < 0 {
		return nil, &ConfigError{Field: "MaxRecords", Value: cfg.MaxRecords, Reason: "must not be negative (0 means the default, 10)"}
	}
	if cfg.MaxRecords == 0 {
		cfg.MaxRecords = DefaultMaxRecords
	}
	if cfg.MaxWait < 0 {
		return nil, &ConfigError{Field: "MaxWait", Value: cfg.MaxWait, Reason: "must not be negative (0 means the default, 100ms)"}
	}
	if cfg.MaxWait == 0 {
		cfg.MaxWait = DefaultMaxWait
	}
	if !cfg.Format.Valid() {
		return nil, &ConfigError{Field: "Format", Value: cfg.Format, Reason: "is not FormatCOS, FormatS3 or FormatCloudEvents"}
	}
	if cfg.MaxBytes < 0 {
		return nil, &ConfigError{Field: "MaxBytes", Value: cfg.MaxBytes, Reason: "must not be negative (0 means the default, 262144)"}
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	opener, closer := cfg.Format.opener(), cfg.Format.closer()
	if envelope := len(opener) + len(closer); cfg.MaxBytes <= envelope {
		return nil, &ConfigError{Field: "MaxBytes", Value: cfg.MaxBytes,
			Reason: fmt.Sprintf("leaves no room for a record inside the %d-byte %s envelope", envelope, cfg.Format)}
	}
	if emit == nil {
		return nil, fmt.Errorf("batch: NewBatcher: the emit function is nil: %w", ErrInvalidConfig)
	}
	return &Batcher{cfg: cfg, emit: emit, opener: opener, closer: closer, open: make(map[string]*openBatch)}, nil
}

// Config returns the configuration in use, defaults filled in.
func (b *Batcher) Config() Config { return b.cfg }

// Add appends r to the open batch of r.Target. When r would push that payload
// past MaxBytes, the batch is emitted first and r opens the next one; when the
// batch reaches MaxRecords, it is emitted at once. A record that alone exceeds
// MaxBytes is a *RecordTooLargeError; a record without a Target or with an
// invalid Event is a *RecordError. Such records are not added, and nothing
// already added is affected.
func (b *Batcher) Add(r Record, now time.Time) error {
	if r.Target == "" {
		return &RecordError{Field: "Target", Bucket: r.Bucket, Key: r.Key, Reason: "is empty"}
	}
	if !r.Event.Valid() {
		return &RecordError{Field: "Event", Bucket: r.Bucket, Key: r.Key, Reason: fmt.Sprintf("is %d, not a valid match.Event", uint8(r.Event))}
	}
	o := b.open[r.Target]
	if o == nil {
		o = &openBatch{target: r.Target}
		b.open[r.Target] = o
	}
	if o.buf == nil {
		o.buf = append(b.newPayload(b.bufCap(o)), b.opener...)
	}
	mark := len(o.buf)
	if len(o.recs) > 0 {
		o.buf = append(o.buf, ',')
	}
	start := len(o.buf)
	o.buf = b.cfg.Format.AppendRecord(o.buf, &r)
	if len(o.buf)+len(b.closer) > b.cfg.MaxBytes {
		alone := len(b.opener) + len(o.buf) - start + len(b.closer)
		if alone > b.cfg.MaxBytes {
			o.buf = o.buf[:mark]
			return &RecordTooLargeError{Target: r.Target, Bucket: r.Bucket, Key: r.Key, Size: alone, Limit: b.cfg.MaxBytes}
		}
		// Move the encoded record into a new payload and emit the full one.
		next := append(b.newPayload(max(b.bufCap(o), alone)), b.opener...)
		next = append(next, o.buf[start:]...)
		o.buf = o.buf[:mark]
		b.emitBatch(o)
		o.buf = next
	}
	if len(o.recs) == 0 {
		o.opened = now
		b.link(o)
	}
	if o.recs == nil {
		o.recs = b.newRecords(min(b.cfg.MaxRecords, max(o.lastN, 16)))
	}
	o.recs = append(o.recs, r)
	b.n++
	if len(o.recs) >= b.cfg.MaxRecords {
		b.emitBatch(o)
	}
	return nil
}

// Recycle hands a batch's Payload and Records back to the Batcher, which
// reuses their memory for later batches instead of allocating. It is optional
// (a batch that is never recycled is left to the garbage collector) and safe
// to call from any goroutine, the only method that is, typically by a dispatcher once the batch is
// delivered or dead-lettered. After Recycle, bt.Payload and bt.Records must
// not be used.
func (b *Batcher) Recycle(bt Batch) {
	if cap(bt.Payload) > 0 && cap(bt.Payload) <= 2*b.cfg.MaxBytes {
		p := bt.Payload[:0]
		b.payloads.Put(&p)
	}
	if cap(bt.Records) > 0 {
		r := bt.Records[:cap(bt.Records)]
		clear(r) // drop the strings and Meta the records point to
		r = r[:0]
		b.recSlots.Put(&r)
	}
}

// newPayload returns an empty buffer, recycled or new with capacity n.
func (b *Batcher) newPayload(n int) []byte {
	if p, ok := b.payloads.Get().(*[]byte); ok {
		return (*p)[:0]
	}
	return make([]byte, 0, n)
}

// newRecords returns an empty Records slice, recycled or new with capacity n.
func (b *Batcher) newRecords(n int) []Record {
	if r, ok := b.recSlots.Get().(*[]Record); ok {
		return (*r)[:0]
	}
	return make([]Record, 0, n)
}

// bufCap is the capacity of a new payload buffer for o: the size of its
// previous payload with some room, at least 1 KiB, at most MaxBytes.
func (b *Batcher) bufCap(o *openBatch) int {
	return min(b.cfg.MaxBytes, max(o.lastBytes+o.lastBytes/8, 1024))
}

// emitBatch closes o's payload, hands it to emit, and leaves o empty.
func (b *Batcher) emitBatch(o *openBatch) {
	payload := append(o.buf, b.closer...)
	out := Batch{
		Target:      o.target,
		Format:      b.cfg.Format,
		ContentType: b.cfg.Format.ContentType(),
		Payload:     payload,
		Records:     o.recs,
		Opened:      o.opened,
	}
	b.n -= len(o.recs)
	o.lastBytes, o.lastN = len(payload), len(o.recs)
	o.buf, o.recs = nil, nil
	b.unlink(o)
	b.emit(out)
}

// link inserts o into the list of open batches, kept in order of Opened (a
// walk from the tail, which is one step unless time went backwards).
func (b *Batcher) link(o *openBatch) {
	p := b.tail
	for p != nil && p.opened.After(o.opened) {
		p = p.prev
	}
	o.prev = p
	if p == nil {
		o.next = b.head
		b.head = o
	} else {
		o.next = p.next
		p.next = o
	}
	if o.next == nil {
		b.tail = o
	} else {
		o.next.prev = o
	}
}

// unlink removes o from the list of open batches.
func (b *Batcher) unlink(o *openBatch) {
	if o.prev == nil {
		b.head = o.next
	} else {
		o.prev.next = o.next
	}
	if o.next == nil {
		b.tail = o.prev
	} else {
		o.next.prev = o.prev
	}
	o.prev, o.next = nil, nil
}

// Due emits every open batch whose MaxWait has passed at now (Opened+MaxWait
// is not after now), oldest first.
func (b *Batcher) Due(now time.Time) {
	for b.head != nil && !b.head.opened.Add(b.cfg.MaxWait).After(now) {
		b.emitBatch(b.head)
	}
}

// Next returns the earliest time at which an open batch becomes due, and false
// when no batch is open.
func (b *Batcher) Next() (time.Time, bool) {
	if b.head == nil {
		return time.Time{}, false
	}
	return b.head.opened.Add(b.cfg.MaxWait), true
}

// Flush emits every open batch, oldest first.
func (b *Batcher) Flush() {
	for b.head != nil {
		b.emitBatch(b.head)
	}
}

// Len returns the number of records held in open batches.
func (b *Batcher) Len() int { return b.n }
