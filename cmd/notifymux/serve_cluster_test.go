package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	js "github.com/notifymux/notifymux/dispatch/jetstream"
)

// clusterNode is a node of a NATS cluster a test runs.
type clusterNode interface {
	ClientURL() string
	Name() string
	Shutdown()
}

// confNode is a nats-server started from a configuration file.
type confNode struct {
	ns   *server.Server
	name string
}

func (c *confNode) ClientURL() string { return c.ns.ClientURL() }
func (c *confNode) Name() string      { return c.name }
func (c *confNode) Shutdown()         { c.ns.Shutdown(); c.ns.WaitForShutdown() }

// readmeNATSConf returns the nats-1.conf block of the README's cluster
// recipe.
func readmeNATSConf(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```\n *(# nats-1\\.conf.*?)\n *```").FindSubmatch(b)
	if m == nil {
		t.Fatal("README.md holds no nats-1.conf block")
	}
	return strings.ReplaceAll(string(m[1]), "\n  ", "\n") // the block is indented in a list item
}

// startCluster starts the three-node NATS cluster of the README's recipe
// in this process: the README's nats-1.conf, for each node with its name,
// its store directory, 127.0.0.1 and ports picked free before the start
// in place of the hosts and ports, and the token (in the route URLs, and
// as $NOTIFYMUX_NATS_TOKEN), read by nats-server's own configuration parser. It stops the nodes at the end of the test and
// waits until JetStream has a meta leader.
func startCluster(t *testing.T, token string) []clusterNode {
	t.Helper()
	t.Setenv("NOTIFYMUX_NATS_TOKEN", token) // the configuration reads it
	conf := readmeNATSConf(t)
	addrs := freeAddrs(t, 6)
	clients, routes := addrs[:3], addrs[3:]
	var nodes []clusterNode
	var urls []string
	for i := range 3 {
		name := fmt.Sprintf("nats-%d", i+1)
		r := []string{
			"server_name: nats-1", "server_name: " + name,
			"listen: 0.0.0.0:4222", "listen: " + clients[i],
			"listen: 0.0.0.0:6222", "listen: " + routes[i],
			"store_dir: /var/lib/nats", "store_dir: " + strconv.Quote(t.TempDir()),
			"TOKEN@", token + "@",
		}
		for j := range 3 {
			r = append(r, fmt.Sprintf("nats-%d:6222", j+1), routes[j])
		}
		c := strings.NewReplacer(r...).Replace(conf)
		for _, leftover := range []string{"0.0.0.0", "/var/lib/nats", ":6222", ":4222", "TOKEN@"} {
			if strings.Contains(c, leftover) {
				t.Fatalf("the README's nats-1.conf changed: %q left in\n%s", leftover, c)
			}
		}
		path := filepath.Join(t.TempDir(), name+".conf")
		if err := os.WriteFile(path, []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
		opts, err := server.ProcessConfigFile(path)
		if err != nil {
			t.Fatalf("the README's nats-1.conf, for %s: %v\n%s", name, err, c)
		}
		opts.NoSigs, opts.NoLog = true, true
		ns, err := server.NewServer(opts)
		if err != nil {
			t.Fatal(err)
		}
		ns.Start()
		if !ns.ReadyForConnections(10 * time.Second) {
			t.Fatalf("%s did not start", name)
		}
		n := &confNode{ns: ns, name: name}
		t.Cleanup(n.Shutdown)
		nodes = append(nodes, n)
		urls = append(urls, n.ClientURL())
	}
	nc, err := js.Connect(strings.Join(urls, ","), token)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	j, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := js.WaitReady(ctx, j); err != nil {
		t.Fatalf("the 3-node cluster: %v", err)
	}
	return nodes
}

// clusterURLs returns the client URLs of nodes, comma-separated, as -nats
// takes them.
func clusterURLs(nodes []clusterNode) string {
	urls := make([]string, len(nodes))
	for i, s := range nodes {
		urls[i] = s.ClientURL()
	}
	return strings.Join(urls, ",")
}

// startServeChild runs serve with args as a child process (TestServeChild),
// killed at the end of the test, and returns it with the URL it listens on.
func startServeChild(t *testing.T, args ...string) (*exec.Cmd, *servedProcess) {
	t.Helper()
	cmd, s, err := startServeChildErr(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	return cmd, s
}

// startServeChildErr is startServeChild returning its error, for use from
// other goroutines than the test's.
func startServeChildErr(t *testing.T, args ...string) (*exec.Cmd, *servedProcess, error) {
	a, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), serveChildVar+"="+string(a))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(stderr)
	const prefix = "notifymux serve: listening on "
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), prefix) {
		return nil, nil, fmt.Errorf("first line of the child serve: %q", sc.Text())
	}
	go io.Copy(io.Discard, stderr)
	return cmd, &servedProcess{url: strings.TrimPrefix(sc.Text(), prefix)}, nil
}

