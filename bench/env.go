package bench

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/vipd/vipd/internal/simcluster"
	"github.com/vipd/vipd/internal/simcluster/netnscluster"
	"github.com/vipd/vipd/internal/vpcsim"
	"github.com/vipd/vipd/internal/vpcsim/netns"
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

// node is one candidate owner: its instance, address and ENI.
type node struct {
	Name       string
	InstanceID string
	Addr       netip.Addr
	ENI        string
	Peer       string // the other candidate's name
}

var nodeSpecs = []node{
	{Name: "a", InstanceID: simcluster.InstanceA, Addr: netip.MustParseAddr("10.0.1.10"), Peer: "b"},
	{Name: "b", InstanceID: simcluster.InstanceB, Addr: netip.MustParseAddr("10.0.2.10"), Peer: "a"},
}

var witnessSpec = node{Name: "witness", InstanceID: simcluster.InstanceW, Addr: netip.MustParseAddr("10.0.3.10")}

// env is vpcsim with realistic timing and EC2 throttling, the netns fabric
// over it, a service on each node and a client probing the service
// address. close undoes all of it.
type env struct {
	ns      *netnscluster.Env
	srv     *vpcsim.Server // ns.Srv
	fab     *netns.Fabric  // ns.Fab
	nodes   []node
	witness node
	vip     netip.Addr

	// starve is the number of busy loops each failover round runs on
	// the master's host (Options.Starve); 0 for none.
	starve int

	mu   sync.Mutex
	svcs map[string]*simcluster.Service
	cl   *simcluster.Prober
}

// newEnv builds the world with the given number of route tables, probing
// vip (which the systems under test route and bind).
func newEnv(ctx context.Context, tables int, vip netip.Addr, log *slog.Logger) (_ *env, err error) {
	w := simcluster.World("bench", max(tables, 4))
	timing, err := vpcsim.TimingProfile("realistic")
	if err != nil {
		return nil, err
	}
	e := &env{nodes: nodeSpecs, witness: witnessSpec, vip: vip, svcs: map[string]*simcluster.Service{}}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	if e.ns, err = netnscluster.Start(ctx, w, vpcsim.Options{Timing: timing, Throttle: true}, log); err != nil {
		return nil, err
	}
	e.srv, e.fab = e.ns.Srv, e.ns.Fab
	for i := range e.nodes {
		e.nodes[i].ENI, _ = e.ns.Interface(e.nodes[i].InstanceID)
		if err := e.startService(e.nodes[i].Name); err != nil {
			return nil, err
		}
	}
	e.cl = simcluster.StartProber(context.WithoutCancel(ctx), e.ns.Dial(clientInstance, netip.AddrPortFrom(e.vip, servicePort)), probeOptions)
	return e, nil
}

func (e *env) node(name string) node {
	for _, n := range e.nodes {
		if n.Name == name {
			return n
		}
	}
	panic("bench: no node " + name)
}

// startService starts a node's service in its namespace (once): the
// systems' health checks probe it on 127.0.0.1, the client through the
// VIP.
func (e *env) startService(name string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.svcs[name] != nil {
		return nil
	}
	svc, err := e.ns.Serve(e.node(name).InstanceID, name, servicePort)
	if err != nil {
		return err
	}
	e.svcs[name] = svc
	return nil
}

// stopService closes a node's service: its health check fails.
func (e *env) stopService(name string) {
	e.mu.Lock()
	s := e.svcs[name]
	delete(e.svcs, name)
	e.mu.Unlock()
	if s != nil {
		s.Close()
	}
}

// routeOwner returns the node every listed table routes dst to, "" if
// the tables disagree or miss the route.
func (e *env) routeOwner(dst netip.Prefix, ids []string) string {
	names := map[string]string{}
	for _, n := range e.nodes {
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
	if e.cl != nil {
		e.cl.Stop()
	}
	for _, n := range e.nodes {
		e.stopService(n.Name)
	}
	if e.ns != nil {
		e.ns.Close()
	}
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

func tempDir(prefix string) (string, error) {
	d, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", fmt.Errorf("create temporary directory: %w", err)
	}
	return d, nil
}
