package demo

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vipd/vipd/internal/admin"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/simcluster"
	"github.com/vipd/vipd/internal/vpcsim"
	"github.com/vipd/vipd/internal/vpcsim/fabric"
)

// The demo world's fixed names (simcluster.World).
const (
	appSubnet   = simcluster.AppSubnet
	servicePort = 5432
)

var vip = netip.MustParseAddr("192.168.100.10")

// member is one vipd process of the demo cluster, with its service.
type member struct {
	name       string
	instanceID string
	witness    bool
	raftAddr   string
	dir        string
	socket     string
	config     string

	api *admin.Client // created on first use

	proc    *simcluster.Proc
	svc     *exec.Cmd
	svcAddr netip.AddrPort
	svcErr  chan error
}

// Cluster is everything the demo started; Close undoes all of it. Its
// methods are called from one goroutine (the demo, or a test).
type Cluster struct {
	o          Options
	dir        string
	srv        *vpcsim.Server
	fab        *fabric.Fabric
	stop       context.CancelFunc
	wg         sync.WaitGroup
	members    []*member // a, b, and the witness with raft
	client     *simcluster.Prober
	clientAddr netip.AddrPort
	progress   *progress
	// seq is the newest vpcsim call sequence number seen.
	seq uint64
}

func (c *Cluster) nodes() []*member { return c.members[:2] }

func (c *Cluster) member(instanceID string) *member {
	for _, m := range c.members {
		if m.instanceID == instanceID {
			return m
		}
	}
	return nil
}

func (c *Cluster) other(m *member) *member {
	if m == c.members[0] {
		return c.members[1]
	}
	return c.members[0]
}

// start brings the demo up: simulator, fabric, services, nodes, witness,
// client; it returns once a node is primary and the client is served.
func Start(ctx context.Context, o Options) (_ *Cluster, err error) {
	if o.Exe == "" {
		if o.Exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("find the vipd binary to start nodes with: %w", err)
		}
	}
	dir, err := os.MkdirTemp("", "vipd-demo-")
	if err != nil {
		return nil, fmt.Errorf("create demo directory: %w", err)
	}
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	c := &Cluster{o: o, dir: dir, stop: stop, progress: newProgress(o.Err)}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	began := time.Now()
	c.progress.say("starting vpcsim (latency %s) in %s", o.Latency, dir)

	w := simcluster.World("demo", 3)
	timing, err := vpcsim.TimingProfile(o.Latency)
	if err != nil {
		return nil, err
	}
	// The realistic profile throttles as EC2 does too: a failover must
	// absorb RequestLimitExceeded, not only survive without it.
	sopts := vpcsim.Options{Logger: slog.New(slog.DiscardHandler), Timing: timing, Throttle: o.Latency == "realistic"}
	if c.srv, err = vpcsim.New(w, sopts); err != nil {
		return nil, err
	}
	if err := c.srv.Start(bg, "127.0.0.1:0"); err != nil {
		return nil, err
	}
	c.fab = fabric.New(c.srv, c.srv.Changes(), slog.New(slog.DiscardHandler))
	if c.clientAddr, err = c.fab.Expose(netip.AddrPortFrom(vip, servicePort), appSubnet); err != nil {
		return nil, err
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		_ = c.fab.Run(bg)
	}()

	c.members = []*member{
		{name: "a", instanceID: simcluster.InstanceA},
		{name: "b", instanceID: simcluster.InstanceB},
	}
	if c.dynamoDB() {
		if err := simcluster.CreateLeaseTable(ctx, c.srv, leaseTable); err != nil {
			return nil, err
		}
	} else {
		c.members = append(c.members, &member{name: "witness", instanceID: simcluster.InstanceW, witness: true})
	}
	ports, err := freePorts(len(c.members))
	if err != nil {
		return nil, err
	}
	for i, m := range c.members {
		m.raftAddr = ports[i]
		m.dir = filepath.Join(dir, m.name)
		m.socket = filepath.Join(m.dir, "vipd.sock")
		m.config = filepath.Join(m.dir, "vipd.yaml")
		if err := os.MkdirAll(m.dir, 0o700); err != nil {
			return nil, fmt.Errorf("create %s: %w", m.dir, err)
		}
	}
	for _, m := range c.nodes() {
		if err := c.startService(m); err != nil {
			return nil, err
		}
	}
	for _, m := range c.members {
		if err := simcluster.WriteConfig(m.config, c.nodeConfig(m)); err != nil {
			return nil, err
		}
		if err := c.startNode(m); err != nil {
			return nil, err
		}
	}
	c.client = simcluster.StartProber(bg, dialer(c.clientAddr), clientOptions)
	if c.dynamoDB() {
		c.progress.say("started vpcsim, fabric and nodes a and b (no witness: the lease is an item in DynamoDB table %s); waiting for the first primary", leaseTable)
	} else {
		c.progress.say("started vpcsim, fabric, witness and nodes a and b; waiting for the first primary")
	}
	var p *member
	err = c.progress.wait(ctx, 30*time.Second, "waiting for a primary", func() bool {
		p = c.primary()
		return p != nil && c.servedBy(p.name, began)
	})
	if err != nil {
		return nil, fmt.Errorf("no node became primary: %w (logs in %s)", err, dir)
	}
	c.progress.say("node %s is primary after %s; the client is served through the fabric at %s → %s:%d",
		p.name, time.Since(began).Round(time.Millisecond), c.clientAddr, vip, servicePort)
	return c, nil
}

