package bench

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/vipd/vipd/internal/admin"
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
	// kill SIGKILLs a node's daemon; restart starts it again.
	kill(node string)
	restart(ctx context.Context, node string) error
	// masters says which nodes believe they are master now.
	masters(ctx context.Context) map[string]bool
	// standby says whether a node's daemon runs and stands by as backup,
	// ready to take over.
	standby(ctx context.Context, node string) bool
	// isolate cuts (on) or heals a node's links to its peers.
	isolate(node string, on bool) error
	// planned moves the VIP from a node by the system's planned way.
	planned(ctx context.Context, from, to string) error
	// pids lists a node's daemon processes, for the idle benchmark.
	pids(node string) []int
	close()
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

type vipdMember struct {
	node
	witness             bool
	dir, socket, config string
	p                   *simcluster.Proc
}

// vipdSystem runs vipd on both nodes and a witness (raft among three
// members), or on the two nodes alone (the dynamodb election); one
// overlay-route resource, the VIP bound on eth0.
type vipdSystem struct {
	e       *env
	bin     string
	set     VipdSettings
	cidr    netip.Prefix // routed block
	tables  []string     // nil: all
	dir     string
	keep    bool // leave dir in place (a daemon crashed)
	members []*vipdMember
}

func newVipd(e *env, bin string, set VipdSettings, cidr netip.Prefix, tables []string) (*vipdSystem, error) {
	dir, err := tempDir("vipd-bench-")
	if err != nil {
		return nil, err
	}
	s := &vipdSystem{e: e, bin: bin, set: set, cidr: cidr, tables: tables, dir: dir}
	members := append([]node(nil), e.nodes...)
	if set.Election == config.BackendDynamoDB {
		if err := simcluster.CreateLeaseTable(context.Background(), e.srv, benchLeaseTable); err != nil {
			return nil, err
		}
	} else {
		members = append(members, e.witness)
	}
	for _, n := range members {
		m := &vipdMember{node: n, witness: n.Name == e.witness.Name, dir: filepath.Join(dir, n.Name)}
		m.socket = filepath.Join(m.dir, "vipd.sock")
		m.config = filepath.Join(m.dir, "vipd.yaml")
		if err := os.MkdirAll(m.dir, 0o700); err != nil {
			return nil, fmt.Errorf("create %s: %w", m.dir, err)
		}
		s.members = append(s.members, m)
	}
	for _, m := range s.members {
		if err := simcluster.WriteConfig(m.config, s.config(m)); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *vipdSystem) Name() string { return s.set.Label }

const raftPort = 7000

// sim is the member as the simulated cluster's helpers see it.
func (m *vipdMember) sim() simcluster.Member {
	return simcluster.Member{Name: m.Name, InstanceID: m.InstanceID, Witness: m.witness,
		Advertise: netip.AddrPortFrom(m.Addr, raftPort).String(), Dir: m.dir}
}

// config is a member's vipd.yaml: raft among the three members, the
// overlay route of the routed block, the VIP bound on eth0, AWS through
// the namespace's proxies; the settings' lease and check interval.
func (s *vipdSystem) config(m *vipdMember) *config.Config {
	sims := make([]simcluster.Member, len(s.members))
	for i, p := range s.members {
		sims[i] = p.sim()
	}
	cfg := simcluster.BaseConfig("bench", m.sim(), sims, config.LogJSON)
	if s.set.Lease > 0 {
		cfg.Election.Lease = s.set.Lease
	}
	if s.set.Election == config.BackendDynamoDB {
		cfg.Election.Backend = config.BackendDynamoDB
		cfg.Election.DynamoDB = &config.DynamoDBElection{Table: benchLeaseTable}
	}
	if m.witness {
		return cfg
	}
	cfg.Health = []config.Check{simcluster.ServiceCheck(fmt.Sprintf("127.0.0.1:%d", servicePort), s.set.CheckInterval)}
	tables := config.RouteTables{All: s.tables == nil, IDs: s.tables}
	cfg.Resources = []config.Resource{{OverlayRoute: &config.OverlayRoute{CIDR: s.cidr, RouteTables: tables, DisableSourceDestCheck: true}}}
	cfg.LocalAddress = config.LocalAddress{Interface: config.InterfaceAuto, CIDR: netip.PrefixFrom(s.e.vip, 32)}
	cfg.AWS.Region, cfg.AWS.Endpoint, cfg.AWS.IMDSEndpoint = s.e.srv.Region(), "http://"+netns.APIAddr, "http://"+netns.IMDSAddr
	return cfg
}

// envOf is a member's environment: the SDK reaches vpcsim and IMDS only
// through the namespace's proxies and takes credentials from (simulated)
// IMDS, as on EC2.
func (s *vipdSystem) envOf(m *vipdMember) []string {
	return simcluster.Env(m.sim(), "http://"+netns.APIAddr, "http://"+netns.IMDSAddr)
}

func (s *vipdSystem) member(name string) *vipdMember {
	for _, m := range s.members {
		if m.Name == name {
			return m
		}
	}
	panic("bench: no vipd member " + name)
}

func (s *vipdSystem) start(ctx context.Context) error {
	for _, m := range s.members {
		if err := s.restart(ctx, m.Name); err != nil {
			return err
		}
	}
	return nil
}

func (s *vipdSystem) restart(_ context.Context, name string) error {
	m := s.member(name)
	if m.p.Running() {
		return nil
	}
	p, err := startProc(s.e.fab, m.InstanceID, s.envOf(m), filepath.Join(m.dir, "vipd.log"), s.bin, "run", "--config", m.config)
	if err != nil {
		return fmt.Errorf("start vipd on %s: %w", name, err)
	}
	m.p = p
	return nil
}

func (s *vipdSystem) kill(name string) { s.member(name).p.Kill() }

func (s *vipdSystem) status(ctx context.Context, name string) (admin.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	return admin.NewClient(s.member(name).socket).Status(ctx)
}

// masters reads each node's role from its admin API: a node believes it is
// master while its role is primary.
func (s *vipdSystem) masters(ctx context.Context) map[string]bool {
	out := map[string]bool{}
	for _, n := range s.e.nodes {
		if !s.member(n.Name).p.Running() {
			continue
		}
		if st, err := s.status(ctx, n.Name); err == nil && st.Role == "primary" {
			out[n.Name] = true
		}
	}
	return out
}

func (s *vipdSystem) standby(ctx context.Context, name string) bool {
	if !s.member(name).p.Running() {
		return false
	}
	st, err := s.status(ctx, name)
	return err == nil && st.Role == "backup"
}

// isolate cuts a node from its peer and from the witness: with raft, a
// node cut from only one of them keeps quorum through the other, and
// rightly nothing moves. With the dynamodb election the third party is
// DynamoDB: the node is cut from its peer and from the AWS endpoints
// (DynamoDB and EC2 alike, as when its subnet loses its route to them).
func (s *vipdSystem) isolate(name string, on bool) error {
	n := s.e.node(name)
	if err := s.e.fab.Partition(n.InstanceID, s.e.node(n.Peer).InstanceID, on); err != nil {
		return err
	}
	if s.set.Election == config.BackendDynamoDB {
		return s.e.fab.CutAPI(n.InstanceID, on)
	}
	return s.e.fab.Partition(n.InstanceID, s.e.witness.InstanceID, on)
}

func (s *vipdSystem) planned(ctx context.Context, from, to string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return admin.NewClient(s.member(from).socket).Switchover(ctx, to)
}

func (s *vipdSystem) pids(name string) []int { return groupPIDs(s.member(name).p) }

func (s *vipdSystem) close() {
	for _, m := range s.members {
		m.p.Kill()
	}
	if !s.keep && os.Getenv("BENCH_KEEP") == "" {
		_ = os.RemoveAll(s.dir)
	}
}
