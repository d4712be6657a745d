package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/bits"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/vipd/vipd/internal/admin"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/simcluster"
	"github.com/vipd/vipd/internal/vpcsim"
)

// The storm: an Availability Zone goes down and every HA pair of the
// account fails over at once, all of them writing routes against EC2's
// per-account, per-action token buckets ("Request throttling for the
// Amazon EC2 API", https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html:
// ReplaceRoute is a mutating action, a bucket of 50 refilled at 5 a
// second). vpcsim enforces those buckets (internal/vpcsim/ec2/timing.go).
//
// Each cluster is independent vipd processes on loopback: two nodes
// (node a in zone a, node b in zone b) and, with raft, a witness in zone
// c; its own overlay address routed in its own route tables. Loopback,
// not the netns fabric: the fabric reprograms every kernel table for
// every address on every change (tables × instances netlink calls, some
// 15,000 per route write at 50 clusters), which would take the cores the
// daemons need. A dead primary is killed with SIGKILL, as the death of
// its host; the new primary has to wait out its lease either way.
const (
	// stormBurst and stormRefill are EC2's mutating bucket (ReplaceRoute
	// draws from its own).
	stormBurst  = 50
	stormRefill = 5.0
	// stormLeaseTable is the dynamodb election's table in the storm.
	stormLeaseTable = "vipd-storm-leases"
)

// StormOptions configures the storm.
type StormOptions struct {
	// Clusters is the number of independent clusters; default 50.
	Clusters int
	// Tables is the number of route tables each cluster's address is
	// routed in; default 2.
	Tables int
	// NoEC2Buckets turns the controller's copy of EC2's throttling
	// buckets off (ec2-buckets: {off: true}), to compare with.
	NoEC2Buckets bool
	// Settings are the agents' (lease, checks, election); the default is
	// DynamoDBSettings, the lightest real arrangement: two vipd processes
	// a cluster and no witness. With raft a witness per cluster adds a
	// third process, and at 50 clusters their idle cost alone exceeds two
	// cores (bench/RESULTS.md).
	Settings VipdSettings
	// Addresses is the number of service addresses each cluster routes
	// (default 1); Mergeable puts them in one aligned block, routed as
	// one prefix, instead of one /32 route each.
	Addresses int
	Mergeable bool
	// Controller runs the storm with one `vipd controller` for every
	// cluster instead of agents: the candidates run only their services,
	// and the owner's host failing is its service no longer answering.
	Controller bool
}

func (o *StormOptions) defaults() {
	if o.Clusters <= 0 {
		o.Clusters = 50
	}
	if o.Tables <= 0 {
		o.Tables = 2
	}
	if o.Addresses <= 0 {
		o.Addresses = 1
	}
	if o.Settings.Label == "" {
		o.Settings = DynamoDBSettings
	}
}

// StormResult is one storm: when every cluster's tables pointed at its
// new owner, against the floor EC2's bucket allows for that many writes.
type StormResult struct {
	System   string `json:"system"`
	Clusters int    `json:"clusters"`
	Tables   int    `json:"tables"`
	// Addresses per cluster, and whether they were one block (Mergeable)
	// or a /32 route each.
	Addresses int  `json:"addresses,omitempty"`
	Mergeable bool `json:"mergeable,omitempty"`
	// Writes is the route writes the storm needs: clusters × tables ×
	// routed prefixes.
	Writes int `json:"writes"`
	// Converged is from the fault to the last cluster's last table
	// pointing at its new owner.
	Converged time.Duration `json:"converged_ns"`
	// Floor is the least time EC2's bucket allows for Writes writes from
	// a full bucket: (Writes - 50) / 5 per second, 0 up to 50.
	Floor time.Duration `json:"floor_ns"`
	// FirstWrite is from the fault to the first route write that took
	// effect (detection: the lease running out, the election).
	FirstWrite time.Duration `json:"first_write_ns"`
	// Restored is from the fault until every cluster had at least one of
	// its tables routing every address to its new owner: service back
	// for the subnets behind that table everywhere (what ordering the
	// writes first routes first buys).
	Restored time.Duration `json:"restored_ns"`
	// Median and Slowest are the clusters' own convergence times.
	Median  time.Duration `json:"median_ns"`
	Slowest time.Duration `json:"slowest_ns"`
	// Throttled counts RequestLimitExceeded answers to the daemons from
	// the fault to convergence; Calls all their EC2 calls, Writes their
	// mutating calls.
	Throttled int `json:"throttled"`
	// ThrottledWrites are the RequestLimitExceeded answers to writes.
	ThrottledWrites int `json:"throttled_writes"`
	EC2Calls        int `json:"ec2_calls"`
	EC2Writes       int `json:"ec2_writes"`
	Describes       int `json:"describes"`
	GaveUp          int `json:"gave_up"`
	StepAsides      int `json:"step_asides"`
	// Load is the load average before the storm; IdleCores the CPU the
	// daemons took together in the quiet spell before it, in cores.
	Load      string  `json:"load"`
	IdleCores float64 `json:"idle_cores"`
	Err       string  `json:"error,omitempty"`
}