func (c *Cluster) dynamoDB() bool { return c.o.Election == config.BackendDynamoDB }

// primary returns the member the VIP is routed to, per vpcsim.
func (c *Cluster) primary() *member {
	id, err := c.srv.Resolve(appSubnet, vip)
	if err != nil {
		return nil
	}
	return c.member(id)
}

// sim is the member as the simulated cluster's helpers see it.
func (m *member) sim() simcluster.Member {
	return simcluster.Member{Name: m.name, InstanceID: m.instanceID, Witness: m.witness, Advertise: m.raftAddr, Dir: m.dir}
}

// nodeConfig is a member's vipd.yaml: raft among the three members (or
// the dynamodb lease between the two nodes), the overlay route to the
// VIP, no local address (the proxy fabric delivers to the service's
// loopback port), AWS at vpcsim.
func (c *Cluster) nodeConfig(m *member) *config.Config {
	sims := make([]simcluster.Member, len(c.members))
	for i, p := range c.members {
		sims[i] = p.sim()
	}
	cfg := simcluster.BaseConfig("demo", m.sim(), sims, config.LogText)
	cfg.Election.Lease = 2 * time.Second
	interval := 500 * time.Millisecond
	if c.o.Tuned {
		cfg.Election.Lease, interval = time.Second, 200*time.Millisecond
	}
	if c.dynamoDB() {
		cfg.Election.Backend = config.BackendDynamoDB
		cfg.Election.DynamoDB = &config.DynamoDBElection{Table: leaseTable}
	}
	if m.witness {
		return cfg
	}
	cfg.InstanceNotices.Interval = noticeInterval
	cfg.Health = []config.Check{simcluster.ServiceCheck(m.svcAddr.String(), interval)}
	cidr := netip.PrefixFrom(vip, 32)
	cfg.Resources = []config.Resource{{OverlayRoute: &config.OverlayRoute{CIDR: cidr, RouteTables: config.RouteTables{All: true}, DisableSourceDestCheck: true}}}
	cfg.LocalAddress = config.LocalAddress{Interface: config.InterfaceNone, CIDR: cidr}
	cfg.AWS.Region, cfg.AWS.Endpoint, cfg.AWS.IMDSEndpoint = c.srv.Region(), c.srv.URL(), c.srv.IMDSURL(m.instanceID)
	return cfg
}

// env is the environment of a member's process, pointed at vpcsim.
func (c *Cluster) env(m *member) []string {
	return simcluster.Env(m.sim(), c.srv.URL(), c.srv.IMDSURL(m.instanceID))
}

func (c *Cluster) startNode(m *member) error {
	p, err := simcluster.StartProc(func(cmd *exec.Cmd) error { return cmd.Start() }, c.env(m),
		filepath.Join(m.dir, "vipd.log"), c.o.Exe, "run", "--config", m.config)
	if err != nil {
		return fmt.Errorf("node %s: %w", m.name, err)
	}
	m.proc = p
	return nil
}

// startService starts the node's service (vipd demo service) and binds it
// in the fabric as the instance's port 5432.
func (c *Cluster) startService(m *member) error {
	// A restarted service takes its old address: the node's health check
	// and the fabric point at it.
	listen := "127.0.0.1:0"
	if m.svcAddr.IsValid() {
		listen = m.svcAddr.String()
	}
	cmd := exec.Command(c.o.Exe, "demo", "service", "--name", m.name, "--listen", listen)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	cmd.SysProcAttr = simcluster.ProcAttr()
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start service of node %s: %w", m.name, err)
	}
	m.svc, m.svcErr = cmd, make(chan error, 1)
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- strings.TrimSpace(s)
		_, _ = io.Copy(io.Discard, out)
		m.svcErr <- cmd.Wait()
	}()
	select {
	case s := <-line:
		ap, err := netip.ParseAddrPort(strings.TrimPrefix(s, "listening "))
		if err != nil {
			return fmt.Errorf("service of node %s: unexpected first line %q", m.name, s)
		}
		m.svcAddr = ap
	case <-time.After(10 * time.Second):
		return fmt.Errorf("service of node %s did not start within 10s", m.name)
	}
	c.fab.Bind(m.instanceID, servicePort, m.svcAddr)
	return nil
}

