// This file sends the dead letters of a dead-letter file (the JSON lines of
// JSONLines.DispatchDeadLetter) back for delivery once their function is
// fixed. Each line holds an encoded payload and its target; RedriveFile
// posts the payload again through a Dispatcher (HTTP signs it afresh),
// retrying as a Pipeline lane does, line after line.
//
// Progress is kept in a checkpoint file beside the dead-letter file: the byte
// offset of the first line not yet settled, replaced (write, rename) after
// each line. An interrupted redrive stops between attempts and a later one
// resumes at the checkpoint, so every line is sent at least once and a line
// is sent twice only when the process stopped between its delivery and the
// checkpoint. A line that still cannot be delivered (attempts exhausted, a
// permanent error, a payload that was never encoded) is copied to the
// Failed writer, as it was, and counted; the redrive goes on.

package dispatch

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/notifymux/notifymux/batch"
)

// DeadLetterLine is one line of a dead-letter file, as JSONLines writes it.
type DeadLetterLine struct {
	Target      string           `json:"target"`
	Reason      DeadLetterReason `json:"reason"`
	Error       string           `json:"error"`
	Attempts    int              `json:"attempts"`
	Format      string           `json:"format"`
	ContentType string           `json:"contentType"`
	Records     int              `json:"records"`
	Opened      time.Time        `json:"opened"`
	// Payload is the encoded body, or JSON null for a batch that could not
	// be encoded (its records are then named in Keys).
	Payload json.RawMessage   `json:"payload"`
	Keys    []json.RawMessage `json:"keys,omitempty"`
}

// ParseDeadLetterLine reads one line of a dead-letter file. The error quotes
// at most 200 bytes of it.
func ParseDeadLetterLine(line []byte) (DeadLetterLine, error) {
	var l DeadLetterLine
	if err := json.Unmarshal(line, &l); err != nil {
		return l, fmt.Errorf("dispatch: not a dead-letter line (%v): %q", err, clip(line))
	}
	if l.Target == "" {
		return l, fmt.Errorf("dispatch: dead-letter line names no target: %q", clip(line))
	}
	return l, nil
}

// Batch returns the batch to send again: the line's target, format, content
// type and payload. The file keeps the payload, not the records, so Records
// holds l.Records placeholders that carry only the target: enough for the
// counts (and HTTP's X-Notifymux-Records header) of a Dispatcher that posts
// the payload, such as HTTP.
func (l *DeadLetterLine) Batch() (batch.Batch, error) {
	if len(l.Payload) == 0 || string(l.Payload) == "null" {
		return batch.Batch{}, fmt.Errorf("dispatch: dead letter for target %q has no payload (its %d records could not be encoded)", l.Target, l.Records)
	}
	f, err := batch.ParseFormat(l.Format)
	if err != nil {
		return batch.Batch{}, fmt.Errorf("dispatch: dead letter for target %q: %w", l.Target, err)
	}
	if l.Records < 0 {
		return batch.Batch{}, fmt.Errorf("dispatch: dead letter for target %q: records %d", l.Target, l.Records)
	}
	recs := make([]batch.Record, l.Records)
	for i := range recs {
		recs[i].Target = l.Target
	}
	return batch.Batch{Target: l.Target, Format: f, ContentType: l.ContentType, Payload: l.Payload, Records: recs, Opened: l.Opened}, nil
}

// RedriveConfig configures RedriveFile.
type RedriveConfig struct {
	// Dispatcher delivers the payloads. Required.
	Dispatcher Dispatcher
	// Policy decides retries, as for a Pipeline. Its MaxEventAge is
	// ignored: the records are old by definition.
	Policy RetryPolicy
	// AttemptTimeout bounds one attempt. Default: none (the Dispatcher's
	// own, such as HTTPConfig.Timeout).
	AttemptTimeout time.Duration
	// Checkpoint is the file that holds the progress. Default: the
	// dead-letter file's path + ".redrive".
	Checkpoint string
	// Failed receives, unchanged, each line that could not be delivered
	// again. Required.
	Failed io.Writer
	// OnLine, if set, is called after each line is settled.
	OnLine func(l DeadLetterLine, err error, s RedriveStats)
}

// RedriveStats counts a redrive. Records are counted from each line's
// "records" field.
type RedriveStats struct {
	Lines, Records             int   // settled this run
	SentLines, SentRecords     int   // delivered
	FailedLines, FailedRecords int   // copied to Failed
	Skipped                    int64 // bytes before the checkpoint, not read again
	Done                       bool  // the end of the file was reached
}

// ErrRedriveInterrupted is wrapped by RedriveFile's error when ctx ended
// before the end of the file; the checkpoint holds where to resume.
var ErrRedriveInterrupted = errors.New("redrive interrupted")

