package ec2

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/vipd/vipd/internal/vpcsim/iam"
)

// Options configures an Account.
type Options struct {
	// Timing delays answers and asynchronous transitions.
	Timing Timing
	// Throttle enables EC2's per-action token buckets.
	Throttle bool
	// IAM authenticates callers and evaluates their roles' policies.
	IAM *iam.Authority
	// OnLaunch runs after RunInstances launched instances, outside the
	// lock (vpcsim opens their metadata services); ctx bounds it.
	OnLaunch func(ctx context.Context) error
	// IMDSURL names an instance's metadata service for Snapshot.
	IMDSURL func(instanceID string) string
	// Logger receives failures; default discards.
	Logger *slog.Logger
}

// Account is one simulated account's EC2: its state, the lock that
// guards it, the asynchronous transitions, and the handlers of the EC2
// Query API, one file per noun. All methods are safe for concurrent use.
type Account struct {
	opts Options
	log  *slog.Logger
	ids  idGen

	mu    sync.Mutex
	world *World // the world reset returns to
	st    *state // the world's region: instances with IMDS, the fabric
	// regions holds the account's other regions, each made on its first
	// call (with a default VPC when the world has one), as every region of
	// a real account exists and is separate.
	regions  map[string]*state
	advanced bool // transitions applied under the current lock: signal on unlock

	changes chan struct{}
	wake    chan struct{} // pokes the transition loop after a mutation
}

// New checks w and returns its account.
func New(w *World, opts Options) (*Account, error) {
	if w == nil {
		w = &World{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.OnLaunch == nil {
		opts.OnLaunch = func(context.Context) error { return nil }
	}
	if opts.IMDSURL == nil {
		opts.IMDSURL = func(string) string { return "" }
	}
	ids := newIDGen()
	st, err := buildState(w, ids)
	if err != nil {
		return nil, err
	}
	return &Account{opts: opts, log: opts.Logger, ids: ids, world: w, st: st,
		changes: make(chan struct{}, 1), wake: make(chan struct{}, 1)}, nil
}

// Load replaces the account with w, which becomes what LoadedWorld
// returns. Once w is known to be valid, beforeSwap runs (without the
// lock), then the state is replaced.
func (s *Account) Load(w *World, beforeSwap func()) error {
	st, err := buildState(w, s.ids)
	if err != nil {
		return err
	}
	beforeSwap()
	s.mu.Lock()
	s.world = w
	s.st = st
	s.regions = nil
	s.mu.Unlock()
	s.signal()
	return nil
}

// LoadedWorld returns the world last loaded.
func (s *Account) LoadedWorld() *World {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.world
}

// AccountID returns the simulated account's ID.
func (s *Account) AccountID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.account
}

// Instances returns the IDs of every instance.
func (s *Account) Instances() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.st.insts))
	for _, in := range s.st.insts {
		ids = append(ids, in.id)
	}
	return ids
}

// VPCExists reports whether the VPC exists in region.
func (s *Account) VPCExists(region, vpcID string) bool {
	st := s.lockState()
	defer s.unlockState()
	return region == st.region && st.vpc(vpcID) != nil
}

// Region returns the simulated region.
func (s *Account) Region() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.region
}

// Changes returns a channel that receives a value after state mutations.
// It is a hint with one slot: several mutations may collapse into one value,
// so a receiver re-reads what it needs (Resolve) instead of counting.
func (s *Account) Changes() <-chan struct{} { return s.changes }

// lockState locks the state and applies the transitions that are due, so
// every reader sees attachments and instance states as of now.
func (s *Account) lockState() *state {
	s.mu.Lock()
	if s.st.advance(time.Now()) {
		s.advanced = true
	}
	return s.st
}

// lockIn locks the state and returns the region r was signed for (the
// world's region when unsigned), as lockState does.
func (s *Account) lockIn(r *request) *state {
	s.mu.Lock()
	st := s.regionLocked(r.region)
	if st.advance(time.Now()) {
		s.advanced = true
	}
	return st
}

// regionLocked returns the state of region, making it on first use; s.mu held.
func (s *Account) regionLocked(region string) *state {
	if region == "" || region == s.st.region {
		return s.st
	}
	if st := s.regions[region]; st != nil {
		return st
	}
	st, err := buildState(&World{Region: region, AccountID: s.st.account, DefaultVPC: s.world.DefaultVPC}, s.ids)
	if err != nil {
		// An empty world of a valid account cannot fail to build.
		panic(fmt.Sprintf("build region %s: %v", region, err))
	}
	if s.regions == nil {
		s.regions = map[string]*state{}
	}
	s.regions[region] = st
	return st
}

// mutateIn runs fn on r's region's state, as mutate does.
func (s *Account) mutateIn(r *request, fn func(st *state) error) error {
	st := s.lockIn(r)
	err := fn(st)
	if err == nil {
		s.advanced = true // signal the change
	}
	s.unlockState()
	s.poke()
	return err
}

