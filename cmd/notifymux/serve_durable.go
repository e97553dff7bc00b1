// This file wires durable delivery into serve (-durable, the default): an
// embedded NATS server with JetStream under <data>/jetstream, or an external
// one (-nats), the event and dead-letter streams, a Publisher that ingest
// hands records to, and a Deliverer that delivers them through the same
// Dispatcher as the in-memory pipeline would. The logic is package
// dispatch/jetstream's; this file only parses flags and wires it.

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/notifymux/notifymux/dispatch"
	"github.com/notifymux/notifymux/dispatch/gateway"
	js "github.com/notifymux/notifymux/dispatch/jetstream"
)

const secretNATSToken = "nats-token"

// durableOptions are the flags of durable delivery.
type durableOptions struct {
	on              bool
	natsURL, listen string
	fsync           string
	sync            js.SyncMode
	streamMaxBytes  int64
	streamMaxMsgs   int64
	deadMaxBytes    int64
	ackWait         time.Duration
	replicas        int
	names           js.Names
	token           string
	cluster         string // the NATS cluster the embedded server joins
	clusterListen   string
	routes          string
	serverName      string
}

func (d *durableOptions) register(fs *flag.FlagSet) {
	fs.BoolVar(&d.on, "durable", true, "deliver through NATS JetStream streams that survive a crash; false keeps records in memory (lost if the process dies)")
	fs.StringVar(&d.natsURL, "nats", "", "with -durable, the URL of an external NATS server or cluster (comma-separated); default: an embedded server under <data>/jetstream")
	fs.StringVar(&d.listen, "nats-listen", "", "with the embedded server, the host:port on which it accepts other gateways (token auth: $NOTIFYMUX_NATS_TOKEN, else <data>/secrets/nats-token); default: no port")
	fs.StringVar(&d.fsync, "fsync", "interval", "when the embedded server syncs its files: interval (survives a killed process) or always (also a power loss, much slower)")
	fs.Int64Var(&d.streamMaxBytes, "stream-max-bytes", 1<<30, "the most bytes the event stream holds; past it ingest refuses records (503 with Retry-After)")
	fs.Int64Var(&d.streamMaxMsgs, "stream-max-msgs", 0, "the most records the event stream holds (0: only -stream-max-bytes)")
	fs.Int64Var(&d.deadMaxBytes, "dead-max-bytes", 1<<30, "the most bytes the dead-letter stream holds; past it records wait in the event stream")
	fs.DurationVar(&d.ackWait, "ack-wait", js.DefaultAckWait, "how long a record fetched by a gateway that stopped answering waits before another delivers it")
	fs.IntVar(&d.replicas, "replicas", 1, "copies of each stream in a NATS cluster (1, 3 or 5)")
	fs.StringVar(&d.names.Stream, "stream", js.DefaultStream, "the event stream")
	fs.StringVar(&d.names.DeadStream, "dead-stream", js.DefaultDeadStream, "the dead-letter stream")
	fs.StringVar(&d.names.Consumer, "consumer", js.DefaultConsumer, "the durable consumer every gateway shares")
	fs.StringVar(&d.names.ConfigStore, "config-bucket", js.DefaultConfigStore, "the key-value bucket of configurations every gateway shares")
	fs.StringVar(&d.cluster, "nats-cluster", "", "with -nats-listen, the name of a NATS cluster the embedded server is a node of (with -nats-cluster-listen and -nats-routes; every node needs the same token)")
	fs.StringVar(&d.clusterListen, "nats-cluster-listen", "", "with -nats-cluster, the host:port the embedded server accepts the other nodes' routes on")
	fs.StringVar(&d.routes, "nats-routes", "", "with -nats-cluster, the host:port route listeners of the nodes, comma-separated (the same list on every node; a node skips its own)")
	fs.StringVar(&d.serverName, "nats-name", "", "with -nats-cluster, this node's name, unique in the cluster and the same across restarts (default: the host name)")
}

