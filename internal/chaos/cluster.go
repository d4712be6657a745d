package chaos

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/simcluster"
	"github.com/vipd/vipd/internal/simcluster/netnscluster"
	"github.com/vipd/vipd/internal/vpcsim"
	"github.com/vipd/vipd/internal/vpcsim/netns"
)

// Mode is the mechanism that carries the service address.
type Mode = simcluster.Mode

// The modes a cluster runs.
const (
	// ModeOverlay routes VIP (outside the VPC) to the holder's ENI in every
	// route table, and binds it on the holder's eth0.
	ModeOverlay = simcluster.ModeOverlay
	// ModeSecondaryIP assigns SecondaryIP to the holder's ENI with
	// AllowReassignment and binds it.
	ModeSecondaryIP = simcluster.ModeSecondaryIP
	// ModeENI attaches the floating ENI (FloatENI, address FloatIP) to the
	// holder, with policy routing so replies leave by it.
	ModeENI = simcluster.ModeENI
)

// The addresses of the same-zone world (simcluster.SameZoneWorld).
var (
	SecondaryIP = netip.MustParseAddr("10.0.1.100")
	FloatIP     = netip.MustParseAddr(simcluster.FloatIP)
)

// FloatENI is the ENI that ModeENI moves.
const FloatENI = simcluster.FloatENI

// The world's fixed names (simcluster.World).
const (
	ServicePort = 5432
	// ClientInstance is the instance whose namespace the client runs in.
	ClientInstance = simcluster.ClientInstance
)

// VIP is the service address of ModeOverlay: an overlay /32 outside the
// VPC, routed in every route table.
var VIP = netip.MustParseAddr("192.168.100.10")

// The service addresses with Options.IPv6: VIP6 an overlay /128 outside
// the VPC's /56 (a unique local address), SecondaryIP6 an address of the
// nodes' subnet's /64 (simcluster.WithIPv6).
var (
	VIP6         = netip.MustParseAddr("fd00:ec2::10")
	SecondaryIP6 = netip.MustParseAddr("2001:db8:c1a:1::100")
)

// Options configures a cluster.
type Options struct {
	// VipdBin is the vipd binary to run; required.
	VipdBin string
	// Dir holds configs, data and logs; default a new temporary directory,
	// removed by Close unless Keep.
	Dir  string
	Keep bool
	// Lease is the election lease; default 1s.
	Lease time.Duration
	// Log receives the harness's own progress; default discards.
	Log *slog.Logger
	// Mode is the mechanism; default ModeOverlay.
	Mode Mode
	// IPv6 gives the VPC IPv6 (simcluster.WithIPv6) and makes the service
	// address an IPv6 one: VIP6 (ModeOverlay) or SecondaryIP6
	// (ModeSecondaryIP).
	IPv6 bool
	// Fence turns STONITH on (fence.stop-instance, docs/stonith.md): in
	// ModeENI a holder that does not let go of the floating interface
	// within its detach-timeout is stopped before the interface is
	// force-detached; in the other modes (fence.before: takeover) a
	// previous holder the election cannot reach is stopped before the
	// takeover. vpcsim stops a forced instance in about half a
	// second (InstanceStop's quarter), so that a fence fits a schedule.
	Fence bool
	// TableTag, when its key is set, names the overlay route's tables
	// by that tag (route-tables: {tags: [TableTag]}) instead of every
	// table of the VPC; every table of the world carries it at start
	// (ModeOverlay only).
	TableTag config.Tag
	// SharedVPC makes the VPC OwnerAccount's, shared with the nodes'
	// account (VPC sharing: the instances run in the participant account,
	// the route tables stay the owner's and only the owner's principals
	// may change them), and has the nodes write the overlay route with
	// the temporary credentials of RoutesRole, a role of the owner
	// account that trusts the nodes' role with SharedVPCExternalID
	// (aws.assume-role, docs/cross-account.md). The instances start with
	// the source/dest check off: the owner's role cannot change the
	// participant's instances (ModeOverlay only).
	SharedVPC bool
}

// The shared VPC's owner side (Options.SharedVPC).
const (
	// OwnerAccount owns the shared VPC and its route tables.
	OwnerAccount = "111122223333"
	// RoutesRole is the owner account's role the nodes assume to write
	// routes.
	RoutesRole = "arn:aws:iam::" + OwnerAccount + ":role/vipd-routes"
	// SharedVPCExternalID is the external ID RoutesRole's trust asks for.
	SharedVPCExternalID = "chaos-routes"
)

// FenceTimeout is fence.timeout with Options.Fence: the forced stop takes
// about half a second in vpcsim, the rest is room for a loaded machine.
const FenceTimeout = 20 * time.Second

