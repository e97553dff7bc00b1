// This file encodes a Record in the COS format, the structure of the event
// JSON on the SCF "COS trigger" page (schema.COSPayload):
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
// Choices where the page leaves room:
//   - requestHeaders is always {}. The page's sample copies the request's
//     Authorization header there, which hands a signed credential to every
//     function the event reaches (and to its logs); no request header is ever
//     copied.
//   - meta holds x-cos-request-id and Content-Type as in the page's sample, then the
//     user metadata from Record.Meta whose names start with x-cos-meta- or
//     x-amz-meta- (in any case), in the order given. Other names are skipped,
//     so a request header put into Meta by mistake cannot leak either.
//   - eventName is the concrete type (cos:ObjectCreated:Put); the page's
//     sample shows the rule's wildcard. S3-only types keep their s3: name.
//   - url is Record.URL when it is set: an incoming record's own url is kept.
//     Else it is https://<name>-<appid>.cos.<region>.myqcloud.com/<key>, with
//     the key percent-encoded ('/' kept) and the region's full name
//     (config.CanonicalRegion: "cd" gives ap-chengdu), as in the page's
//     sample (which uses http). An empty part is left out with its dot or
//     dash, never written as an empty label: without a region the host is
//     <name>-<appid>.cos.myqcloud.com, without an APPID <name>.cos.<region>…
//   - The bucket's short name and APPID: Record.AppID, and Record.Bucket less
//     a "-<appid>" suffix; when Record.AppID is "", both come from
//     Record.Bucket by SplitCOSBucket ("testpic-1253970026" gives testpic
//     and 1253970026). cosBucket.name and appid hold them.
//   - cosObject.key is "/<appid>/<name>/<key>"; an empty APPID or name is
//     left out with its slash ("/<name>/<key>"), never written as an empty
//     segment. The decoder strips exactly this prefix, built from cosBucket.
//   - cosBucket.region and vid are copied from the Record unchanged (the
//     sample's "cd" is the legacy short form of ap-chengdu).
//   - eventTime is the Unix time in seconds, 0 when the Record has no time
//     (the decoder reads 0 as no time).
//   - reqid is an integer in the sample. It is the RequestID itself when that is
//     a decimal number below 2^53, else the low 53 bits of the xxhash of the
//     RequestID (so JavaScript numbers hold it exactly), and 0 without one.

package batch

import (
	"strings"

	"github.com/cespare/xxhash/v2"

	"github.com/notifymux/notifymux/match/config"
)

func appendCOSRecord(dst []byte, r *Record) []byte {
	name, appid := cosBucketParts(r)
	dst = append(dst, `{"cos":{"cosSchemaVersion":"1.0","cosObject":{"url":`...)
	if r.URL != "" {
		dst = appendString(dst, r.URL)
	} else {
		dst = append(dst, `"https://`...)
		if name != "" {
			dst = appendEscaped(dst, name)
			if appid != "" {
				dst = append(dst, '-')
				dst = appendEscaped(dst, appid)
			}
			dst = append(dst, '.')
		}
		dst = append(dst, "cos."...)
		if region := config.CanonicalRegion(r.Region); region != "" {
			dst = appendEscaped(dst, region)
			dst = append(dst, '.')
		}
		dst = append(dst, "myqcloud.com/"...)
		dst = appendURLEscaped(dst, r.Key, false)
		dst = append(dst, '"')
	}
	dst = append(dst, `,"meta":{"x-cos-request-id":`...)
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
	if appid != "" {
		dst = appendEscaped(dst, appid)
		dst = append(dst, '/')
	}
	if name != "" {
		dst = appendEscaped(dst, name)
		dst = append(dst, '/')
	}
	dst = appendEscaped(dst, r.Key)
	dst = append(dst, `","size":`...)
	dst = appendInt(dst, r.Size)
	dst = append(dst, `},"cosBucket":{"region":`...)
	dst = appendString(dst, r.Region)
	dst = append(dst, `,"name":`...)
	dst = appendString(dst, name)
	dst = append(dst, `,"appid":`...)
	dst = appendString(dst, appid)
	dst = append(dst, `},"cosNotificationId":`...)
	dst = appendString(dst, r.RuleID)
	dst = append(dst, `},"event":{"eventName":`...)
	dst = appendString(dst, cosEventName(r.Event))
	dst = append(dst, `,"eventVersion":"1.0","eventTime":`...)
	if r.Time.IsZero() {
		dst = append(dst, '0')
	} else {
		dst = appendInt(dst, r.Time.Unix())
	}
	dst = append(dst, `,"eventSource":"qcs::cos","requestParameters":{"requestSourceIP":`...)
	dst = appendString(dst, r.SourceIP)
	dst = append(dst, `,"requestHeaders":{}},"eventQueue":`...)
	dst = appendString(dst, r.Target)
	dst = append(dst, `,"reservedInfo":"","reqid":`...)
	dst = appendUint(dst, reqID(r.RequestID))
	return append(dst, `}}`...)
}

// cosBucketParts returns the short bucket name and the APPID that r's COS
// record shows: r.AppID with r.Bucket less a "-<appid>" suffix, or, when
// r.AppID is "", both taken from r.Bucket by SplitCOSBucket.
func cosBucketParts(r *Record) (name, appid string) {
	if r.AppID == "" {
		return SplitCOSBucket(r.Bucket)
	}
	if hasSuffixDashAppID(r.Bucket, r.AppID) {
		return r.Bucket[:len(r.Bucket)-len(r.AppID)-1], r.AppID
	}
	return r.Bucket, r.AppID
}

// SplitCOSBucket splits a full COS bucket name, "<name>-<appid>", into the
// short name and the APPID: "testpic-1253970026" gives "testpic" and
// "1253970026". The APPID is the digits after the last '-'. A bucket name
// without such a suffix (no '-', nothing before it, or a non-digit after it)
// is returned whole, with appid "".
func SplitCOSBucket(bucket string) (name, appid string) {
	i := strings.LastIndexByte(bucket, '-')
	if i <= 0 || i == len(bucket)-1 {
		return bucket, ""
	}
	for j := i + 1; j < len(bucket); j++ {
		if c := bucket[j]; c < '0' || c > '9' {
			return bucket, ""
		}
	}
	return bucket[:i], bucket[i+1:]
}

// hasSuffixDashAppID reports whether bucket ends in "-<appid>", the full COS
// bucket name.
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
