// This file reads object events for the commands that take them (match, and
// run). Input is JSON lines; each line is either a single event
// {"bucket":…,"event":…,"key":…} or a whole COS or S3 {"Records":[…]}
// payload, whose records are yielded one by one. Lines are read with a
// bufio.Reader into one reused buffer; a line longer than maxLineBytes is
// skipped and reported without being held in memory, so memory stays bounded
// however long the input is.

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/notifymux/notifymux/match"
)

// maxLineBytes is the longest input line readEvents accepts: a Records
// payload of several 1 MB messages fits.
const maxLineBytes = 16 << 20

// inputEvent is one object event read by readEvents. The fields after Key
// are filled from Records payloads when the record gives them; a plain event
// line gives only Bucket, EventName, Event and Key. Its field names follow
// batch.Record.
type inputEvent struct {
	Line      int         // 1-based input line
	Record    int         // index of the record in the line's Records; 0 for a plain line
	Source    string      // "line", "cos" or "s3": what the line was
	Bucket    string      // "" when the line names none (the caller may supply a default)
	EventName string      // the event name as written, with "s3:" added to S3 record names
	Event     match.Event // the parsed event type
	Key       string      // object key, without a leading slash, URL-decoded for S3 records

	AppID          string            // COS: cosBucket.appid
	Region         string            // COS: cosBucket.region ("cd"); S3: awsRegion
	Size           int64             // object size in bytes
	ETag           string            // S3: s3.object.eTag
	VersionID      string            // COS: cosObject.vid; S3: s3.object.versionId
	Sequencer      string            // S3: s3.object.sequencer
	Time           time.Time         // COS: event.eventTime (Unix seconds); S3: eventTime
	RequestID      string            // COS: meta x-cos-request-id, else event.reqid; S3: responseElements x-amz-request-id
	SourceIP       string            // COS: requestSourceIP; S3: sourceIPAddress
	ContentType    string            // COS: meta Content-Type
	Meta           map[string]string // COS: the x-cos-meta-* entries of cosObject.meta
	NotificationID string            // COS: cosNotificationId; S3: s3.configurationId
	Raw            json.RawMessage   // the record as given; nil for a plain line
}