// unlockState unlocks and signals Changes if the state changed meanwhile.
func (s *Account) unlockState() {
	changed := s.advanced
	s.advanced = false
	s.mu.Unlock()
	if changed {
		s.signal()
	}
}

// poke wakes the transition loop to look at newly scheduled transitions.
func (s *Account) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// RunTransitions completes asynchronous transitions (attaching, stopping,
// ...) when they are due, even if nobody calls, so that Changes fires in
// time for the fabric. It returns when ctx ends.
func (s *Account) RunTransitions(ctx context.Context) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		st := s.lockState()
		next := st.nextTransition()
		s.unlockState()
		d := time.Hour
		if !next.IsZero() {
			d = max(time.Until(next), 0)
		}
		t.Reset(d)
		select {
		case <-t.C:
		case <-s.wake:
		case <-ctx.Done():
			return
		}
	}
}

func (s *Account) signal() {
	select {
	case s.changes <- struct{}{}:
	default:
	}
}

// Resolve answers the data-plane question of the fabric: which instance
// receives a packet sent from a subnet to dst. It takes the most specific
// route of the subnet's route table (its explicit association or the VPC's
// main table); a local route delivers to the interface holding dst as a
// primary or secondary address, any other route to its target interface's
// instance. As in AWS, an instance whose interface has source/destination
// checking on drops traffic for addresses it does not hold, and a stopped
// instance receives nothing.
func (s *Account) Resolve(fromSubnetID string, dst netip.Addr) (instanceID string, err error) {
	st := s.lockState()
	defer s.unlockState()
	sn := st.subnet(fromSubnetID)
	if sn == nil {
		return "", fmt.Errorf("resolve %s from %s: subnet: %w", dst, fromSubnetID, ErrNotFound)
	}
	// An Elastic IP is reached from anywhere: its traffic is translated to
	// the private address it is associated with.
	if x := st.eipByIP(dst); x != nil {
		if x.eni == "" {
			return "", fmt.Errorf("resolve %s: elastic ip %s is not associated: %w", dst, x.id, ErrNoRoute)
		}
		e := st.eni(x.eni)
		if e == nil || e.attach == nil || e.attach.status != "attached" {
			return "", fmt.Errorf("resolve %s: interface %s of elastic ip %s is not attached: %w", dst, x.eni, x.id, ErrBlackhole)
		}
		in := st.instance(e.attach.instance)
		if in == nil || in.state != "running" {
			return "", fmt.Errorf("resolve %s: instance %s is not running: %w", dst, e.attach.instance, ErrBlackhole)
		}
		return in.id, nil
	}
	t := st.tableFor(sn)
	if t == nil {
		return "", fmt.Errorf("resolve %s from %s: %w", dst, fromSubnetID, ErrNoRoute)
	}
	var best *route
	for _, r := range t.routes {
		if r.dst.Contains(dst) && (best == nil || r.dst.Bits() > best.dst.Bits()) {
			best = r
		}
	}
	if best == nil {
		return "", fmt.Errorf("resolve %s from %s in %s: %w", dst, fromSubnetID, t.id, ErrNoRoute)
	}
	var e *eni
	switch {
	case best.local:
		e = st.ownerOf(sn.vpc, dst)
		if e == nil {
			return "", fmt.Errorf("resolve %s from %s: no interface holds the address: %w", dst, fromSubnetID, ErrNoRoute)
		}
	case best.exit() != "":
		return "", fmt.Errorf("resolve %s from %s: route %s leaves through %s: %w", dst, fromSubnetID, best.dst, best.exit(), ErrNoRoute)
	default:
		e = st.eni(best.eni)
	}
	if e == nil || e.attach == nil || e.attach.status != "attached" {
		return "", fmt.Errorf("resolve %s from %s: route %s in %s: %w", dst, fromSubnetID, best.dst, t.id, ErrBlackhole)
	}
	in := st.instance(e.attach.instance)
	if in == nil {
		return "", fmt.Errorf("resolve %s from %s: instance %s: %w", dst, fromSubnetID, e.attach.instance, ErrBlackhole)
	}
	if in.state != "running" {
		return "", fmt.Errorf("resolve %s from %s: instance %s is %s: %w", dst, fromSubnetID, in.id, in.state, ErrBlackhole)
	}
	if e.sdc && !e.holds(dst) {
		return "", fmt.Errorf("resolve %s from %s: interface %s of %s: %w", dst, fromSubnetID, e.id, in.id, ErrSourceDestCheck)
	}
	return in.id, nil
}

var (
	// ErrNotFound reports an unknown subnet or instance.
	ErrNotFound = errors.New("not found")
	// ErrNoRoute reports that no route (or no interface) takes the packet.
	ErrNoRoute = errors.New("no route to destination")
	// ErrBlackhole reports a route whose target cannot take traffic.
	ErrBlackhole = errors.New("route target is a blackhole")
	// ErrSourceDestCheck reports a packet dropped because the receiving
	// interface checks that it is the packet's destination.
	ErrSourceDestCheck = errors.New("dropped by source/destination check")
)
