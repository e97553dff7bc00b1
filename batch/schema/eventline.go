// This file defines the event line: one object event as one JSON object, the
// simplest input the notifymux commands read, one per line (NDJSON).

package schema

// EventLine is one object event written by hand or by a script:
//
//	{"bucket":"testpic-1253970026","event":"cos:ObjectCreated:Put","key":"images/a.jpg"}
//
// Event and Key are required. Bucket may be left out when the reader knows
// the bucket. The other members are optional and fill the matching fields of
// the event record.
type EventLine struct {
	Bucket      string   `json:"bucket,omitempty"`
	Event       string   `json:"event"` // one concrete type, COS or S3 name
	Key         string   `json:"key"`   // the object key, not encoded
	AppID       string   `json:"appid,omitempty"`
	Region      string   `json:"region,omitempty"`
	Size        int64    `json:"size,omitempty"`
	ETag        string   `json:"etag,omitempty"`
	VersionID   string   `json:"versionId,omitempty"`
	Time        string   `json:"time,omitempty"` // RFC 3339
	RequestID   string   `json:"requestId,omitempty"`
	Sequencer   string   `json:"sequencer,omitempty"`
	SourceIP    string   `json:"sourceIp,omitempty"`
	ContentType string   `json:"contentType,omitempty"`
	Meta        Metadata `json:"meta,omitempty"` // user metadata, e.g. {"x-cos-meta-origin":"camera"}
	URL         string   `json:"url,omitempty"`  // the object's URL
}
