// Package batch turns matched object events into the {"Records":[…]} payloads
// that functions receive (COS, S3 and CloudEvents formats) and groups them per
// target function into batches.
//
// CONTRACT (written before the implementation; shared with package dispatch):
// the exported names and signatures in this file are fixed. Fields may be
// added; none may be removed or renamed.
package batch

import (
	"time"

	"github.com/notifymux/notifymux/match"
)

// Record is one object event that matched a rule.
type Record struct {
	Bucket      string      // bucket name, e.g. "testpic"
	AppID       string      // APPID that owns the bucket, e.g. "1253970026"
	Region      string      // bucket region, e.g. "ap-guangzhou"
	Key         string      // object key, without a leading slash
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
	FormatCOS         Format = iota // COS: {"Records":[{"cos":…,"event":…}]} (seed 004)
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

// Config configures a Batcher.
type Config struct {
	MaxRecords int           // flush when a batch holds this many records; default 10
	MaxBytes   int           // a payload never exceeds this many bytes; default 256 KiB
	MaxWait    time.Duration // flush this long after a batch's first record; default 100 ms
	Format     Format        // payload encoding; default FormatCOS
}

// Batcher groups records per target. It is not safe for concurrent use: each
// pipeline worker owns one. Time is passed in, so tests can use a fake clock.
type Batcher struct{}

// NewBatcher validates cfg (zero fields take defaults) and returns a Batcher
// that calls emit with each completed batch.
func NewBatcher(cfg Config, emit func(Batch)) (*Batcher, error) { panic("unimplemented") }

// Add appends r to the open batch of r.Target, emitting that batch first when
// r would push it past MaxRecords or MaxBytes. A record that alone exceeds
// MaxBytes is an error and is not added.
func (b *Batcher) Add(r Record, now time.Time) error { panic("unimplemented") }

// Due emits every open batch whose MaxWait has passed at now.
func (b *Batcher) Due(now time.Time) { panic("unimplemented") }

// Next returns the earliest time at which an open batch becomes due, and false
// when no batch is open.
func (b *Batcher) Next() (time.Time, bool) { panic("unimplemented") }

// Flush emits every open batch.
func (b *Batcher) Flush() { panic("unimplemented") }

// Len returns the number of records held in open batches.
func (b *Batcher) Len() int { panic("unimplemented") }
