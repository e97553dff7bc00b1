// This file answers the bucket notification API: PUT and GET
// /{bucket}?notification and GET /{bucket}?location, path-style, with or
// without a trailing slash and an '=' after the sub-resource. Each request
// goes through the same steps: route, check the signature's header fields
// (before reading the body), read the body within the limit, check the
// payload hash and the signature, then act. A PUT is checked whole (syntax,
// events, destinations, overlaps) before anything is written; the document
// is stored first and the index replaced after, under the bucket's lock, so
// GET, the index and the disk never disagree.

package gateway

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/notifymux/notifymux/dispatch/gateway/sigv4"
	"github.com/notifymux/notifymux/match"
	"github.com/notifymux/notifymux/match/config"
)

// bucketOf returns the bucket of a path-style bucket request: "/b" or "/b/".
func bucketOf(path string) (string, bool) {
	b, ok := strings.CutPrefix(path, "/")
	if !ok {
		return "", false
	}
	b = strings.TrimSuffix(b, "/")
	if b == "" || strings.Contains(b, "/") {
		return "", false
	}
	return b, true
}

func (g *Gateway) serveS3(w http.ResponseWriter, r *http.Request, req *request, q url.Values) {
	fail := func(e APIError, detail string) {
		req.err = e.Code
		if detail != "" {
			req.err += ": " + detail
		}
		e.with(detail).write(w, r.URL.Path, req.id)
	}
	bucket, ok := bucketOf(r.URL.Path)
	var sub string
	switch {
	case q.Has("notification"):
		sub = "notification"
	case q.Has("location"):
		sub = "location"
	}
	switch {
	case sub == "notification" && r.Method == http.MethodPut:
		req.route = RoutePutNotification
	case sub == "notification" && r.Method == http.MethodGet:
		req.route = RouteGetNotification
	case sub == "location" && r.Method == http.MethodGet:
		req.route = RouteGetLocation
	case sub != "" && ok:
		req.route = RouteS3Other
		fail(ErrMethodNotAllowed, r.Method+" ?"+sub)
		return
	default:
		req.route = RouteS3Other
		fail(ErrNotImplemented, "this gateway serves only PUT and GET /{bucket}?notification, GET /{bucket}?location, POST /events, GET /healthz and GET /metrics")
		return
	}
	if !ok {
		fail(ErrNotImplemented, "object requests are not served; path-style bucket requests only")
		return
	}
	req.attrs = append(req.attrs, slog.String("bucket", bucket))

	auth, err := g.verifier.Parse(r, sub == "location")
	if err != nil {
		g.refuseAuth(fail, err)
		return
	}
	if r.ContentLength > g.cfg.MaxBody {
		fail(ErrEntityTooLarge, fmt.Sprintf("the body of %d bytes is over the limit of %d bytes", r.ContentLength, g.cfg.MaxBody))
		return
	}
	select {
	case g.s3Bodies <- struct{}{}:
		defer func() { <-g.s3Bodies }()
	default:
		w.Header().Set("Retry-After", "1")
		fail(ErrSlowDown, fmt.Sprintf("%d requests are being read; try again", MaxS3Bodies))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, g.cfg.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			fail(ErrEntityTooLarge, fmt.Sprintf("the body is over the limit of %d bytes", g.cfg.MaxBody))
			return
		}
		fail(ErrMalformedXML, "reading the body: "+err.Error())
		return
	}
	if err := auth.Verify(r, body); err != nil {
		g.refuseAuth(fail, err)
		return
	}
	if !ValidBucketName(bucket) {
		fail(ErrInvalidBucketName, fmt.Sprintf("%s: want 3-63 lower-case letters, digits, '.' and '-'", quote(bucket)))
		return
	}
	switch req.route {
	case RouteGetLocation:
		region := g.cfg.Region
		if region == DefaultRegion {
			region = "" // S3's answer for us-east-1
		}
		var b bytes.Buffer
		b.WriteString(xml.Header + `<LocationConstraint xmlns="` + config.XMLNamespace + `">`)
		xml.EscapeText(&b, []byte(region))
		b.WriteString("</LocationConstraint>\n")
		w.Header().Set("Content-Type", "application/xml")
		w.Write(b.Bytes())
	case RouteGetNotification:
		doc, err := g.cfg.Store.Get(bucket)
		if err != nil {
			fail(ErrInternal, "")
			req.err = err.Error()
			return
		}
		if doc == nil {
			doc = emptyNotification
		}
		w.Header().Set("Content-Type", "application/xml")
		w.Write(doc)
	case RoutePutNotification:
		g.putNotification(w, req, bucket, body, fail)
	}
}

