//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/simcluster"
	"github.com/vipd/vipd/internal/vpcsim"
	"github.com/vipd/vipd/internal/vpcsim/netns"
)

// patroniWorld is the VPC of the Patroni test: database nodes a and b in
// two AZs, etcd in a third, the client in a fourth subnet. The service
// address is an overlay IP outside the VPC, routed in every table.
const patroniWorld = `
region: us-east-1
vpcs:
  - {id: vpc-0e4a0000000000001, name: pg, cidr: 10.0.0.0/16}
subnets:
  - {id: subnet-0a000000000000001, name: db-a, vpc: vpc-0e4a0000000000001, cidr: 10.0.1.0/24, az: us-east-1a}
  - {id: subnet-0b000000000000002, name: db-b, vpc: vpc-0e4a0000000000001, cidr: 10.0.2.0/24, az: us-east-1b}
  - {id: subnet-0c000000000000003, name: etcd, vpc: vpc-0e4a0000000000001, cidr: 10.0.3.0/24, az: us-east-1c}
  - {id: subnet-0d000000000000004, name: app, vpc: vpc-0e4a0000000000001, cidr: 10.0.4.0/24, az: us-east-1a}
route-tables:
  - {id: rtb-0a000000000000001, name: db-a, vpc: vpc-0e4a0000000000001, subnets: [subnet-0a000000000000001]}
  - {id: rtb-0b000000000000002, name: db-b, vpc: vpc-0e4a0000000000001, subnets: [subnet-0b000000000000002]}
  - {id: rtb-0d000000000000004, name: app, vpc: vpc-0e4a0000000000001, main: true, subnets: [subnet-0c000000000000003, subnet-0d000000000000004]}
roles:
  - name: vipd-node
    actions: [ec2:DescribeRouteTables, ec2:DescribeInstances, ec2:DescribeNetworkInterfaces,
              ec2:CreateRoute, ec2:ReplaceRoute, ec2:DeleteRoute, ec2:ModifyInstanceAttribute,
              ec2:DescribeInstanceAttribute]
instances:
  - {id: i-0a000000000000001, name: pg-a, subnet: subnet-0a000000000000001, private-ip: 10.0.1.10, role: vipd-node}
  - {id: i-0b000000000000002, name: pg-b, subnet: subnet-0b000000000000002, private-ip: 10.0.2.10, role: vipd-node}
  - {id: i-0c000000000000003, name: etcd, subnet: subnet-0c000000000000003, private-ip: 10.0.3.10}
  - {id: i-0d000000000000004, name: app, subnet: subnet-0d000000000000004, private-ip: 10.0.4.10}
`

// The Patroni cluster's settings. ttl is how long a dead leader's key
// stands; vipd's grace stays within retry_timeout, as docs/patroni.md
// asks.
const (
	pgScope        = "pg"
	pgTTL          = 10 // s
	pgLoopWait     = 1  // s
	pgRetryTimeout = 3  // s
	pgGrace        = 3 * time.Second
	etcdInstance   = "i-0c000000000000003"
	appInstance    = "i-0d000000000000004"
	// misrouteBound is how long the address may route to a node that
	// Patroni's leader key does not name (a switchover or failover in
	// flight): one read of the key by vipd and one route replacement.
	misrouteBound = 5 * time.Second
)

var pgVIP = netip.MustParseAddr("192.168.100.10")

// pgNode is one database host: Patroni, PostgreSQL and vipd in its
// namespace.
type pgNode struct {
	name, inst, eni string
	addr            netip.Addr
	dir             string
}

// patroniSite is vpcsim, the netns fabric and every process of the test.
type patroniSite struct {
	t     *testing.T
	dir   string
	srv   *vpcsim.Server
	fab   *netns.Fabric
	nodes map[string]*pgNode
	pgBin string
	uid   int
	gid   int

	mu       sync.Mutex
	samples  []sample
	writes   []write
	procs    []*exec.Cmd
	stopped  bool
	bgWG     sync.WaitGroup
	stopBg   chan struct{}
	http     *http.Client
	leaderKy string
	// rest makes vipd follow Patroni's REST API (GET /primary) instead of
	// its leader key.
	rest bool
}

// sample is what the leader key and the route tables said at one moment.
type sample struct {
	at     time.Time
	leader string // member the leader key names, "" if none or unreadable
	keyErr bool
	owner  string // node every route table sends the VIP to; "" none, "split" if they disagree
}

// write is one INSERT of the client through the VIP.
type write struct {
	id    int
	start time.Time
	at    time.Time
	ok    bool
	node  string
	err   string
}