// TestServeCluster runs two gateways against a three-node NATS cluster with
// streams of three replicas, as the README's cluster recipe does, the nodes
// started from the README's configuration (startCluster): A (in
// this process) with the URLs of all three nodes, B (a child process)
// with the URL of the node that leads the event stream, learning the
// others from the cluster. While both take records, that node is shut
// down: every record answered 202 by either gateway reaches the function.
func TestServeCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a NATS cluster and a child process")
	}
	start := time.Now()
	const secret, token = "cluster-secret", "cluster-token"
	nodes := startCluster(t, token)
	t.Logf("3-node cluster up in %v", time.Since(start))
	fn := newKeyCounter(t, secret)
	fn.delay.Store(int64(5 * time.Millisecond))
	env := map[string]string{"NOTIFYMUX_SECRET": secret, "NOTIFYMUX_NATS_TOKEN": token}
	dirA, dirB := t.TempDir(), t.TempDir()
	common := []string{"-addr", "127.0.0.1:0", "-to", fn.srv.URL, "-replicas", "3", "-max-wait", "5ms", "-ack-wait", "2s", "-drain", "1s"}
	a := startServe(t, env, append([]string{"-data", dirA, "-nats", clusterURLs(nodes)}, common...)...)

	nc, err := js.Connect(clusterURLs(nodes), token)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	j, _ := jetstream.New(nc)
	info := func(name string) *jetstream.StreamInfo {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s, err := j.Stream(ctx, name)
		if err != nil {
			t.Fatalf("stream %s: %v", name, err)
		}
		i, err := s.Info(ctx)
		if err != nil {
			t.Fatalf("stream %s: %v", name, err)
		}
		return i
	}
	var victim clusterNode
	for _, name := range []string{js.DefaultStream, js.DefaultDeadStream, "KV_" + js.DefaultConfigStore} {
		i := info(name)
		if i.Config.Replicas != 3 || i.Cluster == nil || len(i.Cluster.Replicas) != 2 {
			t.Fatalf("stream %s: %d replicas, cluster %+v; want 3 replicas", name, i.Config.Replicas, i.Cluster)
		}
		if name == js.DefaultStream {
			for _, s := range nodes {
				if s.Name() == i.Cluster.Leader {
					victim = s
				}
			}
		}
	}
	if victim == nil {
		t.Fatal("no node leads the event stream")
	}
	_, b := startServeChild(t, append([]string{"-data", dirB, "-nats", victim.ClientURL()}, common...)...)
	setRules(t, a, readSecretFile(t, dirA, "access-key"), readSecretFile(t, dirA, "secret-key"), "photos", "images/")
	tokens := []string{readSecretFile(t, dirA, "ingest-token"), readSecretFile(t, dirB, "ingest-token")}
	for put := time.Now(); ; time.Sleep(5 * time.Millisecond) { // B uses A's PUT through the key-value bucket
		probe := `{"bucket":"photos","event":"cos:ObjectCreated:Put","key":"images/probe.jpg","region":"ap-guangzhou"}`
		if _, ans := ingestAt(t, b.url, tokens[1], probe); strings.Contains(ans, `"matched":1`) {
			break
		}
		if time.Since(put) > 5*time.Second {
			t.Fatal("gateway B does not use the configuration PUT on A after 5 s")
		}
	}
	t.Logf("both gateways up, B uses A's configuration, after %v", time.Since(start))

	var (
		accepted       sync.Map
		n, refused     [2]atomic.Int64
		killed         atomic.Bool
		killOnce       sync.Once
		killDone       = make(chan struct{})
		wg             sync.WaitGroup
		acceptedBefore atomic.Int64
		acceptedAfter  atomic.Int64 // once the node's Shutdown returned
	)
	for c := range 4 {
		g := c % 2 // clients 0 and 2 post to A, 1 and 3 to B
		url := []string{a.url, b.url}[g]
		wg.Go(func() {
			for i := range 80 {
				var body strings.Builder
				keys := make([]string, 10)
				for k := range keys {
					keys[k] = fmt.Sprintf("images/c%d-r%d-%d.jpg", c, i, k)
					fmt.Fprintf(&body, `{"bucket":"photos","event":"cos:ObjectCreated:Put","key":%q,"region":"ap-guangzhou"}`+"\n", keys[k])
				}
				req, _ := http.NewRequest("POST", url+"/events", strings.NewReader(body.String()))
				req.Header.Set("Authorization", "Bearer "+tokens[g])
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Errorf("POST to gateway %c: %v", 'A'+g, err)
					return
				}
				var res struct{ Matched, Refused int }
				json.NewDecoder(resp.Body).Decode(&res)
				resp.Body.Close()
				// A request with a refused record (during the leader
				// election) counts none of its records as accepted.
				if resp.StatusCode != http.StatusAccepted || res.Refused > 0 || res.Matched != 10 {
					refused[g].Add(1)
					t.Logf("gateway %c answered %d, %d matched, %d refused", 'A'+g, resp.StatusCode, res.Matched, res.Refused)
					time.Sleep(50 * time.Millisecond) // as a client told Retry-After would
					continue
				}
				for _, k := range keys {
					accepted.Store(k, true)
				}
				n[g].Add(10)
				if killed.Load() {
					acceptedAfter.Add(10)
				}
				if n[0].Load()+n[1].Load() >= 800 {
					killOnce.Do(func() {
						acceptedBefore.Store(n[0].Load() + n[1].Load())
						go func() { victim.Shutdown(); killed.Store(true); close(killDone) }()
					})
				}
			}
		})
	}
	wg.Wait()
	<-killDone
	posted := time.Since(start)
	var want []string
	accepted.Range(func(k, _ any) bool { want = append(want, k.(string)); return true })
	m := fn.waitAll(want, 30*time.Second)
	_, dups := fn.counts()
	after := info(js.DefaultStream)
	t.Logf("accepted %d records on A and %d on B (node %s, the event stream's leader, shut down after %d); "+
		"%d after its Shutdown returned; refused requests: %d on A, %d on B; new leader %s; %d duplicate deliveries; posted by %v, %v in all",
		n[0].Load(), n[1].Load(), victim.Name(), acceptedBefore.Load(), acceptedAfter.Load(), refused[0].Load(), refused[1].Load(),
		after.Cluster.Leader, dups, posted, time.Since(start))
	if m > 0 {
		t.Fatalf("%d of %d records answered 202 never reached the function", m, len(want))
	}
	if after.Cluster.Leader == victim.Name() || after.Cluster.Leader == "" {
		t.Errorf("the event stream's leader after the shutdown is %q", after.Cluster.Leader)
	}
	if acceptedAfter.Load() == 0 {
		t.Errorf("no record was accepted after the node was shut down (%d before, %d in all)", acceptedBefore.Load(), len(want))
	}
}

