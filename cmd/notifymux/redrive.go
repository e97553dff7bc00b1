package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/notifymux/notifymux/batch"
	"github.com/notifymux/notifymux/dispatch"
	js "github.com/notifymux/notifymux/dispatch/jetstream"
)

func init() {
	register(&command{
		name:    "redrive",
		usage:   "-file DEAD.jsonl [-to -|URL|TARGETS.json] [flags] | -nats URL | -data DIR [-target T] [flags]",
		summary: "send dead letters back for delivery, once their function is fixed",
		help: `Three sources of dead letters:

  -file FILE   a dead-letter file of run or of serve without NATS (JSON lines).
               Each line's payload is posted again to its target (-to, as for
               run; HTTP requests are signed afresh with -secret-file or
               $NOTIFYMUX_SECRET), with -retries retries. A line that still
               fails is appended, unchanged, to -failed (default FILE.failed).
               Progress is kept in FILE.redrive: an interrupted redrive
               resumes there when run again; delete it to send the file again.
  -nats URL    the dead-letter stream of durable delivery (NOTIFYMUX_DEAD) on
               the NATS server or cluster at URL, with the token of
               $NOTIFYMUX_NATS_TOKEN or -nats-token-file. Each record is
               published again to the event stream (NOTIFYMUX_EVENTS), where
               the gateways deliver it, and removed from the dead-letter
               stream once stored. What was redriven is gone from the
               dead-letter stream, so an interrupted redrive resumes by running
               it again. With -target only that target's records are sent.
  -data DIR    the same, in the embedded NATS server's store of a stopped
               serve -data DIR (DIR/jetstream), which redrive opens itself;
               the records are delivered when serve starts again. Refused
               while a serve runs on DIR (it holds DIR/jetstream): stop it,
               or start it with -nats-listen and use -nats.

Each record is counted. On interrupt (SIGINT, SIGTERM) redrive stops between
records and prints what it did.

Exit status: 0 when every dead letter was sent; 1 when some could not be (or
the redrive was interrupted); 2 for bad usage or an unreadable source.
`,
		run: runRedrive,
	})
}

