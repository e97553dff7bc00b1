// This file encodes a Record in the COS format, the structure of the event
// JSON on the SCF "COS trigger" page (seed 004):
//
//	{"cos":{"cosSchemaVersion":"1.0",
//	        "cosObject":{"url":…,"meta":{"x-cos-request-id":…,"Content-Type":…,"x-cos-meta-…":…},
//	                     "vid":…,"key":"/<appid>/<bucket>/<key>","size":…},
//	        "cosBucket":{"region":…,"name":…,"appid":…},
//	        "cosNotificationId":<rule ID>},
//	 "event":{"eventName":…,"eventVersion":"1.0","eventTime":<Unix seconds>,"eventSource":"qcs::cos",
//	          "requestParameters":{"requestSourceIP":…,"requestHeaders":{}},
//	          "eventQueue":<target>,"reservedInfo":"","reqid":<integer>}}
//
// Choices where the seed leaves room:
//   - requestHeaders is always {}. The seed sample copies the request's
//     Authorization header there, which hands a signed credential to every
//     function the event reaches (and to its logs); no request header is ever
//     copied.
//   - meta holds x-cos-request-id and Content-Type as in the seed, then the
//     user metadata from Record.Meta whose names start with x-cos-meta- or
//     x-amz-meta- (in any case), in the order given. Other names are skipped,
//     so a request header put into Meta by mistake cannot leak either.
//   - eventName is the concrete type (cos:ObjectCreated:Put); the seed's
//     sample shows the rule's wildcard. S3-only types keep their s3: name.
//   - url is https://<bucket>-<appid>.cos.<region>.myqcloud.com/<key> with the
//     key percent-encoded ('/' kept); the seed's sample uses http.
//   - region and vid are copied from the Record unchanged (the seed's "cd" is
//     the legacy short form of ap-chengdu).
//   - reqid is an integer in the seed. It is the RequestID itself when that is
//     a decimal number below 2^53, else the low 53 bits of the xxhash of the
//     RequestID (so JavaScript numbers hold it exactly), and 0 without one.

package batch

import (
	"github.com/cespare/xxhash/v2"
)

func appendCOSRecord(dst []byte, r *Record) []byte {
	dst = append(dst, `{"cos":{"cosSchemaVersion":"1.0","cosObject":{"url":"https://`...)
	dst = appendEscaped(dst, r.Bucket)
	if r.AppID != "" && !hasSuffixDashAppID(r.Bucket, r.AppID) {
		dst = append(dst, '-')
		dst = appendEscaped(dst, r.AppID)
	}
	dst = append(dst, ".cos."...)
	dst = appendEscaped(dst, r.Region)
	dst = append(dst, ".myqcloud.com/"...)
	dst = appendURLEscaped(dst, r.Key, false)
	dst = append(dst, `","meta":{"x-cos-request-id":`...)
	dst = appendString(dst, r.RequestID)
	dst = append(dst, `,"Content-Type":`...)
	dst = appendString(dst, r.ContentType)
	for i := range r.Meta {
		m := &r.Meta[i]
		if !isUserMeta(m.Name) {
			continue
		}
		dst = append(dst, ',')
		dst = appendString(dst, m.Name)
		dst = append(dst, ':')
		dst = appendString(dst, m.Value)
	}
	dst = append(dst, `},"vid":`...)
	dst = appendString(dst, r.VersionID)
	dst = append(dst, `,"key":"/`...)
	dst = appendEscaped(dst, r.AppID)
	dst = append(dst, '/')
	dst = appendEscaped(dst, r.Bucket)
	dst = append(dst, '/')
	dst = appendEscaped(dst, r.Key)
	dst = append(dst, `","size":`...)
	dst = appendInt(dst, r.Size)
	dst = append(dst, `},"cosBucket":{"region":`...)
	dst = appendString(dst, r.Region)
	dst = append(dst, `,"name":`...)
	dst = appendString(dst, r.Bucket)
	dst = append(dst, `,"appid":`...)
	dst = appendString(dst, r.AppID)
	dst = append(dst, `},"cosNotificationId":`...)
	dst = appendString(dst, r.RuleID)
	dst = append(dst, `},"event":{"eventName":`...)
	dst = appendString(dst, cosEventName(r.Event))
	dst = append(dst, `,"eventVersion":"1.0","eventTime":`...)
	dst = appendInt(dst, r.Time.Unix())
	dst = append(dst, `,"eventSource":"qcs::cos","requestParameters":{"requestSourceIP":`...)
	dst = appendString(dst, r.SourceIP)
	dst = append(dst, `,"requestHeaders":{}},"eventQueue":`...)
	dst = appendString(dst, r.Target)
	dst = append(dst, `,"reservedInfo":"","reqid":`...)
	dst = appendUint(dst, reqID(r.RequestID))
	return append(dst, `}}`...)
}

// hasSuffixDashAppID reports whether bucket already ends in "-<appid>", the
// full COS bucket name, so the URL does not repeat the APPID.
func hasSuffixDashAppID(bucket, appid string) bool {
	n := len(bucket) - len(appid)
	return n > 0 && bucket[n-1] == '-' && bucket[n:] == appid
}

// isUserMeta reports whether name starts with x-cos-meta- or x-amz-meta-,
// ignoring ASCII case.
func isUserMeta(name string) bool {
	const cos, amz = "x-cos-meta-", "x-amz-meta-"
	if len(name) < len(cos) {
		return false
	}
	return equalFoldASCII(name[:len(cos)], cos) || equalFoldASCII(name[:len(amz)], amz)
}

// equalFoldASCII compares s with the lower-case ASCII lower, ignoring case.
func equalFoldASCII(s, lower string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// reqID derives the integer reqid of a COS event from the request id.
func reqID(id string) uint64 {
	if id == "" {
		return 0
	}
	const max53 = 1<<53 - 1
	if len(id) <= 16 {
		var n uint64
		ok := true
		for i := 0; i < len(id); i++ {
			c := id[i]
			if c < '0' || c > '9' {
				ok = false
				break
			}
			n = n*10 + uint64(c-'0')
		}
		if ok && n <= max53 {
			return n
		}
	}
	return xxhash.Sum64String(id) & max53
}
