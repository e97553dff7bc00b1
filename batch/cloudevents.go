// This file encodes a Record as one CloudEvents 1.0 event in JSON format
// (the elements of a JSON batch, application/cloudevents-batch+json), with
// the attributes of the CloudEvents adapter for S3 (cloudevents/spec,
// cloudevents/adapters/aws-s3.md):
//
//	{"specversion":"1.0","id":…,"source":"aws:s3.<region>.<bucket>",
//	 "type":"com.amazonaws.s3.ObjectCreated:Put","subject":<key>,
//	 "time":"2006-01-02T15:04:05.000Z","datacontenttype":"application/json",
//	 "data":<the S3 record of s3.go>}
//
// Choices:
//   - id is the RequestID, then "." and the Sequencer when there is one (the
//     adapter joins x-amz-request-id and x-amz-id-2, which a Record lacks; the
//     sequencer tells apart the events of one request). With neither, id is
//     16 hex digits of the xxhash of bucket, key, event and time (in
//     milliseconds), so it is never empty as CloudEvents requires.
//   - source is aws:s3.<region>.<bucket>; an empty region or bucket is left
//     out with its dot (aws:s3.<bucket>), never written as an empty label.
//   - subject is the object key as stored, not URL-encoded; data carries the
//     encoded form in s3.object.key.
//   - COS-only event types get type com.tencent.cos.<eventName> (names.go).

package batch

import (
	"encoding/binary"

	"github.com/cespare/xxhash/v2"
)

func appendCloudEvent(dst []byte, r *Record) []byte {
	dst = append(dst, `{"specversion":"1.0","id":"`...)
	switch {
	case r.RequestID == "" && r.Sequencer == "":
		dst = appendHex64(dst, fallbackID(r))
	case r.Sequencer == "":
		dst = appendEscaped(dst, r.RequestID)
	default:
		dst = appendEscaped(dst, r.RequestID)
		dst = append(dst, '.')
		dst = appendEscaped(dst, r.Sequencer)
	}
	dst = append(dst, `","source":"aws:s3`...)
	for _, label := range [2]string{r.Region, r.Bucket} {
		if label != "" {
			dst = append(dst, '.')
			dst = appendEscaped(dst, label)
		}
	}
	dst = append(dst, `","type":`...)
	dst = appendString(dst, cloudEventType(r.Event))
	dst = append(dst, `,"subject":`...)
	dst = appendString(dst, r.Key)
	dst = append(dst, `,"time":"`...)
	dst = appendISOTime(dst, r.Time)
	dst = append(dst, `","datacontenttype":"application/json","data":`...)
	dst = appendS3Record(dst, r)
	return append(dst, '}')
}

// fallbackID hashes what identifies an event when it has no request id: the
// time counts in milliseconds, the precision the event shows, so an event
// decoded and encoded again keeps its id.
func fallbackID(r *Record) uint64 {
	var d xxhash.Digest
	d.Reset()
	var tail [10]byte
	_, _ = d.WriteString(r.Bucket)
	_, _ = d.Write(tail[:1])
	_, _ = d.WriteString(r.Key)
	tail[0] = byte(r.Event)
	binary.LittleEndian.PutUint64(tail[1:9], uint64(r.Time.UnixMilli()))
	_, _ = d.Write(tail[:9])
	return d.Sum64()
}

// appendHex64 appends v as 16 lower-case hex digits.
func appendHex64(dst []byte, v uint64) []byte {
	for shift := 60; shift >= 0; shift -= 4 {
		dst = append(dst, hexDigits[v>>uint(shift)&0xF])
	}
	return dst
}