// freeAddrs returns n host:port addresses on 127.0.0.1 that were free a
// moment ago.
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	addrs := make([]string, n)
	for i := range addrs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs[i] = ln.Addr().String()
		defer ln.Close()
	}
	return addrs
}

// TestServeEmbeddedCluster runs three gateways whose embedded servers form
// the NATS cluster (-nats-cluster), each a child process, with streams of
// three replicas. A configuration PUT on one is used by all; records are
// posted to all three, and the gateway whose node leads the event stream
// is killed with SIGKILL (its node with it): every record any gateway
// answered 202 for reaches the function.
func TestServeEmbeddedCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three child processes")
	}
	start := time.Now()
	const secret, token = "embedded-cluster-secret", "embedded-cluster-token"
	t.Setenv("NOTIFYMUX_SECRET", secret)
	t.Setenv("NOTIFYMUX_NATS_TOKEN", token)
	fn := newKeyCounter(t, secret)
	fn.delay.Store(int64(5 * time.Millisecond))
	addrs := freeAddrs(t, 6)
	clients, routes := addrs[:3], addrs[3:]
	dirs := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	cmds := make([]*exec.Cmd, 3)
	gws := make([]*servedProcess, 3)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range 3 { // together: a node waits for a quorum before it serves
		wg.Go(func() {
			cmds[i], gws[i], errs[i] = startServeChildErr(t, "-data", dirs[i], "-addr", "127.0.0.1:0", "-to", fn.srv.URL,
				"-replicas", "3", "-max-wait", "5ms", "-ack-wait", "2s", "-drain", "1s",
				"-nats-listen", clients[i], "-nats-cluster", "notifymux", "-nats-cluster-listen", routes[i],
				"-nats-routes", strings.Join(routes, ","), "-nats-name", fmt.Sprintf("gw-%d", i+1))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("gateway %d: %v", i+1, err)
		}
	}
	t.Logf("3 gateways, each a cluster node, up in %v", time.Since(start))

	nc, err := js.Connect("nats://"+strings.Join(clients, ",nats://"), token)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	j, _ := jetstream.New(nc)
	leader := func() string {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s, err := j.Stream(ctx, js.DefaultStream)
		if err != nil {
			t.Fatal(err)
		}
		i, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if i.Config.Replicas != 3 || i.Cluster == nil {
			t.Fatalf("event stream: %d replicas, cluster %+v; want 3 replicas", i.Config.Replicas, i.Cluster)
		}
		return i.Cluster.Leader
	}
	victim := -1
	for i := range 3 {
		if leader() == fmt.Sprintf("gw-%d", i+1) {
			victim = i
		}
	}
	if victim < 0 {
		t.Fatalf("the event stream's leader %q is none of the gateways", leader())
	}
	writer := (victim + 1) % 3
	setRules(t, gws[writer], readSecretFile(t, dirs[writer], "access-key"), readSecretFile(t, dirs[writer], "secret-key"), "photos", "images/")
	tokens := make([]string, 3)
	for i := range 3 {
		tokens[i] = readSecretFile(t, dirs[i], "ingest-token")
		probe := `{"bucket":"photos","event":"cos:ObjectCreated:Put","key":"images/probe.jpg","region":"ap-guangzhou"}`
		for put := time.Now(); ; time.Sleep(5 * time.Millisecond) {
			if _, ans := ingestAt(t, gws[i].url, tokens[i], probe); strings.Contains(ans, `"matched":1`) {
				break
			}
			if time.Since(put) > 5*time.Second {
				t.Fatalf("gateway %d does not use the configuration PUT on gateway %d after 5 s", i+1, writer+1)
			}
		}
	}

	var (
		accepted sync.Map
		n        atomic.Int64
		killOnce sync.Once
		after    atomic.Int64
		killed   atomic.Bool
	)
	for c := range 3 {
		wg.Go(func() {
			for i := range 60 {
				var body strings.Builder
				keys := make([]string, 10)
				for k := range keys {
					keys[k] = fmt.Sprintf("images/c%d-r%d-%d.jpg", c, i, k)
					fmt.Fprintf(&body, `{"bucket":"photos","event":"cos:ObjectCreated:Put","key":%q,"region":"ap-guangzhou"}`+"\n", keys[k])
				}
				req, _ := http.NewRequest("POST", gws[c].url+"/events", strings.NewReader(body.String()))
				req.Header.Set("Authorization", "Bearer "+tokens[c])
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					if c == victim && killed.Load() {
						return
					}
					t.Errorf("POST to gateway %d: %v", c+1, err)
					return
				}
				var res struct{ Matched, Refused int }
				json.NewDecoder(resp.Body).Decode(&res)
				resp.Body.Close()
				// A request with a refused record (during the leader
				// election) counts none of its records as accepted.
				if resp.StatusCode != http.StatusAccepted || res.Refused > 0 || res.Matched != 10 {
					time.Sleep(50 * time.Millisecond)
					continue
				}
				for _, k := range keys {
					accepted.Store(k, true)
				}
				if killed.Load() {
					after.Add(10)
				}
				if n.Add(10) >= 600 {
					killOnce.Do(func() {
						killed.Store(true)
						cmds[victim].Process.Signal(syscall.SIGKILL)
					})
				}
			}
		})
	}
	wg.Wait()
	var want []string
	accepted.Range(func(k, _ any) bool { want = append(want, k.(string)); return true })
	m := fn.waitAll(want, 30*time.Second)
	newLeader := leader()
	t.Logf("%d records accepted, %d after gateway %d (node gw-%d, the event stream's leader) was killed; new leader %s; %v in all",
		len(want), after.Load(), victim+1, victim+1, newLeader, time.Since(start))
	if m > 0 {
		t.Fatalf("%d of %d records answered 202 never reached the function", m, len(want))
	}
	if newLeader == fmt.Sprintf("gw-%d", victim+1) {
		t.Errorf("the event stream's leader is still the killed node")
	}
	if after.Load() == 0 {
		t.Error("no record was accepted after the kill")
	}
}
