// This file defines a CloudEvents 1.0 event in JSON format as package batch
// writes it, with the attributes of the CloudEvents adapter for S3
// (cloudevents/spec, cloudevents/adapters/aws-s3.md). A batch
// (application/cloudevents-batch+json) is a JSON array of them.

package schema

// CloudEvent is one event of a CloudEvents JSON batch whose data is an S3
// record.
type CloudEvent struct {
	SpecVersion     string   `json:"specversion"` // "1.0"
	ID              string   `json:"id"`
	Source          string   `json:"source"`  // "aws:s3.<region>.<bucket>"
	Type            string   `json:"type"`    // "com.amazonaws.s3.ObjectCreated:Put"
	Subject         string   `json:"subject"` // the object key, not encoded
	Time            string   `json:"time"`    // RFC 3339
	DataContentType string   `json:"datacontenttype"`
	Data            S3Record `json:"data"`
}
