// This file defines the Clock the Pipeline reads time from. Everything the
// Pipeline schedules (batch MaxWait, retry backoff, Retry-After, maximum
// event age) goes through it, so a test can replace it with a fake clock
// and compress a two-minute outage into milliseconds. Per-request timeouts
// of the HTTP dispatcher and Config.AttemptTimeout are context deadlines in
// real time.

package dispatch

import "time"

// Clock tells the time and waits. It must be safe for concurrent use.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// After returns a channel that receives the time once d has passed.
	After(d time.Duration) <-chan time.Time
}

// SystemClock is the real clock (time.Now and time.After).
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// After returns time.After(d).
func (SystemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
