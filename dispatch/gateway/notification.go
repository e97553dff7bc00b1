// This file keeps a bucket's notification configuration in the words its
// client used. config.ReadXML gives the rules (and checks them); a second,
// shallow reading of the same document keeps, for each configuration, what
// the rules do not hold: the element name (CloudFunctionConfiguration stays
// CloudFunctionConfiguration), the target element's name, the event names
// as spelled and the filter rule names. WriteTo writes the document back from
// both, with every Id (a configuration sent without one gets the stable id
// ReadXML generated), so GET gives back what PUT sent and reading the stored
// document again gives the same rules.

package gateway

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/notifymux/notifymux/match"
	"github.com/notifymux/notifymux/match/config"
)

// Notification is one bucket's configuration: its rules and how each was
// written.
type Notification struct {
	Bucket string
	Rules  []match.Rule // in document order
	forms  []form       // forms[i] is how Rules[i] was written
}

// form is the spelling of one configuration element.
type form struct {
	kind    string   // CloudFunctionConfiguration, LambdaFunctionConfiguration, QueueConfiguration or TopicConfiguration
	target  string   // the target element: CloudFunction, Function, Queue or Topic
	events  []string // the Event elements, trimmed
	filters []string // the FilterRule Name elements, in order, trimmed
}

// xmlDocument is the shallow reading of a NotificationConfiguration.
type xmlDocument struct {
	Items []xmlItem `xml:",any"`
}

type xmlItem struct {
	XMLName       xml.Name
	Events        []string `xml:"Event"`
	FilterNames   []string `xml:"Filter>S3Key>FilterRule>Name"`
	CloudFunction *string  `xml:"CloudFunction"`
	Function      *string  `xml:"Function"`
	Queue         *string  `xml:"Queue"`
	Topic         *string  `xml:"Topic"`
}

// ParseNotification reads the NotificationConfiguration XML of bucket. Its
// errors are config.ReadXML's (all of them, joined); on error the
// Notification is nil.
func ParseNotification(bucket string, doc []byte) (*Notification, error) {
	rules, err := config.ReadXML(bytes.NewReader(doc), bucket)
	if err != nil {
		return nil, err
	}
	var d xmlDocument
	if err := xml.Unmarshal(doc, &d); err != nil {
		return nil, &config.Error{Err: fmt.Errorf("%w: %v", config.ErrSyntax, err)}
	}
	n := &Notification{Bucket: bucket, Rules: rules}
	for _, it := range d.Items {
		f := form{kind: it.XMLName.Local}
		switch f.kind {
		case "CloudFunctionConfiguration", "LambdaFunctionConfiguration", "QueueConfiguration", "TopicConfiguration":
		default:
			continue // EventBridgeConfiguration, which ReadXML skips too
		}
		switch {
		case it.CloudFunction != nil:
			f.target = "CloudFunction"
		case it.Function != nil:
			f.target = "Function"
		case it.Queue != nil:
			f.target = "Queue"
		case it.Topic != nil:
			f.target = "Topic"
		}
		for _, e := range it.Events {
			f.events = append(f.events, strings.TrimSpace(e))
		}
		for _, name := range it.FilterNames {
			f.filters = append(f.filters, strings.TrimSpace(name))
		}
		n.forms = append(n.forms, f)
	}
	if len(n.forms) != len(rules) { // never expected: both read the same elements
		return nil, &config.Error{Err: fmt.Errorf("%w: %d configurations read as %d rules", config.ErrSyntax, len(n.forms), len(rules))}
	}
	return n, nil
}

// WriteTo writes the configuration as a NotificationConfiguration document
// in S3's namespace, each configuration as it was sent, with its Id.
func (n *Notification) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	bw := bufio.NewWriter(cw)
	bw.WriteString(xml.Header)
	bw.WriteString(`<NotificationConfiguration xmlns="` + config.XMLNamespace + `">`)
	for i, r := range n.Rules {
		f := n.forms[i]
		bw.WriteString("<" + f.kind + ">")
		element(bw, "Id", r.ID)
		if r.Prefix != "" || r.Suffix != "" {
			bw.WriteString("<Filter><S3Key>")
			names := f.filters
			for _, want := range []struct{ name, value string }{{"prefix", r.Prefix}, {"suffix", r.Suffix}} {
				if want.value == "" {
					continue
				}
				name := want.name
				for _, given := range names {
					if strings.EqualFold(given, want.name) {
						name = given
					}
				}
				bw.WriteString("<FilterRule>")
				element(bw, "Name", name)
				element(bw, "Value", want.value)
				bw.WriteString("</FilterRule>")
			}
			bw.WriteString("</S3Key></Filter>")
		}
		for _, e := range f.events {
			element(bw, "Event", e)
		}
		element(bw, f.target, r.Target)
		bw.WriteString("</" + f.kind + ">")
	}
	bw.WriteString("</NotificationConfiguration>\n")
	err := bw.Flush()
	return cw.n, err
}

// Bytes returns the document WriteTo writes.
func (n *Notification) Bytes() []byte {
	var b bytes.Buffer
	n.WriteTo(&b)
	return b.Bytes()
}

// emptyNotification is the answer for a bucket without rules, as S3 gives it.
var emptyNotification = []byte(xml.Header + `<NotificationConfiguration xmlns="` + config.XMLNamespace + `"></NotificationConfiguration>` + "\n")

func element(w *bufio.Writer, name, text string) {
	w.WriteString("<" + name + ">")
	xml.EscapeText(w, []byte(text))
	w.WriteString("</" + name + ">")
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
