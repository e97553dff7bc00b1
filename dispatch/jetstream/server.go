// This file starts an embedded NATS server with JetStream, the default
// engine of durable delivery: one process, file storage under a data
// directory, and no port unless one is asked for. With DontListen the
// server is reached only in-process (nats.InProcessServer), so a gateway
// on a laptop opens nothing; with a listen address it accepts other
// gateways, and then requires a token. With a cluster name and a route
// listener it is one node of a NATS cluster: JetStream is clustered, and a
// stream of Replicas 3 keeps each record on three nodes. Routes carry the
// same token (as the password of user "notifymux"): a node that does not
// know it cannot join.

package jetstream

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// SyncMode is how often the embedded server syncs JetStream's files to disk.
type SyncMode uint8

// The sync modes.
const (
	// SyncInterval syncs on the server's interval (2 minutes by default):
	// an accepted record survives the process being killed (the data is in
	// the operating system's page cache), but not the machine losing power
	// before the next sync.
	SyncInterval SyncMode = iota
	// SyncAlways syncs every write before the publish is acknowledged: an
	// accepted record survives a power loss too, at the cost of one fsync
	// per publish.
	SyncAlways
)

// String returns "interval" or "always".
func (m SyncMode) String() string {
	if m == SyncAlways {
		return "always"
	}
	return "interval"
}

// ParseSyncMode parses "always" or "interval".
func ParseSyncMode(s string) (SyncMode, error) {
	switch s {
	case "always":
		return SyncAlways, nil
	case "interval":
		return SyncInterval, nil
	}
	return 0, fmt.Errorf("jetstream: sync mode %q: want always or interval", s)
}

// ServerConfig configures an embedded NATS server.
type ServerConfig struct {
	// StoreDir is the directory JetStream keeps its files in. Required; it
	// is created if missing.
	StoreDir string
	// Listen, if set, is the host:port the server accepts clients on
	// (port 0 picks one). Default "": no listener, in-process clients
	// only.
	Listen string
	// Token is the token clients must send. Required with Listen (a
	// listening server without authentication would let anyone who reaches
	// the port rewrite every bucket's rules); ignored without it.
	Token string
	// Sync is how often JetStream syncs to disk. Default SyncInterval.
	Sync SyncMode
	// SyncInterval is the interval of SyncInterval. Default 0: the
	// server's own (2 minutes).
	SyncInterval time.Duration
	// MaxStore bounds the disk JetStream may use, in bytes. Default 0: the
	// server's own limit (a share of the free disk).
	MaxStore int64
	// ServerName names the server (in a cluster, each needs its own).
	// Default "notifymux".
	ServerName string
	// Cluster, when its Name is set, makes the server a node of a NATS
	// cluster. Listen and Token are then required (routes are
	// authenticated with the token).
	Cluster ClusterConfig
	// ReadyTimeout bounds the start-up. Default 10 s.
	ReadyTimeout time.Duration
}

// ClusterConfig makes an embedded server one node of a NATS cluster. Every
// node has the same Name and Token and its own ServerName and StoreDir.
type ClusterConfig struct {
	// Name is the cluster's name, the same on every node.
	Name string
	// Listen is the host:port this node accepts routes from the other
	// nodes on (port 0 picks one; Server.RouteAddr tells which). Required
	// with Name.
	Listen string
	// Routes are the host:port route listeners of the other nodes, at
	// least one (JetStream refuses to cluster without). A node may list its
	// own, which it skips, so every node can be given the same list; a
	// node that reaches one other learns the rest from it.
	Routes []string
}

// routeUser is the user name of routes; their password is the token.
const routeUser = "notifymux"

// Server is an embedded NATS server with JetStream enabled.
type Server struct {
	ns         *server.Server
	cfg        ServerConfig
	url        string
	token      string
	unlock     func() // releases the lock on the store directory
	unlockOnce sync.Once
}

// ErrServerStart is wrapped by the error StartServer returns when the
// server does not come up.
var ErrServerStart = errors.New("embedded NATS server did not start")

