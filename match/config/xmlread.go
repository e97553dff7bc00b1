// This file reads the bucket notification XML. It walks the token stream of
// encoding/xml by hand rather than unmarshalling into structs, for three
// reasons: every problem must carry the line of its element (taken from
// xml.Decoder.InputPos right after the start tag), a document may put Id
// after the elements it qualifies (S3 writes Id last), and one bad
// configuration must not hide the others. Elements are matched by local name,
// so the namespace is optional; unknown elements are skipped iteratively, so
// deep nesting cannot exhaust the stack.

package config

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"

	"github.com/notifymux/notifymux/match"
)

// The configuration elements and the target element each one may hold.
var xmlKinds = map[string][]string{
	"CloudFunctionConfiguration":  {"CloudFunction"},
	"LambdaFunctionConfiguration": {"Function", "CloudFunction"},
	"QueueConfiguration":          {"Queue"},
	"TopicConfiguration":          {"Topic"},
}

// ReadXML reads a NotificationConfiguration document and returns its rules,
// all in bucket (the XML names none), in document order.
//
// Accepted: CloudFunctionConfiguration, LambdaFunctionConfiguration (target
// element Function or CloudFunction), QueueConfiguration and
// TopicConfiguration, each with an optional Id, one or more Event, an
// optional Filter/S3Key with up to one prefix and one suffix FilterRule (Name
// in any case) and exactly one target element. The namespace is optional.
// EventBridgeConfiguration, which names no function, is skipped. Id, Event,
// Name and the target are trimmed of surrounding white space; a filter Value
// is taken as written.
//
// Errors: an empty Value, target or Event, a Value over match.MaxFilterLen
// bytes, an unknown event name, a second prefix or suffix rule ("Cannot
// specify more than one suffix rule in a filter."), a missing Event or
// target, an unknown element, and a repeated Id are each a *Error with the
// line of the element and the configuration's Id. ReadXML reports all of them
// (errors.Join) and returns the configurations that had none. A document that
// is not well-formed is a single *Error wrapping ErrSyntax, with no rules.
//
// A configuration without an Id gets GeneratedID's id, which depends only on
// its content and on how many identical configurations came before it, so
// reading the same document twice gives the same ids.
//
// At most DefaultMaxSize bytes are read; a longer document is an *Error
// wrapping ErrTooLarge, with no rules (ReadLimit takes another limit).
func ReadXML(r io.Reader, bucket string) ([]match.Rule, error) {
	return readXMLLimit(r, bucket, DefaultMaxSize)
}

// readXMLLimit is ReadXML with a limit of maxSize bytes.
func readXMLLimit(r io.Reader, bucket string, maxSize int64) ([]match.Rule, error) {
	lr := newLimitReader(r, maxSize)
	rules, _, err := readXML(lr, bucket)
	if lr.over || lr.failed != nil {
		return nil, lr.explain(lr.failed)
	}
	return rules, err
}

// readXML is ReadXML without a size limit. It also returns, for each rule,
// whether all its event names were in S3 spelling, or nil when none's were.
func readXML(r io.Reader, bucket string) ([]match.Rule, []bool, error) {
	if bucket == "" {
		return nil, nil, &Error{Element: "bucket", Err: because(ErrMissing, "no bucket given: the XML names none")}
	}
	p := &xmlReader{dec: xml.NewDecoder(r), bucket: bucket, ids: make(map[string]int), gen: make(map[string]int)}
	if err := p.document(); err != nil {
		return nil, nil, err
	}
	return p.rules, spelling(p.s3), errors.Join(p.errs...)
}

type xmlReader struct {
	dec    *xml.Decoder
	bucket string
	rules  []match.Rule
	s3     []bool // s3[i]: every event name of rules[i] was in S3 spelling
	errs   []error
	ids    map[string]int // Id → line of its configuration
	gen    map[string]int // content hash → configurations without Id seen
}

// syntaxError is a fatal error: the document is not well-formed.
type syntaxError struct{ err *Error }

func (e syntaxError) Error() string { return e.err.Error() }

func (p *xmlReader) line() int {
	l, _ := p.dec.InputPos()
	return l
}

// token returns the next token, turning a decoder error (end of input
// included: token is only called inside the root element) into a syntaxError.
func (p *xmlReader) token() (xml.Token, error) {
	tok, err := p.dec.Token()
	if err == nil {
		return tok, nil
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return nil, syntaxError{p.wrap(err)}
}

// wrap turns a decoder error into an *Error wrapping ErrSyntax.
func (p *xmlReader) wrap(err error) *Error {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return &Error{Line: se.Line, Err: because(ErrSyntax, "%s", clip(se.Msg))}
	}
	return &Error{Line: p.line(), Err: because(ErrSyntax, "%s", clip(err.Error()))}
}

