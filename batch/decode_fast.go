// This file fills the decoder's structs from a JSON value without
// encoding/json, for the common shapes: the event line, the Records
// envelope, COS and S3 records, and CloudEvents. It is an exact shortcut,
// not a second reader: whenever a value holds something it does not handle
// the way encoding/json would (null, a number that is not a plain integer,
// an escaped member name, a member name that differs from a known one only
// in case, a member of the wrong JSON kind), it gives up and the value is
// decoded with encoding/json instead, which also writes the error. So both
// paths give the same result; FuzzDecodeFastPath compares them.
//
// The value was checked by the scanner (valid JSON, valid UTF-8), so the
// cursor below only needs to find where things end. The strings of one value
// are substrings of a single string conversion of it: one allocation per
// event line or record instead of one per member (plus one per string that
// holds an escape). The Records array is
// split into sub-slices of the value, without copying.

package batch

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/notifymux/notifymux/batch/schema"
)

// cursor reads a JSON value that is known to be valid.
type cursor struct {
	b []byte
	i int
	s string // string(b), made when the first string is read
}

func (c *cursor) reset(b []byte) { *c = cursor{b: b} }

// ws skips whitespace.
func (c *cursor) ws() {
	for c.i < len(c.b) && isSpace(c.b[c.i]) {
		c.i++
	}
}

// peek returns the next byte after whitespace, or 0 at the end.
func (c *cursor) peek() byte {
	c.ws()
	if c.i < len(c.b) {
		return c.b[c.i]
	}
	return 0
}

// span reads a string and returns where its contents are, and whether they
// hold an escape.
func (c *cursor) span() (start, end int, escaped, ok bool) {
	if c.peek() != '"' {
		return 0, 0, false, false
	}
	start = c.i + 1
	for j := start; j < len(c.b); j++ {
		switch c.b[j] {
		case '"':
			c.i = j + 1
			return start, j, escaped, true
		case '\\':
			escaped = true
			j++
		}
	}
	return 0, 0, false, false
}

// str reads a string: a substring of the value's string when it has no
// escape, else a new string with the escapes decoded as encoding/json does.
func (c *cursor) str() (string, bool) {
	start, end, escaped, ok := c.span()
	switch {
	case !ok:
		return "", false
	case escaped:
		return unescape(c.b[start:end])
	}
	if c.s == "" {
		c.s = string(c.b)
	}
	return c.s[start:end], true
}

// unescape decodes the contents of a JSON string with escapes, as
// encoding/json does: a \u escape of half a surrogate pair that has no other
// half becomes U+FFFD. The bytes between escapes are valid UTF-8 (the
// Decoder checked the value).
func unescape(b []byte) (string, bool) {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		if b[i] != '\\' {
			j := bytes.IndexByte(b[i:], '\\')
			if j < 0 {
				j = len(b) - i
			}
			out = append(out, b[i:i+j]...)
			i += j
			continue
		}
		if i+1 >= len(b) {
			return "", false
		}
		switch c := b[i+1]; c {
		case '"', '\\', '/':
			out = append(out, c)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r := hex4(b[i+2:])
			if r < 0 {
				return "", false
			}
			if utf16.IsSurrogate(r) {
				if i+7 < len(b) && b[i+6] == '\\' && b[i+7] == 'u' {
					if pair := utf16.DecodeRune(r, hex4(b[i+8:])); pair != unicode.ReplacementChar {
						out = utf8.AppendRune(out, pair)
						i += 12
						continue
					}
				}
				r = unicode.ReplacementChar
			}
			out = utf8.AppendRune(out, r)
			i += 6
			continue
		default:
			return "", false
		}
		i += 2
	}
	return string(out), true
}

// hex4 returns the value of the four hex digits at the start of b, or -1.
func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// setStr reads a string into *dst.
func (c *cursor) setStr(dst *string) bool {
	s, ok := c.str()
	*dst = s
	return ok
}

// setInt reads an integer that fits in an int64 into *dst: digits with an
// optional '-', no fraction or exponent.
func (c *cursor) setInt(dst *int64) bool {
	c.ws()
	neg := c.i < len(c.b) && c.b[c.i] == '-'
	if neg {
		c.i++
	}
	start := c.i
	var n uint64
	for c.i < len(c.b) && '0' <= c.b[c.i] && c.b[c.i] <= '9' {
		if n > (1<<63)/10 {
			return false
		}
		n = n*10 + uint64(c.b[c.i]-'0')
		c.i++
	}
	if c.i == start || c.i < len(c.b) && (c.b[c.i] == '.' || c.b[c.i] == 'e' || c.b[c.i] == 'E') {
		return false
	}
	switch {
	case neg && n <= 1<<63:
		*dst = int64(-n)
	case !neg && n < 1<<63:
		*dst = int64(n)
	default:
		return false
	}
	return true
}