// check validates the flags; it returns 0 or the exit status.
func (d *durableOptions) check(stderr io.Writer) int {
	var err error
	if d.sync, err = js.ParseSyncMode(d.fsync); err != nil {
		return usageError(stderr, "serve", "-fsync %q: want always or interval", clip(d.fsync))
	}
	switch {
	case d.natsURL != "" && d.listen != "":
		return usageError(stderr, "serve", "-nats and -nats-listen exclude each other: -nats uses another server, -nats-listen opens the embedded one")
	case !d.on && (d.natsURL != "" || d.listen != ""):
		return usageError(stderr, "serve", "-nats and -nats-listen need -durable")
	case d.streamMaxBytes < 1 || d.deadMaxBytes < 1:
		return usageError(stderr, "serve", "-stream-max-bytes and -dead-max-bytes: want at least 1")
	case d.streamMaxMsgs < 0:
		return usageError(stderr, "serve", "-stream-max-msgs: want 0 or more")
	case d.ackWait < time.Second:
		return usageError(stderr, "serve", "-ack-wait %v: want at least 1s", d.ackWait)
	case d.replicas != 1 && d.replicas != 3 && d.replicas != 5:
		return usageError(stderr, "serve", "-replicas %d: want 1, 3 or 5", d.replicas)
	case d.cluster == "" && (d.clusterListen != "" || d.routes != "" || d.serverName != ""):
		return usageError(stderr, "serve", "-nats-cluster-listen, -nats-routes and -nats-name need -nats-cluster")
	case d.cluster != "" && d.listen == "":
		return usageError(stderr, "serve", "-nats-cluster needs -nats-listen: the embedded server opens its routes only with a client port")
	case d.cluster != "" && (d.clusterListen == "" || d.routes == ""):
		return usageError(stderr, "serve", "-nats-cluster needs -nats-cluster-listen and -nats-routes")
	}
	if d.cluster != "" && d.serverName == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			return usageError(stderr, "serve", "-nats-cluster: give -nats-name (the host name is unknown: %v)", err)
		}
		d.serverName = h
	}
	return 0
}

// readToken sets the NATS token: $NOTIFYMUX_NATS_TOKEN, else
// <data>/secrets/nats-token, generated there when the embedded server
// listens. It returns the path of a generated token, or "".
func (d *durableOptions) readToken(secretsDir string) (string, error) {
	if v := os.Getenv("NOTIFYMUX_NATS_TOKEN"); v != "" {
		d.token = v
		return "", nil
	}
	path := filepath.Join(secretsDir, secretNATSToken)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		d.token = strings.TrimRight(string(b), "\r\n")
		if d.token == "" {
			return "", fmt.Errorf("%s is empty; remove it to have a new token generated", path)
		}
		return "", nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", err
	case d.listen == "":
		return "", nil // in-process, or -nats without a token
	}
	d.token = randomBase64(32)
	return path, writeSecret(secretsDir, secretNATSToken, d.token)
}

// durableStage is the running durable delivery of serve.
type durableStage struct {
	srv     *js.Server // nil with -nats
	nc      *nats.Conn
	pub     *js.Publisher
	del     *js.Deliverer
	configs *js.ConfigStore
}

