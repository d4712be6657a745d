package chaos

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/vipd/vipd/internal/admin"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/simcluster"
	"github.com/vipd/vipd/internal/simcluster/netnscluster"
	"github.com/vipd/vipd/internal/vpcsim"
	"github.com/vipd/vipd/internal/vpcsim/netns"
)

// Mode is the mechanism that carries the service address.
type Mode string

// The modes a cluster runs.
const (
	// ModeOverlay routes VIP (outside the VPC) to the holder's ENI in every
	// route table, and binds it on the holder's eth0 (seeds 000 b, 002).
	ModeOverlay Mode = "overlay-route"
	// ModeSecondaryIP assigns SecondaryIP to the holder's ENI with
	// AllowReassignment and binds it (seed 001).
	ModeSecondaryIP Mode = "secondary-ip"
	// ModeENI attaches the floating ENI (FloatENI, address FloatIP) to the
	// holder, with policy routing so replies leave by it (seed 000 a).
	ModeENI Mode = "eni"
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
	raftPort    = 7000
	// ClientInstance is the instance whose namespace the client runs in.
	ClientInstance = simcluster.ClientInstance
)

// VIP is the service address: an overlay /32 outside the VPC (seeds 000
// part b, 002), routed in every route table.
var VIP = netip.MustParseAddr("192.168.100.10")

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
}

// Member is one vipd process of the cluster: node "a", node "b" or the
// "witness", each in its instance's namespace.
type Member struct {
	Name       string
	InstanceID string
	ENI        string
	Addr       netip.Addr
	Witness    bool

	dir, socket, config, logPath string
	// hook is the notify script of every transition; it waits while
	// hangFlag exists (KindHookHang).
	hook, hangFlag string
	// dup is a second daemon with the same config (KindDuplicateDaemon).
	dup *duplicate
	// admin is one client for all status polls: it keeps its connection
	// open between them, where a client per poll would leave an idle one
	// behind each time and soon meet the socket's connection limit.
	admin *admin.Client

	mu     sync.Mutex
	proc   *simcluster.Proc
	done   chan struct{} // closed when proc has been reaped and its exit recorded
	killed bool          // the harness killed or stopped it on purpose
	paused bool          // proc is SIGSTOPped
	exits  []Exit
	events []ProcEvent
	svc    *simcluster.Service
}

// Exit is one end of a member's process.
type Exit struct {
	At     time.Time
	Killed bool // by the harness (kill -9, SIGTERM or Close)
	Err    string
}

// ProcEvent is something the harness did to a member's process, or a
// second daemon's start and end.
type ProcEvent struct {
	At   time.Time
	What string // "start", "pause", "resume", "term"
}

// The ProcEvent kinds.
const (
	ProcStart  = "start"
	ProcPause  = "pause"
	ProcResume = "resume"
	ProcTerm   = "term"
)

