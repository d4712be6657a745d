package simcluster

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/vipd/vipd/internal/admin"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/vpcsim"
)

// Mode is the mechanism that carries a cluster's service address, which
// says where vpcsim records who owns it (Cluster.Owner).
type Mode string

// The modes a simulated cluster runs.
const (
	// ModeOverlay routes an address outside the VPC to the holder's
	// network interface in every route table (the overlay-route kind).
	ModeOverlay Mode = "overlay-route"
	// ModeSecondaryIP assigns the address to the holder's network
	// interface, reassigning it from the other's (the secondary-ip kind).
	ModeSecondaryIP Mode = "secondary-ip"
	// ModeENI attaches the floating interface FloatENI to the holder (the
	// eni kind).
	ModeENI Mode = "eni"
)

// Options describe a simulated cluster.
type Options struct {
	// Name is the cluster's name in its members' configurations.
	Name string
	// Fabric carries the hosts' traffic; the Cluster closes it.
	Fabric Fabric
	// Hosts are the cluster's simulated instances; only Name, InstanceID
	// and Witness are read, the rest is filled in.
	Hosts []Member
	// Dir holds a directory per host (configuration, data, admin socket,
	// logs); Close removes it unless Keep.
	Dir  string
	Keep bool
	// Exe is the vipd binary a host's daemon runs, unless the harness
	// gives the host another Daemon.
	Exe string
	// LogFormat is the daemons' log format (config.LogText or LogJSON).
	LogFormat string
	// ServicePort is where each host that is not a witness serves its
	// Service (0: no services).
	ServicePort int
	// Client is the instance the cluster's client connects from; Target
	// the address it connects to, on ServicePort; Mode says what carries
	// Target.
	Client string
	Target netip.Addr
	Mode   Mode
	// LeaseInAWS says that the election's lease lives behind the AWS API
	// (the dynamodb election): isolating a host then cuts its API path
	// too.
	LeaseInAWS bool
	// StatusTimeout bounds one admin status call; default 500 ms.
	StatusTimeout time.Duration
}

// Cluster is a simulated cluster: vpcsim and a fabric, a host per
// simulated instance with its service and its daemon, and the faults of
// the catalogue (Inject). `vipd demo`, the fault-schedule suite and the
// benchmarks each drive one. Its methods may be called from any
// goroutine.
type Cluster struct {
	mu    sync.Mutex // guards o.Keep
	o     Options
	Srv   *vpcsim.Server
	Fab   Fabric
	Dir   string
	Hosts []*Host
}

// New prepares the cluster on o.Fabric: a directory per host, where its
// cluster traffic is reached, its notify hook, and its service (hosts
// that are not witnesses, when o.ServicePort is set). Daemons start with
// Start. On an error New closes what it was given.
func New(o Options) (_ *Cluster, err error) {
	if o.StatusTimeout <= 0 {
		o.StatusTimeout = 500 * time.Millisecond
	}
	if o.Mode == "" {
		o.Mode = ModeOverlay
	}
	if o.LogFormat == "" {
		o.LogFormat = config.LogJSON
	}
	c := &Cluster{o: o, Srv: o.Fabric.Sim(), Fab: o.Fabric, Dir: o.Dir}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	if c.Dir == "" {
		if c.Dir, err = os.MkdirTemp("", "vipd-"+o.Name+"-"); err != nil {
			return nil, fmt.Errorf("create the cluster's directory: %w", err)
		}
	}
	for _, m := range o.Hosts {
		h := &Host{Member: m, c: c}
		h.Dir = filepath.Join(c.Dir, m.Name)
		if h.Advertise, h.api, h.imds, err = o.Fabric.Host(m.InstanceID); err != nil {
			return nil, err
		}
		h.ENI, h.Addr = Interface(c.Srv.Snapshot(), m.InstanceID)
		h.admin = admin.NewClient(h.Socket())
		if err := os.MkdirAll(h.Dir, 0o700); err != nil {
			return nil, fmt.Errorf("create %s: %w", h.Dir, err)
		}
		c.Hosts = append(c.Hosts, h)
	}
	for _, h := range c.Hosts {
		if h.Witness {
			continue
		}
		if err := os.WriteFile(h.Hook(), []byte(hookScript(h.hangFlag())), 0o700); err != nil {
			return nil, fmt.Errorf("write %s: %w", h.Hook(), err)
		}
		if o.ServicePort > 0 {
			if err := c.StartService(h.Name); err != nil {
				return nil, err
			}
		}
	}
	return c, nil
}

// Interface returns the primary network interface and private address of
// instance in st.
func Interface(st vpcsim.State, instance string) (eni string, addr netip.Addr) {
	for _, in := range st.Instances {
		if in.ID == instance {
			if len(in.ENIs) > 0 {
				eni = in.ENIs[0]
			}
			addr, _ = netip.ParseAddr(in.PrivateIP)
		}
	}
	return eni, addr
}

// Mode returns the mechanism that carries the cluster's service address.
func (c *Cluster) Mode() Mode { return c.o.Mode }

// Host returns the host named name; it panics if there is none (a
// harness's mistake).
func (c *Cluster) Host(name string) *Host {
	for _, h := range c.Hosts {
		if h.Name == name {
			return h
		}
	}
	panic("simcluster: no host " + name)
}

// Nodes returns the hosts that are not witnesses.
func (c *Cluster) Nodes() []*Host {
	var out []*Host
	for _, h := range c.Hosts {
		if !h.Witness {
			out = append(out, h)
		}
	}
	return out
}

// Members returns the cluster's members as the configuration helpers see
// them.
func (c *Cluster) Members() []Member {
	out := make([]Member, len(c.Hosts))
	for i, h := range c.Hosts {
		out[i] = h.Member
	}
	return out
}