// Ratio is Converged over Floor; 0 when there is no floor.
func (r StormResult) Ratio() float64 {
	if r.Floor <= 0 {
		return 0
	}
	return r.Converged.Seconds() / r.Floor.Seconds()
}

// Starvation is the slowest cluster's time over the median's.
func (r StormResult) Starvation() float64 {
	if r.Median <= 0 {
		return 0
	}
	return r.Slowest.Seconds() / r.Median.Seconds()
}

// Line is the one-line summary `make bench-storm` prints last.
func (r StormResult) Line() string {
	return fmt.Sprintf("storm: %d clusters, %d tables, converged %.1f s, floor %.1f s, ratio %.2f, slowest/median %.2f, gave up %d",
		r.Clusters, r.Tables, r.Converged.Seconds(), r.Floor.Seconds(), r.Ratio(), r.Starvation(), r.GaveUp)
}

// stormFloor is the least time a full bucket of stormBurst refilled at
// stormRefill a second takes to grant writes tokens.
func stormFloor(writes int) time.Duration {
	if writes <= stormBurst {
		return 0
	}
	return time.Duration(float64(writes-stormBurst) / stormRefill * float64(time.Second))
}

// The storm's VPC: one subnet per zone (/20s, room for 4,000 clusters),
// each cluster's tables after the main one.
const (
	stormVPC     = "vpc-05f0000000000001"
	stormSubnetA = "subnet-05a0000000000001"
	stormSubnetB = "subnet-05b0000000000002"
	stormSubnetC = "subnet-05c0000000000003"
)

func stormInstance(zone byte, i int) string { return fmt.Sprintf("i-05%c%014x", zone, i+1) }

func stormENI(zone byte, i int) string { return fmt.Sprintf("eni-05%c%014x", zone, i+1) }

func stormTable(i, t int) string { return fmt.Sprintf("rtb-05%010x%05x", i+1, t) }

