package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"time"

	"github.com/vipd/vipd/internal/admin"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/simcluster"
	"github.com/vipd/vipd/internal/vpcsim"
)

// The demo world's fixed names (simcluster.World).
const (
	appSubnet   = simcluster.AppSubnet
	servicePort = 5432
)

var vip = netip.MustParseAddr("192.168.100.10")

// Cluster is everything the demo started: the shared simulated cluster
// (simcluster.Cluster) on the loopback fabric, and the client. Close
// undoes all of it. Its methods are called from one goroutine (the demo,
// or a test).
type Cluster struct {
	o        Options
	sim      *simcluster.Cluster
	srv      *vpcsim.Server
	client   *simcluster.Prober
	progress *progress
	// seq is the newest vpcsim call sequence number seen.
	seq uint64
}

// other is the node that is not name.
func (c *Cluster) other(name string) string {
	if name == "a" {
		return "b"
	}
	return "a"
}

// Start brings the demo up: simulator, fabric, services, nodes, witness,
// client; it returns once a node is primary and the client is served.
func Start(ctx context.Context, o Options) (_ *Cluster, err error) {
	if o.Exe == "" {
		if o.Exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("find the vipd binary to start nodes with: %w", err)
		}
	}
	c := &Cluster{o: o, progress: newProgress(o.Err)}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	began := time.Now()
	timing, err := vpcsim.TimingProfile(o.Latency)
	if err != nil {
		return nil, err
	}
	// The realistic profile throttles as EC2 does too: a failover must
	// absorb RequestLimitExceeded, not only survive without it.
	sopts := vpcsim.Options{Logger: slog.New(slog.DiscardHandler), Timing: timing, Throttle: o.Latency == "realistic"}
	fab, err := simcluster.StartLoopback(ctx, simcluster.World("demo", 3), sopts)
	if err != nil {
		return nil, err
	}
	hosts := []simcluster.Member{{Name: "a", InstanceID: simcluster.InstanceA}, {Name: "b", InstanceID: simcluster.InstanceB},
		{Name: "witness", InstanceID: simcluster.InstanceW, Witness: true}}
	c.sim, err = simcluster.New(simcluster.Options{Name: "demo", Fabric: fab, Hosts: hosts, Keep: o.KeepDir, Exe: o.Exe,
		LogFormat: config.LogText, ServicePort: servicePort, Client: simcluster.ClientInstance, Target: vip,
		LeaseInAWS: c.dynamoDB(), StatusTimeout: time.Second})
	if err != nil {
		return nil, err
	}
	c.srv = c.sim.Srv
	c.progress.say("starting vpcsim (latency %s) in %s", o.Latency, c.sim.Dir)
	if c.dynamoDB() {
		c.sim.Leave("witness")
		if err := simcluster.CreateLeaseTable(ctx, c.srv, leaseTable); err != nil {
			return nil, err
		}
	}
	for _, h := range c.sim.Running() {
		if err := simcluster.WriteConfig(h.ConfigPath(), c.nodeConfig(h)); err != nil {
			return nil, err
		}
	}
	if err := c.sim.StartAll(); err != nil {
		return nil, err
	}
	c.client = simcluster.StartProber(context.WithoutCancel(ctx), c.sim.Dial(), clientOptions)
	if c.dynamoDB() {
		c.progress.say("started vpcsim, fabric and nodes a and b (no witness: the lease is an item in DynamoDB table %s); waiting for the first primary", leaseTable)
	} else {
		c.progress.say("started vpcsim, fabric, witness and nodes a and b; waiting for the first primary")
	}
	var p string
	err = c.progress.wait(ctx, 30*time.Second, "waiting for a primary", func() bool {
		p = c.Primary()
		return p != "" && c.servedBy(p, began)
	})
	if err != nil {
		return nil, fmt.Errorf("no node became primary: %w (logs in %s)", err, c.sim.Dir)
	}
	clientAddr, _ := fab.Expose(simcluster.ClientInstance, netip.AddrPortFrom(vip, servicePort))
	c.progress.say("node %s is primary after %s; the client is served through the fabric at %s → %s:%d",
		p, time.Since(began).Round(time.Millisecond), clientAddr, vip, servicePort)
	return c, nil
}

func (c *Cluster) dynamoDB() bool { return c.o.Election == config.BackendDynamoDB }