// BaseConfig is h's configuration with every other host as a peer
// (BaseConfig); harnesses add what a node owns and checks and write it
// with WriteConfig.
func (c *Cluster) BaseConfig(h *Host) *config.Config {
	var peers []Member
	for _, p := range c.Hosts {
		if p.daemonless {
			continue
		}
		peers = append(peers, p.Member)
	}
	return BaseConfig(c.o.Name, h.Member, peers, c.o.LogFormat)
}

// Leave takes a host out of the cluster's membership before configs are
// written: it runs no daemon and is no one's peer (the witness of a
// dynamodb election, which has none).
func (c *Cluster) Leave(name string) { c.Host(name).daemonless = true }

// Running returns the hosts that run (or are meant to run) a daemon.
func (c *Cluster) Running() []*Host {
	var out []*Host
	for _, h := range c.Hosts {
		if !h.daemonless {
			out = append(out, h)
		}
	}
	return out
}

// ServiceCheck is a node's health check of its own service.
func (c *Cluster) ServiceCheck(h *Host, interval time.Duration) config.Check {
	return ServiceCheck(h.ServiceAddr(), interval)
}

// StartAll starts the daemon of every host that runs one.
func (c *Cluster) StartAll() error {
	for _, h := range c.Running() {
		if err := c.Start(h.Name); err != nil {
			return err
		}
	}
	return nil
}

// Status asks a host's daemon for its status, within the cluster's status
// timeout.
func (c *Cluster) Status(ctx context.Context, name string) (admin.Status, error) {
	return c.Host(name).Status(ctx)
}

// Holder returns the node that reports holding the lease as primary, ""
// if none or more than one does.
func (c *Cluster) Holder(ctx context.Context) string {
	var hs []string
	for _, h := range c.Nodes() {
		if h.daemonless {
			continue
		}
		if st, err := h.Status(ctx); err == nil && st.LeaseHeld && st.Role == "primary" {
			hs = append(hs, h.Name)
		}
	}
	if len(hs) != 1 {
		return ""
	}
	return hs[0]
}

// Owner returns the host that vpcsim says owns the service address in the
// cluster's mode ("" if none or not one): every route table's route to
// it, the interface holding it as a secondary address, or the instance
// the floating interface is attached to.
func (c *Cluster) Owner() string {
	st := c.Srv.Snapshot()
	byENI, byInst := map[string]string{}, map[string]string{}
	for _, h := range c.Nodes() {
		byENI[h.ENI], byInst[h.InstanceID] = h.Name, h.Name
	}
	switch c.o.Mode {
	case ModeSecondaryIP:
		for _, e := range st.NetworkInterfaces {
			if slices.Contains(e.SecondaryIPs, c.o.Target.String()) || slices.Contains(e.IPv6Addresses, c.o.Target.String()) {
				return byENI[e.ID]
			}
		}
	case ModeENI:
		for _, e := range st.NetworkInterfaces {
			if e.ID == FloatENI && e.AttachmentStatus == "attached" {
				return byInst[e.Instance]
			}
		}
	default:
		return RouteOwner(c.RouteTargets(), byENI)
	}
	return ""
}

// RouteTargets returns, per route table, where the service address is
// routed, as vpcsim says.
func (c *Cluster) RouteTargets() map[string]string {
	return RouteTargets(c.Srv.Snapshot(), netip.PrefixFrom(c.o.Target, c.o.Target.BitLen()), nil)
}

// Dial reaches the service address from the client's instance.
func (c *Cluster) Dial() Dial {
	return c.Fab.Dial(c.o.Client, netip.AddrPortFrom(c.o.Target, uint16(c.o.ServicePort)))
}

// Reach connects once from the client's instance to the service address
// and returns the name of the node that answered.
func (c *Cluster) Reach(ctx context.Context) (string, error) {
	s := Ask(ctx, c.Dial(), 400*time.Millisecond)
	if s.Err != nil {
		return "", fmt.Errorf("reach %s: %w", c.o.Target, s.Err)
	}
	return s.Node, nil
}

// StartService starts a node's service if it is not running.
func (c *Cluster) StartService(name string) error {
	h := c.Host(name)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.svc != nil {
		return nil
	}
	svc, err := c.Fab.Serve(h.InstanceID, h.Name, c.o.ServicePort)
	if err != nil {
		return err
	}
	h.svc = svc
	return nil
}

// StopService closes a node's service: its health check fails from then
// on, and a client reaches nothing there.
func (c *Cluster) StopService(name string) {
	h := c.Host(name)
	h.mu.Lock()
	svc := h.svc
	h.svc = nil
	h.mu.Unlock()
	if svc != nil {
		svc.Close()
	}
}

// KeepDir keeps the cluster's directory after Close (a daemon crashed:
// its logs and data are for whoever debugs it).
func (c *Cluster) KeepDir() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.o.Keep = true
}

// Close stops every process (resuming paused ones, releasing hung
// hooks), every service, the fabric and vpcsim, and removes the
// directory unless Options.Keep.
func (c *Cluster) Close() {
	for _, h := range c.Hosts {
		c.Resume(h.Name)
		c.Kill(h.Name)
		c.StopDuplicate(h.Name)
		_ = h.HangHooks(false)
		c.StopService(h.Name)
	}
	if c.Fab != nil {
		c.Fab.Close()
	}
	c.mu.Lock()
	keep := c.o.Keep
	c.mu.Unlock()
	if !keep && c.Dir != "" {
		_ = os.RemoveAll(c.Dir)
	}
}

// errUnavailable marks a fault the cluster's fabric cannot make.
var errUnavailable = errors.ErrUnsupported