// stormAddr is the i-th address after base (i < 4096).
func stormAddr(base string, i int) netip.Addr {
	a := netip.MustParseAddr(base).As4()
	n := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	n += uint32(i)
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

// stormVIP is cluster i's overlay address, outside the VPC.
func stormVIP(i int) netip.Prefix { return netip.PrefixFrom(stormAddr("192.168.0.1", i), 32) }

// stormPrefixes are what cluster i routes: its one address, or its
// o.Addresses addresses (at most 256 over all clusters) as one aligned
// block when o.Mergeable, else each in a /24 of its own (so that no two
// merge into a block) as a /32 route.
func stormPrefixes(i int, o StormOptions) []netip.Prefix {
	if o.Addresses <= 1 {
		return []netip.Prefix{stormVIP(i)}
	}
	if o.Mergeable {
		return []netip.Prefix{netip.PrefixFrom(stormAddr("172.16.0.0", i*256), 32-bits.Len(uint(o.Addresses-1)))}
	}
	var out []netip.Prefix
	for k := range o.Addresses {
		out = append(out, netip.PrefixFrom(stormAddr("172.16.0.10", (i*o.Addresses+k)*256), 32))
	}
	return out
}

// stormWorld is the account: o.Clusters clusters' nodes (and, with third,
// an instance in zone c for each cluster's witness or controller),
// o.Tables route tables each, whose routes to the cluster's prefixes lead
// to its node a, as its last owner left them (whichever node the first
// election makes owner then writes no route, or all of them). The nodes'
// source/destination check is off already, as an operator turns it off at
// launch, so the storm's only writes are routes.
func stormWorld(o StormOptions, third bool) *vpcsim.World {
	n, tables := o.Clusters, o.Tables
	off := false
	w := &vpcsim.World{
		Region: "us-east-1",
		VPCs:   []vpcsim.VPC{{ID: stormVPC, Name: "storm", CIDR: "10.0.0.0/16"}},
		Subnets: []vpcsim.Subnet{
			{ID: stormSubnetA, Name: "zone-a", VPC: stormVPC, CIDR: "10.0.16.0/20", AZ: "us-east-1a"},
			{ID: stormSubnetB, Name: "zone-b", VPC: stormVPC, CIDR: "10.0.32.0/20", AZ: "us-east-1b"},
			{ID: stormSubnetC, Name: "zone-c", VPC: stormVPC, CIDR: "10.0.48.0/20", AZ: "us-east-1c"},
		},
		RouteTables: []vpcsim.RouteTable{{ID: "rtb-05f0000000000001", Name: "main", VPC: stormVPC, Main: true,
			Subnets: []string{stormSubnetA, stormSubnetB, stormSubnetC}}},
		Roles: []vpcsim.Role{{Name: simcluster.NodeRole, Actions: simcluster.NodeActions}},
	}
	for i := range n {
		for z, sub := range map[byte]string{'a': stormSubnetA, 'b': stormSubnetB} {
			base := "10.0.16.10"
			if z == 'b' {
				base = "10.0.32.10"
			}
			w.Instances = append(w.Instances, vpcsim.Instance{ID: stormInstance(z, i), Name: fmt.Sprintf("c%d-%c", i+1, z),
				Subnet: sub, PrivateIP: stormAddr(base, i).String(), Role: simcluster.NodeRole, SourceDestCheck: &off,
				ENI: stormENI(z, i)})
		}
		if third {
			w.Instances = append(w.Instances, vpcsim.Instance{ID: stormInstance('c', i), Name: fmt.Sprintf("c%d-c", i+1),
				Subnet: stormSubnetC, PrivateIP: stormAddr("10.0.48.10", i).String()})
		}
		var routes []vpcsim.Route
		for _, p := range stormPrefixes(i, o) {
			routes = append(routes, vpcsim.Route{Destination: p.String(), NetworkInterface: stormENI('a', i)})
		}
		for t := range tables {
			w.RouteTables = append(w.RouteTables, vpcsim.RouteTable{ID: stormTable(i, t), Name: fmt.Sprintf("c%d-%d", i+1, t+1), VPC: stormVPC,
				Routes: slices.Clone(routes)})
		}
	}
	return w
}

// stormCluster is one independent cluster of the storm, a simulated
// cluster on the shared account: its address, tables and hosts a and b
// (and a witness, or with Controller its controller, on a third).
type stormCluster struct {
	*simcluster.Cluster
	name   string
	vips   []netip.Prefix
	tables []string
	// ctl asks the storm's one `vipd controller` about this cluster
	// (Controller storms); a and b then run no vipd, only their services.
	ctl *admin.Client
	// owner is the host the tables point at before the fault; want the
	// one they must point at after it.
	owner, want *simcluster.Host
	done        time.Duration // convergence, from the fault; 0 not yet
	restored    time.Duration // first table at the new owner; 0 not yet
}

// RunStorm builds the account, starts every cluster, waits until each
// has an owner and EC2's buckets are full again, then kills every owner
// at once and measures until every cluster's tables point at its other
// node.
func RunStorm(ctx context.Context, bin string, o StormOptions, log *slog.Logger) (StormResult, error) {
	o.defaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	res := StormResult{System: o.Settings.Label, Clusters: o.Clusters, Tables: o.Tables, Addresses: o.Addresses, Mergeable: o.Mergeable,
		Writes: o.Clusters * o.Tables * len(stormPrefixes(0, o))}
	res.Floor = stormFloor(res.Writes)
	if o.Controller {
		res.System = "vipd controller"
	}
	err := runStorm(ctx, bin, o, log, &res)
	if err != nil {
		res.Err = err.Error()
	}
	return res, err
}

func runStorm(ctx context.Context, bin string, o StormOptions, log *slog.Logger, res *StormResult) (err error) {
	// The controller's candidates run no vipd: no witness either.
	dynamo := o.Controller || o.Settings.Election == config.BackendDynamoDB
	timing, err := vpcsim.TimingProfile("realistic")
	if err != nil {
		return err
	}
	srv, err := vpcsim.New(stormWorld(o, o.Controller || !dynamo), vpcsim.Options{Timing: timing, Throttle: true})
	if err != nil {
		return err
	}
	defer srv.Close()
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	if err := srv.Start(bg, "127.0.0.1:0"); err != nil {
		return err
	}
	if dynamo || o.Controller {
		if err := simcluster.CreateLeaseTable(ctx, srv, stormLeaseTable); err != nil {
			return err
		}
	}
	dir, err := os.MkdirTemp("", "vipd-storm-")
	if err != nil {
		return fmt.Errorf("create temporary directory: %w", err)
	}
	keep := os.Getenv("BENCH_KEEP") != ""
	defer func() {
		if err != nil {
			err = fmt.Errorf("%w; logs kept in %s", err, dir)
			keep = true
		}
		if !keep {
			_ = os.RemoveAll(dir)
		}
	}()
	clusters := make([]*stormCluster, o.Clusters)
	defer func() {
		for _, c := range clusters {
			if c != nil {
				c.Close()
			}
		}
	}()
	for i := range clusters {
		c, err := newStormCluster(srv, bin, dir, i, o)
		if err != nil {
			return err
		}
		clusters[i] = c
	}
	var fleet *simcluster.Cluster
	if o.Controller {
		if fleet, err = stormController(srv, bin, dir, clusters, o); err != nil {
			return err
		}
		defer fleet.Close()
		if err := fleet.StartAll(); err != nil {
			return err
		}
	}
	// Start the clusters a few at a time: 150 daemons starting at once on
	// a small machine would miss their first elections.
	for i, c := range clusters {
		if err := c.StartAll(); err != nil {
			return err
		}
		if i%5 == 4 {
			sleepCtx(ctx, 200*time.Millisecond)
		}
	}
	log.Info("storm: clusters started", "clusters", o.Clusters)
	// Every cluster owned, then a quiet spell long enough for the
	// mutating buckets to be full again.
	settle := 30*time.Second + time.Duration(o.Clusters)*time.Second + 2*res.Floor
	owned := 0
	for wait := time.Now().Add(settle); owned < len(clusters); sleepCtx(ctx, 500*time.Millisecond) {
		if time.Now().After(wait) || ctx.Err() != nil {
			return fmt.Errorf("wait for every cluster to have an owner: %d of %d within %s", owned, len(clusters), settle)
		}
		owned = stormOwners(ctx, srv.Snapshot(), clusters)
	}
	idleFrom, idleTicks := time.Now(), stormTicks(clusters, fleet)
	refill := time.Duration(float64(stormBurst)/stormRefill*float64(time.Second)) + 2*time.Second
	for quiet := time.Now().Add(2 * settle); time.Since(lastWrite(srv)) < refill; {
		if time.Now().After(quiet) || ctx.Err() != nil {
			return fmt.Errorf("wait for a quiet spell without writes: not within %s", 2*settle)
		}
		sleepCtx(ctx, time.Second)
	}
	if n := stormOwners(ctx, srv.Snapshot(), clusters); n != len(clusters) {
		return fmt.Errorf("%d of %d clusters lost their owner in the quiet spell", len(clusters)-n, len(clusters))
	}
	for _, c := range clusters {
		c.want = c.Host("a")
		if c.owner == c.want {
			c.want = c.Host("b")
		}
		if !o.Controller && !c.want.Running() {
			return fmt.Errorf("%s: node %s is not running before the storm", c.name, c.want.Name)
		}
	}
	res.Load = loadAverage()
	res.IdleCores = float64(stormTicks(clusters, fleet)-idleTicks) / clockTicks / time.Since(idleFrom).Seconds()
	since := lastSeq(srv)
	log.Info("storm: killing every owner", "clusters", o.Clusters, "load", res.Load)
	t0 := time.Now()
	var kills sync.WaitGroup
	for _, c := range clusters {
		kills.Go(func() {
			if o.Controller {
				// The owner's host is gone: its service stops answering
				// the controller's checks.
				c.StopService(c.owner.Name)
				return
			}
			c.Kill(c.owner.Name)
		})
	}
	kills.Wait()
	deadline := 3*res.Floor + 90*time.Second
	pending := len(clusters)
	for pending > 0 && time.Since(t0) < deadline && ctx.Err() == nil {
		st := srv.Snapshot()
		now := time.Since(t0)
		for _, c := range clusters {
			if c.restored == 0 && c.restoredIn(st) {
				c.restored = now
			}
			if c.done == 0 && c.converged(st) {
				c.done, pending = now, pending-1
			}
		}
		sleepCtx(ctx, 25*time.Millisecond)
	}
	var times []time.Duration
	for _, c := range clusters {
		if c.done == 0 {
			res.GaveUp++
			continue
		}
		times = append(times, c.done)
	}
	slices.Sort(times)
	for _, c := range clusters {
		res.Restored = max(res.Restored, c.restored)
	}
	if len(times) > 0 {
		res.Converged, res.Slowest = times[len(times)-1], times[len(times)-1]
		res.Median = percentile(times, 50)
	}
	end := t0.Add(res.Converged)
	if res.GaveUp > 0 {
		end = time.Now()
	}
	first := time.Time{}
	for _, call := range srv.Calls(since) {
		// The harness makes no EC2 call; a controller calls with the
		// account's (admin) key.
		if call.Service != "ec2" || call.Time.Before(t0) || call.Time.After(end) {
			continue
		}
		res.EC2Calls++
		write := !strings.HasPrefix(call.Action, "Describe")
		if write {
			res.EC2Writes++
			if call.Code == "" && !call.Applied.IsZero() && (first.IsZero() || call.Applied.Before(first)) {
				first = call.Applied
			}
		} else {
			res.Describes++
		}
		if call.Code == "RequestLimitExceeded" {
			res.Throttled++
			if write {
				res.ThrottledWrites++
			}
		}
	}
	if !first.IsZero() {
		res.FirstWrite = first.Sub(t0)
	}
	for _, c := range clusters {
		if !o.Controller {
			res.StepAsides += stepAsides(c.want)
		}
	}
	res.GaveUp = max(res.GaveUp, 0)
	if res.GaveUp > 0 {
		return fmt.Errorf("%d of %d clusters did not converge within %s", res.GaveUp, len(clusters), deadline)
	}
	return nil
}

// stormClusterPort is every storm member's cluster port, on its own
// loopback address.
const stormClusterPort = 7000

// stormFabric is one storm cluster's view of the shared account: each of
// its instances has a loopback address of its own (so that every cluster
// uses the same ports), its processes run on loopback, and the account's
// vpcsim is the storm's, closed once after every cluster. The storm has
// no client: what it watches is the route tables.
type stormFabric struct {
	srv *vpcsim.Server
	lo  map[string]netip.Addr // instance → its loopback address
}

func (f *stormFabric) Sim() *vpcsim.Server { return f.srv }

func (f *stormFabric) Starter(string) simcluster.Starter { return (*exec.Cmd).Start }

func (f *stormFabric) Serve(instance, name string, port int) (*simcluster.Service, error) {
	ln, err := net.Listen("tcp", netip.AddrPortFrom(f.lo[instance], uint16(port)).String())
	if err != nil {
		return nil, fmt.Errorf("start service of %s: %w", name, err)
	}
	return simcluster.Serve(ln, name), nil
}

func (f *stormFabric) Dial(instance string, addr netip.AddrPort) simcluster.Dial {
	return func(context.Context) (net.Conn, error) {
		return nil, fmt.Errorf("dial %s from %s: the storm has no client path", addr, instance)
	}
}

func (f *stormFabric) Host(instance string) (advertise, api, imds string, err error) {
	lo, ok := f.lo[instance]
	if !ok {
		return "", "", "", fmt.Errorf("storm: no loopback address for %s", instance)
	}
	return netip.AddrPortFrom(lo, stormClusterPort).String(), f.srv.URL(), f.srv.IMDSURL(instance), nil
}

func (f *stormFabric) Close() {}

// newStormCluster prepares cluster i on the shared account: its hosts,
// their services, and the configuration of each vipd (or of its
// controller).
func newStormCluster(srv *vpcsim.Server, bin, dir string, i int, o StormOptions) (*stormCluster, error) {
	c := &stormCluster{name: fmt.Sprintf("storm-%d", i+1), vips: stormPrefixes(i, o)}
	for t := range o.Tables {
		c.tables = append(c.tables, stormTable(i, t))
	}
	hosts := []simcluster.Member{{Name: "a", InstanceID: stormInstance('a', i)}, {Name: "b", InstanceID: stormInstance('b', i)}}
	switch {
	case o.Controller:
	case o.Settings.Election != config.BackendDynamoDB:
		hosts = append(hosts, simcluster.Member{Name: "witness", InstanceID: stormInstance('c', i), Witness: true})
	}
	// Each host has its own loopback address, 127.<a>.<b>.<host>.
	fab := &stormFabric{srv: srv, lo: map[string]netip.Addr{}}
	for k, h := range hosts {
		fab.lo[h.InstanceID] = netip.AddrFrom4([4]byte{127, byte(20 + i/250), byte(i%250 + 1), byte(k + 1)})
	}
	sc, err := simcluster.New(simcluster.Options{Name: c.name, Fabric: fab, Hosts: hosts, Dir: filepath.Join(dir, c.name),
		Keep: true, Exe: bin, LogFormat: config.LogJSON, ServicePort: servicePort, StatusTimeout: time.Second})
	if err != nil {
		return nil, err
	}
	c.Cluster = sc
	if o.Controller {
		c.Leave("a")
		c.Leave("b")
		return c, nil
	}
	for _, h := range c.Hosts {
		cfg := c.BaseConfig(h)
		if o.Settings.Lease > 0 {
			cfg.Election.Lease = o.Settings.Lease
		}
		if o.Settings.Election == config.BackendDynamoDB {
			cfg.Election.Backend = config.BackendDynamoDB
			cfg.Election.DynamoDB = &config.DynamoDBElection{Table: stormLeaseTable}
		}
		if !h.Witness {
			cfg.Health = []config.Check{c.ServiceCheck(h, o.Settings.CheckInterval)}
			cfg.Resources = []config.Resource{{OverlayRoute: &config.OverlayRoute{CIDRs: c.vips, RouteTables: config.RouteTables{IDs: c.tables}}}}
			cfg.LocalAddress = config.LocalAddress{Interface: config.InterfaceNone, CIDR: netip.PrefixFrom(c.vips[0].Addr(), 32)}
			cfg.AWS.Region, cfg.AWS.Endpoint, cfg.AWS.IMDSEndpoint = srv.Region(), srv.URL(), srv.IMDSURL(h.InstanceID)
		}
		if err := simcluster.WriteConfig(h.ConfigPath(), cfg); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// stormController prepares the storm's one controller, as an operator
// with many HA pairs runs it: one `vipd controller` process whose
// configuration lists every cluster (clusters:), each with its two
// candidates checked over TCP (at their services' loopback addresses),
// its overlay route, its owner record in SSM and its lease item in
// DynamoDB, all in vpcsim. It runs with the account's key, as from outside
// the candidates, on the first cluster's zone-c instance.
func stormController(srv *vpcsim.Server, bin, dir string, clusters []*stormCluster, o StormOptions) (*simcluster.Cluster, error) {
	id := stormInstance('c', 0)
	fab := &stormFabric{srv: srv, lo: map[string]netip.Addr{id: netip.AddrFrom4([4]byte{127, 19, 0, 1})}}
	sc, err := simcluster.New(simcluster.Options{Name: "storm-controller", Fabric: fab, Hosts: []simcluster.Member{{Name: "controller", InstanceID: id}},
		Dir: filepath.Join(dir, "controller"), Keep: true, Exe: bin, LogFormat: config.LogJSON, ServicePort: servicePort, StatusTimeout: time.Second})
	if err != nil {
		return nil, err
	}
	ctl := sc.Host("controller")
	cfg := config.DefaultController()
	cfg.Name = "storm-controller"
	check := config.DefaultCheck()
	check.TCP = config.AddressPlaceholder
	if o.Settings.CheckInterval > 0 {
		check.Interval, check.Timeout = o.Settings.CheckInterval, o.Settings.CheckInterval
	}
	cfg.Health = []config.Check{check}
	cfg.API.Socket = filepath.Join(ctl.Dir, config.ClusterPlaceholder+".sock")
	for _, c := range clusters {
		cc := config.ControllerCluster{Cluster: c.name,
			Resources:      []config.Resource{{OverlayRoute: &config.OverlayRoute{CIDRs: c.vips, RouteTables: config.RouteTables{IDs: c.tables}}}},
			OwnerParameter: config.OwnerParameter{Name: c.name + "-owner"}}
		for _, name := range []string{"a", "b"} {
			h := c.Host(name)
			cc.Candidates.Instances = append(cc.Candidates.Instances, config.Candidate{ID: h.InstanceID, CheckAddress: h.ServiceAddr()})
		}
		cfg.Clusters = append(cfg.Clusters, cc)
		c.ctl = admin.NewClient(filepath.Join(ctl.Dir, c.name+".sock"))
	}
	cfg.Lease.Table = stormLeaseTable
	cfg.AWS.Region, cfg.AWS.Endpoint = srv.Region(), srv.URL()
	cfg.Log.Format = config.LogJSON
	cfg.EC2Buckets.Off = o.NoEC2Buckets
	if err := simcluster.WriteController(ctl.ConfigPath(), cfg); err != nil {
		sc.Close()
		return nil, err
	}
	ak, sk := srv.AdminKey()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + ctl.Dir, "AWS_ACCESS_KEY_ID=" + ak, "AWS_SECRET_ACCESS_KEY=" + sk,
		"AWS_EC2_METADATA_DISABLED=true", "AWS_ENDPOINT_URL=" + srv.URL(),
		"AWS_CONFIG_FILE=" + filepath.Join(ctl.Dir, "aws-config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(ctl.Dir, "aws-credentials")}
	ctl.Daemon = &simcluster.Daemon{Argv: []string{bin, "controller", "--config", ctl.ConfigPath()}, Env: env, Log: ctl.LogPath()}
	return sc, nil
}

// converged reports whether every table of the cluster routes its
// addresses to the host it must fail over to.
func (c *stormCluster) converged(st vpcsim.State) bool {
	for _, vip := range c.vips {
		for _, target := range simcluster.RouteTargets(st, vip, c.tables) {
			if target != c.want.ENI {
				return false
			}
		}
	}
	return true
}

// restoredIn reports whether at least one of the cluster's tables routes
// every address to the host it must fail over to.
func (c *stormCluster) restoredIn(st vpcsim.State) bool {
	for _, t := range c.tables {
		ok := true
		for _, vip := range c.vips {
			if targets := simcluster.RouteTargets(st, vip, []string{t}); targets[t] != c.want.ENI {
				ok = false
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// stormOwners counts the clusters that have an owner: a node whose
// daemon (or the cluster's controller) says it is the owner, and to
// which every table routes every prefix. It records the owner.
func stormOwners(ctx context.Context, st vpcsim.State, clusters []*stormCluster) int {
	n := 0
	for _, c := range clusters {
		c.owner = nil
		a, b := c.Host("a"), c.Host("b")
		names := map[string]string{a.ENI: a.Name, b.ENI: b.Name}
		owner := ""
		for k, vip := range c.vips {
			o := simcluster.RouteOwner(simcluster.RouteTargets(st, vip, c.tables), names)
			if k > 0 && o != owner {
				o = ""
			}
			if owner = o; owner == "" {
				break
			}
		}
		if owner == "" {
			continue
		}
		h := c.Host(owner)
		if c.ctl != nil && activeFor(ctx, c.ctl, h.InstanceID) || c.ctl == nil && primary(ctx, h) {
			c.owner, n = h, n+1
		}
	}
	return n
}

// activeFor reports whether the controller says it is active for the
// cluster ctl asks about, with instance as the owner.
func activeFor(ctx context.Context, ctl *admin.Client, instance string) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	st, err := ctl.Status(ctx)
	return err == nil && st.Role == "active" && st.InstanceID == instance
}

// primary reports whether h's daemon says it is primary.
func primary(ctx context.Context, h *simcluster.Host) bool {
	st, err := h.Status(ctx)
	return err == nil && st.Role == "primary"
}

// stepAsides counts the times h's log says it gave up acquiring for a
// while.
func stepAsides(h *simcluster.Host) int {
	b, err := os.ReadFile(h.LogPath())
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "stepping aside")
}

// stormTicks sums the CPU ticks the clusters' daemons (and the storm's
// controller, if any) have used so far.
func stormTicks(clusters []*stormCluster, fleet *simcluster.Cluster) int64 {
	var n int64
	all := make([]*simcluster.Cluster, 0, len(clusters)+1)
	for _, c := range clusters {
		all = append(all, c.Cluster)
	}
	if fleet != nil {
		all = append(all, fleet)
	}
	for _, c := range all {
		for _, h := range c.Hosts {
			if p := h.Proc(); p != nil {
				if st, err := readStat(p.Pid()); err == nil {
					n += st.cpuTicks
				}
			}
		}
	}
	return n
}

// lastWrite is when the newest mutating EC2 call was made.
func lastWrite(srv *vpcsim.Server) time.Time {
	calls := srv.Calls(0)
	for i := len(calls) - 1; i >= 0; i-- {
		if calls[i].Service == "ec2" && !strings.HasPrefix(calls[i].Action, "Describe") {
			return calls[i].Time
		}
	}
	return time.Time{}
}

func lastSeq(srv *vpcsim.Server) uint64 {
	calls := srv.Calls(0)
	if len(calls) == 0 {
		return 0
	}
	return calls[len(calls)-1].Seq
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

// printStorm writes the storm's table.
func printStorm(w io.Writer, storms []StormResult) {
	if len(storms) == 0 {
		return
	}
	fmt.Fprintln(w, "## Storm: every primary of the account killed at once, realistic latency + EC2 throttling")
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "system\tclusters\ttables\twrites\tfirst write (s)\tall restored (s)\tconverged (s)\tfloor (s)\tratio\tmedian (s)\tslowest/median\tRequestLimitExceeded\tof which writes\tEC2 calls\tEC2 writes\tgave up\tstep-asides\tload before\tdaemons idle (cores)\t")
	for _, r := range storms {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%.2f\t%s\t%.2f\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%.2f\t\n", r.System, r.Clusters, r.Tables, r.Writes,
			secs(r.FirstWrite), secs(r.Restored), secs(r.Converged), secs(r.Floor), r.Ratio(), secs(r.Median), r.Starvation(), r.Throttled, r.ThrottledWrites, r.EC2Calls, r.EC2Writes, r.GaveUp, r.StepAsides, r.Load, r.IdleCores)
	}
	tw.Flush()
	fmt.Fprintln(w)
}

// printStormLines writes each storm's one-line summary, the agents' last.
func printStormLines(w io.Writer, storms []StormResult) {
	for _, r := range storms {
		if r.System == "vipd controller" {
			fmt.Fprintln(w, "controller "+r.Line())
		}
	}
	for _, r := range storms {
		if r.System != "vipd controller" {
			fmt.Fprintln(w, r.Line())
		}
	}
}