// startDurable starts (or connects to) NATS, ensures the streams and starts
// delivering through d.
func startDurable(o *serveOptions, d dispatch.Dispatcher, log *slog.Logger) (*durableStage, error) {
	do := &o.durable
	s := &durableStage{}
	var err error
	if do.natsURL != "" {
		s.nc, err = js.Connect(do.natsURL, do.token)
	} else {
		cfg := js.ServerConfig{StoreDir: filepath.Join(o.data, "jetstream"), Listen: do.listen, Token: do.token, Sync: do.sync}
		if do.cluster != "" {
			cfg.ServerName = do.serverName
			cfg.Cluster = js.ClusterConfig{Name: do.cluster, Listen: do.clusterListen, Routes: splitList(do.routes)}
		}
		s.srv, err = js.StartServer(cfg)
		if err == nil {
			s.nc, err = s.srv.Connect()
		}
	}
	if err != nil {
		s.close(context.Background(), log)
		return nil, err
	}
	j, err := jetstream.New(s.nc)
	if err != nil {
		s.close(context.Background(), log)
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = js.EnsureStreams(ctx, j, js.StreamConfig{Names: do.names, MaxBytes: do.streamMaxBytes, MaxMsgs: do.streamMaxMsgs,
		DeadMaxBytes: do.deadMaxBytes, Replicas: do.replicas})
	if err != nil {
		s.close(context.Background(), log)
		return nil, err
	}
	if s.configs, err = js.OpenConfigStore(ctx, j, do.names.ConfigStore, do.replicas); err != nil {
		s.close(context.Background(), log)
		return nil, err
	}
	s.pub = js.NewPublisher(j, do.names)
	s.del, err = js.NewDeliverer(ctx, j, js.DeliveryConfig{
		Names:      do.names,
		Dispatcher: d,
		OnDeadLetterError: func(dl dispatch.DeadLetter, err error) {
			log.Error("a dead letter could not be stored; the record stays in the event stream", "target", dl.Batch.Target,
				"error", err.Error(), "delivery_error", fmt.Sprint(dl.Err))
		},
		Batch:      o.batchConfig(o.format),
		MaxRetries: o.maxRetries(),
		RetryBase:  o.backoff,
		RetryMax:   o.retryMax(),
		AckWait:    do.ackWait,
	})
	if err != nil {
		s.close(context.Background(), log)
		return nil, err
	}
	return s, nil
}

// watchConfigs applies to g every configuration change any gateway makes
// in the key-value bucket, until the returned function is called.
func (s *durableStage) watchConfigs(g *gateway.Gateway, log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			err := s.configs.Watch(ctx, func(c js.ConfigChange, ready bool) error {
				if ready {
					return nil
				}
				if err := g.Apply(c.Bucket, c.Doc); err != nil {
					log.Error("a stored configuration could not be applied", "bucket", c.Bucket, "error", err.Error())
				}
				return nil
			})
			if err != nil && ctx.Err() == nil {
				log.Error("watching the configurations failed; watching again", "error", err.Error())
				select {
				case <-time.After(time.Second):
				case <-ctx.Done():
				}
			}
		}
	}()
	return func() { cancel(); <-done } // waits until no more log lines come from the watch
}

// where describes the NATS server for the log.
func (s *durableStage) where(o *serveOptions) string {
	switch {
	case o.durable.natsURL != "":
		return o.durable.natsURL
	case s.srv.RouteAddr() != "":
		return "embedded, listening on " + s.srv.ClientURL() + ", node " + s.srv.Name() + " of cluster " + o.durable.cluster + " (routes on " + s.srv.RouteAddr() + ")"
	case s.srv.ClientURL() != "":
		return "embedded, listening on " + s.srv.ClientURL()
	}
	return "embedded, in-process"
}

// close stops delivering within ctx (what is not delivered stays in the
// stream) and stops NATS. It returns the Deliverer's error.
func (s *durableStage) close(ctx context.Context, log *slog.Logger) error {
	var err error
	if s.del != nil {
		err = s.del.Close(ctx)
		st := s.del.Stats()
		log.Info("durable delivery stopped", "fetched", st.Fetched, "delivered", st.Delivered, "retried", st.Retried,
			"dead_lettered", st.DeadLettered, "dead_letter_failed", st.DeadLetterFailed, "left_in_stream", st.Released)
	}
	if s.nc != nil {
		_ = s.nc.Flush() // the last acknowledgements
		s.nc.Close()
	}
	if s.srv != nil {
		s.srv.Shutdown()
	}
	return err
}

// splitList splits a comma-separated list, dropping spaces and empty items.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