// Cluster is the shared simulated cluster (simcluster.Cluster) on the
// netns fabric: two vipd nodes and a witness, each in its instance's
// namespace, and a client namespace. Close undoes all of it.
type Cluster struct {
	*simcluster.Cluster
	o   Options
	log *slog.Logger
	// NS is vpcsim and the netns fabric the cluster runs on.
	NS *netnscluster.Env
	// Target is the address the client dials: the mode's service address.
	Target netip.Addr
}

// Start brings the cluster up and returns once a node holds the lease and
// the client reaches it through the VIP.
func Start(ctx context.Context, o Options) (_ *Cluster, err error) {
	if o.VipdBin == "" {
		return nil, errors.New("start chaos cluster: no vipd binary")
	}
	if o.Lease <= 0 {
		o.Lease = time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	world := simcluster.World("chaos", 3)
	c := &Cluster{o: o, log: o.Log}
	switch o.Mode {
	case "", ModeOverlay:
		c.o.Mode, c.Target = ModeOverlay, VIP
	case ModeSecondaryIP:
		c.Target, world = SecondaryIP, simcluster.SameZoneWorld("chaos-az")
	case ModeENI:
		c.Target, world = FloatIP, simcluster.SameZoneWorld("chaos-az")
	default:
		return nil, fmt.Errorf("start chaos cluster: unknown mode %q", o.Mode)
	}
	if o.IPv6 {
		switch c.o.Mode {
		case ModeOverlay:
			c.Target = VIP6
		case ModeSecondaryIP:
			c.Target = SecondaryIP6
		default:
			return nil, fmt.Errorf("start chaos cluster: mode %s has no IPv6 address", c.o.Mode)
		}
		world = simcluster.WithIPv6(world)
	}
	if o.TableTag.Key != "" {
		if c.o.Mode != ModeOverlay {
			return nil, fmt.Errorf("start chaos cluster: route tables by tag need mode %s, not %s", ModeOverlay, c.o.Mode)
		}
		for i := range world.RouteTables {
			world.RouteTables[i].Tags = map[string]string{o.TableTag.Key: o.TableTag.Value}
		}
	}
	if o.SharedVPC {
		if c.o.Mode != ModeOverlay {
			return nil, fmt.Errorf("start chaos cluster: a shared VPC needs mode %s, not %s", ModeOverlay, c.o.Mode)
		}
		shareVPC(world)
	}
	if removed, err := netns.Sweep(ctx); err != nil {
		c.log.Warn("sweep leftover namespaces", "err", err)
	} else if len(removed) > 0 {
		c.log.Info("removed leftover namespaces", "op", strings.Join(removed, " "))
	}
	sopts := vpcsim.Options{}
	if c.o.Mode == ModeENI {
		// Attachments take a long-tailed while, up to 3 s in attaching or
		// detaching: the eni resource must wait them out, not assume.
		d := vpcsim.Dist{Median: 300 * time.Millisecond, Sigma: 1, Max: 3 * time.Second}
		sopts.Timing = vpcsim.Timing{ENIAttach: d, ENIDetach: d}
	}
	if o.Fence {
		// vipd iam-policy adds StopInstances only with the fence on.
		for i := range world.Roles {
			world.Roles[i].Actions = append(slices.Clone(world.Roles[i].Actions), "ec2:StopInstances")
		}
		sopts.Timing.InstanceStop = vpcsim.Dist{Median: 2 * time.Second, Sigma: 0.3, Max: 4 * time.Second}
	}
	if c.NS, err = netnscluster.Start(ctx, world, sopts, c.log); err != nil {
		return nil, err
	}
	c.Cluster, err = simcluster.New(simcluster.Options{
		Name: "chaos", Fabric: c.NS, Dir: o.Dir, Keep: o.Keep, Exe: o.VipdBin, LogFormat: config.LogJSON,
		Hosts: []simcluster.Member{{Name: "a", InstanceID: simcluster.InstanceA}, {Name: "b", InstanceID: simcluster.InstanceB},
			{Name: "witness", InstanceID: simcluster.InstanceW, Witness: true}},
		ServicePort: ServicePort, Client: ClientInstance, Target: c.Target, Mode: c.o.Mode,
	})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	for _, h := range c.Hosts {
		if err := simcluster.WriteConfig(h.ConfigPath(), c.config(h)); err != nil {
			return nil, err
		}
	}
	if err := c.StartAll(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if h := c.Holder(ctx); h != "" {
			if got, err := c.Reach(ctx); err == nil && got == h {
				return c, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("start chaos cluster: no node served the VIP within 30s (logs in %s)", c.Dir)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// config is a member's vipd.yaml: raft among the three members' primary
// addresses, the mode's resource, the address bound for real (interface
// auto, netlink) where the mode binds one, and AWS reached through the
// fabric's in-namespace proxies.
func (c *Cluster) config(h *simcluster.Host) *config.Config {
	cfg := c.BaseConfig(h)
	cfg.Election.Lease = c.o.Lease
	if h.Witness {
		return cfg
	}
	cfg.Health = []config.Check{c.ServiceCheck(h, 200*time.Millisecond)}
	cfg.Reconcile.Interval = time.Second
	cfg.AWS = config.AWS{Region: c.Srv.Region(), Endpoint: "http://" + netns.APIAddr, IMDSEndpoint: "http://" + netns.IMDSAddr, CallTimeout: time.Second}
	hook := h.Hook()
	cfg.Notify.Master, cfg.Notify.Backup, cfg.Notify.Fault, cfg.Notify.Stop = hook, hook, hook, hook
	switch c.o.Mode {
	case ModeOverlay:
		cidr := netip.PrefixFrom(c.Target, c.Target.BitLen())
		tables := config.RouteTables{All: true}
		if c.o.TableTag.Key != "" {
			tables = config.RouteTables{Tags: []config.Tag{c.o.TableTag}}
		}
		cfg.Resources = []config.Resource{{OverlayRoute: &config.OverlayRoute{CIDR: cidr, RouteTables: tables, DisableSourceDestCheck: true}}}
		cfg.LocalAddress = config.LocalAddress{Interface: config.InterfaceAuto, CIDR: cidr}
	case ModeSecondaryIP:
		// local-address names the secondary IP so that the node binds it
		// and, as a backup, removes it when a kill left it behind.
		cfg.Resources = []config.Resource{{SecondaryIP: &config.SecondaryIP{Addresses: []string{c.Target.String()}}}}
		cfg.LocalAddress = config.LocalAddress{Interface: config.InterfaceAuto, CIDR: netip.PrefixFrom(c.Target, c.Target.BitLen())}
	case ModeENI:
		// A dead holder keeps the ENI attached; the next one forces the
		// detach after a short wait instead of EC2's default patience.
		cfg.Resources = []config.Resource{{ENI: &config.ENI{ID: FloatENI, DeviceIndex: 1, DetachTimeout: 2 * time.Second, AttachTimeout: 20 * time.Second}}}
		cfg.LocalAddress = config.LocalAddress{Interface: config.InterfaceNone}
	}
	if c.o.Fence {
		cfg.Fence = config.Fence{StopInstance: true, Timeout: FenceTimeout}
		if c.o.Mode != ModeENI {
			// Nothing is force-detached: fence before any takeover.
			cfg.Fence.Before = config.FenceBeforeTakeover
		}
	}
	if c.o.SharedVPC {
		cfg.AWS.AssumeRole = &config.AssumeRole{RoleARN: RoutesRole, ExternalID: SharedVPCExternalID}
		cfg.Resources[0].OverlayRoute.DisableSourceDestCheck = false
	}
	return cfg
}

// shareVPC makes w's VPC OwnerAccount's (Options.SharedVPC): the owner's
// RoutesRole may read and write its route tables and trusts the nodes'
// role, which may assume it; the instances' source/dest check is off.
func shareVPC(w *vpcsim.World) {
	participant := cmp.Or(w.AccountID, vpcsim.DefaultAccountID)
	for i := range w.VPCs {
		w.VPCs[i].OwnerID = OwnerAccount
	}
	off := false
	for i := range w.Instances {
		w.Instances[i].SourceDestCheck = &off
	}
	w.Roles = slices.Clone(w.Roles)
	for i := range w.Roles {
		if w.Roles[i].Name == simcluster.NodeRole {
			w.Roles[i].Statements = append(slices.Clone(w.Roles[i].Statements),
				vpcsim.Statement{Actions: []string{"sts:AssumeRole"}, Resources: []string{RoutesRole}})
		}
	}
	w.Roles = append(w.Roles, vpcsim.Role{
		Name: "vipd-routes", Account: OwnerAccount,
		Trust: &vpcsim.Trust{Principals: []string{"arn:aws:iam::" + participant + ":role/" + simcluster.NodeRole}, ExternalID: SharedVPCExternalID},
		// What vipd iam-policy --role prints for an overlay route on
		// every table of the VPC.
		Statements: []vpcsim.Statement{
			{Actions: []string{"ec2:DescribeRouteTables", "ec2:DescribeInstances"}},
			{Actions: []string{"ec2:CreateRoute", "ec2:ReplaceRoute"}, Resources: []string{"arn:aws:ec2:*:" + OwnerAccount + ":route-table/*"}},
		},
	})
}

// Bound reports whether the target address is bound on a member's eth0
// (ModeOverlay, ModeSecondaryIP).
func (c *Cluster) Bound(h *simcluster.Host) (bool, error) {
	var bound bool
	err := c.NS.Fab.Do(h.InstanceID, func() error {
		l, err := netlink.LinkByName("eth0")
		if err != nil {
			return err
		}
		addrs, err := netlink.AddrList(l, netlink.FAMILY_ALL)
		if err != nil {
			return err
		}
		for _, a := range addrs {
			if a.IP.Equal(c.Target.AsSlice()) {
				bound = true
			}
		}
		return nil
	})
	return bound, err
}