// kill SIGKILLs p and waits for it to be reaped.
func kill(p *exec.Cmd, done chan error) {
	if p == nil || p.Process == nil {
		return
	}
	_ = p.Process.Signal(syscall.SIGKILL)
	<-done
}

func (c *Cluster) killNode(m *member) { m.proc.Kill(); m.proc = nil }

func (c *Cluster) killService(m *member) {
	c.fab.Unbind(m.instanceID, servicePort)
	kill(m.svc, m.svcErr)
	m.svc = nil
}

// status asks a member's daemon for its status.
func (c *Cluster) status(ctx context.Context, m *member) (admin.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	// One client per member: a new one per call would leave a keep-alive
	// connection behind each time, and a wait that polls for 30 s would
	// fill the daemon's connection limit.
	if m.api == nil {
		m.api = admin.NewClient(m.socket)
	}
	return m.api.Status(ctx)
}

// close stops everything the demo started, child processes first (SIGTERM,
// then SIGKILL after a grace period), and removes the working directory.
func (c *Cluster) Close() {
	var wg sync.WaitGroup
	for _, m := range c.members {
		if m.proc != nil {
			wg.Go(func() { m.proc.Stop(3 * time.Second) })
		}
		if svc, done := m.svc, m.svcErr; svc != nil && svc.Process != nil {
			wg.Go(func() {
				_ = svc.Process.Signal(syscall.SIGTERM)
				select {
				case <-done:
				case <-time.After(3 * time.Second):
					_ = svc.Process.Signal(syscall.SIGKILL)
					<-done
				}
			})
		}
	}
	wg.Wait()
	c.stop()
	if c.client != nil {
		c.client.Stop()
	}
	c.wg.Wait()
	if c.srv != nil {
		_ = c.srv.Close()
	}
	if c.o.KeepDir {
		fmt.Fprintf(c.o.Err, "kept %s\n", c.dir)
		return
	}
	_ = os.RemoveAll(c.dir)
}

var errTimeout = errors.New("timed out")

// The exported methods below let end-to-end tests drive the demo cluster.

// Sim returns the in-process simulator.
func (c *Cluster) Sim() *vpcsim.Server { return c.srv }

// Primary returns the name of the node the VIP is routed to ("" if none).
func (c *Cluster) Primary() string {
	if m := c.primary(); m != nil {
		return m.name
	}
	return ""
}

// Nodes returns the names of the two nodes and the witness, if any.
func (c *Cluster) Nodes() []string {
	var out []string
	for _, m := range c.members {
		out = append(out, m.name)
	}
	return out
}

func (c *Cluster) byName(name string) *member {
	for _, m := range c.members {
		if m.name == name {
			return m
		}
	}
	panic("demo: no member " + name)
}

// InstanceID returns a member's simulated instance.
func (c *Cluster) InstanceID(name string) string { return c.byName(name).instanceID }

// Kill SIGKILLs a member's vipd process (and, for a node, its service).
func (c *Cluster) Kill(name string) {
	m := c.byName(name)
	if m.svc != nil {
		c.killService(m)
	}
	c.killNode(m)
}

// StopService kills a node's service so that its health check fails.
func (c *Cluster) StopService(name string) { c.killService(c.byName(name)) }

// Restore restarts what Kill or StopService stopped and waits until the
// member is back (a node as a healthy backup).
func (c *Cluster) Restore(ctx context.Context, name string) error {
	m := c.byName(name)
	if m.witness {
		if m.proc == nil {
			return c.startNode(m)
		}
		return nil
	}
	c.restore(ctx, m)
	st, err := c.status(ctx, m)
	if err != nil {
		return err
	}
	if st.Role != "backup" && st.Role != "primary" {
		return fmt.Errorf("node %s is %s after restore", name, st.Role)
	}
	return nil
}

// Status asks a member's daemon for its status.
func (c *Cluster) Status(ctx context.Context, name string) (admin.Status, error) {
	return c.status(ctx, c.byName(name))
}

// Socket returns a member's admin socket.
func (c *Cluster) Socket(name string) string { return c.byName(name).socket }

// ServedSince reports whether node answered the client after t.
func (c *Cluster) ServedSince(node string, t time.Time) bool { return c.servedBy(node, t) }

// servedBy reports whether the client was served by node after t.
func (c *Cluster) servedBy(node string, after time.Time) bool {
	_, ok := c.client.FirstServed(node, after)
	return ok
}

// Served returns how many client attempts each node answered.
func (c *Cluster) Served() map[string]int { return c.client.Served() }