// readEvents reads JSON lines from r and calls fn for every event, in input
// order. ev is reused: it is valid only during the call. A blank line is
// skipped. A line that is not an event or a Records payload, a record that
// is not an event, and a line over maxLineBytes are passed to bad with the
// line number (the error names the record, if any, and what is wrong);
// reading goes on with the next line or record. readEvents stops at the
// first error fn or bad returns, and returns it; otherwise it returns nil at
// the end of the input, or the error reading r.
func readEvents(r io.Reader, fn func(ev *inputEvent) error, bad func(line int, err error) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var long []byte // reused buffer for lines longer than br's
	ev := new(inputEvent)
	for line := 1; ; line++ {
		data, tooLong, err := readLine(br, &long)
		if len(data) > 0 || tooLong {
			var perr error
			if tooLong {
				perr = fmt.Errorf("line longer than %d bytes", maxLineBytes)
			} else {
				perr = parseLine(data, line, ev, fn, bad)
			}
			if perr != nil {
				var stop stopError
				if errors.As(perr, &stop) {
					return stop.err
				}
				if err := bad(line, perr); err != nil {
					return err
				}
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// stopError carries an error from fn or bad out of parseLine.
type stopError struct{ err error }

func (s stopError) Error() string { return s.err.Error() }

// readLine returns the next line without its line ending. A line longer than
// maxLineBytes is consumed and reported by tooLong, without data.
func readLine(br *bufio.Reader, long *[]byte) (data []byte, tooLong bool, err error) {
	data, err = br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		buf := append((*long)[:0], data...)
		for err == bufio.ErrBufferFull {
			data, err = br.ReadSlice('\n')
			if !tooLong && len(buf)+len(data) > maxLineBytes {
				tooLong, buf = true, buf[:0]
			}
			if !tooLong {
				buf = append(buf, data...)
			}
		}
		*long = buf[:0]
		data = buf
	}
	if tooLong {
		data = nil
	}
	data = bytes.TrimSpace(data)
	return data, tooLong, err
}

// lineJSON is the union of the two kinds of line.
type lineJSON struct {
	Bucket  string            `json:"bucket"`
	Event   *string           `json:"event"`
	Key     *string           `json:"key"`
	Records []json.RawMessage `json:"Records"`
}

// parseLine handles one non-empty line. Errors from fn and bad come back
// wrapped in stopError; others describe the line.
func parseLine(data []byte, line int, ev *inputEvent, fn func(*inputEvent) error, bad func(int, error) error) error {
	var l lineJSON
	if err := json.Unmarshal(data, &l); err != nil {
		return fmt.Errorf("not a JSON event line: %v", err)
	}
	if l.Records == nil {
		switch {
		case l.Event == nil:
			return errors.New(`neither an event line {"bucket","event","key"} nor a {"Records":[…]} payload`)
		case l.Key == nil:
			return errors.New(`event line has no "key"`)
		}
		e, err := match.ParseEvent(*l.Event)
		if err != nil {
			return fmt.Errorf("event: %v", strings.TrimPrefix(err.Error(), "match: "))
		}
		*ev = inputEvent{Line: line, Source: "line", Bucket: l.Bucket, EventName: *l.Event, Event: e, Key: *l.Key}
		if err := fn(ev); err != nil {
			return stopError{err}
		}
		return nil
	}
	for i, raw := range l.Records {
		if err := parseRecord(raw, ev); err != nil {
			if err := bad(line, fmt.Errorf("record %d of Records: %v", i, err)); err != nil {
				return stopError{err}
			}
			continue
		}
		ev.Line, ev.Record = line, i
		if err := fn(ev); err != nil {
			return stopError{err}
		}
	}
	return nil
}

// recordJSON is the union of a COS record (seed 004) and an S3 record.
type recordJSON struct {
	// S3
	EventName         string `json:"eventName"`
	EventTime         string `json:"eventTime"`
	AwsRegion         string `json:"awsRegion"`
	RequestParameters *struct {
		SourceIPAddress string `json:"sourceIPAddress"`
	} `json:"requestParameters"`
	ResponseElements map[string]string `json:"responseElements"`
	S3               *struct {
		ConfigurationID string `json:"configurationId"`
		Bucket          struct {
			Name string `json:"name"`
		} `json:"bucket"`
		Object struct {
			Key       *string `json:"key"`
			Size      int64   `json:"size"`
			ETag      string  `json:"eTag"`
			VersionID string  `json:"versionId"`
			Sequencer string  `json:"sequencer"`
		} `json:"object"`
	} `json:"s3"`

	// COS
	Cos *struct {
		CosObject struct {
			Key  *string           `json:"key"`
			Size int64             `json:"size"`
			Vid  string            `json:"vid"`
			Meta map[string]string `json:"meta"`
		} `json:"cosObject"`
		CosBucket struct {
			Region string `json:"region"`
			Name   string `json:"name"`
			AppID  string `json:"appid"`
		} `json:"cosBucket"`
		CosNotificationID string `json:"cosNotificationId"`
	} `json:"cos"`
	Event *struct {
		EventName         string      `json:"eventName"`
		EventTime         json.Number `json:"eventTime"`
		RequestParameters struct {
			RequestSourceIP string `json:"requestSourceIP"`
		} `json:"requestParameters"`
		Reqid json.Number `json:"reqid"`
	} `json:"event"`
}

// parseRecord fills ev from one COS or S3 record.
func parseRecord(raw json.RawMessage, ev *inputEvent) error {
	var rec recordJSON
	if err := json.Unmarshal(raw, &rec); err != nil {
		return err
	}
	*ev = inputEvent{Raw: raw}
	switch {
	case rec.Cos != nil:
		c := rec.Cos
		ev.Source = "cos"
		if rec.Event == nil {
			return errors.New(`the COS record has no "event"`)
		}
		if c.CosObject.Key == nil {
			return errors.New(`the COS record has no "cosObject.key"`)
		}
		ev.EventName = rec.Event.EventName
		ev.Bucket, ev.AppID, ev.Region = c.CosBucket.Name, c.CosBucket.AppID, c.CosBucket.Region
		ev.Key = cosKey(*c.CosObject.Key)
		ev.Size, ev.VersionID, ev.NotificationID = c.CosObject.Size, c.CosObject.Vid, c.CosNotificationID
		if rec.Event.EventTime != "" {
			sec, err := rec.Event.EventTime.Int64()
			if err != nil {
				return fmt.Errorf("event.eventTime %q is not Unix seconds", rec.Event.EventTime)
			}
			ev.Time = time.Unix(sec, 0).UTC()
		}
		ev.SourceIP = rec.Event.RequestParameters.RequestSourceIP
		ev.RequestID = c.CosObject.Meta["x-cos-request-id"]
		if ev.RequestID == "" {
			ev.RequestID = rec.Event.Reqid.String()
		}
		ev.ContentType = c.CosObject.Meta["Content-Type"]
		for k, v := range c.CosObject.Meta {
			if strings.HasPrefix(strings.ToLower(k), "x-cos-meta-") {
				if ev.Meta == nil {
					ev.Meta = map[string]string{}
				}
				ev.Meta[k] = v
			}
		}
	case rec.S3 != nil:
		s := rec.S3
		ev.Source = "s3"
		if s.Object.Key == nil {
			return errors.New(`the S3 record has no "s3.object.key"`)
		}
		ev.EventName = rec.EventName
		if ev.EventName != "" && !strings.HasPrefix(ev.EventName, "s3:") {
			ev.EventName = "s3:" + ev.EventName
		}
		key, err := url.QueryUnescape(*s.Object.Key)
		if err != nil {
			return fmt.Errorf("s3.object.key %q is not URL-encoded: %v", *s.Object.Key, err)
		}
		ev.Bucket, ev.Key, ev.Region = s.Bucket.Name, key, rec.AwsRegion
		ev.Size, ev.ETag, ev.VersionID, ev.Sequencer = s.Object.Size, s.Object.ETag, s.Object.VersionID, s.Object.Sequencer
		ev.NotificationID = s.ConfigurationID
		if rec.EventTime != "" {
			t, err := time.Parse(time.RFC3339Nano, rec.EventTime)
			if err != nil {
				return fmt.Errorf("eventTime %q is not ISO-8601", rec.EventTime)
			}
			ev.Time = t
		}
		if rec.RequestParameters != nil {
			ev.SourceIP = rec.RequestParameters.SourceIPAddress
		}
		ev.RequestID = rec.ResponseElements["x-amz-request-id"]
	default:
		return errors.New(`record is neither COS (no "cos") nor S3 (no "s3")`)
	}
	e, err := match.ParseEvent(ev.EventName)
	if err != nil {
		return fmt.Errorf("eventName: %v", strings.TrimPrefix(err.Error(), "match: "))
	}
	ev.Event = e
	return nil
}

// cosKey returns the object key of a COS cosObject.key, which is
// "/<appid>/<bucket>/<key>": the part after the third slash. A key that does
// not start with a slash is taken as it is.
func cosKey(k string) string {
	if !strings.HasPrefix(k, "/") {
		return k
	}
	parts := strings.SplitN(k[1:], "/", 3)
	if len(parts) < 3 {
		return ""
	}
	return parts[2]
}
