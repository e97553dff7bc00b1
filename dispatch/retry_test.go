package dispatch

import (
	"errors"
	"testing"
	"time"
)

func TestRetryPolicyNext(t *testing.T) {
	p := RetryPolicy{MaxRetries: 2, RetryBase: time.Second, RetryMax: 4 * time.Second, MaxEventAge: time.Minute}
	t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	fail := errors.New("boom")
	for _, tc := range []struct {
		name     string
		err      error
		attempts int
		now      time.Time
		reason   DeadLetterReason
		minWait  time.Duration
		maxWait  time.Duration
	}{
		{"first failure retries", fail, 1, t0, "", 0, time.Second},
		{"second failure retries", fail, 2, t0, "", 0, 2 * time.Second},
		{"attempts run out", fail, 3, t0, ReasonRetries, 0, 0},
		{"permanent", Permanent(fail), 1, t0, ReasonPermanent, 0, 0},
		{"retry-after is honoured", RetryAfter(fail, 10*time.Second), 1, t0, "", 10 * time.Second, 10 * time.Second},
		{"next attempt past the age", RetryAfter(fail, 10*time.Second), 1, t0.Add(55 * time.Second), ReasonMaxAge, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wait, reason, cause := p.Next(tc.err, tc.attempts, t0, tc.now)
			if reason != tc.reason {
				t.Fatalf("reason = %q, want %q", reason, tc.reason)
			}
			if !errors.Is(cause, fail) {
				t.Errorf("cause = %v, does not wrap the attempt's error", cause)
			}
			if wait < tc.minWait || wait > tc.maxWait {
				t.Errorf("wait = %v, want in [%v, %v]", wait, tc.minWait, tc.maxWait)
			}
		})
	}
	if !p.Expired(t0, t0.Add(61*time.Second)) || p.Expired(t0, t0.Add(59*time.Second)) {
		t.Error("Expired does not draw the line at MaxEventAge")
	}
}

func TestConfigRetryPolicy(t *testing.T) {
	got, err := Config{MaxRetries: NoRetries, RetryBase: time.Second}.RetryPolicy()
	if err != nil {
		t.Fatal(err)
	}
	want := RetryPolicy{MaxRetries: 0, RetryBase: time.Second, RetryMax: 10 * time.Minute, MaxEventAge: 6 * time.Hour}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if _, err := (Config{RetryBase: -1}).RetryPolicy(); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("negative RetryBase: err = %v, want ErrInvalidConfig", err)
	}
}