// RedriveFile sends the dead letters of the file at path back through
// cfg.Dispatcher, starting at the checkpoint, and returns what it did. When
// the whole file is settled, the checkpoint stays (at the end of the file),
// so a repeat sends nothing; delete it to send the file again.
func RedriveFile(ctx context.Context, path string, cfg RedriveConfig) (RedriveStats, error) {
	var st RedriveStats
	if cfg.Dispatcher == nil {
		return st, &ConfigError{Field: "RedriveConfig.Dispatcher", Value: nil, Reason: "required"}
	}
	if cfg.Failed == nil {
		return st, &ConfigError{Field: "RedriveConfig.Failed", Value: nil, Reason: "required"}
	}
	if cfg.Checkpoint == "" {
		cfg.Checkpoint = path + ".redrive"
	}
	cfg.Policy.MaxEventAge = 0
	f, err := os.Open(path)
	if err != nil {
		return st, fmt.Errorf("dispatch: redrive: %w", err)
	}
	defer f.Close()
	off, err := readCheckpoint(cfg.Checkpoint)
	if err != nil {
		return st, err
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return st, fmt.Errorf("dispatch: redrive: %s: seek to checkpoint %d: %w", path, off, err)
	}
	st.Skipped = off
	r := bufio.NewReaderSize(f, 64<<10)
	for {
		if ctx.Err() != nil {
			return st, fmt.Errorf("dispatch: %w at byte %d of %s (checkpoint %s): %w", ErrRedriveInterrupted, off, path, cfg.Checkpoint, ctx.Err())
		}
		line, rerr := r.ReadBytes('\n')
		if rerr != nil && rerr != io.EOF {
			return st, fmt.Errorf("dispatch: redrive: read %s: %w", path, rerr)
		}
		if rerr == io.EOF && len(line) > 0 && line[len(line)-1] != '\n' {
			// A line still being written (or cut by a crash): stop before it.
			line = nil
		}
		if len(line) == 0 {
			st.Done = true
			return st, nil
		}
		next := off + int64(len(line))
		body := bytes.TrimSpace(line)
		if len(body) == 0 {
			off = next
			continue
		}
		l, err := ParseDeadLetterLine(body)
		if err == nil {
			err = redriveLine(ctx, &cfg, &l)
		}
		if ctx.Err() != nil && err != nil && !IsPermanent(err) {
			// Interrupted during its attempts: the line stays for the next run.
			return st, fmt.Errorf("dispatch: %w at byte %d of %s (checkpoint %s): %w", ErrRedriveInterrupted, off, path, cfg.Checkpoint, ctx.Err())
		}
		st.Lines++
		st.Records += l.Records
		if err == nil {
			st.SentLines++
			st.SentRecords += l.Records
		} else {
			if _, werr := cfg.Failed.Write(line); werr != nil {
				return st, fmt.Errorf("dispatch: redrive: keep the failed line at byte %d: %w", off, werr)
			}
			st.FailedLines++
			st.FailedRecords += l.Records
		}
		off = next
		if err := writeCheckpoint(cfg.Checkpoint, off); err != nil {
			return st, err
		}
		if cfg.OnLine != nil {
			cfg.OnLine(l, err, st)
		}
	}
}

// redriveLine delivers one line, with the policy's retries.
func redriveLine(ctx context.Context, cfg *RedriveConfig, l *DeadLetterLine) error {
	b, err := l.Batch()
	if err != nil {
		return Permanent(err)
	}
	for attempts := 1; ; attempts++ {
		err := Attempt(ctx, cfg.Dispatcher, b, cfg.AttemptTimeout)
		if err == nil {
			return nil
		}
		wait, reason, cause := cfg.Policy.Next(err, attempts, b.Opened, time.Now())
		if reason != "" {
			return cause
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		}
	}
}

// readCheckpoint returns the offset saved in path, or 0 when there is none.
func readCheckpoint(path string) (int64, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("dispatch: redrive checkpoint: %w", err)
	}
	off, err := strconv.ParseInt(string(bytes.TrimSpace(data)), 10, 64)
	if err != nil || off < 0 {
		return 0, fmt.Errorf("dispatch: redrive checkpoint %s holds %q, not a byte offset", path, clip(data))
	}
	return off, nil
}

// writeCheckpoint replaces the checkpoint with off (a new file renamed into
// place, so a crash leaves the old value or the new one).
func writeCheckpoint(path string, off int64) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, strconv.AppendInt(nil, off, 10), 0o600); err != nil {
		return fmt.Errorf("dispatch: redrive checkpoint: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("dispatch: redrive checkpoint: %w", err)
	}
	return nil
}

// clip returns at most 200 bytes of b, for error messages.
func clip(b []byte) []byte {
	if len(b) > 200 {
		return b[:200]
	}
	return b
}