// document reads the whole input. It returns only fatal errors.
func (p *xmlReader) document() error {
	root := false
	for {
		tok, err := p.dec.Token()
		if err == io.EOF {
			if !root {
				return &Error{Line: p.line(), Err: because(ErrSyntax, "no NotificationConfiguration element")}
			}
			return nil
		}
		if err != nil {
			return p.wrap(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if root || t.Name.Local != "NotificationConfiguration" {
				return &Error{Line: p.line(), Element: t.Name.Local,
					Err: because(ErrSyntax, "root element must be a single NotificationConfiguration, found <%s>", clip(t.Name.Local))}
			}
			root = true
			if err := p.notification(); err != nil {
				if se, ok := err.(syntaxError); ok {
					return se.err
				}
				return err
			}
		case xml.CharData:
			if len(bytes.TrimSpace(bytes.TrimPrefix(t, []byte("\ufeff")))) != 0 {
				return &Error{Line: p.line(), Err: because(ErrSyntax, "text outside the root element")}
			}
		}
	}
}

// notification reads the children of NotificationConfiguration.
func (p *xmlReader) notification() error {
	return p.children(func(name string, line int) error {
		if targets, ok := xmlKinds[name]; ok {
			return p.configuration(name, targets)
		}
		if name != "EventBridgeConfiguration" {
			p.errs = append(p.errs, &Error{Line: line, Element: name,
				Err: because(ErrUnexpected, "unknown element <%s> in NotificationConfiguration", clip(name))})
		}
		return p.skip()
	})
}

// xmlConfig collects one configuration element while it is read.
type xmlConfig struct {
	kind           string
	line           int
	id             string
	idSeen         bool
	events         match.EventSet
	nEvents        int
	nS3Events      int // event names in S3 spelling ("s3:…")
	prefix, suffix string
	target         string
	targetSeen     bool
	filterSeen     bool
	errs           []*Error
}

func (c *xmlConfig) fail(line int, element string, err error) {
	c.errs = append(c.errs, &Error{Line: line, Element: element, Err: err})
}

// configuration reads one configuration element whose start tag was just read.
func (p *xmlReader) configuration(kind string, targets []string) error {
	c := &xmlConfig{kind: kind, line: p.line()}
	for {
		tok, err := p.token()
		if err != nil {
			return err
		}
		t, ok := tok.(xml.StartElement)
		if !ok {
			if _, end := tok.(xml.EndElement); end {
				break
			}
			continue
		}
		name, line := t.Name.Local, p.line()
		switch {
		case name == "Id":
			v, err := p.text(c, name)
			if err != nil {
				return err
			}
			if c.idSeen {
				c.fail(line, name, because(ErrUnexpected, "Id given twice"))
			}
			c.id, c.idSeen = strings.TrimSpace(v), true
		case name == "Event":
			v, err := p.text(c, name)
			if err != nil {
				return err
			}
			c.nEvents++
			v = strings.TrimSpace(v)
			if strings.HasPrefix(v, "s3:") {
				c.nS3Events++
			}
			if v == "" {
				c.fail(line, name, because(ErrEmptyValue, "empty event name"))
				continue
			}
			s, err := match.ParseEventSet(v)
			if err != nil {
				c.fail(line, name, err)
				continue
			}
			c.events |= s
		case name == "Filter":
			if c.filterSeen {
				c.fail(line, name, because(ErrUnexpected, "Filter given twice"))
			}
			c.filterSeen = true
			if err := p.filter(c); err != nil {
				return err
			}
		case contains(targets, name):
			v, err := p.text(c, name)
			if err != nil {
				return err
			}
			v = strings.TrimSpace(v)
			switch {
			case c.targetSeen:
				c.fail(line, name, because(ErrUnexpected, "more than one target in one configuration"))
			case v == "":
				c.fail(line, name, because(ErrEmptyValue, "empty target"))
			}
			c.target, c.targetSeen = v, true
		default:
			c.fail(line, name, because(ErrUnexpected, "unknown element <%s> in %s", clip(name), kind))
			if err := p.skip(); err != nil {
				return err
			}
		}
	}
	if c.nEvents == 0 {
		c.fail(c.line, kind, because(ErrMissing, "no Event"))
	}
	if !c.targetSeen {
		c.fail(c.line, kind, because(ErrMissing, "no target element <%s>", strings.Join(targets, "> or <")))
	}
	if c.id != "" {
		if first, dup := p.ids[c.id]; dup {
			c.fail(c.line, "Id", because(ErrDuplicateID, "Id %s is also used by the configuration at line %d", quote(c.id), first))
		} else {
			p.ids[c.id] = c.line
		}
	}
	if len(c.errs) > 0 {
		for _, e := range c.errs {
			e.ID = c.id
			p.errs = append(p.errs, e)
		}
		return nil
	}
	r := match.Rule{ID: c.id, Bucket: p.bucket, Events: c.events, Prefix: c.prefix, Suffix: c.suffix, Target: c.target}
	if r.ID == "" {
		h := contentKey(r)
		r.ID = GeneratedID(r, p.gen[h])
		p.gen[h]++
		for p.ids[r.ID] != 0 { // an explicit Id equal to a generated one: extremely unlikely
			r.ID = GeneratedID(r, p.gen[h])
			p.gen[h]++
		}
		p.ids[r.ID] = c.line
	}
	p.rules = append(p.rules, r)
	p.s3 = append(p.s3, c.nS3Events == c.nEvents)
	return nil
}

// filter reads Filter/S3Key/FilterRule{Name,Value}.
func (p *xmlReader) filter(c *xmlConfig) error {
	return p.children(func(name string, line int) error {
		if name != "S3Key" {
			c.fail(line, "Filter/"+name, because(ErrUnexpected, "unknown element <%s> in Filter", clip(name)))
			return p.skip()
		}
		return p.children(func(name string, line int) error {
			if name != "FilterRule" {
				c.fail(line, "Filter/S3Key/"+name, because(ErrUnexpected, "unknown element <%s> in S3Key", clip(name)))
				return p.skip()
			}
			return p.filterRule(c, line)
		})
	})
}

func (p *xmlReader) filterRule(c *xmlConfig, ruleLine int) error {
	const path = "Filter/S3Key/FilterRule"
	var ruleName, value string
	var nameSeen, valueSeen bool
	var valueLine int
	err := p.children(func(name string, line int) error {
		switch name {
		case "Name", "Value":
			v, err := p.text(c, path+"/"+name)
			if err != nil {
				return err
			}
			if name == "Name" {
				if nameSeen {
					c.fail(line, path+"/Name", because(ErrUnexpected, "Name given twice"))
				}
				ruleName, nameSeen = strings.TrimSpace(v), true
			} else {
				if valueSeen {
					c.fail(line, path+"/Value", because(ErrUnexpected, "Value given twice"))
				}
				value, valueSeen, valueLine = v, true, line
			}
			return nil
		}
		c.fail(line, path+"/"+name, because(ErrUnexpected, "unknown element <%s> in FilterRule", clip(name)))
		return p.skip()
	})
	if err != nil {
		return err
	}
	if !nameSeen {
		c.fail(ruleLine, path, because(ErrMissing, "no Name"))
		return nil
	}
	if !valueSeen {
		c.fail(ruleLine, path, because(ErrMissing, "no Value"))
		return nil
	}
	var dst *string
	switch strings.ToLower(ruleName) {
	case "prefix":
		dst = &c.prefix
	case "suffix":
		dst = &c.suffix
	default:
		c.fail(ruleLine, path+"/Name", because(ErrFilterRule, "filter rule name must be either prefix or suffix, not %s", quote(ruleName)))
		return nil
	}
	switch {
	case value == "":
		c.fail(valueLine, path+"/Value", because(ErrEmptyValue, "empty %s value", strings.ToLower(ruleName)))
	case len(value) > match.MaxFilterLen:
		c.fail(valueLine, path+"/Value", because(ErrValueTooLong, "%s value is %d bytes, over the %d-byte limit",
			strings.ToLower(ruleName), len(value), match.MaxFilterLen))
	case *dst != "":
		c.fail(ruleLine, path, because(ErrFilterRule, "Cannot specify more than one %s rule in a filter.", strings.ToLower(ruleName)))
	default:
		*dst = value
	}
	return nil
}

// children calls fn for each child element of the element whose start tag
// was just read, with its name and line, until its end tag. fn must consume
// the child entirely. Text between children is ignored.
func (p *xmlReader) children(fn func(name string, line int) error) error {
	for {
		tok, err := p.token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.StartElement:
			if err := fn(t.Name.Local, p.line()); err != nil {
				return err
			}
		}
	}
}

// text returns the character data of the element whose start tag was just
// read, through its end tag. A child element is reported and skipped.
func (p *xmlReader) text(c *xmlConfig, path string) (string, error) {
	var b strings.Builder
	for {
		tok, err := p.token()
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.CharData:
			b.Write(t)
		case xml.EndElement:
			return b.String(), nil
		case xml.StartElement:
			c.fail(p.line(), path+"/"+t.Name.Local, because(ErrUnexpected, "element <%s> inside <%s>, which holds text", clip(t.Name.Local), clip(path)))
			if err := p.skip(); err != nil {
				return "", err
			}
		}
	}
}

// skip consumes tokens through the end of the element whose start tag was
// just read, without recursion.
func (p *xmlReader) skip() error {
	for depth := 1; depth > 0; {
		tok, err := p.token()
		if err != nil {
			return err
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