// needTools returns the path of each tool, failing under CI=true (and
// skipping elsewhere) when one is missing: .ci/run installs them from
// Debian (etcd-server, patroni, postgresql, postgresql-client).
func needTools(t *testing.T, names ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	var missing []string
	for _, n := range names {
		p, err := exec.LookPath(n)
		if err != nil {
			missing = append(missing, n)
			continue
		}
		out[n] = p
	}
	if len(missing) > 0 {
		msg := fmt.Sprintf("missing %v: apt-get install etcd-server patroni postgresql postgresql-client", missing)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return out
}

// postgresBinDir is the newest /usr/lib/postgresql/<version>/bin, where
// Debian puts the server binaries (initdb, postgres, pg_ctl).
func postgresBinDir(t *testing.T) string {
	t.Helper()
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(dirs[i]))))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(dirs[j]))))
		return vi < vj
	})
	if len(dirs) == 0 {
		msg := "no PostgreSQL server in /usr/lib/postgresql: apt-get install postgresql"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return filepath.Dir(dirs[len(dirs)-1])
}

// TestPatroni runs real Patroni, PostgreSQL and etcd (Debian's packages)
// with vipd following Patroni's leader key on both database nodes, and a
// client that writes rows through the overlay address with psql. The
// primary fails three ways — patronictl switchover, kill -9 of
// PostgreSQL, kill -9 of the whole node (Patroni, PostgreSQL, vipd) — and
// each time the client's writes resume through the same address on the
// node Patroni calls leader, the address never routes elsewhere for longer
// than misrouteBound, and no acknowledged write is lost.
func TestPatroni(t *testing.T) {
	needRoot(t)
	bin := vipdBin(t)
	tools := needTools(t, "etcd", "patroni", "patronictl", "psql", "setpriv")
	s := startPatroniSite(t, bin, tools, false)

	// Wait for a leader, a synchronous replica and the first write.
	first := s.waitLeader(func(l string) bool { return l != "" }, 60*time.Second, "a Patroni leader")
	s.waitSync(first, 60*time.Second)
	s.psql(10*time.Second, "CREATE TABLE IF NOT EXISTS vipd_e2e (id int PRIMARY KEY, node text NOT NULL)")
	s.startWriter()
	s.waitWrite(first, time.Now(), 15*time.Second)
	t.Logf("leader %s serves writes through %s", first, pgVIP)

	// 1. Planned: patronictl switchover to the replica.
	old := first
	next := otherPG(old)
	before := time.Now()
	s.patronictl(old, "switchover", "--leader", old, "--candidate", next, "--force", pgScope)
	promoted := s.waitLeaderSince(next, before, 30*time.Second)
	w := s.waitWrite(next, promoted, 20*time.Second)
	t.Logf("switchover %s→%s: first write through %s on %s %s after Patroni's promotion",
		old, next, pgVIP, next, w.Sub(promoted).Round(time.Millisecond))

	// 2. kill -9 of PostgreSQL's postmaster on the leader: Patroni
	// restarts it (or fails over); the writes resume on whichever node the
	// key names.
	s.waitSync(next, 40*time.Second)
	killed := s.killPostmaster(next)
	w2, on := s.waitAnyWrite(killed, 40*time.Second)
	if l := s.leaderAt(w2); l != on {
		t.Fatalf("after kill -9 of PostgreSQL on %s the write at %s landed on %s, but the leader key named %q", next, w2.Format(time.StampMilli), on, l)
	}
	t.Logf("kill -9 of PostgreSQL on %s: first write through %s on %s %s after the kill",
		next, pgVIP, on, w2.Sub(killed).Round(time.Millisecond))

	// 3. kill -9 of the whole leader node: Patroni, PostgreSQL and vipd.
	leader := s.waitLeader(func(l string) bool { return l != "" }, 30*time.Second, "a leader after the PostgreSQL kill")
	s.waitSync(leader, 40*time.Second)
	survivor := otherPG(leader)
	before = time.Now()
	s.killNode(leader)
	promoted = s.waitLeaderSince(survivor, before, time.Duration(pgTTL+20)*time.Second)
	w3 := s.waitWrite(survivor, promoted, 20*time.Second)
	t.Logf("kill -9 of node %s: Patroni promoted %s %s after the kill; first write through %s on %s %s after the promotion",
		leader, survivor, promoted.Sub(before).Round(time.Millisecond), pgVIP, survivor, w3.Sub(promoted).Round(time.Millisecond))

	s.stopWriter()
	s.checkRouting()
	s.checkRows()
}