// Cluster is vpcsim, the netns fabric, two vipd nodes and a witness, and a
// client namespace. Close undoes all of it.
type Cluster struct {
	o       Options
	log     *slog.Logger
	Dir     string
	Srv     *vpcsim.Server // ns.Srv
	Fab     *netns.Fabric  // ns.Fab
	Members []*Member      // a, b, witness
	// Target is the address the client dials: the mode's service address.
	Target netip.Addr
	ns     *netnscluster.Env
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
	c := &Cluster{o: o, log: o.Log, Dir: o.Dir}
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
	if c.Dir == "" {
		if c.Dir, err = os.MkdirTemp("", "vipd-chaos-"); err != nil {
			return nil, fmt.Errorf("create chaos directory: %w", err)
		}
	}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
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
	if c.ns, err = netnscluster.Start(ctx, world, sopts, c.log); err != nil {
		return nil, err
	}
	c.Srv, c.Fab = c.ns.Srv, c.ns.Fab
	for _, spec := range []struct {
		name, inst string
		witness    bool
	}{{"a", simcluster.InstanceA, false}, {"b", simcluster.InstanceB, false}, {"witness", simcluster.InstanceW, true}} {
		m := &Member{Name: spec.name, InstanceID: spec.inst, Witness: spec.witness, dir: filepath.Join(c.Dir, spec.name)}
		m.ENI, m.Addr = c.ns.Interface(spec.inst)
		m.socket = filepath.Join(m.dir, "vipd.sock")
		m.admin = admin.NewClient(m.socket)
		m.hook = filepath.Join(m.dir, "notify.sh")
		m.hangFlag = filepath.Join(m.dir, "hooks-hang")
		m.config = filepath.Join(m.dir, "vipd.yaml")
		m.logPath = filepath.Join(m.dir, "vipd.log")
		if err := os.MkdirAll(m.dir, 0o700); err != nil {
			return nil, fmt.Errorf("create %s: %w", m.dir, err)
		}
		c.Members = append(c.Members, m)
	}
	for _, m := range c.Members {
		if err := simcluster.WriteConfig(m.config, c.config(m)); err != nil {
			return nil, err
		}
		if !m.Witness {
			if err := os.WriteFile(m.hook, []byte(hookScript(m.hangFlag)), 0o700); err != nil {
				return nil, fmt.Errorf("write %s: %w", m.hook, err)
			}
			if err := c.startService(m); err != nil {
				return nil, err
			}
		}
		if err := c.Restart(m.Name); err != nil {
			return nil, err
		}
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

// sim is the member as the simulated cluster's helpers see it.
func (m *Member) sim() simcluster.Member {
	return simcluster.Member{Name: m.Name, InstanceID: m.InstanceID, Witness: m.Witness,
		Advertise: netip.AddrPortFrom(m.Addr, raftPort).String(), Dir: m.dir}
}

// config is a member's vipd.yaml: raft among the three members' primary
// addresses, the mode's resource, the address bound for real (interface
// auto, netlink) where the mode binds one, and AWS reached through the
// fabric's in-namespace proxies.
func (c *Cluster) config(m *Member) *config.Config {
	sims := make([]simcluster.Member, len(c.Members))
	for i, p := range c.Members {
		sims[i] = p.sim()
	}
	cfg := simcluster.BaseConfig("chaos", m.sim(), sims, config.LogJSON)
	cfg.Election.Lease = c.o.Lease
	if m.Witness {
		return cfg
	}
	check := simcluster.ServiceCheck(fmt.Sprintf("127.0.0.1:%d", ServicePort), 200*time.Millisecond)
	cfg.Health = []config.Check{check}
	cfg.Reconcile.Interval = time.Second
	cfg.AWS = config.AWS{Region: c.Srv.Region(), Endpoint: "http://" + netns.APIAddr, IMDSEndpoint: "http://" + netns.IMDSAddr, CallTimeout: time.Second}
	cfg.Notify.Master, cfg.Notify.Backup, cfg.Notify.Fault, cfg.Notify.Stop = m.hook, m.hook, m.hook, m.hook
	switch c.o.Mode {
	case ModeOverlay:
		cidr := netip.PrefixFrom(VIP, 32)
		cfg.Resources = []config.Resource{{OverlayRoute: &config.OverlayRoute{CIDR: cidr, RouteTables: config.RouteTables{All: true}, DisableSourceDestCheck: true}}}
		cfg.LocalAddress = config.LocalAddress{Interface: config.InterfaceAuto, CIDR: cidr}
	case ModeSecondaryIP:
		// local-address names the secondary IP so that the node binds it
		// and, as a backup, removes it when a kill left it behind.
		cfg.Resources = []config.Resource{{SecondaryIP: &config.SecondaryIP{Addresses: []string{SecondaryIP.String()}}}}
		cfg.LocalAddress = config.LocalAddress{Interface: config.InterfaceAuto, CIDR: netip.PrefixFrom(SecondaryIP, 32)}
	case ModeENI:
		// A dead holder keeps the ENI attached; the next one forces the
		// detach after a short wait instead of EC2's default patience.
		cfg.Resources = []config.Resource{{ENI: &config.ENI{ID: FloatENI, DeviceIndex: 1, DetachTimeout: 2 * time.Second, AttachTimeout: 20 * time.Second}}}
		cfg.LocalAddress = config.LocalAddress{Interface: config.InterfaceNone}
	}
	return cfg
}

// hookScript is a notify hook that drains its JSON event and returns at
// once, unless flag exists: then it waits until the flag is removed (the
// hook-hang fault), so it never outlives the fault, whoever kills vipd.
func hookScript(flag string) string {
	return fmt.Sprintf("#!/bin/sh\ncat >/dev/null\nwhile [ -e %q ]; do sleep 0.1; done\n", flag)
}

// env is a member's environment: the SDK finds vpcsim and IMDS only
// through the namespace's proxies, and credentials only from (simulated)
// IMDS, as on EC2.
func (c *Cluster) env(m *Member) []string {
	return simcluster.Env(m.sim(), "http://"+netns.APIAddr, "http://"+netns.IMDSAddr)
}

// Mode returns the cluster's mode.
func (c *Cluster) Mode() Mode { return c.o.Mode }

// Member returns the member with that name (nil if none).
func (c *Cluster) Member(name string) *Member {
	for _, m := range c.Members {
		if m.Name == name {
			return m
		}
	}
	return nil
}

// Nodes returns the two non-witness members.
func (c *Cluster) Nodes() []*Member { return c.Members[:2] }

// Restart starts a member's vipd if it is not running.
func (c *Cluster) Restart(name string) error {
	m := c.Member(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc != nil {
		return nil
	}
	p, err := c.startVipd(m, m.logPath)
	if err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	done := make(chan struct{})
	m.proc, m.done, m.killed, m.paused = p, done, false, false
	m.events = append(m.events, ProcEvent{At: time.Now(), What: ProcStart})
	go func() {
		<-p.Done()
		m.mu.Lock()
		e := Exit{At: time.Now(), Killed: m.killed}
		if err := p.Err(); err != nil {
			e.Err = err.Error()
		}
		m.exits = append(m.exits, e)
		m.proc, m.paused = nil, false
		m.mu.Unlock()
		close(done)
	}()
	return nil
}

// startVipd starts `vipd run` with m's config in m's namespace, its
// output appended to logPath.
func (c *Cluster) startVipd(m *Member, logPath string) (*simcluster.Proc, error) {
	return simcluster.StartProc(c.ns.Starter(m.InstanceID), c.env(m), logPath, c.o.VipdBin, "run", "--config", m.config)
}

// Kill SIGKILLs a member's vipd and returns once it is reaped, with the
// time it was seen dead.
func (c *Cluster) Kill(name string) time.Time {
	m := c.Member(name)
	m.mu.Lock()
	p, done := m.proc, m.done
	if p != nil {
		m.killed = true
		p.Signal(syscall.SIGKILL)
	}
	m.mu.Unlock()
	if p == nil {
		return time.Now()
	}
	<-done
	return time.Now()
}

// StopBound is how long a member's vipd may take to exit after SIGTERM
// before the harness kills it: the notify hook timeout (10 s, the
// default, which the stop hook may use up) and the release's bounded
// steps.
const StopBound = 20 * time.Second

// stopResult is how a planned stop went: sent At, the process gone Took
// later, Forced when it had to be killed after the bound.
type stopResult struct {
	At     time.Time
	Took   time.Duration
	Forced bool
}

// Stop sends SIGTERM to a member's vipd (a planned stop) and waits up to
// bound for it to exit, then kills it. A paused member is resumed right
// after the signal, since a stopped process cannot act on it. Nothing
// running: the zero result.
func (c *Cluster) Stop(name string, bound time.Duration) stopResult {
	m := c.Member(name)
	m.mu.Lock()
	p, done := m.proc, m.done
	start := time.Now()
	if p != nil {
		m.killed = true
		m.events = append(m.events, ProcEvent{At: start, What: ProcTerm})
		p.Signal(syscall.SIGTERM)
		if m.paused {
			m.paused = false
			m.events = append(m.events, ProcEvent{At: time.Now(), What: ProcResume})
			p.Signal(syscall.SIGCONT)
		}
	}
	m.mu.Unlock()
	if p == nil {
		return stopResult{}
	}
	r := stopResult{At: start}
	t := time.NewTimer(bound)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		r.Forced = true
		p.Signal(syscall.SIGKILL)
		<-done
	}
	r.Took = time.Since(start)
	return r
}

// Pause SIGSTOPs a member's vipd; it reports false if none is running or
// it is paused already.
func (c *Cluster) Pause(name string) bool {
	m := c.Member(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc == nil || m.paused {
		return false
	}
	m.paused = true
	m.events = append(m.events, ProcEvent{At: time.Now(), What: ProcPause})
	m.proc.Signal(syscall.SIGSTOP)
	return true
}

// Resume SIGCONTs a member's vipd if it is paused.
func (c *Cluster) Resume(name string) {
	m := c.Member(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc == nil || !m.paused {
		return
	}
	m.paused = false
	m.proc.Signal(syscall.SIGCONT)
	m.events = append(m.events, ProcEvent{At: time.Now(), What: ProcResume})
}

// Paused reports whether a member's vipd is SIGSTOPped.
func (m *Member) Paused() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.paused
}

// Pid is the process ID of a member's vipd (0 if none runs).
func (m *Member) Pid() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc == nil {
		return 0
	}
	return m.proc.Pid()
}

// Events returns what the harness did to the member's processes so far.
func (m *Member) Events() []ProcEvent {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]ProcEvent(nil), m.events...)
}

