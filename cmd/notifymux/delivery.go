// This file holds the delivery flags that run and serve share: their
// values, their checks, and the retry and batching settings derived from
// them, so that both commands deliver alike.

package main

import (
	"flag"
	"fmt"
	"time"

	"github.com/notifymux/notifymux/batch"
	"github.com/notifymux/notifymux/dispatch"
)

// deliveryOptions are the values of the shared delivery flags.
type deliveryOptions struct {
	queue, workers, maxRecords, maxBytes int
	maxWait, timeout                     time.Duration
	retries                              int
	backoff, drain                       time.Duration
}

// invalid returns what is wrong with the first bad delivery flag of fs, as
// "-queue 0: want at least 1", or "" when every one is good.
func (d *deliveryOptions) invalid(fs *flag.FlagSet) string {
	for _, c := range []struct {
		name string
		bad  bool
		want string
	}{
		{"-queue", d.queue < 1, "at least 1"},
		{"-workers", d.workers < 0, "0 (the default) or more"},
		{"-max-records", d.maxRecords < 1, "at least 1"},
		{"-max-bytes", d.maxBytes < 1, "at least 1"},
		{"-max-wait", d.maxWait <= 0, "positive"},
		{"-timeout", d.timeout <= 0, "positive"},
		{"-retries", d.retries < 0, "0 or more"},
		{"-backoff", d.backoff <= 0, "positive"},
		{"-drain", d.drain < 0, "0 or more"},
	} {
		if c.bad {
			return fmt.Sprintf("%s %s: want %s", c.name, fs.Lookup(c.name[1:]).Value, c.want)
		}
	}
	return ""
}

// batchConfig returns the batching of payloads in format f.
func (d *deliveryOptions) batchConfig(f batch.Format) batch.Config {
	return batch.Config{MaxRecords: d.maxRecords, MaxBytes: d.maxBytes, MaxWait: d.maxWait, Format: f}
}

// maxRetries returns -retries as a dispatch.Config.MaxRetries value, where 0
// would mean the default: -retries 0 is dispatch.NoRetries.
func (d *deliveryOptions) maxRetries() int {
	if d.retries == 0 {
		return dispatch.NoRetries
	}
	return d.retries
}

// retryMax returns the longest backoff: 30 s, or -backoff when longer.
func (d *deliveryOptions) retryMax() time.Duration { return max(d.backoff, 30*time.Second) }
