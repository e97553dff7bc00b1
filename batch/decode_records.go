// This file turns one decoded JSON value or record into an Inbound: the
// inverse, field by field, of the encoders in cos.go, s3.go and
// cloudevents.go, plus the event line.
//
//   - COS: Bucket, AppID and Region from cosBucket; Key is cosObject.key
//     without the "/<appid>/<name>/" the encoder puts before it (a segment
//     the encoder leaves out because it is empty is not expected either);
//     URL, Size and VersionID from cosObject; RequestID from the meta member
//     x-cos-request-id, else the reqid when it is not 0; ContentType from
//     meta Content-Type; Meta is the x-cos-meta-* and x-amz-meta-* members
//     of meta, in order; Time from eventTime (Unix seconds; 0 is no time,
//     and a year outside 0000 to 9999 is refused);
//     SourceIP from requestSourceIP. Request headers are never read.
//   - S3 (and MinIO, and the data of a CloudEvent): Bucket from
//     s3.bucket.name; Key is s3.object.key URL-decoded (space as '+');
//     AppID is the bucket owner's principalId; Region from awsRegion; Time
//     from eventTime (ISO 8601); RequestID from x-amz-request-id; the rest
//     from s3.object; MinIO's contentType and userMetadata fill ContentType
//     and Meta (sorted by name). eventName may lack the "s3:" prefix (S3
//     writes none, MinIO does); a COS-only type written without "cos:" is
//     read too.
//   - Event line: each member fills the Record field of the same name.
//
// Every record needs a key of 1 to MaxKeyLen bytes and the name of one
// concrete event type. A wildcard name is refused with ErrWildcardEvent.

package batch

import (
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/notifymux/notifymux/batch/schema"
	"github.com/notifymux/notifymux/match"
)

// objectJSON is the union of the JSON objects a value may be: an event line,
// a Records payload (COS, S3 or MinIO) or one CloudEvent.
type objectJSON struct {
	schema.EventLine
	Records        []json.RawMessage `json:"Records"`
	MinIOEventName string            `json:"EventName"`
	MinIOKey       string            `json:"Key"`
	SpecVersion    string            `json:"specversion"`
	S3TestEvent    string            `json:"Event"` // "s3:TestEvent" in the test message S3 sends
	COS            json.RawMessage   `json:"cos"`   // a COS record given alone
	S3             json.RawMessage   `json:"s3"`    // an S3 record given alone
}

// recordJSON is the union of a COS record and an S3 record.
type recordJSON struct {
	COS   *schema.COSEntity `json:"cos"`
	Event *schema.COSEvent  `json:"event"`
	schema.S3Record
}

// decodeObject decodes a value that is a JSON object.
func (d *Decoder) decodeObject(v []byte) (*Inbound, error) {
	o := &d.object
	*o = objectJSON{}
	var err error
	if d.cur.reset(v); d.slow || !d.cur.fastObject(o, d.raws[:0]) {
		*o = objectJSON{}
		err = json.Unmarshal(v, o)
	}
	switch {
	case o.SpecVersion != "":
		d.event = schema.CloudEvent{}
		if err := json.Unmarshal(v, &d.event); err != nil {
			return nil, &DecodeError{Line: d.valueLine, Source: SourceCloudEvents, Err: jsonError(err)}
		}
		if err := d.fromCloudEvent(&d.event, 0); err != nil {
			return nil, &DecodeError{Line: d.valueLine, Source: SourceCloudEvents, Err: err}
		}
		return &d.in, nil
	case o.Records != nil:
		if err != nil {
			return nil, &DecodeError{Line: d.valueLine, Err: jsonError(err)}
		}
		d.raws, d.kind = o.Records, valueRecords
		if o.MinIOEventName != "" {
			d.source = SourceMinIO
		}
		return nil, nil
	case o.COS != nil || o.S3 != nil:
		return nil, &DecodeError{Line: d.valueLine, Err: notEvent(
			`a single COS or S3 record: wrap it in a payload, {"Records":[…]}`)}
	case o.S3TestEvent == "s3:TestEvent" && o.Event == "":
		return nil, &DecodeError{Line: d.valueLine, Err: notEvent(
			"an S3 test message (s3:TestEvent), which S3 sends when notifications are set up; it names no object")}
	case err != nil:
		return nil, &DecodeError{Line: d.valueLine, Source: SourceLine, Err: jsonError(err)}
	case o.Event == "" && o.Key == "":
		return nil, &DecodeError{Line: d.valueLine, Err: notEvent(
			`neither an event line {"bucket","event","key"} nor a {"Records":[…]} payload, ` +
				`a MinIO webhook body or a CloudEvent`)}
	}
	if err := d.fromLine(&o.EventLine); err != nil {
		return nil, &DecodeError{Line: d.valueLine, Source: SourceLine, Err: err}
	}
	return &d.in, nil
}

