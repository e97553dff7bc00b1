// This file is the ingest endpoint, POST /events: an object store (or
// anything that speaks its event formats) posts event lines, a COS or S3
// Records payload, a MinIO webhook body or a CloudEvents batch, with
// "Authorization: Bearer <token>". The body is streamed through a
// batch.Decoder into a dispatch.Router, which matches each record and hands
// it to the Pipeline; nothing of the body is held beyond one JSON value.
//
// The answer counts what happened to every record, so that the sender knows
// what to send again: 202 {"accepted":N,"matched":M,"unmatched":U,
// "refused":R,"errors":[…]} once the accepted records are in the pipeline
// (accepted = matched + unmatched; refused = unreadable, or refused by a full
// queue; errors holds the first 10 refusals). When no record was accepted the
// answer is 503 with Retry-After if the queues were full, else 400. Past
// Config.MaxInflight requests at once the answer is 503 with Retry-After
// before the body is read.

package gateway

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/notifymux/notifymux/batch"
	"github.com/notifymux/notifymux/dispatch"
)

// maxIngestErrors is how many refusals an ingest answer lists.
const maxIngestErrors = 10

// IngestResult is the JSON body of an ingest answer.
type IngestResult struct {
	Accepted  int           `json:"accepted"`        // matched + unmatched: every record the pipeline took
	Matched   int           `json:"matched"`         // records a rule matched, queued for delivery
	Unmatched int           `json:"unmatched"`       // valid records no rule matched
	Refused   int           `json:"refused"`         // records not read, or refused by a full queue
	Errors    []IngestError `json:"errors"`          // the first refusals, at most 10
	Error     string        `json:"error,omitempty"` // why the request as a whole was refused or cut short
}

// IngestError is one refused record of an ingest request.
type IngestError struct {
	Line   int    `json:"line"`   // 1-based line of the body where the record's JSON value starts
	Record int    `json:"record"` // 0-based index of the record in its payload's Records (0 for an event line)
	Error  string `json:"error"`  // why it was refused
}

// ingester routes ingested records.
type ingester struct {
	router   *dispatch.Router
	decoders sync.Pool // *batch.Decoder, reset for each request: its 64 KiB buffer is reused
}

// emptyReader is what a pooled Decoder reads, so that it keeps no request body.
var emptyReader = strings.NewReader("")

func newIngester(g *Gateway) (*ingester, error) {
	var pub dispatch.Publisher = g.cfg.Publisher
	if g.cfg.Pipeline != nil {
		pub = g.cfg.Pipeline
	}
	var rules dispatch.RuleSource
	if g.cfg.RuleCache != nil {
		rules = g.cfg.RuleCache
	}
	r, err := dispatch.NewRouter(dispatch.RouterConfig{
		Index:           g.index,
		Rules:           rules,
		Pipeline:        pub,
		AppID:           g.cfg.AppID,
		Region:          g.cfg.RecordRegion,
		OnMissingRegion: g.cfg.OnMissingRegion,
	})
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	return &ingester{router: r}, nil
}

// writeJSON writes v as the JSON answer with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// authorized reports whether r carries the ingest token.
func (g *Gateway) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(token)), []byte(g.cfg.IngestToken)) == 1
}

func (g *Gateway) serveIngest(w http.ResponseWriter, r *http.Request, req *request) {
	refuse := func(status int, msg string) {
		req.err = msg
		if status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "1")
		}
		writeJSON(w, status, IngestResult{Errors: []IngestError{}, Error: msg})
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		refuse(http.StatusMethodNotAllowed, "POST events to /events")
		return
	}
	if !g.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="notifymux"`)
		refuse(http.StatusUnauthorized, "a missing or wrong bearer token")
		return
	}
	if g.ingest == nil {
		refuse(http.StatusServiceUnavailable, "this gateway has no delivery pipeline")
		return
	}
	if g.draining.Load() {
		refuse(http.StatusServiceUnavailable, "the gateway is shutting down")
		return
	}
	select {
	case g.inflight <- struct{}{}:
		defer func() { <-g.inflight }()
	default:
		refuse(http.StatusServiceUnavailable, fmt.Sprintf("%d ingest requests are being served; try again", cap(g.inflight)))
		return
	}
	if r.ContentLength > g.cfg.MaxBody {
		refuse(http.StatusRequestEntityTooLarge, fmt.Sprintf("the body of %d bytes is over the limit of %d bytes", r.ContentLength, g.cfg.MaxBody))
		return
	}

	body := http.MaxBytesReader(w, r.Body, g.cfg.MaxBody)
	dec, ok := g.ingest.decoders.Get().(*batch.Decoder)
	if ok {
		dec.Reset(body)
	} else {
		dec = batch.NewDecoder(body, batch.DecoderConfig{MaxValueBytes: g.cfg.MaxValueBytes})
	}
	defer func() {
		dec.Reset(emptyReader)
		g.ingest.decoders.Put(dec)
	}()
	res := IngestResult{Errors: []IngestError{}}
	queueFull := false
	counts, err := g.ingest.router.RouteAll(r.Context(), dec, func(e *dispatch.RouteError) error {
		if errors.Is(e.Err, dispatch.ErrQueueFull) || errors.Is(e.Err, dispatch.ErrClosed) {
			queueFull = true
		}
		if len(res.Errors) < maxIngestErrors {
			record := 0
			if e.InRecords {
				record = e.Index
			}
			res.Errors = append(res.Errors, IngestError{Line: e.Line, Record: record, Error: e.Error()})
		}
		return nil
	})
	res.Accepted, res.Matched, res.Unmatched, res.Refused = counts.Accepted, counts.Matched, counts.Unmatched, counts.Refused
	g.metrics.Records(OutcomeMatched, counts.Matched)
	g.metrics.Records(OutcomeUnmatched, counts.Unmatched)
	g.metrics.Records(OutcomeRefused, counts.Refused)
	req.attrs = append(req.attrs, slog.Int("accepted", res.Accepted), slog.Int("matched", res.Matched),
		slog.Int("unmatched", res.Unmatched), slog.Int("refused", res.Refused))
	req.change = res.Accepted > 0

	status := http.StatusAccepted
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		// The records before the limit are in the pipeline; the answer says
		// how many, so the sender can resend only the rest.
		status = http.StatusRequestEntityTooLarge
		res.Error = fmt.Sprintf("the body is over the limit of %d bytes; the records before it are counted", g.cfg.MaxBody)
	case errors.Is(err, dispatch.ErrClosed):
		status = http.StatusServiceUnavailable
		res.Error = "the gateway is shutting down; the records after the accepted ones were not read"
	case errors.Is(err, dispatch.ErrQueueFull):
		// A durable stage refused a whole batch: full, or not answering.
		status = http.StatusServiceUnavailable
		res.Error = "the queues are full; the records after the refused ones were not read; try again"
	case err != nil && r.Context().Err() != nil:
		status = http.StatusBadRequest // the client left; nobody reads this answer
		res.Error = "the request ended before its body was read: " + err.Error()
	case err != nil:
		status = http.StatusBadRequest
		res.Error = "reading the body: " + err.Error()
	case res.Accepted == 0 && queueFull:
		status = http.StatusServiceUnavailable
		res.Error = "the queues are full; try again"
	case res.Accepted == 0 && res.Refused == 0:
		status = http.StatusBadRequest
		res.Error = "the body holds no event"
	case res.Accepted == 0:
		status = http.StatusBadRequest
		res.Error = "the body holds no valid record"
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	if res.Error != "" {
		req.err = res.Error
	}
	writeJSON(w, status, res)
}