// TestPatroniREST runs the same cluster with vipd following Patroni's REST
// API instead (election.primary-check on GET /primary, which answers 200
// on the leader only): after a switchover and after kill -9 of the whole
// leader node the writes resume through the address on the new leader,
// with the same bounds and no acknowledged write lost.
func TestPatroniREST(t *testing.T) {
	needRoot(t)
	bin := vipdBin(t)
	tools := needTools(t, "etcd", "patroni", "patronictl", "psql", "setpriv")
	s := startPatroniSite(t, bin, tools, true)

	first := s.waitLeader(func(l string) bool { return l != "" }, 60*time.Second, "a Patroni leader")
	s.waitSync(first, 60*time.Second)
	s.psql(10*time.Second, "CREATE TABLE IF NOT EXISTS vipd_e2e (id int PRIMARY KEY, node text NOT NULL)")
	s.startWriter()
	s.waitWrite(first, time.Now(), 15*time.Second)

	next := otherPG(first)
	before := time.Now()
	s.patronictl(first, "switchover", "--leader", first, "--candidate", next, "--force", pgScope)
	promoted := s.waitLeaderSince(next, before, 30*time.Second)
	w := s.waitWrite(next, promoted, 20*time.Second)
	t.Logf("REST mode, switchover %s→%s: first write through %s on %s %s after Patroni's promotion",
		first, next, pgVIP, next, w.Sub(promoted).Round(time.Millisecond))

	s.waitSync(next, 40*time.Second)
	before = time.Now()
	s.killNode(next)
	promoted = s.waitLeaderSince(first, before, time.Duration(pgTTL+20)*time.Second)
	w = s.waitWrite(first, promoted, 20*time.Second)
	t.Logf("REST mode, kill -9 of node %s: Patroni promoted %s %s after the kill; first write through %s on %s %s after the promotion",
		next, first, promoted.Sub(before).Round(time.Millisecond), pgVIP, first, w.Sub(promoted).Round(time.Millisecond))

	s.stopWriter()
	s.checkRouting()
	s.checkRows()
}

func otherPG(n string) string {
	if n == "a" {
		return "b"
	}
	return "a"
}