// decodeRecord decodes record i of the current value into d.in.
func (d *Decoder) decodeRecord(i int) error {
	raw := d.raws[i]
	fail := func(src Source, err error) error {
		return &DecodeError{Line: d.valueLine, Index: i, InRecords: true, Source: src, Err: err}
	}
	if d.kind == valueCloudBatch {
		d.event = schema.CloudEvent{}
		if d.cur.reset(raw); d.slow || !d.cur.fastCloudEvent(&d.event) {
			d.event = schema.CloudEvent{}
			if err := json.Unmarshal(raw, &d.event); err != nil {
				return fail(SourceCloudEvents, jsonError(err))
			}
		}
		if err := d.fromCloudEvent(&d.event, i); err != nil {
			return fail(SourceCloudEvents, err)
		}
		return nil
	}
	r := &d.rec
	*r = recordJSON{}
	var err error
	if d.cur.reset(raw); d.slow || !d.cur.fastRecord(r, &d.cosEntity, &d.cosEvent) {
		*r = recordJSON{}
		err = json.Unmarshal(raw, r)
	}
	src := d.source
	if src == 0 {
		src = SourceS3
		if r.COS != nil {
			src = SourceCOS
		}
	}
	if err != nil {
		return fail(src, jsonError(err))
	}
	switch {
	case r.COS != nil:
		if r.Event == nil {
			return fail(src, notEvent(`the COS record has no "event"`))
		}
		err = d.fromCOS(r.COS, r.Event)
	case r.S3.Object.Key != "" || r.S3.Bucket.Name != "" || r.EventName != "":
		err = d.fromS3(&r.S3Record, src)
	case len(raw) > 0 && raw[0] != '{':
		err = notEvent("the record is not a JSON object")
	default:
		err = notEvent(`the record is neither COS (no "cos") nor S3 (no "s3")`)
	}
	if err != nil {
		return fail(src, err)
	}
	d.in.Index = i
	return nil
}

// fromLine fills d.in from an event line.
func (d *Decoder) fromLine(l *schema.EventLine) error {
	d.in = Inbound{Line: d.valueLine, Source: SourceLine, EventName: l.Event}
	r := &d.in.Record
	if l.Event == "" {
		return notEvent(`the event line has no "event"`)
	}
	if err := keyError(`"key"`, l.Key); err != nil {
		return err
	}
	e, err := match.ParseEvent(l.Event)
	if err != nil {
		return eventError(`"event"`, l.Event, err)
	}
	*r = Record{
		Bucket: l.Bucket, AppID: l.AppID, Region: l.Region, Key: l.Key, URL: l.URL, Size: l.Size,
		ETag: l.ETag, VersionID: l.VersionID, Event: e, RequestID: l.RequestID, SourceIP: l.SourceIP,
		ContentType: l.ContentType, Sequencer: l.Sequencer,
	}
	if l.Time != "" {
		if r.Time, err = parseTime(`"time"`, l.Time); err != nil {
			return err
		}
	}
	for _, m := range l.Meta {
		r.Meta = append(r.Meta, Meta(m))
	}
	return nil
}

// fromCOS fills d.in from a COS record.
func (d *Decoder) fromCOS(c *schema.COSEntity, ev *schema.COSEvent) error {
	d.in = Inbound{Line: d.valueLine, Source: SourceCOS, EventName: ev.Name, NotificationID: c.NotificationID}
	r := &d.in.Record
	b := &c.Bucket
	key, ok := cutCOSKeyPrefix(c.Object.Key, b.Name, b.AppID)
	if !ok {
		return notEvent("cosObject.key %s does not start with %s (/<cosBucket.appid>/<cosBucket.name>/)",
			quote(c.Object.Key), quote(cosKeyPrefix(b.Name, b.AppID)))
	}
	if err := keyError("the object key in cosObject.key", key); err != nil {
		return err
	}
	if ev.Name == "" {
		return notEvent("event.eventName is empty or missing")
	}
	e, err := match.ParseEvent(ev.Name)
	if err != nil {
		return eventError("event.eventName", ev.Name, err)
	}
	*r = Record{
		Bucket: b.Name, AppID: b.AppID, Region: b.Region, Key: key, URL: c.Object.URL,
		Size: c.Object.Size, VersionID: c.Object.VersionID, Event: e, SourceIP: ev.RequestParameters.SourceIP,
	}
	if ev.Time != 0 {
		if ev.Time < minUnixTime || ev.Time > maxUnixTime {
			return notEvent("event.eventTime %d is outside the years 0000 to 9999 (Unix seconds)", ev.Time)
		}
		r.Time = time.Unix(ev.Time, 0).UTC()
	}
	var haveID, haveType bool
	users := 0
	for _, m := range c.Object.Meta {
		if isUserMeta(m.Name) {
			users++
		}
	}
	if users > 0 {
		r.Meta = make([]Meta, 0, users)
	}
	for _, m := range c.Object.Meta {
		switch {
		case !haveID && strings.EqualFold(m.Name, "x-cos-request-id"):
			r.RequestID, haveID = m.Value, true
		case !haveType && strings.EqualFold(m.Name, "Content-Type"):
			r.ContentType, haveType = m.Value, true
		case isUserMeta(m.Name):
			r.Meta = append(r.Meta, Meta(m))
		}
	}
	if r.RequestID == "" && ev.ReqID != 0 {
		r.RequestID = strconv.FormatInt(ev.ReqID, 10)
	}
	return nil
}