// HangHooks makes the member's notify hooks wait (on) or lets them
// return (off).
func (m *Member) HangHooks(on bool) error {
	if m.Witness {
		return fmt.Errorf("hang hooks of %s: the witness runs no hooks", m.Name)
	}
	if !on {
		if err := os.Remove(m.hangFlag); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("let %s's hooks return: %w", m.Name, err)
		}
		return nil
	}
	if err := os.WriteFile(m.hangFlag, nil, 0o600); err != nil {
		return fmt.Errorf("hang %s's hooks: %w", m.Name, err)
	}
	return nil
}

// Running reports whether a member's vipd is running and the harness has
// not asked it to end: a process on its way out after SIGTERM (which may
// take the stop hook's timeout) is not one a fault on a running member
// should find.
func (m *Member) Running() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.proc != nil && !m.killed
}

// Exits returns the ends of the member's processes so far.
func (m *Member) Exits() []Exit {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Exit(nil), m.exits...)
}

// LogPath is the member's vipd log (JSON lines).
func (m *Member) LogPath() string { return m.logPath }

// Status asks a member's daemon for its status.
func (m *Member) Status(ctx context.Context) (admin.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	return m.admin.Status(ctx)
}

// startService opens the node's service inside its namespace: it answers
// every connection with the node's name. The node's health check probes
// it on 127.0.0.1, the client through the VIP.
func (c *Cluster) startService(m *Member) error {
	svc, err := c.ns.Serve(m.InstanceID, m.Name, ServicePort)
	if err != nil {
		return err
	}
	m.svc = svc
	return nil
}

