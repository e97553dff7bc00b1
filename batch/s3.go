// This file encodes a Record in the S3 event format (eventVersion 2.1), as
// documented in the S3 user guide, "Event message structure":
//
//	{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":…,
//	 "eventTime":"1970-01-01T00:00:00.000Z","eventName":"ObjectCreated:Put",
//	 "userIdentity":{"principalId":…},"requestParameters":{"sourceIPAddress":…},
//	 "responseElements":{"x-amz-request-id":…},
//	 "s3":{"s3SchemaVersion":"1.0","configurationId":<rule ID>,
//	       "bucket":{"name":…,"ownerIdentity":{"principalId":…},"arn":"arn:aws:s3:::<bucket>"},
//	       "object":{"key":<URL-encoded>,"size":…,"eTag":…,"versionId":…,"sequencer":…}}}
//
// Choices where the S3 document leaves room or our Record differs:
//   - eventTime is UTC with exactly three fractional digits.
//   - The key is URL-encoded as S3 does it (form encoding, space as '+'):
//     bytes outside A-Z a-z 0-9 - _ . ~ / become %XX, so url.QueryUnescape
//     gives back the exact key bytes, even for invalid UTF-8.
//   - principalId (user and owner) is the bucket's AppID: the account that
//     owns the bucket is all a Record knows about identities.
//   - size and eTag are left out for removal events (ObjectRemoved:*,
//     LifecycleExpiration:*), as S3 does; versionId and sequencer are left out
//     when empty; x-amz-id-2 is never written (a Record has no such id).
//   - See names.go for the eventName of COS types S3 lacks.

package batch

import "time"

func appendS3Record(dst []byte, r *Record) []byte {
	dst = append(dst, `{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":`...)
	dst = appendString(dst, r.Region)
	dst = append(dst, `,"eventTime":"`...)
	dst = appendISOTime(dst, r.Time)
	dst = append(dst, `","eventName":`...)
	dst = appendString(dst, s3EventName(r.Event))
	dst = append(dst, `,"userIdentity":{"principalId":`...)
	dst = appendString(dst, r.AppID)
	dst = append(dst, `},"requestParameters":{"sourceIPAddress":`...)
	dst = appendString(dst, r.SourceIP)
	dst = append(dst, `},"responseElements":{"x-amz-request-id":`...)
	dst = appendString(dst, r.RequestID)
	dst = append(dst, `},"s3":{"s3SchemaVersion":"1.0","configurationId":`...)
	dst = appendString(dst, r.RuleID)
	dst = append(dst, `,"bucket":{"name":`...)
	dst = appendString(dst, r.Bucket)
	dst = append(dst, `,"ownerIdentity":{"principalId":`...)
	dst = appendString(dst, r.AppID)
	dst = append(dst, `},"arn":"arn:aws:s3:::`...)
	dst = appendEscaped(dst, r.Bucket)
	dst = append(dst, `"},"object":{"key":"`...)
	dst = appendURLEscaped(dst, r.Key, true)
	dst = append(dst, '"')
	if !isRemoval(r.Event) {
		dst = append(dst, `,"size":`...)
		dst = appendInt(dst, r.Size)
		dst = append(dst, `,"eTag":`...)
		dst = appendString(dst, r.ETag)
	}
	if r.VersionID != "" {
		dst = append(dst, `,"versionId":`...)
		dst = appendString(dst, r.VersionID)
	}
	if r.Sequencer != "" {
		dst = append(dst, `,"sequencer":`...)
		dst = appendString(dst, r.Sequencer)
	}
	return append(dst, `}}}`...)
}

// appendISOTime appends t in UTC as 2006-01-02T15:04:05.000Z (ISO 8601 and
// RFC 3339 with milliseconds).
func appendISOTime(dst []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(dst, "2006-01-02T15:04:05.000Z07:00")
	}
	hour, minute, sec := t.Clock()
	ms := t.Nanosecond() / 1e6
	return append(dst,
		byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+int(month)/10), byte('0'+int(month)%10), '-',
		byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':',
		byte('0'+minute/10), byte('0'+minute%10), ':',
		byte('0'+sec/10), byte('0'+sec%10), '.',
		byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
}

// urlUnreserved[b] is true for the bytes the URL encoders copy as they are.
var urlUnreserved = func() (t [256]bool) {
	for b := 0; b < 256; b++ {
		switch {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
			t[b] = true
		case b == '-', b == '_', b == '.', b == '~', b == '/':
			t[b] = true
		}
	}
	return t
}()

// appendURLEscaped percent-encodes s (upper-case hex) keeping the unreserved
// bytes and '/'; with plus, a space becomes '+' (form encoding, as S3 event
// keys), else %20 (a URL path). The output needs no JSON escaping.
func appendURLEscaped(dst []byte, s string, plus bool) []byte {
	const upper = "0123456789ABCDEF"
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if urlUnreserved[c] {
			continue
		}
		dst = append(dst, s[start:i]...)
		if c == ' ' && plus {
			dst = append(dst, '+')
		} else {
			dst = append(dst, '%', upper[c>>4], upper[c&0xF])
		}
		start = i + 1
	}
	return append(dst, s[start:]...)
}
