package bench

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/vipd/vipd/internal/simcluster"
	"github.com/vipd/vipd/internal/simcluster/netnscluster"
	"github.com/vipd/vipd/internal/vpcsim"
)

// The world is simcluster.World: two nodes in two AZs, a witness in a
// third, a client subnet, as in internal/chaos; route tables beyond the
// four that subnets use are extra tables of the VPC, for the scale
// benchmark.
const (
	servicePort = 5432
	// clientInstance is the instance whose namespace the client runs in.
	clientInstance = simcluster.ClientInstance
)

// env is the shared simulated cluster (simcluster.Cluster) on the netns
// fabric, vpcsim with realistic timing and EC2 throttling: a service on
// each node and a client probing the service address. The system under
// test runs its daemons on the cluster's hosts. close undoes all of it.
type env struct {
	c   *simcluster.Cluster
	ns  *netnscluster.Env // c's fabric
	srv *vpcsim.Server    // c.Srv
	vip netip.Addr

	// starve is the number of busy loops each failover round runs on
	// the master's host (Options.Starve); 0 for none.
	starve int

	cl *simcluster.Prober
}

// newEnv builds the world with the given number of route tables, probing
// vip (which the systems under test route and bind). leaseInAWS says the
// system's lease lives behind the AWS API (the dynamodb election), so
// that isolating a node cuts that path too.
func newEnv(ctx context.Context, o Options, tables int, vip netip.Addr, leaseInAWS bool) (_ *env, err error) {
	w := simcluster.World("bench", max(tables, 4))
	timing, err := vpcsim.TimingProfile("realistic")
	if err != nil {
		return nil, err
	}
	ns, err := netnscluster.Start(ctx, w, vpcsim.Options{Timing: timing, Throttle: true}, o.Log)
	if err != nil {
		return nil, err
	}
	e := &env{vip: vip, starve: o.Starve, ns: ns}
	e.c, err = simcluster.New(simcluster.Options{Name: "bench", Fabric: ns, Keep: os.Getenv("BENCH_KEEP") != "", Exe: o.VipdBin,
		Hosts: []simcluster.Member{{Name: "a", InstanceID: simcluster.InstanceA}, {Name: "b", InstanceID: simcluster.InstanceB},
			{Name: "witness", InstanceID: simcluster.InstanceW, Witness: true}},
		ServicePort: servicePort, Client: clientInstance, Target: vip, LeaseInAWS: leaseInAWS})
	if err != nil {
		return nil, err
	}
	e.srv = e.c.Srv
	e.cl = simcluster.StartProber(context.WithoutCancel(ctx), e.c.Dial(), probeOptions)
	return e, nil
}

// node returns the host of a node or the witness.
func (e *env) node(name string) *simcluster.Host { return e.c.Host(name) }

// namespace is the network namespace of a host's instance.
func (e *env) namespace(name string) string { return e.ns.Fab.Namespace(e.node(name).InstanceID) }

// peer is the other candidate's name.
func (e *env) peer(name string) string {
	if name == "a" {
		return "b"
	}
	return "a"
}

// routeOwner returns the node every listed table routes dst to, "" if
// the tables disagree or miss the route.
func (e *env) routeOwner(dst netip.Prefix, ids []string) string {
	names := map[string]string{}
	for _, n := range e.c.Nodes() {
		names[n.ENI], names[n.InstanceID] = n.Name, n.Name
	}
	return simcluster.RouteOwner(simcluster.RouteTargets(e.srv.Snapshot(), dst, ids), names)
}

// lastSeq is the newest call in vpcsim's history.
func (e *env) lastSeq() uint64 {
	calls := e.srv.Calls(0)
	if len(calls) == 0 {
		return 0
	}
	return calls[len(calls)-1].Seq
}

// callCount counts the nodes' EC2 calls (not the harness's) with Seq >
// since made in [from, to]: all, mutating, and throttled ones.
type callCount struct {
	All, Writes, Throttled int
	// WriteLog is one line per write (caller, action, table, token, error
	// code), for the verbose round log: more writes than tables means
	// the address moved more than once, and these lines say why.
	WriteLog []string `json:"-"`
}

func (e *env) countCalls(since uint64, from, to time.Time) callCount {
	var c callCount
	for _, call := range e.srv.Calls(since) {
		if call.Service != "ec2" || call.Caller == "admin" || call.Time.Before(from) || call.Time.After(to) {
			continue
		}
		c.All++
		if !strings.HasPrefix(call.Action, "Describe") {
			c.Writes++
			c.WriteLog = append(c.WriteLog, fmt.Sprintf("%s %s %s token %d %s", call.Caller, call.Action,
				call.Params["RouteTableId"], call.Token, call.Code))
		}
		if call.Code == "RequestLimitExceeded" {
			c.Throttled++
		}
	}
	return c
}

func (e *env) close() {
	e.cl.Stop()
	e.c.Close()
}

// probeOptions are the bench client's: an attempt every 25 ms, each in its
// own goroutine so that one that hangs in a blackhole does not delay the
// next.
var probeOptions = simcluster.ProberOptions{Every: 25 * time.Millisecond, Timeout: 300 * time.Millisecond, Overlap: true}

// servedBy returns when the first attempt started after t that node
// answered was answered.
func (e *env) servedBy(node string, after time.Time) (time.Time, bool) {
	s, ok := e.cl.FirstServed(node, after)
	return s.End, ok
}

// waitFor polls cond every 25ms until it holds or timeout passes.
func waitFor(ctx context.Context, timeout time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("wait for %s: not within %s", what, timeout)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w", what, ctx.Err())
		case <-time.After(25 * time.Millisecond):
		}
	}
	return nil
}