func runRedrive(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("redrive")
	file := fs.String("file", "", "the dead-letter file (JSON lines) to send again")
	failed := fs.String("failed", "", "where lines that still fail are appended (default: -file + \".failed\")")
	to := fs.String("to", "-", "with -file, where payloads go: - (standard output), an http(s) URL, or a JSON file of target → URL")
	secretFile := fs.String("secret-file", "", "a file holding the HMAC-SHA256 key for HTTP deliveries")
	timeout := fs.Duration("timeout", 10*time.Second, "the time limit of one HTTP delivery attempt")
	retries := fs.Int("retries", 2, "delivery attempts after the first, for each line of -file")
	backoff := fs.Duration("backoff", time.Second, "the backoff before the first retry (random up to this, doubling for each next retry)")
	natsURL := fs.String("nats", "", "the NATS server or cluster of durable delivery, whose dead-letter stream is sent again")
	data := fs.String("data", "", "the data directory of a stopped serve, whose embedded dead-letter stream is sent again")
	tokenFile := fs.String("nats-token-file", "", "a file holding the NATS token (default: $NOTIFYMUX_NATS_TOKEN)")
	stream := fs.String("stream", js.DefaultStream, "the event stream")
	deadStream := fs.String("dead-stream", js.DefaultDeadStream, "the dead-letter stream")
	target := fs.String("target", "", "with -nats or -data, send only the records of this target")
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(stderr, "redrive", "unexpected argument %q", fs.Arg(0))
	}
	if sources := btoi(*file != "") + btoi(*natsURL != "") + btoi(*data != ""); sources != 1 {
		return usageError(stderr, "redrive", "give one source: -file FILE, -nats URL or -data DIR")
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	rcfg := js.RedriveConfig{Names: js.Names{Stream: *stream, DeadStream: *deadStream}, Target: *target}
	if *natsURL != "" {
		token, err := readNATSToken(*tokenFile)
		if err != nil {
			fmt.Fprintf(stderr, "notifymux redrive: %v\n", err)
			return exitUsage
		}
		nc, err := js.Connect(*natsURL, token)
		if err != nil {
			fmt.Fprintf(stderr, "notifymux redrive: %v\n", err)
			return exitUsage
		}
		defer nc.Close()
		return redriveStream(ctx, nc, rcfg, stderr)
	}
	if *data != "" {
		return redriveData(ctx, *data, rcfg, stderr)
	}
	if *retries < 0 || *timeout <= 0 || *backoff <= 0 {
		return usageError(stderr, "redrive", "-retries must be 0 or more, -timeout and -backoff positive")
	}
	var d dispatch.Dispatcher
	var out *bufio.Writer
	if *to == "-" {
		out = bufio.NewWriter(stdout)
		defer out.Flush()
		d = dispatch.NewJSONLines(out)
	} else {
		secret, err := readSecret(*secretFile)
		if err != nil {
			fmt.Fprintf(stderr, "notifymux redrive: %v\n", err)
			return exitUsage
		}
		if secret == nil {
			return usageError(stderr, "redrive", "-to %s needs the HMAC key the functions verify: give -secret-file FILE or $NOTIFYMUX_SECRET", *to)
		}
		cfg := dispatch.HTTPConfig{Secret: secret, Timeout: *timeout}
		if strings.HasPrefix(*to, "http://") || strings.HasPrefix(*to, "https://") {
			cfg.DefaultURL = *to
		} else if cfg.Targets, err = dispatch.LoadTargetsFile(*to); err != nil {
			fmt.Fprintf(stderr, "notifymux redrive: -to: %v\n", err)
			return exitUsage
		}
		h, err := dispatch.NewHTTP(cfg)
		if err != nil {
			fmt.Fprintf(stderr, "notifymux redrive: -to %s: %v\n", *to, err)
			return exitUsage
		}
		defer h.Close(context.Background())
		d = h
	}
	if *failed == "" {
		*failed = *file + ".failed"
	}
	ff, err := os.OpenFile(*failed, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		fmt.Fprintf(stderr, "notifymux redrive: -failed: %v\n", err)
		return exitUsage
	}
	defer ff.Close()
	st, err := dispatch.RedriveFile(ctx, *file, dispatch.RedriveConfig{
		Dispatcher: d,
		Policy:     dispatch.RetryPolicy{MaxRetries: *retries, RetryBase: *backoff, RetryMax: max(*backoff, 30*time.Second)},
		Failed:     ff,
		OnLine: func(l dispatch.DeadLetterLine, err error, _ dispatch.RedriveStats) {
			if err != nil {
				fmt.Fprintf(stderr, "notifymux redrive: %d records for %s kept in %s: %v\n", l.Records, l.Target, *failed, err)
			}
		},
	})
	if out != nil {
		if ferr := out.Flush(); ferr != nil && err == nil {
			err = ferr
		}
	}
	if serr := ff.Sync(); serr != nil && err == nil {
		err = serr
	}
	fmt.Fprintf(stderr, "notifymux redrive: %s sent (%s), %s failed (%s, in %s)",
		count(uint64(st.SentRecords), "record", "records"), count(uint64(st.SentLines), "line", "lines"),
		count(uint64(st.FailedRecords), "record", "records"), count(uint64(st.FailedLines), "line", "lines"), *failed)
	if st.Skipped > 0 {
		fmt.Fprintf(stderr, "; resumed after byte %d", st.Skipped)
	}
	fmt.Fprintln(stderr)
	switch {
	case errors.Is(err, dispatch.ErrRedriveInterrupted):
		fmt.Fprintf(stderr, "notifymux redrive: interrupted; run the same command again to resume\n")
		return exitFindings
	case err != nil && st.Lines == 0 && !st.Done:
		fmt.Fprintf(stderr, "notifymux redrive: %v\n", err)
		return exitUsage
	case err != nil:
		fmt.Fprintf(stderr, "notifymux redrive: %v\n", err)
		return exitFindings
	case st.FailedLines > 0:
		return exitFindings
	}
	return exitOK
}