// StartServer starts an embedded NATS server with JetStream under
// cfg.StoreDir and waits until it accepts connections. It holds the store
// directory until Shutdown: another StartServer on it, in this process or
// another, fails with ErrStoreLocked instead of corrupting its files.
func StartServer(cfg ServerConfig) (*Server, error) {
	if cfg.StoreDir == "" {
		return nil, fmt.Errorf("jetstream: ServerConfig.StoreDir is required")
	}
	if cfg.ServerName == "" {
		cfg.ServerName = "notifymux"
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 10 * time.Second
	}
	opts := &server.Options{
		ServerName:         cfg.ServerName,
		JetStream:          true,
		StoreDir:           cfg.StoreDir,
		JetStreamMaxStore:  cfg.MaxStore,
		NoSigs:             true,
		NoLog:              true,
		DontListen:         cfg.Listen == "",
		SyncAlways:         cfg.Sync == SyncAlways,
		SyncInterval:       cfg.SyncInterval,
		MaxPayload:         8 << 20,
		JetStreamMaxMemory: -1,
	}
	if cfg.Listen != "" {
		if cfg.Token == "" {
			return nil, fmt.Errorf("jetstream: ServerConfig.Token is required with Listen %q: a listener without authentication is open to anyone who reaches it", cfg.Listen)
		}
		host, p, err := splitListen(cfg.Listen)
		if err != nil {
			return nil, fmt.Errorf("jetstream: ServerConfig.Listen %w", err)
		}
		opts.Host, opts.Port = host, p
		opts.Authorization = cfg.Token
	}
	if cfg.Cluster.Name != "" {
		if err := clusterOptions(opts, cfg); err != nil {
			return nil, err
		}
	}
	unlock, err := lockStore(cfg.StoreDir)
	if err != nil {
		return nil, err
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		unlock()
		return nil, fmt.Errorf("jetstream: embedded server: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(cfg.ReadyTimeout) {
		ns.Shutdown()
		unlock()
		return nil, fmt.Errorf("jetstream: %w within %v (store %s)", ErrServerStart, cfg.ReadyTimeout, cfg.StoreDir)
	}
	s := &Server{ns: ns, cfg: cfg, token: cfg.Token, unlock: unlock}
	if cfg.Listen != "" {
		s.url = ns.ClientURL()
	}
	return s, nil
}

// clusterOptions sets the cluster part of opts from cfg.Cluster.
func clusterOptions(opts *server.Options, cfg ServerConfig) error {
	c := cfg.Cluster
	if cfg.Token == "" {
		return fmt.Errorf("jetstream: ServerConfig.Token is required with Cluster %q: routes are authenticated with it", c.Name)
	}
	host, port, err := splitListen(c.Listen)
	if err != nil {
		return fmt.Errorf("jetstream: ServerConfig.Cluster.Listen: %w", err)
	}
	if cfg.Listen == "" { // nats-server opens the route port only after the client port
		return fmt.Errorf("jetstream: ServerConfig.Listen is required with Cluster %q", c.Name)
	}
	if len(c.Routes) == 0 {
		return fmt.Errorf("jetstream: ServerConfig.Cluster.Routes is empty: a JetStream cluster node needs the route addresses of the others")
	}
	opts.Cluster = server.ClusterOpts{Name: c.Name, Host: host, Port: port, Username: routeUser, Password: cfg.Token}
	for _, r := range c.Routes {
		if _, _, err := splitListen(r); err != nil {
			return fmt.Errorf("jetstream: ServerConfig.Cluster.Routes: %w", err)
		}
		opts.Routes = append(opts.Routes, &url.URL{Scheme: "nats-route", User: url.UserPassword(routeUser, cfg.Token), Host: r})
	}
	return nil
}

// splitListen splits a host:port; port 0 becomes server.RANDOM_PORT.
func splitListen(addr string) (string, int, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("%q: %w", addr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return "", 0, fmt.Errorf("%q: bad port", addr)
	}
	if p == 0 {
		p = server.RANDOM_PORT
	}
	return host, p, nil
}

// ClientURL returns the URL other processes connect to ("nats://host:port"),
// or "" when the server does not listen.
func (s *Server) ClientURL() string { return s.url }

// RouteAddr returns the host:port this node accepts routes on, or "" when
// it is not a cluster node.
func (s *Server) RouteAddr() string {
	if s.cfg.Cluster.Name == "" {
		return ""
	}
	if a := s.ns.ClusterAddr(); a != nil {
		return a.String()
	}
	return ""
}

// Name returns the server's name (ServerConfig.ServerName), as JetStream
// reports it for a stream's leader and replicas.
func (s *Server) Name() string { return s.cfg.ServerName }

// Connect returns a client connection to s: in-process (no socket) when s
// does not listen, else over its listener with its token. opts are added
// to the defaults (a name, reconnecting forever).
func (s *Server) Connect(opts ...nats.Option) (*nats.Conn, error) {
	o := append([]nats.Option{nats.Name("notifymux"), nats.MaxReconnects(-1)}, opts...)
	if s.url == "" {
		o = append(o, nats.InProcessServer(s.ns))
		nc, err := nats.Connect("", o...)
		if err != nil {
			return nil, fmt.Errorf("jetstream: connect in-process: %w", err)
		}
		return nc, nil
	}
	return Connect(s.url, s.token, o...)
}

// Shutdown stops the server, waits until it has stopped and releases the
// store directory. What JetStream accepted stays in its store directory for
// the next start.
func (s *Server) Shutdown() {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
	s.unlockOnce.Do(s.unlock)
}

// Connect connects to the NATS server or cluster at url (comma-separated
// URLs for a cluster), sending token when it is not empty. It reconnects
// forever after a connection is lost.
func Connect(url, token string, opts ...nats.Option) (*nats.Conn, error) {
	o := []nats.Option{nats.Name("notifymux"), nats.MaxReconnects(-1)}
	if token != "" {
		o = append(o, nats.Token(token))
	}
	nc, err := nats.Connect(url, append(o, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("jetstream: connect to %s: %w", url, err)
	}
	return nc, nil
}
