// Package schema holds the one definition of the JSON wire structures that
// notifymux reads and writes, with their json tags:
//
//   - COSPayload and COSRecord: the event that a COS trigger hands a
//     function (the structure on the SCF "COS trigger" page):
//     {"Records":[{"cos":{…},"event":{…}}]}.
//   - S3Payload and S3Record: the S3 event message, eventVersion 2.1, as the
//     S3 user guide's "Event message structure" shows it, plus the optional
//     object fields MinIO adds (contentType, userMetadata).
//   - MinIOWebhook: the body a MinIO webhook target POSTs:
//     {"EventName":…,"Key":"<bucket>/<key>","Records":[<S3 records>]}.
//   - CloudEvent: one element of a CloudEvents 1.0 JSON batch as package
//     batch writes it, with an S3Record as its data.
//   - EventLine: the single-event line {"bucket","event","key",…} that the
//     notifymux commands read.
//
// Package batch encodes COS, S3 and CloudEvents payloads by hand for speed
// and decodes every form with these types; its tests, the benchmarks and
// the command's tests decode payloads into them too, so a change to a wire
// format is made here once.
//
// The types decode leniently with encoding/json (unknown members are
// ignored); a test that wants to prove a payload has no member beyond the
// documented ones decodes with json.Decoder.DisallowUnknownFields.
//
// Metadata is an ordered JSON object of strings: it keeps the order and
// duplicates of the members as written, so that a payload decoded and
// encoded again comes out byte for byte the same.
package schema