func startPatroniSite(t *testing.T, vipdBin string, tools map[string]string, rest bool) *patroniSite {
	t.Helper()
	pgUser, err := user.Lookup("postgres")
	if err != nil {
		t.Fatalf("no postgres user (Debian's postgresql package creates it): %v", err)
	}
	uid, _ := strconv.Atoi(pgUser.Uid)
	gid, _ := strconv.Atoi(pgUser.Gid)
	dir, err := os.MkdirTemp("", "vipd-patroni-")
	if err != nil {
		t.Fatal(err)
	}
	// PostgreSQL runs as postgres, which must reach its directories.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := &patroniSite{t: t, dir: dir, nodes: map[string]*pgNode{}, pgBin: postgresBinDir(t), uid: uid, gid: gid,
		stopBg: make(chan struct{}), leaderKy: "/service/" + pgScope + "/leader", rest: rest}
	ctx := interruptible(t)
	t.Cleanup(s.close)
	if _, err := netns.Sweep(ctx); err != nil {
		t.Logf("sweep leftover namespaces: %v", err)
	}
	w, err := vpcsim.ParseWorld([]byte(patroniWorld), "patroni world")
	if err != nil {
		t.Fatal(err)
	}
	if s.srv, err = vpcsim.New(w, vpcsim.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := s.srv.Start(ctx, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	if s.fab, err = netns.New(s.srv, netns.Options{Resync: time.Second}); err != nil {
		t.Fatal(err)
	}
	if err := s.fab.Sync(ctx); err != nil {
		t.Fatalf("sync fabric: %v", err)
	}
	s.bgWG.Go(func() {
		bctx, cancel := context.WithCancel(context.Background())
		go func() { <-s.stopBg; cancel() }()
		_ = s.fab.Run(bctx)
	})
	s.http = &http.Client{Timeout: time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return s.fab.Dial(ctx, etcdInstance, network, addr)
		},
		DisableKeepAlives: true,
	}}
	st := s.srv.Snapshot()
	for _, spec := range []struct{ name, inst string }{{"a", "i-0a000000000000001"}, {"b", "i-0b000000000000002"}} {
		n := &pgNode{name: spec.name, inst: spec.inst, dir: filepath.Join(dir, spec.name)}
		for _, in := range st.Instances {
			if in.ID == spec.inst {
				n.addr, n.eni = netip.MustParseAddr(in.PrivateIP), in.ENIs[0]
			}
		}
		if err := os.MkdirAll(n.dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(n.dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		s.nodes[n.name] = n
	}

	// etcd, alone on its host: Patroni's DCS.
	edir := filepath.Join(dir, "etcd")
	if err := os.MkdirAll(edir, 0o700); err != nil {
		t.Fatal(err)
	}
	s.start(etcdInstance, filepath.Join(edir, "etcd.log"), nil, tools["etcd"], "--name", "e1",
		"--data-dir", filepath.Join(edir, "data"),
		"--listen-client-urls", "http://10.0.3.10:2379", "--advertise-client-urls", "http://10.0.3.10:2379",
		"--listen-peer-urls", "http://127.0.0.1:2380", "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
		"--initial-cluster", "e1=http://127.0.0.1:2380", "--heartbeat-interval", "100", "--election-timeout", "1000")
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := s.readLeader(); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("etcd did not answer within 20s (log %s)", filepath.Join(edir, "etcd.log"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	s.bgWG.Go(s.sampleLoop)

	for _, name := range []string{"a", "b"} {
		s.startPatroni(tools["patroni"], s.nodes[name])
		s.startVipd(vipdBin, s.nodes[name])
	}
	return s
}

// start runs a command in an instance's namespace, output to logPath;
// env nil means a minimal one.
func (s *patroniSite) start(inst, logPath string, env []string, path string, args ...string) *exec.Cmd {
	s.t.Helper()
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.t.Fatal(err)
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if env == nil {
		env = []string{"PATH=" + os.Getenv("PATH"), "AWS_EC2_METADATA_DISABLED=true"}
	}
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := s.fab.Exec(inst, cmd); err != nil {
		logf.Close()
		s.t.Fatal(err)
	}
	s.mu.Lock()
	s.procs = append(s.procs, cmd)
	s.mu.Unlock()
	go func() { _ = cmd.Wait(); logf.Close() }()
	return cmd
}

// startPatroni writes the node's patroni.yml and runs Patroni as the
// postgres user (PostgreSQL refuses root). Synchronous mode: Patroni
// promotes only a replica that confirmed every acknowledged commit.
func (s *patroniSite) startPatroni(patroni string, n *pgNode) {
	s.t.Helper()
	cfg := fmt.Sprintf(`scope: %[1]s
namespace: /service/
name: %[2]s
restapi: {listen: "%[3]s:8008", connect_address: "%[3]s:8008"}
etcd3: {hosts: "10.0.3.10:2379"}
bootstrap:
  dcs:
    ttl: %[4]d
    loop_wait: %[5]d
    retry_timeout: %[6]d
    maximum_lag_on_failover: 1048576
    synchronous_mode: true
    postgresql:
      use_pg_rewind: true
      parameters: {wal_level: replica, hot_standby: "on", wal_log_hints: "on", max_wal_senders: 5, max_replication_slots: 5}
  initdb: [{encoding: UTF8}, {auth: trust}]
postgresql:
  listen: "0.0.0.0:5432"
  connect_address: "%[3]s:5432"
  data_dir: %[7]s
  bin_dir: %[8]s
  pgpass: %[9]s
  use_unix_socket: false
  authentication:
    superuser: {username: postgres}
    replication: {username: replicator}
  parameters: {unix_socket_directories: "%[10]s", shared_buffers: 16MB, max_connections: 40}
  pg_hba:
    - local all all trust
    - host replication replicator 0.0.0.0/0 trust
    - host all all 0.0.0.0/0 trust
`, pgScope, n.name, n.addr, pgTTL, pgLoopWait, pgRetryTimeout, filepath.Join(n.dir, "data"), s.pgBin,
		filepath.Join(n.dir, "pgpass"), n.dir)
	path := filepath.Join(n.dir, "patroni.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		s.t.Fatal(err)
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + n.dir, "LC_ALL=C.UTF-8", "LANG=C.UTF-8"}
	s.start(n.inst, filepath.Join(n.dir, "patroni.log"), env, "/usr/bin/setpriv",
		"--reuid="+strconv.Itoa(s.uid), "--regid="+strconv.Itoa(s.gid), "--init-groups", "--pdeathsig=KILL",
		patroni, path)
}

// startVipd runs vipd following Patroni's leader key, moving the overlay
// route and binding the VIP, with AWS reached through the namespace's
// proxies to vpcsim.
func (s *patroniSite) startVipd(bin string, n *pgNode) {
	s.t.Helper()
	path := filepath.Join(n.dir, "vipd.yaml")
	if err := simcluster.WriteConfig(path, s.vipdConfig(n)); err != nil {
		s.t.Fatal(err)
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + n.dir,
		"AWS_CONFIG_FILE=" + filepath.Join(n.dir, "aws-config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(n.dir, "aws-credentials"),
		"AWS_ENDPOINT_URL=http://" + netns.APIAddr, "AWS_EC2_METADATA_SERVICE_ENDPOINT=http://" + netns.IMDSAddr}
	s.start(n.inst, filepath.Join(n.dir, "vipd.log"), env, bin, "run", "--config", path)
}

// vipdConfig is a node's vipd.yaml: the other node as its peer, follow
// mode (followConfig), a health check of PostgreSQL, the overlay route
// to the VIP bound on eth0, AWS through the namespace's proxies. Its
// data lives apart from PostgreSQL's (n.dir/data).
func (s *patroniSite) vipdConfig(n *pgNode) *config.Config {
	var members []simcluster.Member
	for _, name := range []string{"a", "b"} {
		m := s.nodes[name]
		members = append(members, simcluster.Member{Name: m.name, InstanceID: m.inst, Advertise: netip.AddrPortFrom(m.addr, 7946).String(), Dir: m.dir})
	}
	var self simcluster.Member
	for _, m := range members {
		if m.Name == n.name {
			self = m
		}
	}
	cfg := simcluster.BaseConfig(pgScope, self, members, config.LogJSON)
	cfg.Node.DataDir = filepath.Join(n.dir, "vipd-data")
	cfg.Election.Backend, cfg.Election.Lease = config.BackendFollow, time.Second
	s.followConfig(n, &cfg.Election)
	check := config.DefaultCheck()
	check.Name, check.TCP = "postgres", "127.0.0.1:5432"
	check.Interval, check.Timeout, check.Rise, check.Fall = 500*time.Millisecond, 500*time.Millisecond, 1, 2
	cfg.Health = []config.Check{check}
	cfg.Reconcile.Interval = time.Second
	cfg.AWS = config.AWS{Region: s.srv.Region(), Endpoint: "http://" + netns.APIAddr, IMDSEndpoint: "http://" + netns.IMDSAddr, CallTimeout: time.Second}
	cidr := netip.PrefixFrom(pgVIP, 32)
	cfg.Resources = []config.Resource{{OverlayRoute: &config.OverlayRoute{CIDR: cidr, RouteTables: config.RouteTables{All: true}, DisableSourceDestCheck: true}}}
	cfg.LocalAddress = config.LocalAddress{Interface: config.InterfaceAuto, CIDR: cidr}
	return cfg
}

// followConfig is how vipd learns whom Patroni made leader: its leader
// key in etcd, or its REST API's GET /primary (200 on the leader only).
func (s *patroniSite) followConfig(n *pgNode, e *config.Election) {
	if s.rest {
		c := config.DefaultCheck()
		c.HTTP = &config.HTTPCheck{URL: fmt.Sprintf("http://%s:8008/primary", n.addr), Status: "200"}
		c.Interval, c.Timeout, c.Rise, c.Fall = 500*time.Millisecond, 500*time.Millisecond, 1, 2
		e.PrimaryCheck = &c
		return
	}
	e.Patroni = &config.Patroni{Scope: pgScope, Member: n.name, Grace: pgGrace,
		Etcd: config.EtcdElection{Endpoints: []string{"http://10.0.3.10:2379"}}}
}

// readLeader reads Patroni's leader key: the member it names, "" if there
// is none.
func (s *patroniSite) readLeader() (string, error) { return s.readKey(s.leaderKy) }

// readKey reads a key through etcd's JSON gateway (from inside etcd's
// namespace): its value, "" if there is none.
func (s *patroniSite) readKey(key string) (string, error) {
	body, _ := json.Marshal(map[string]string{"key": base64.StdEncoding.EncodeToString([]byte(key))})
	resp, err := s.http.Post("http://10.0.3.10:2379/v3/kv/range", "application/json", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return "", fmt.Errorf("etcd range: %s: %s", resp.Status, b)
	}
	var out struct {
		Kvs []struct {
			Value string `json:"value"`
		} `json:"kvs"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return "", err
	}
	if len(out.Kvs) == 0 {
		return "", nil
	}
	v, err := base64.StdEncoding.DecodeString(out.Kvs[0].Value)
	return string(v), err
}

// routeOwner says which node every route table sends the VIP to, from
// vpcsim itself: "" if none, "split" if the tables disagree.
func (s *patroniSite) routeOwner() string {
	byENI := map[string]string{}
	for _, n := range s.nodes {
		byENI[n.eni] = n.name
	}
	owner, first := "", true
	for _, rt := range s.srv.Snapshot().RouteTables {
		target := ""
		for _, r := range rt.Routes {
			if r.Destination == pgVIP.String()+"/32" {
				target = byENI[r.NetworkInterfaceID]
				if target == "" {
					target = "other:" + r.NetworkInterfaceID
				}
			}
		}
		if first {
			owner, first = target, false
		} else if target != owner {
			return "split"
		}
	}
	return owner
}

// sampleLoop records the leader key and the route owner every 100 ms
// until the site closes.
func (s *patroniSite) sampleLoop() {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-s.stopBg:
			return
		case <-tick.C:
		}
		l, err := s.readLeader()
		smp := sample{at: time.Now(), leader: l, keyErr: err != nil, owner: s.routeOwner()}
		s.mu.Lock()
		s.samples = append(s.samples, smp)
		s.mu.Unlock()
	}
}

// waitLeader waits until the leader key satisfies ok and returns it.
func (s *patroniSite) waitLeader(ok func(string) bool, within time.Duration, what string) string {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if l, err := s.readLeader(); err == nil && ok(l) {
			return l
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("no %s within %s", what, within)
	return ""
}

// waitLeaderSince waits until the samples show the key naming want after
// since, and returns the first such sample's time: Patroni's promotion as
// etcd shows it (within one 100 ms sample).
func (s *patroniSite) waitLeaderSince(want string, since time.Time, within time.Duration) time.Time {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		for _, smp := range s.samples {
			if smp.at.After(since) && smp.leader == want {
				s.mu.Unlock()
				return smp.at
			}
		}
		s.mu.Unlock()
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("the leader key did not name %s within %s", want, within)
	return time.Time{}
}

// leaderAt is the member the leader key named at the last sample before t.
func (s *patroniSite) leaderAt(t time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := ""
	for _, smp := range s.samples {
		if smp.at.After(t) {
			break
		}
		l = smp.leader
	}
	return l
}

// psqlCmd runs psql in the client's namespace against the VIP.
func (s *patroniSite) psqlCmd(ctx context.Context, sql string) (string, error) {
	cmd := exec.CommandContext(ctx, "psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1",
		"-h", pgVIP.String(), "-U", "postgres", "-d", "postgres", "-c", sql)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "PGCONNECT_TIMEOUT=2", "HOME=" + s.dir, "LC_ALL=C.UTF-8"}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = time.Second
	if err := s.fab.Exec(appInstance, cmd); err != nil {
		return "", err
	}
	if err := cmd.Wait(); err != nil {
		return "", fmt.Errorf("%w: %s", err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

// psql runs one statement through the VIP, retrying until within passes.
func (s *patroniSite) psql(within time.Duration, sql string) string {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for {
		ctx, cancel := context.WithTimeout(s.t.Context(), 3*time.Second)
		out, err := s.psqlCmd(ctx, sql)
		cancel()
		if err == nil {
			return out
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("psql %q through %s: %v", sql, pgVIP, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// nodeOfDataDir maps PostgreSQL's data_directory to the node's name.
func (s *patroniSite) nodeOfDataDir(d string) string {
	for _, n := range s.nodes {
		if d == filepath.Join(n.dir, "data") {
			return n.name
		}
	}
	return "unknown:" + d
}

// waitSync waits until leader's PostgreSQL has a synchronous standby and
// Patroni's sync key names it: only then may Patroni promote it (in
// synchronous mode it promotes no other node, so that no acknowledged
// write is lost).
func (s *patroniSite) waitSync(leader string, within time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		var sync struct {
			Leader      string `json:"leader"`
			SyncStandby string `json:"sync_standby"`
		}
		v, err := s.readKey("/service/" + pgScope + "/sync")
		if err != nil || json.Unmarshal([]byte(v), &sync) != nil || sync.Leader != leader || sync.SyncStandby != otherPG(leader) {
			time.Sleep(300 * time.Millisecond)
			continue
		}
		ctx, cancel := context.WithTimeout(s.t.Context(), 3*time.Second)
		out, err := s.psqlCmd(ctx, "SELECT current_setting('data_directory') || ' ' || count(*) FROM pg_stat_replication WHERE sync_state = 'sync' AND state = 'streaming'")
		cancel()
		if f := strings.Fields(out); err == nil && len(f) == 2 && s.nodeOfDataDir(f[0]) == leader && f[1] == "1" {
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
	s.t.Fatalf("%s had no synchronous standby within %s", leader, within)
}

// startWriter inserts one row every 100 ms through the VIP, each an
// autocommitted INSERT whose success (psql exit 0) acknowledges it; it
// records which node's PostgreSQL took it.
func (s *patroniSite) startWriter() {
	s.bgWG.Go(func() {
		for id := 1; id <= 5000; id++ {
			select {
			case <-s.stopBg:
				return
			default:
			}
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			out, err := s.psqlCmd(ctx, fmt.Sprintf(
				"INSERT INTO vipd_e2e (id, node) VALUES (%d, current_setting('data_directory')) RETURNING node", id))
			cancel()
			w := write{id: id, start: start, at: time.Now(), ok: err == nil}
			if err == nil {
				w.node = s.nodeOfDataDir(out)
			} else {
				w.err = err.Error()
			}
			s.mu.Lock()
			stopped := s.stopped
			s.writes = append(s.writes, w)
			s.mu.Unlock()
			if stopped {
				return
			}
			if d := 100*time.Millisecond - time.Since(start); d > 0 {
				time.Sleep(d)
			}
		}
	})
}

// stopWriter stops the client after its current INSERT.
func (s *patroniSite) stopWriter() {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
}

// waitWrite waits for an acknowledged write on node that started after
// since, and returns when it was acknowledged.
func (s *patroniSite) waitWrite(node string, since time.Time, within time.Duration) time.Time {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		for _, w := range s.writes {
			if w.ok && w.start.After(since) && w.node == node {
				s.mu.Unlock()
				return w.at
			}
		}
		s.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
	s.mu.Lock()
	var last []string
	for _, w := range s.writes[max(0, len(s.writes)-5):] {
		last = append(last, fmt.Sprintf("#%d ok=%v node=%s err=%s", w.id, w.ok, w.node, w.err))
	}
	s.mu.Unlock()
	s.t.Fatalf("no write through %s landed on %s within %s; last writes: %s", pgVIP, node, within, strings.Join(last, "; "))
	return time.Time{}
}

// waitAnyWrite waits for an acknowledged write that started after since,
// and returns when it was acknowledged and on which node.
func (s *patroniSite) waitAnyWrite(since time.Time, within time.Duration) (time.Time, string) {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		for _, w := range s.writes {
			if w.ok && w.start.After(since) {
				s.mu.Unlock()
				return w.at, w.node
			}
		}
		s.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("no write through %s within %s", pgVIP, within)
	return time.Time{}, ""
}

// patronictl runs patronictl with node's configuration inside its
// namespace (it talks to etcd and to Patroni's REST API).
func (s *patroniSite) patronictl(node string, args ...string) {
	s.t.Helper()
	n := s.nodes[node]
	ctx, cancel := context.WithTimeout(s.t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "patronictl", append([]string{"-c", filepath.Join(n.dir, "patroni.yml")}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + n.dir, "LC_ALL=C.UTF-8", "LANG=C.UTF-8"}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := s.fab.Exec(n.inst, cmd); err != nil {
		s.t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		s.t.Fatalf("patronictl %v: %v\n%s", args, err, out.String())
	}
}

// killPostmaster kill -9s the PostgreSQL postmaster of node (its backends
// then exit by themselves) and returns when.
func (s *patroniSite) killPostmaster(node string) time.Time {
	s.t.Helper()
	b, err := os.ReadFile(filepath.Join(s.nodes[node].dir, "data", "postmaster.pid"))
	if err != nil {
		s.t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil {
		s.t.Fatalf("postmaster.pid of %s: %v", node, err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		s.t.Fatalf("kill -9 postmaster %d of %s: %v", pid, node, err)
	}
	return time.Now()
}

// nsPids lists the processes in an instance's namespace.
func (s *patroniSite) nsPids(inst string) []int {
	ns := s.fab.Namespace(inst)
	if ns == "" {
		return nil
	}
	out, err := exec.Command("ip", "netns", "pids", ns).Output()
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		if p, err := strconv.Atoi(f); err == nil {
			pids = append(pids, p)
		}
	}
	return pids
}

// killNamespace kill -9s every process in an instance's namespace (the
// whole host: Patroni, the PostgreSQL it daemonized, vipd) and waits,
// up to 10 s, until none is left.
func (s *patroniSite) killNamespace(inst string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		pids := s.nsPids(inst)
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v still in %s's namespace after 10s", pids, inst)
		}
		for _, p := range pids {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *patroniSite) killNode(node string) {
	s.t.Helper()
	if err := s.killNamespace(s.nodes[node].inst); err != nil {
		s.t.Fatal(err)
	}
}

// checkRouting checks the samples: the VIP never routed to a node the
// leader key did not name (or to two nodes) for longer than
// misrouteBound.
func (s *patroniSite) checkRouting() {
	s.t.Helper()
	s.mu.Lock()
	samples := slices.Clone(s.samples)
	s.mu.Unlock()
	var worst time.Duration
	var worstAt, since time.Time
	bad, routed := false, false
	for _, smp := range samples {
		// Before the first route there is nothing to judge (the first
		// holder has not acted yet); an unreadable key is no answer.
		routed = routed || smp.owner != ""
		if !routed || smp.keyErr {
			continue
		}
		mismatch := smp.owner != smp.leader
		switch {
		case mismatch && !bad:
			bad, since = true, smp.at
		case !mismatch && bad:
			bad = false
			if d := smp.at.Sub(since); d > worst {
				worst, worstAt = d, since
			}
		}
	}
	if bad {
		if d := samples[len(samples)-1].at.Sub(since); d > worst {
			worst, worstAt = d, since
		}
	}
	s.t.Logf("longest time the VIP routed to a node Patroni did not call leader: %s (%d samples)", worst.Round(time.Millisecond), len(samples))
	if worst > misrouteBound {
		s.t.Errorf("the VIP routed away from Patroni's leader for %s from %s, want at most %s",
			worst.Round(time.Millisecond), worstAt.Format(time.StampMilli), misrouteBound)
	}
}

// checkRows checks that every acknowledged INSERT is in the table on the
// final primary.
func (s *patroniSite) checkRows() {
	s.t.Helper()
	out := s.psql(15*time.Second, "SELECT string_agg(id::text, ' ') FROM vipd_e2e")
	have := map[int]bool{}
	for _, f := range strings.Fields(out) {
		id, _ := strconv.Atoi(f)
		have[id] = true
	}
	s.mu.Lock()
	writes := slices.Clone(s.writes)
	s.mu.Unlock()
	acked, failed := 0, 0
	var lost []int
	for _, w := range writes {
		if !w.ok {
			failed++
			continue
		}
		acked++
		if !have[w.id] {
			lost = append(lost, w.id)
		}
	}
	s.t.Logf("client: %d writes acknowledged, %d failed during failovers, %d rows in the table", acked, failed, len(have))
	if acked < 20 {
		s.t.Errorf("only %d writes acknowledged: the client hardly ran", acked)
	}
	if len(lost) > 0 {
		s.t.Errorf("%d acknowledged writes lost: %v", len(lost), lost)
	}
}

// close kills every process in every namespace the test made (PostgreSQL
// is daemonized by Patroni, out of reach of its process group), stops the
// fabric and vpcsim, and removes the directory; on failure it prints the
// tail of each log first.
func (s *patroniSite) close() {
	s.stopWriter()
	if s.fab != nil {
		for _, inst := range []string{"i-0a000000000000001", "i-0b000000000000002", etcdInstance, appInstance} {
			if err := s.killNamespace(inst); err != nil {
				s.t.Error(err)
			}
		}
	}
	close(s.stopBg)
	s.bgWG.Wait()
	if s.fab != nil {
		prefix := s.fab.Prefix()
		_ = s.fab.Close()
		if left, _ := netns.Namespaces(prefix); len(left) > 0 {
			s.t.Errorf("namespaces left behind: %v", left)
		}
	}
	if s.srv != nil {
		_ = s.srv.Close()
	}
	if s.t.Failed() {
		for _, p := range []string{"etcd/etcd.log", "a/patroni.log", "b/patroni.log", "a/vipd.log", "b/vipd.log"} {
			b, _ := os.ReadFile(filepath.Join(s.dir, p))
			if len(b) > 6000 {
				b = b[len(b)-6000:]
			}
			s.t.Logf("--- %s (tail)\n%s", p, b)
		}
	}
	if os.Getenv("VIPD_E2E_KEEP") != "" {
		s.t.Logf("kept %s", s.dir)
		return
	}
	if err := os.RemoveAll(s.dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.t.Errorf("remove %s: %v", s.dir, err)
	}
}