// skip reads any value.
func (c *cursor) skip() bool {
	switch c.peek() {
	case '"':
		start := c.i + 1
		for i := start; ; i++ {
			j := bytes.IndexByte(c.b[i:], '"')
			if j < 0 {
				return false
			}
			i += j
			k := i - 1 // the quote ends the string unless an odd run of '\\' precedes it
			for k >= start && c.b[k] == '\\' {
				k--
			}
			if (i-1-k)%2 == 0 {
				c.i = i + 1
				return true
			}
		}
	case '{', '[':
		depth := 0
		for c.i < len(c.b) {
			switch c.b[c.i] {
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					c.i++
					return true
				}
			case '"':
				if !c.skip() {
					return false
				}
				continue
			}
			c.i++
		}
		return false
	case 0:
		return false
	}
	for c.i < len(c.b) && !isSpace(c.b[c.i]) && c.b[c.i] != ',' && c.b[c.i] != '}' && c.b[c.i] != ']' {
		c.i++
	}
	return true
}

// sub returns the string of b[start:end].
func (c *cursor) sub(start, end int) string {
	if c.s == "" {
		c.s = string(c.b)
	}
	return c.s[start:end]
}

// object reads an object, calling member with the span of each member name
// and the cursor at its value; member reads the value and returns false to
// give up.
func (c *cursor) object(member func(name []byte, start, end int) bool) bool {
	if c.peek() != '{' {
		return false
	}
	c.i++
	if c.peek() == '}' {
		c.i++
		return true
	}
	for {
		start, end, escaped, ok := c.span()
		if !ok || escaped || c.peek() != ':' {
			return false
		}
		c.i++
		if !member(c.b[start:end], start, end) {
			return false
		}
		switch c.peek() {
		case ',':
			c.i++
		case '}':
			c.i++
			return true
		default:
			return false
		}
	}
}

// unknown skips the value of a member the struct does not have, unless its
// name equals a known one but for case (encoding/json would fill that one).
func (c *cursor) unknown(name []byte, known ...string) bool {
	for _, k := range known {
		if strings.EqualFold(string(name), k) {
			return false
		}
	}
	return c.skip()
}

// metadata reads an object of strings into *m, reusing its array.
func (c *cursor) metadata(m *schema.Metadata) bool {
	out := (*m)[:0]
	ok := c.object(func(_ []byte, start, end int) bool {
		f := schema.MetaField{Name: c.sub(start, end)}
		if !c.setStr(&f.Value) {
			return false
		}
		out = append(out, f)
		return true
	})
	*m = out
	return ok
}

// stringMap reads an object of strings into *m, adding to it as
// encoding/json does.
func (c *cursor) stringMap(m *map[string]string) bool {
	out := *m
	if out == nil {
		out = map[string]string{}
	}
	ok := c.object(func(_ []byte, start, end int) bool {
		var v string
		if !c.setStr(&v) {
			return false
		}
		out[c.sub(start, end)] = v
		return true
	})
	*m = out
	return ok
}

// fastObject fills o from a top-level object, as json.Unmarshal would; the
// elements of a Records array are put in raws (non-nil), as sub-slices.
func (c *cursor) fastObject(o *objectJSON, raws []json.RawMessage) bool {
	records := false
	ok := c.object(func(name []byte, _, _ int) bool {
		l := &o.EventLine
		switch string(name) {
		case "bucket":
			return c.setStr(&l.Bucket)
		case "event":
			return c.setStr(&l.Event)
		case "key":
			return c.setStr(&l.Key)
		case "appid":
			return c.setStr(&l.AppID)
		case "region":
			return c.setStr(&l.Region)
		case "size":
			return c.setInt(&l.Size)
		case "etag":
			return c.setStr(&l.ETag)
		case "versionId":
			return c.setStr(&l.VersionID)
		case "time":
			return c.setStr(&l.Time)
		case "requestId":
			return c.setStr(&l.RequestID)
		case "sequencer":
			return c.setStr(&l.Sequencer)
		case "sourceIp":
			return c.setStr(&l.SourceIP)
		case "contentType":
			return c.setStr(&l.ContentType)
		case "meta":
			return c.metadata(&l.Meta)
		case "url":
			return c.setStr(&l.URL)
		case "Records":
			var ok bool
			raws, ok = c.rawArray(raws)
			records = true
			return ok
		case "EventName":
			return c.setStr(&o.MinIOEventName)
		case "Key":
			return c.setStr(&o.MinIOKey)
		}
		return c.unknown(name, "bucket", "event", "key", "appid", "region", "size", "etag", "versionId", "time",
			"requestId", "sequencer", "sourceIp", "contentType", "meta", "url", "Records", "specversion", "cos", "s3")
	})
	if ok && records {
		o.Records = raws
	}
	return ok
}