// refuseAuth answers a sigv4 refusal with its S3 error.
func (g *Gateway) refuseAuth(fail func(APIError, string), err error) {
	var e *sigv4.Error
	if !errors.As(err, &e) {
		fail(ErrAccessDenied, err.Error())
		return
	}
	switch e.Kind {
	case sigv4.Missing:
		fail(ErrAccessDenied, e.Reason)
	case sigv4.UnknownAccessKey:
		fail(ErrInvalidAccessKeyID, "")
	case sigv4.Skewed:
		fail(ErrRequestTimeTooSkewed, e.Reason)
	case sigv4.PayloadMismatch:
		fail(ErrContentSHA256Mismatch, "")
	case sigv4.UnsupportedPayload:
		fail(ErrNotImplemented, e.Reason)
	case sigv4.Malformed:
		fail(ErrAuthHeaderMalformed, e.Reason)
	default:
		fail(ErrSignatureDoesNotMatch, "")
	}
}

// putNotification checks and stores the configuration doc of bucket.
func (g *Gateway) putNotification(w http.ResponseWriter, req *request, bucket string, doc []byte, fail func(APIError, string)) {
	n, err := ParseNotification(bucket, doc)
	if err != nil {
		e := ErrInvalidArgument
		switch {
		case errors.Is(err, config.ErrSyntax), errors.Is(err, config.ErrUnexpected), errors.Is(err, config.ErrMissing):
			e = ErrMalformedXML
		}
		fail(e, strings.ReplaceAll(err.Error(), "\n", "; "))
		return
	}
	if g.cfg.Targets != nil {
		var missing []string
		for _, r := range n.Rules {
			if _, ok := g.cfg.Targets[r.Target]; !ok && !slices.Contains(missing, r.Target) {
				missing = append(missing, r.Target)
			}
		}
		if len(missing) > 0 {
			names := make([]string, len(missing))
			for i, t := range missing {
				names[i] = quote(t)
			}
			e := ErrInvalidArgument
			e.Message = msgDestinations + ": " + strings.Join(names, ", ") + " (not in the gateway's targets table)"
			fail(e, "")
			return
		}
	}
	// Check the rules against each other before anything changes.
	if err := match.New().Replace(bucket, n.Rules); err != nil {
		var ce *match.ConflictError
		e := ErrInvalidArgument
		if errors.As(err, &ce) {
			e.Message = msgOverlap + fmt.Sprintf(" Rules %s and %s both match %s on key %s.",
				quote(ce.Existing.ID), quote(ce.Rule.ID), ce.Event, quote(ce.Key))
			fail(e, "")
			return
		}
		fail(e, err.Error())
		return
	}
	unlock := g.lock(bucket)
	defer unlock()
	had := g.cfg.RuleCache == nil && len(g.index.Rules(bucket)) > 0
	if len(n.Rules) == 0 {
		err = g.cfg.Store.Delete(bucket)
	} else {
		err = g.cfg.Store.Put(bucket, n.Bytes())
	}
	if err != nil {
		fail(ErrInternal, "")
		req.err = err.Error()
		return
	}
	if g.cfg.RuleCache != nil {
		g.cfg.RuleCache.Invalidate(bucket) // the cache keeps its own counts
	} else if err := g.index.Replace(bucket, n.Rules); err != nil { // never expected: checked above
		fail(ErrInternal, "")
		req.err = err.Error()
		return
	} else {
		switch has := len(n.Rules) > 0; {
		case has && !had:
			g.buckets.Add(1)
		case !has && had:
			g.buckets.Add(-1)
		}
	}
	req.change = true
	req.attrs = append(req.attrs, slog.Int("rules", len(n.Rules)))
	w.WriteHeader(http.StatusOK) // minio-go treats 204 as an error
}

// quote quotes s, keeping at most its first 200 bytes.
func quote(s string) string {
	if len(s) > 200 {
		return fmt.Sprintf("%q…", strings.ToValidUTF8(s[:200], ""))
	}
	return fmt.Sprintf("%q", s)
}