// redriveData redrives the dead-letter stream in the embedded server's
// store of a stopped serve -data dir, with a server of its own on that
// store (no port). StartServer refuses a store that a running serve holds.
func redriveData(ctx context.Context, dir string, cfg js.RedriveConfig, stderr io.Writer) int {
	store := filepath.Join(dir, "jetstream")
	if fi, err := os.Stat(filepath.Join(store, "jetstream")); err != nil || !fi.IsDir() {
		fmt.Fprintf(stderr, "notifymux redrive: -data %s: no JetStream store in %s (the -data of a serve run with the embedded server)\n", dir, store)
		return exitUsage
	}
	srv, err := js.StartServer(js.ServerConfig{StoreDir: store})
	if errors.Is(err, js.ErrStoreLocked) {
		fmt.Fprintf(stderr, "notifymux redrive: -data %s: %v\n  a serve runs on it: stop it first, or start it with -nats-listen and use redrive -nats\n", dir, err)
		return exitUsage
	}
	if err != nil {
		fmt.Fprintf(stderr, "notifymux redrive: -data %s: %v\n", dir, err)
		return exitUsage
	}
	defer srv.Shutdown()
	nc, err := srv.Connect()
	if err != nil {
		fmt.Fprintf(stderr, "notifymux redrive: %v\n", err)
		return exitUsage
	}
	defer nc.Close()
	return redriveStream(ctx, nc, cfg, stderr)
}

// redriveStream redrives the dead-letter stream of the NATS server nc is
// connected to.
func redriveStream(ctx context.Context, nc *nats.Conn, cfg js.RedriveConfig, stderr io.Writer) int {
	j, err := jetstream.New(nc)
	if err != nil {
		fmt.Fprintf(stderr, "notifymux redrive: %v\n", err)
		return exitUsage
	}
	cfg.OnRecord = func(r batch.Record, err error, _ js.RedriveStats) {
		if err != nil {
			fmt.Fprintf(stderr, "notifymux redrive: a message kept in the dead-letter stream: %v\n", err)
		}
	}
	st, err := js.Redrive(ctx, j, cfg)
	fmt.Fprintf(stderr, "notifymux redrive: %s sent back to the event stream, %d already sent by an interrupted run, %d left in the dead-letter stream",
		count(uint64(st.Redriven), "record", "records"), st.Duplicates, st.Remaining)
	if st.Skipped > 0 {
		fmt.Fprintf(stderr, " (%d for other targets)", st.Skipped)
	}
	if st.Invalid > 0 {
		fmt.Fprintf(stderr, " (%d not records)", st.Invalid)
	}
	fmt.Fprintln(stderr)
	switch {
	case errors.Is(err, dispatch.ErrRedriveInterrupted):
		fmt.Fprintf(stderr, "notifymux redrive: interrupted; run the same command again to resume\n")
		return exitFindings
	case err != nil:
		fmt.Fprintf(stderr, "notifymux redrive: %v\n", err)
		return exitFindings
	case st.Invalid > 0:
		return exitFindings
	}
	return exitOK
}

// readNATSToken returns the NATS token from file, or else from
// $NOTIFYMUX_NATS_TOKEN ("" when neither is given).
func readNATSToken(file string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("-nats-token-file: %v", err)
		}
		t := strings.TrimRight(string(b), "\r\n")
		if t == "" {
			return "", fmt.Errorf("-nats-token-file %s is empty", file)
		}
		return t, nil
	}
	return os.Getenv("NOTIFYMUX_NATS_TOKEN"), nil
}

// btoi is 1 for true, 0 for false.
func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