// rawArray splits an array into its elements, sub-slices of the value,
// appended to raws[:0].
func (c *cursor) rawArray(raws []json.RawMessage) ([]json.RawMessage, bool) {
	raws = raws[:0]
	if c.peek() != '[' {
		return raws, false
	}
	c.i++
	if c.peek() == ']' {
		c.i++
		return raws, true
	}
	for {
		start := c.i
		if !c.skip() {
			return raws, false
		}
		raws = append(raws, c.b[start:c.i])
		switch c.peek() {
		case ',':
			c.i++
		case ']':
			c.i++
			return raws, true
		default:
			return raws, false
		}
	}
}

// fastRecord fills r from a record of a Records array.
func (c *cursor) fastRecord(r *recordJSON, cos *schema.COSEntity, ev *schema.COSEvent) bool {
	return c.object(func(name []byte, _, _ int) bool {
		switch string(name) {
		case "cos":
			if r.COS == nil { // a second "cos" member adds to the first, as in encoding/json
				*cos = schema.COSEntity{Object: schema.COSObject{Meta: cos.Object.Meta[:0]}}
				r.COS = cos
			}
			return c.fastCOS(cos)
		case "event":
			if r.Event == nil {
				*ev = schema.COSEvent{}
				r.Event = ev
			}
			return c.fastCOSEvent(ev)
		}
		return c.s3Member(name, &r.S3Record, "cos", "event")
	})
}

// fastCOS fills the "cos" member of a COS record.
func (c *cursor) fastCOS(e *schema.COSEntity) bool {
	return c.object(func(name []byte, _, _ int) bool {
		switch string(name) {
		case "cosSchemaVersion":
			return c.setStr(&e.SchemaVersion)
		case "cosNotificationId":
			return c.setStr(&e.NotificationID)
		case "cosObject":
			o := &e.Object
			return c.object(func(name []byte, _, _ int) bool {
				switch string(name) {
				case "url":
					return c.setStr(&o.URL)
				case "meta":
					return c.metadata(&o.Meta)
				case "vid":
					return c.setStr(&o.VersionID)
				case "key":
					return c.setStr(&o.Key)
				case "size":
					return c.setInt(&o.Size)
				}
				return c.unknown(name, "url", "meta", "vid", "key", "size")
			})
		case "cosBucket":
			b := &e.Bucket
			return c.object(func(name []byte, _, _ int) bool {
				switch string(name) {
				case "region":
					return c.setStr(&b.Region)
				case "name":
					return c.setStr(&b.Name)
				case "appid":
					return c.setStr(&b.AppID)
				}
				return c.unknown(name, "region", "name", "appid")
			})
		}
		return c.unknown(name, "cosSchemaVersion", "cosNotificationId", "cosObject", "cosBucket")
	})
}

// fastCOSEvent fills the "event" member of a COS record. Request headers
// are skipped unread.
func (c *cursor) fastCOSEvent(e *schema.COSEvent) bool {
	return c.object(func(name []byte, _, _ int) bool {
		switch string(name) {
		case "eventName":
			return c.setStr(&e.Name)
		case "eventVersion":
			return c.setStr(&e.Version)
		case "eventTime":
			return c.setInt(&e.Time)
		case "eventSource":
			return c.setStr(&e.Source)
		case "eventQueue":
			return c.setStr(&e.Queue)
		case "reservedInfo":
			return c.setStr(&e.ReservedInfo)
		case "reqid":
			return c.setInt(&e.ReqID)
		case "requestParameters":
			p := &e.RequestParameters
			return c.object(func(name []byte, _, _ int) bool {
				switch string(name) {
				case "requestSourceIP":
					return c.setStr(&p.SourceIP)
				case "requestHeaders":
					var headers schema.Metadata // checked as encoding/json would, not kept
					return c.metadata(&headers)
				}
				return c.unknown(name, "requestSourceIP", "requestHeaders")
			})
		}
		return c.unknown(name, "eventName", "eventVersion", "eventTime", "eventSource", "eventQueue",
			"reservedInfo", "reqid", "requestParameters")
	})
}