// cutCOSKeyPrefix returns k without cosKeyPrefix(name, appid), and whether
// k starts with it.
func cutCOSKeyPrefix(k, name, appid string) (string, bool) {
	k, ok := strings.CutPrefix(k, "/")
	for _, segment := range [2]string{appid, name} {
		if ok && segment != "" {
			k, ok = strings.CutPrefix(k, segment)
			if ok {
				k, ok = strings.CutPrefix(k, "/")
			}
		}
	}
	return k, ok
}

// cosKeyPrefix is what the COS encoder writes before the object key in
// cosObject.key: "/<appid>/<name>/", leaving out an empty segment.
func cosKeyPrefix(name, appid string) string {
	var b strings.Builder
	b.Grow(len(name) + len(appid) + 3)
	b.WriteByte('/')
	if appid != "" {
		b.WriteString(appid)
		b.WriteByte('/')
	}
	if name != "" {
		b.WriteString(name)
		b.WriteByte('/')
	}
	return b.String()
}

// fromS3 fills d.in from an S3 record.
func (d *Decoder) fromS3(s *schema.S3Record, src Source) error {
	d.in = Inbound{Line: d.valueLine, Source: src, EventName: s.EventName, NotificationID: s.S3.ConfigurationID}
	r := &d.in.Record
	o := &s.S3.Object
	key, err := url.QueryUnescape(o.Key)
	if err != nil {
		return notEvent("s3.object.key %s is not URL-encoded: %v", quote(o.Key), strings.TrimPrefix(err.Error(), "invalid URL escape "))
	}
	if err := keyError("s3.object.key", key); err != nil {
		return err
	}
	e, err := parseS3EventName(s.EventName)
	if err != nil {
		return err
	}
	*r = Record{
		Bucket: s.S3.Bucket.Name, AppID: s.S3.Bucket.OwnerIdentity.PrincipalID, Region: s.AWSRegion, Key: key,
		Size: o.Size, ETag: o.ETag, VersionID: o.VersionID, Event: e, RequestID: s.ResponseElements.RequestID,
		SourceIP: s.RequestParameters.SourceIPAddress, ContentType: o.ContentType, Sequencer: o.Sequencer,
	}
	if s.EventTime != "" {
		if r.Time, err = parseTime("eventTime", s.EventTime); err != nil {
			return err
		}
	}
	for name, value := range o.UserMetadata {
		if isUserMeta(name) {
			r.Meta = append(r.Meta, Meta{Name: name, Value: value})
		}
	}
	slices.SortFunc(r.Meta, func(a, b Meta) int { return strings.Compare(a.Name, b.Name) })
	return nil
}

// parseS3EventName parses the eventName of an S3 record, which S3 writes
// without "s3:" and MinIO with it; the encoder writes the COS-only types
// without "cos:".
func parseS3EventName(name string) (match.Event, error) {
	const field = "eventName"
	if name == "" {
		return 0, notEvent("eventName is empty or missing")
	}
	if strings.HasPrefix(name, "s3:") || strings.HasPrefix(name, "cos:") {
		e, err := match.ParseEvent(name)
		if err != nil {
			return 0, eventError(field, name, err)
		}
		return e, nil
	}
	if e, ok := bareEventNames[name]; ok {
		return e, nil
	}
	e, err := match.ParseEvent("s3:" + name)
	if err == nil {
		return e, nil
	}
	if e, cerr := match.ParseEvent("cos:" + name); cerr == nil {
		return e, nil
	}
	return 0, eventError(field, "s3:"+name, err)
}

// fromCloudEvent fills d.in from a CloudEvent whose data is an S3 record.
func (d *Decoder) fromCloudEvent(ev *schema.CloudEvent, i int) error {
	if ev.SpecVersion != "1.0" {
		return notEvent("specversion is %s, want \"1.0\"", quote(ev.SpecVersion))
	}
	if ev.Data.S3.Object.Key == "" && ev.Data.S3.Bucket.Name == "" {
		return notEvent("data is not an S3 event record (no s3.object.key)")
	}
	if err := d.fromS3(&ev.Data, SourceCloudEvents); err != nil {
		return &fieldError{field: "data", err: err}
	}
	d.in.Index = i
	return nil
}

// The Unix seconds of 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the
// times every encoder can write (S3 and CloudEvents write four-digit years).
const (
	minUnixTime = -62167219200
	maxUnixTime = 253402300799
)

// parseTime parses an RFC 3339 time whose year in UTC has four digits.
func parseTime(field, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, notEvent("%s %s is not an RFC 3339 time such as \"2006-01-02T15:04:05.000Z\"", field, quote(s))
	}
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		return time.Time{}, notEvent("%s %s is outside the years 0000 to 9999 in UTC", field, quote(s))
	}
	return t.UTC(), nil
}
