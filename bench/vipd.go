package bench

import (
	"context"
	"net/netip"
	"time"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/simcluster"
	"github.com/vipd/vipd/internal/vpcsim/netns"
)

// system is one way of keeping the VIP on a healthy node: vipd (with some
// settings) or the keepalived baseline. Its methods are called from one
// goroutine, except masters, which the split-brain sampler calls.
type system interface {
	Name() string
	// start runs the daemons on both nodes (and the witness, if any).
	start(ctx context.Context) error
	// inject makes a round's fault on node from (to is the other), as
	// the cluster's catalogue does (simcluster.Faults) unless the
	// system has a way of its own; heal undoes it.
	inject(ctx context.Context, f Fault, from, to string) (simcluster.Injected, error)
	// masters says which nodes believe they are master now.
	masters(ctx context.Context) map[string]bool
	// standby says whether a node's daemon runs and stands by as backup,
	// ready to take over.
	standby(ctx context.Context, node string) bool
	// pids lists a node's daemon processes, for the idle benchmark.
	pids(node string) []int
}

// VipdSettings are the knobs the benchmarks vary. Zero fields keep
// vipd's defaults (internal/config.Default): lease 2s, checks every 1s
// with fall 2, reconcile every 5s.
type VipdSettings struct {
	Label         string
	Lease         time.Duration
	CheckInterval time.Duration
	// Election is the backend: "" for raft among the two nodes and the
	// witness, or config.BackendDynamoDB for two nodes sharing a lease
	// item in vpcsim's DynamoDB, with no witness.
	Election string
}

// DefaultSettings and TunedSettings are the two vipd configurations the
// failover benchmark compares with the baseline (design.md).
var (
	DefaultSettings = VipdSettings{Label: "vipd default"}
	// TunedSettings' lease is the shortest a busy 2-core host held in
	// bench/RESULTS.md ("The tuned profile"): 600 ms lost its lease
	// dozens of times a minute there.
	TunedSettings = VipdSettings{Label: "vipd tuned", Lease: time.Second, CheckInterval: 200 * time.Millisecond}
	// DynamoDBSettings are vipd's defaults with the dynamodb election:
	// two instances and no third host (docs/election-dynamodb.md).
	DynamoDBSettings = VipdSettings{Label: "vipd dynamodb", Election: config.BackendDynamoDB}
)

// benchLeaseTable is the dynamodb election's table in vpcsim.
const benchLeaseTable = "vipd-bench-leases"

// vipdSystem runs vipd on both nodes and a witness (raft among three
// members), or on the two nodes alone (the dynamodb election); one
// overlay-route resource, the VIP bound on eth0.
type vipdSystem struct {
	e      *env
	set    VipdSettings
	cidr   netip.Prefix // routed block
	tables []string     // nil: all
}

func newVipd(e *env, set VipdSettings, cidr netip.Prefix, tables []string) (*vipdSystem, error) {
	s := &vipdSystem{e: e, set: set, cidr: cidr, tables: tables}
	if set.Election == config.BackendDynamoDB {
		e.c.Leave("witness")
		if err := simcluster.CreateLeaseTable(context.Background(), e.srv, benchLeaseTable); err != nil {
			return nil, err
		}
	}
	for _, h := range e.c.Running() {
		if err := simcluster.WriteConfig(h.ConfigPath(), s.config(h)); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *vipdSystem) Name() string { return s.set.Label }

// config is a member's vipd.yaml: raft among the three members, the
// overlay route of the routed block, the VIP bound on eth0, AWS through
// the namespace's proxies; the settings' lease and check interval.
func (s *vipdSystem) config(h *simcluster.Host) *config.Config {
	cfg := s.e.c.BaseConfig(h)
	if s.set.Lease > 0 {
		cfg.Election.Lease = s.set.Lease
	}
	if s.set.Election == config.BackendDynamoDB {
		cfg.Election.Backend = config.BackendDynamoDB
		cfg.Election.DynamoDB = &config.DynamoDBElection{Table: benchLeaseTable}
	}
	if h.Witness {
		return cfg
	}
	cfg.Health = []config.Check{s.e.c.ServiceCheck(h, s.set.CheckInterval)}
	tables := config.RouteTables{All: s.tables == nil, IDs: s.tables}
	cfg.Resources = []config.Resource{{OverlayRoute: &config.OverlayRoute{CIDR: s.cidr, RouteTables: tables, DisableSourceDestCheck: true}}}
	cfg.LocalAddress = config.LocalAddress{Interface: config.InterfaceAuto, CIDR: netip.PrefixFrom(s.e.vip, 32)}
	cfg.AWS.Region, cfg.AWS.Endpoint, cfg.AWS.IMDSEndpoint = s.e.srv.Region(), "http://"+netns.APIAddr, "http://"+netns.IMDSAddr
	return cfg
}

func (s *vipdSystem) start(context.Context) error { return s.e.c.StartAll() }

// inject makes every fault the catalogue's way: a kill is kill -9, an
// isolation cuts the node from its peer and from the witness (with raft,
// a node cut from only one of them keeps quorum through the other, and
// rightly nothing moves) or, with the dynamodb election, from its peer
// and from the AWS endpoints (DynamoDB and EC2 alike, as when its subnet
// loses its route to them); the planned move is vipd switchover.
func (s *vipdSystem) inject(ctx context.Context, f Fault, from, to string) (simcluster.Injected, error) {
	return s.e.c.Inject(ctx, catalogueName[f], simcluster.Target{Host: from, Peer: to})
}

// masters reads each node's role from its admin API: a node believes it is
// master while its role is primary.
func (s *vipdSystem) masters(ctx context.Context) map[string]bool {
	out := map[string]bool{}
	for _, h := range s.e.c.Nodes() {
		if !h.Running() {
			continue
		}
		if st, err := h.Status(ctx); err == nil && st.Role == "primary" {
			out[h.Name] = true
		}
	}
	return out
}

func (s *vipdSystem) standby(ctx context.Context, name string) bool {
	h := s.e.node(name)
	if !h.Running() {
		return false
	}
	st, err := h.Status(ctx)
	return err == nil && st.Role == "backup"
}

func (s *vipdSystem) pids(name string) []int { return groupPIDs(s.e.node(name).Proc()) }