// fastS3 fills an S3 record.
func (c *cursor) fastS3(r *schema.S3Record) bool {
	return c.object(func(name []byte, _, _ int) bool { return c.s3Member(name, r) })
}

// s3Member reads the member name of an S3 record; other names that a
// containing struct knows are given in more.
func (c *cursor) s3Member(name []byte, r *schema.S3Record, more ...string) bool {
	switch string(name) {
	case "eventVersion":
		return c.setStr(&r.EventVersion)
	case "eventSource":
		return c.setStr(&r.EventSource)
	case "awsRegion":
		return c.setStr(&r.AWSRegion)
	case "eventTime":
		return c.setStr(&r.EventTime)
	case "eventName":
		return c.setStr(&r.EventName)
	case "userIdentity":
		return c.principal(&r.UserIdentity)
	case "requestParameters":
		p := &r.RequestParameters
		return c.object(func(name []byte, _, _ int) bool {
			if string(name) == "sourceIPAddress" {
				return c.setStr(&p.SourceIPAddress)
			}
			return c.unknown(name, "sourceIPAddress")
		})
	case "responseElements":
		e := &r.ResponseElements
		return c.object(func(name []byte, _, _ int) bool {
			switch string(name) {
			case "x-amz-request-id":
				return c.setStr(&e.RequestID)
			case "x-amz-id-2":
				return c.setStr(&e.ID2)
			}
			return c.unknown(name, "x-amz-request-id", "x-amz-id-2")
		})
	case "s3":
		s := &r.S3
		return c.object(func(name []byte, _, _ int) bool {
			switch string(name) {
			case "s3SchemaVersion":
				return c.setStr(&s.SchemaVersion)
			case "configurationId":
				return c.setStr(&s.ConfigurationID)
			case "bucket":
				b := &s.Bucket
				return c.object(func(name []byte, _, _ int) bool {
					switch string(name) {
					case "name":
						return c.setStr(&b.Name)
					case "ownerIdentity":
						return c.principal(&b.OwnerIdentity)
					case "arn":
						return c.setStr(&b.ARN)
					}
					return c.unknown(name, "name", "ownerIdentity", "arn")
				})
			case "object":
				o := &s.Object
				return c.object(func(name []byte, _, _ int) bool {
					switch string(name) {
					case "key":
						return c.setStr(&o.Key)
					case "size":
						return c.setInt(&o.Size)
					case "eTag":
						return c.setStr(&o.ETag)
					case "versionId":
						return c.setStr(&o.VersionID)
					case "sequencer":
						return c.setStr(&o.Sequencer)
					case "contentType":
						return c.setStr(&o.ContentType)
					case "userMetadata":
						return c.stringMap(&o.UserMetadata)
					}
					return c.unknown(name, "key", "size", "eTag", "versionId", "sequencer", "contentType", "userMetadata")
				})
			}
			return c.unknown(name, "s3SchemaVersion", "configurationId", "bucket", "object")
		})
	}
	for _, k := range more {
		if strings.EqualFold(string(name), k) {
			return false
		}
	}
	return c.unknown(name, "eventVersion", "eventSource", "awsRegion", "eventTime", "eventName", "userIdentity",
		"requestParameters", "responseElements", "s3")
}

// principal reads {"principalId":…}.
func (c *cursor) principal(p *schema.S3Identity) bool {
	return c.object(func(name []byte, _, _ int) bool {
		if string(name) == "principalId" {
			return c.setStr(&p.PrincipalID)
		}
		return c.unknown(name, "principalId")
	})
}

// fastCloudEvent fills a CloudEvent.
func (c *cursor) fastCloudEvent(e *schema.CloudEvent) bool {
	return c.object(func(name []byte, _, _ int) bool {
		switch string(name) {
		case "specversion":
			return c.setStr(&e.SpecVersion)
		case "id":
			return c.setStr(&e.ID)
		case "source":
			return c.setStr(&e.Source)
		case "type":
			return c.setStr(&e.Type)
		case "subject":
			return c.setStr(&e.Subject)
		case "time":
			return c.setStr(&e.Time)
		case "datacontenttype":
			return c.setStr(&e.DataContentType)
		case "data":
			return c.fastS3(&e.Data)
		}
		return c.unknown(name, "specversion", "id", "source", "type", "subject", "time", "datacontenttype", "data")
	})
}