// nodeConfig is a member's vipd.yaml: raft among the three members (or
// the dynamodb lease between the two nodes), the overlay route to the
// VIP, no local address (the proxy fabric delivers to the service's
// loopback port), AWS at vpcsim.
func (c *Cluster) nodeConfig(h *simcluster.Host) *config.Config {
	cfg := c.sim.BaseConfig(h)
	cfg.Election.Lease = 2 * time.Second
	interval := 500 * time.Millisecond
	if c.o.Tuned {
		cfg.Election.Lease, interval = time.Second, 200*time.Millisecond
	}
	if c.dynamoDB() {
		cfg.Election.Backend = config.BackendDynamoDB
		cfg.Election.DynamoDB = &config.DynamoDBElection{Table: leaseTable}
	}
	if h.Witness {
		return cfg
	}
	cfg.InstanceNotices.Interval = noticeInterval
	cfg.Health = []config.Check{c.sim.ServiceCheck(h, interval)}
	cidr := netip.PrefixFrom(vip, 32)
	cfg.Resources = []config.Resource{{OverlayRoute: &config.OverlayRoute{CIDR: cidr, RouteTables: config.RouteTables{All: true}, DisableSourceDestCheck: true}}}
	cfg.LocalAddress = config.LocalAddress{Interface: config.InterfaceNone, CIDR: cidr}
	cfg.AWS.Region, cfg.AWS.Endpoint, cfg.AWS.IMDSEndpoint = c.srv.Region(), c.srv.URL(), c.srv.IMDSURL(h.InstanceID)
	return cfg
}

// Close stops everything the demo started, child processes first, and
// removes the working directory unless Options.KeepDir.
func (c *Cluster) Close() {
	if c.client != nil {
		c.client.Stop()
	}
	if c.sim != nil {
		if c.o.KeepDir {
			fmt.Fprintf(c.o.Err, "kept %s\n", c.sim.Dir)
		}
		c.sim.Close()
	}
}

var errTimeout = errors.New("timed out")

// The exported methods below let end-to-end tests drive the demo cluster.

// Sim returns the in-process simulator.
func (c *Cluster) Sim() *vpcsim.Server { return c.srv }

// Primary returns the name of the node the VIP is routed to from the
// client's subnet, per vpcsim ("" if none).
func (c *Cluster) Primary() string {
	id, err := c.srv.Resolve(appSubnet, vip)
	if err != nil {
		return ""
	}
	for _, h := range c.sim.Nodes() {
		if h.InstanceID == id {
			return h.Name
		}
	}
	return ""
}

// Nodes returns the names of the two nodes and the witness, if any.
func (c *Cluster) Nodes() []string {
	var out []string
	for _, h := range c.sim.Running() {
		out = append(out, h.Name)
	}
	return out
}

// InstanceID returns a member's simulated instance.
func (c *Cluster) InstanceID(name string) string { return c.sim.Host(name).InstanceID }

// Kill SIGKILLs a member's vipd process and, for a node, closes its
// service: the host dies with its service.
func (c *Cluster) Kill(name string) {
	if !c.sim.Host(name).Witness {
		c.sim.StopService(name)
	}
	c.sim.Kill(name)
}

// StopService closes a node's service so that its health check fails.
func (c *Cluster) StopService(name string) { c.sim.StopService(name) }

// Restore restarts what Kill or StopService stopped and waits until the
// member is back (a node as a healthy backup).
func (c *Cluster) Restore(ctx context.Context, name string) error {
	if c.sim.Host(name).Witness {
		return c.sim.Start(name)
	}
	c.restore(ctx, name)
	st, err := c.Status(ctx, name)
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
	return c.sim.Status(ctx, name)
}

// Socket returns a member's admin socket.
func (c *Cluster) Socket(name string) string { return c.sim.Host(name).Socket() }

// ServedSince reports whether node answered the client after t.
func (c *Cluster) ServedSince(node string, t time.Time) bool { return c.servedBy(node, t) }

// servedBy reports whether the client was served by node after t.
func (c *Cluster) servedBy(node string, after time.Time) bool {
	_, ok := c.client.FirstServed(node, after)
	return ok
}

// Served returns how many client attempts each node answered.
func (c *Cluster) Served() map[string]int { return c.client.Served() }
