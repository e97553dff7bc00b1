// This file defines the S3 event message, eventVersion 2.1, as the S3 user
// guide's "Event message structure" shows it, and the body of a MinIO
// webhook, whose Records are S3 records:
//
//	{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":…,
//	             "eventTime":"1970-01-01T00:00:00.000Z","eventName":"ObjectCreated:Put",
//	             "userIdentity":{"principalId":…},"requestParameters":{"sourceIPAddress":…},
//	             "responseElements":{"x-amz-request-id":…,"x-amz-id-2":…},
//	             "s3":{"s3SchemaVersion":"1.0","configurationId":…,
//	                   "bucket":{"name":…,"ownerIdentity":{"principalId":…},"arn":…},
//	                   "object":{"key":<URL-encoded, space as +>,"size":…,"eTag":…,
//	                             "versionId":…,"sequencer":…}}}]}

package schema

// S3Payload is an S3 event message: one or more records.
type S3Payload struct {
	Records []S3Record `json:"Records"`
}

// S3Record is one S3 event record.
type S3Record struct {
	EventVersion      string              `json:"eventVersion"` // "2.1"
	EventSource       string              `json:"eventSource"`  // "aws:s3" ("minio:s3" from MinIO)
	AWSRegion         string              `json:"awsRegion"`
	EventTime         string              `json:"eventTime"` // ISO 8601, e.g. "1970-01-01T00:00:00.000Z"
	EventName         string              `json:"eventName"` // "ObjectCreated:Put" (MinIO: "s3:ObjectCreated:Put")
	UserIdentity      S3Identity          `json:"userIdentity"`
	RequestParameters S3RequestParameters `json:"requestParameters"`
	ResponseElements  S3ResponseElements  `json:"responseElements"`
	S3                S3Entity            `json:"s3"`
}

// S3Identity is an account or user.
type S3Identity struct {
	PrincipalID string `json:"principalId"`
}

// S3RequestParameters describes the storage request.
type S3RequestParameters struct {
	SourceIPAddress string `json:"sourceIPAddress"`
}

// S3ResponseElements holds the ids of the storage request.
type S3ResponseElements struct {
	RequestID string `json:"x-amz-request-id"`
	ID2       string `json:"x-amz-id-2,omitempty"`
}

// S3Entity describes the object, its bucket and the rule that matched.
type S3Entity struct {
	SchemaVersion   string   `json:"s3SchemaVersion"` // "1.0"
	ConfigurationID string   `json:"configurationId"` // the matched rule's Id
	Bucket          S3Bucket `json:"bucket"`
	Object          S3Object `json:"object"`
}

// S3Bucket is the bucket an event is about.
type S3Bucket struct {
	Name          string     `json:"name"`
	OwnerIdentity S3Identity `json:"ownerIdentity"`
	ARN           string     `json:"arn"` // "arn:aws:s3:::<name>"
}

// S3Object is the object an event is about. Removal events carry no size or
// eTag; versionId and sequencer are left out when there is none.
type S3Object struct {
	// Key is URL-encoded as a form value (space as '+'): url.QueryUnescape
	// gives the key's bytes.
	Key       string `json:"key"`
	Size      int64  `json:"size,omitempty"`
	ETag      string `json:"eTag,omitempty"`
	VersionID string `json:"versionId,omitempty"`
	Sequencer string `json:"sequencer,omitempty"` // hex; orders the events of one key
	// ContentType and UserMetadata are sent by MinIO, not by S3.
	ContentType  string            `json:"contentType,omitempty"`
	UserMetadata map[string]string `json:"userMetadata,omitempty"`
}

// MinIOWebhook is the body a MinIO webhook target POSTs for one event.
type MinIOWebhook struct {
	EventName string     `json:"EventName"` // e.g. "s3:ObjectCreated:Put"
	Key       string     `json:"Key"`       // "<bucket>/<object key>", not encoded
	Records   []S3Record `json:"Records"`
}