// Holder returns the node that reports holding the lease, "" if none or
// more than one does.
func (c *Cluster) Holder(ctx context.Context) string {
	var h []string
	for _, m := range c.Nodes() {
		if st, err := m.Status(ctx); err == nil && st.LeaseHeld && st.Role == "primary" {
			h = append(h, m.Name)
		}
	}
	if len(h) != 1 {
		return ""
	}
	return h[0]
}

// Reach connects from the client namespace to the VIP's service and
// returns the name of the node that answered.
func (c *Cluster) Reach(ctx context.Context) (string, error) {
	s := simcluster.Ask(ctx, c.ns.Dial(ClientInstance, netip.AddrPortFrom(c.Target, ServicePort)), 400*time.Millisecond)
	if s.Err != nil {
		return "", fmt.Errorf("reach %s: %w", c.Target, s.Err)
	}
	return s.Node, nil
}

// Bound reports whether the target address is bound on a member's eth0
// (ModeOverlay, ModeSecondaryIP).
func (c *Cluster) Bound(m *Member) (bool, error) {
	var bound bool
	err := c.Fab.Do(m.InstanceID, func() error {
		l, err := netlink.LinkByName("eth0")
		if err != nil {
			return err
		}
		addrs, err := netlink.AddrList(l, netlink.FAMILY_V4)
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

// Owner returns the member that vpcsim says owns the service address in
// the cluster's mode ("" if none or not one): every route table's route
// to the VIP, the ENI holding the secondary IP, or the instance the
// floating ENI is attached to.
func (c *Cluster) Owner() string {
	st := c.Srv.Snapshot()
	byENI, byInst := map[string]string{}, map[string]string{}
	for _, m := range c.Nodes() {
		byENI[m.ENI], byInst[m.InstanceID] = m.Name, m.Name
	}
	switch c.o.Mode {
	case ModeSecondaryIP:
		for _, e := range st.NetworkInterfaces {
			if slices.Contains(e.SecondaryIPs, SecondaryIP.String()) {
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
		return simcluster.RouteOwner(c.RouteTargets(), byENI)
	}
	return ""
}

// RouteTargets returns, per route table, the ENI the VIP is routed to, as
// vpcsim says.
func (c *Cluster) RouteTargets() map[string]string {
	return simcluster.RouteTargets(c.Srv.Snapshot(), netip.PrefixFrom(VIP, 32), nil)
}

// Close stops every process, the fabric (deleting its namespaces) and
// vpcsim, and removes the directory unless Options.Keep.
func (c *Cluster) Close() {
	for _, m := range c.Members {
		c.Resume(m.Name)
		c.Kill(m.Name)
		c.StopDuplicate(m.Name)
		if !m.Witness {
			_ = m.HangHooks(false)
		}
		if m.svc != nil {
			m.svc.Close()
		}
	}
	if c.ns != nil {
		c.ns.Close()
	}
	if !c.o.Keep {
		_ = os.RemoveAll(c.Dir)
	}
}
