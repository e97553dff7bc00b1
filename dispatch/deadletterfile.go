// This file is the dead-letter file: JSON lines appended to a file that is
// opened (and created, mode 0o600) by the first dead letter, so that a
// process with nothing to dead-letter leaves no file behind.

package dispatch

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/notifymux/notifymux/batch"
)

// DeadLetterFile is a DeadLetterDispatcher that appends each dead letter as
// one JSON line (the format of JSONLines.DispatchDeadLetter) to the file at
// its path. The file is opened on the first dead letter, not before. It is
// safe for concurrent use.
type DeadLetterFile struct {
	path    string
	mu      sync.Mutex
	jl      *JSONLines
	records atomic.Int64
}

// NewDeadLetterFile returns a DeadLetterFile that appends to path. Nothing
// is opened or created until the first dead letter; an error opening the
// file then is returned by that DispatchDeadLetter call.
func NewDeadLetterFile(path string) *DeadLetterFile { return &DeadLetterFile{path: path} }

// Path returns the file's path.
func (d *DeadLetterFile) Path() string { return d.path }

// Records returns the number of records written to the file so far.
func (d *DeadLetterFile) Records() int64 { return d.records.Load() }

// open returns the JSONLines of the file, opening it on first use.
func (d *DeadLetterFile) open() (*JSONLines, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.jl == nil {
		jl, err := OpenDeadLetterFile(d.path)
		if err != nil {
			return nil, err
		}
		d.jl = jl
	}
	return d.jl, nil
}

// opened returns the JSONLines if the file was opened, else nil.
func (d *DeadLetterFile) opened() *JSONLines {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.jl
}

// ReleasesBatches reports true: a dead letter is written out before
// DispatchDeadLetter returns, so a Pipeline may recycle its batch.
func (d *DeadLetterFile) ReleasesBatches() bool { return true }

// Dispatch writes b as a dead letter with no reason.
func (d *DeadLetterFile) Dispatch(ctx context.Context, b batch.Batch) error {
	return d.DispatchDeadLetter(ctx, DeadLetter{Batch: b})
}

// DispatchDeadLetter appends dl to the file, opening it if needed.
func (d *DeadLetterFile) DispatchDeadLetter(ctx context.Context, dl DeadLetter) error {
	jl, err := d.open()
	if err != nil {
		return err
	}
	if err := jl.DispatchDeadLetter(ctx, dl); err != nil {
		return err
	}
	d.records.Add(int64(len(dl.Batch.Records)))
	return nil
}

// Flush syncs the file to disk, if it was opened.
func (d *DeadLetterFile) Flush(ctx context.Context) error {
	if jl := d.opened(); jl != nil {
		return jl.Flush(ctx)
	}
	return nil
}

// Close syncs and closes the file, if it was opened. A later dead letter
// opens it again.
func (d *DeadLetterFile) Close(ctx context.Context) error {
	d.mu.Lock()
	jl := d.jl
	d.jl = nil
	d.mu.Unlock()
	if jl == nil {
		return nil
	}
	return jl.Close(ctx)
}

var _ interface {
	DeadLetterDispatcher
	Flusher
	Closer
	Releaser
} = (*DeadLetterFile)(nil)
