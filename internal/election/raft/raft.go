package raft

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	hraft "github.com/hashicorp/raft"
	"github.com/hashicorp/raft-wal/metadb"

	"github.com/vipd/vipd/internal/election"
)

// DefaultLease is the lease duration when Config.Lease is zero.
const DefaultLease = 2 * time.Second

// Config configures one member of a raft election cluster.
type Config struct {
	// Self is this member's name, unique in the cluster; it is the raft
	// server ID.
	Self string
	// Advertise is host:port where peers reach this member (raft and the
	// peer RPC share it).
	Advertise string
	// Bind is host:port to listen on; "" means Advertise.
	Bind string
	// Peers are the other members. Every member must list the same cluster.
	Peers []Peer
	// Witness makes this member a voter that never holds the lease.
	Witness bool
	// Priority orders eligible members (higher wins) until SetEligible sets
	// another.
	Priority int
	// Preempt lets a higher-priority eligible member take the lease from a
	// healthy holder. false is keepalived's nopreempt: the holder keeps it.
	// The raft leader's setting decides.
	Preempt bool
	// Lease scales every timing (default DefaultLease): a dead holder is
	// detected within about one Lease (0.8 × Lease in the median), and a
	// grant stays valid for at most 0.8 × HeartbeatTimeout after its last
	// quorum confirmation.
	Lease time.Duration
	// HeartbeatTimeout, ElectionTimeout and LeaderLeaseTimeout override
	// raft's timings, derived from Lease when zero: 0.45 × Lease,
	// HeartbeatTimeout and 0.9 × HeartbeatTimeout. LeaderLeaseTimeout must lie strictly between
	// 0.8 × HeartbeatTimeout and HeartbeatTimeout (see the package doc).
	HeartbeatTimeout   time.Duration
	ElectionTimeout    time.Duration
	LeaderLeaseTimeout time.Duration
	// DataDir holds the raft log (raft-wal) and snapshots.
	DataDir string
	// Transport replaces the TCP transport; tests pass raft's in-memory
	// transport, whose address must equal Advertise.
	Transport hraft.Transport
	// Network carries the cluster port (raft unless Transport is set, and
	// the peer RPC); nil means TCP.
	Network Network
}

// Peer is another member of the cluster.
type Peer struct {
	Name    string
	Address string
	Witness bool
}

// timings are the durations the Lease works with, all derived from Config.
type timings struct {
	heartbeat, election, leaderLease time.Duration
	// valid is how long after the instant a quorum confirmation is
	// dated at (package doc) the grant stays valid.
	valid time.Duration
	// renew is the period of quorum confirmations. They run side by
	// side, so a confirmation's answers may take up to valid − renew less
	// its dating's lag (raft's heartbeat interval) to arrive.
	renew time.Duration
	// apply bounds how long a raft operation may wait to be started.
	apply time.Duration
	// transferEvery rate-limits transfers the leader starts on its own.
	transferEvery time.Duration
	// reportEvery is the period of the members' reports to the leader;
	// contactTimeout is how long a member counts as reachable after the
	// last contact (members.go).
	reportEvery, contactTimeout time.Duration
}

func (c *Config) timings() timings {
	lease := c.Lease
	t := timings{
		heartbeat:   c.HeartbeatTimeout,
		election:    c.ElectionTimeout,
		leaderLease: c.LeaderLeaseTimeout,
	}
	if t.heartbeat == 0 {
		// raft's follower timer fires at a random point in [HT, 2·HT]
		// and a new leader needs the second-to-last voter's timer too,
		// so detection takes about 1.7·HT in the median and 2·HT at
		// most: 0.45·Lease keeps the worst case within the Lease.
		t.heartbeat = lease * 9 / 20
	}
	if t.election == 0 {
		t.election = t.heartbeat
	}
	if t.leaderLease == 0 {
		t.leaderLease = t.heartbeat * 9 / 10
	}
	t.valid = t.heartbeat * 8 / 10
	t.renew = t.heartbeat / 4
	t.apply = t.heartbeat / 2
	t.transferEvery = t.heartbeat
	t.reportEvery = t.heartbeat / 3
	t.contactTimeout = t.heartbeat
	return t
}

func (c *Config) validate() error {
	var errs []error
	if c.Self == "" {
		errs = append(errs, errors.New("self: empty name"))
	}
	if c.Advertise == "" {
		errs = append(errs, errors.New("advertise: empty address"))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("data dir: empty path"))
	}
	if c.Lease < 0 {
		errs = append(errs, fmt.Errorf("lease %s: negative", c.Lease))
	}
	seen := map[string]bool{c.Self: true}
	for i, p := range c.Peers {
		switch {
		case p.Name == "":
			errs = append(errs, fmt.Errorf("peer %d: empty name", i))
		case seen[p.Name]:
			errs = append(errs, fmt.Errorf("peer %d: name %q used twice", i, p.Name))
		}
		seen[p.Name] = true
		if p.Address == "" {
			errs = append(errs, fmt.Errorf("peer %q: empty address", p.Name))
		}
	}
	t := c.timings()
	if t.heartbeat < 10*time.Millisecond {
		errs = append(errs, fmt.Errorf("heartbeat timeout %s: below 10ms", t.heartbeat))
	}
	if t.election < t.heartbeat {
		errs = append(errs, fmt.Errorf("election timeout %s: below heartbeat timeout %s", t.election, t.heartbeat))
	}
	if t.leaderLease <= t.valid || t.leaderLease >= t.heartbeat {
		errs = append(errs, fmt.Errorf("leader lease timeout %s: must lie strictly between %s (0.8 × heartbeat timeout) and heartbeat timeout %s", t.leaderLease, t.valid, t.heartbeat))
	}
	return errors.Join(errs...)
}

// Lease is one member's side of the raft election. Create it with New, then
// call Run once; the other methods are safe for concurrent use at any time.
type Lease struct {
	cfg     Config
	log     *slog.Logger
	t       timings
	created time.Time
	peers   map[string]Peer
	fsm     *fsm
	members *members

	changes  chan struct{}
	status   atomic.Pointer[election.Status]
	pubMu    sync.Mutex
	pubCh    chan struct{} // closed and replaced on every change of status
	loopPoke chan struct{}
	recPoke  chan struct{}
	reqs     chan request
	started  chan struct{} // closed when the loop runs
	stopped  chan struct{} // closed when the loop has returned
	runOnce  atomic.Bool
	raft     atomic.Pointer[hraft.Raft]
	// authenticates is set when the cluster port verifies who connects
	// (mutual TLS); requests are then checked against the certificate.
	authenticates bool

	desireMu sync.Mutex
	eligible bool
	priority int

	// trace, when set before Run, sees every published status on the
	// loop goroutine; tests use it to check that grants never overlap.
	trace func(election.Status)
	// wrapLog, when set before Run, wraps the raft log raft is given;
	// tests use it to make the disk slow.
	wrapLog func(logStableStore) logStableStore
	// preConfirm, when set before Run, makes this member answer the peer
	// RPC as a member from before rpcConfirm did, for tests of a rolling
	// upgrade: a confirm is an unknown request, which a follower refuses
	// as not the raft leader (codeNotLeader) and the leader as unknown,
	// on a connection closed after the answer.
	preConfirm bool
	// gate wraps raft's transport (gate.go); set by Run before the loop
	// starts.
	gate *voteGate
}

var _ election.Lease = (*Lease)(nil)

// New checks cfg and returns a Lease that is not yet running. It does no
// I/O besides creating cfg.DataDir. Whether the member is eligible starts
// false (true is never right for a witness, and a node is eligible only once
// its health checks say so): call SetEligible.
func New(cfg Config, logger *slog.Logger) (*Lease, error) {
	if cfg.Lease == 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.Bind == "" {
		cfg.Bind = cfg.Advertise
	}
	if cfg.Network == nil {
		cfg.Network = tcpNetwork{}
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("raft election config: %w", err)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create raft data dir: %w", err)
	}
	l := &Lease{
		cfg:      cfg,
		log:      logger.With("component", "election", "node", cfg.Self),
		t:        cfg.timings(),
		created:  time.Now(),
		peers:    map[string]Peer{},
		changes:  make(chan struct{}, 1),
		pubCh:    make(chan struct{}),
		loopPoke: make(chan struct{}, 1),
		recPoke:  make(chan struct{}, 1),
		reqs:     make(chan request),
		started:  make(chan struct{}),
		stopped:  make(chan struct{}),
		priority: cfg.Priority,
	}
	if a, ok := cfg.Network.(interface{ authenticatesPeers() bool }); ok {
		l.authenticates = a.authenticatesPeers()
	}
	for _, p := range cfg.Peers {
		l.peers[p.Name] = p
	}
	l.members = newMembers(cfg.Self, cfg.Peers, l.t.contactTimeout)
	l.fsm = newFSM(func() {
		poke(l.loopPoke)
		poke(l.recPoke)
	})
	st := election.Status{Self: cfg.Self}
	for _, p := range cfg.Peers {
		st.Peers = append(st.Peers, election.Peer{Name: p.Name, Address: p.Address, Witness: p.Witness})
	}
	l.status.Store(&st)
	return l, nil
}

func poke(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Status returns this member's current view. It never blocks. Each peer's
// reachability and last contact are the raft leader's view, which every
// member receives (members.go), and a peer that cannot be reached or is in
// standby is not eligible.
func (l *Lease) Status() election.Status {
	st := *l.status.Load()
	st.Peers = slices.Clone(st.Peers)
	l.members.overlay(time.Now(), &st, l.fsm.state())
	// The loop publishes a lapse only when it runs again; a process that was
	// paused past its validity must not report a hold it no longer has
	// (Valid already refuses it), or vipd status shows two primaries.
	if st.Held && !time.Now().Before(st.ValidUntil) {
		st.Held = false
	}
	return st
}

// Changes is signalled (without blocking, dropping when full) whenever
// Status may have changed, including every renewal of ValidUntil.
func (l *Lease) Changes() <-chan struct{} { return l.changes }

// Valid answers fence.Validity: the grant token is valid until the returned
// instant if this member holds it now.
func (l *Lease) Valid(token uint64) (time.Time, bool) {
	st := l.status.Load()
	if !st.Held || st.Token != token || token == 0 || !time.Now().Before(st.ValidUntil) {
		return time.Time{}, false
	}
	return st.ValidUntil, true
}

// publish stores st as the current status and signals its watchers when it
// differs from the previous one. Only the loop calls it.
func (l *Lease) publish(st election.Status) {
	old := l.status.Load()
	if old != nil && statusEqual(*old, st) {
		return
	}
	l.status.Store(&st)
	if l.trace != nil {
		l.trace(st)
	}
	poke(l.changes)
	l.pubMu.Lock()
	close(l.pubCh)
	l.pubCh = make(chan struct{})
	l.pubMu.Unlock()
}

// published returns a channel closed at the next change of status.
func (l *Lease) published() <-chan struct{} {
	l.pubMu.Lock()
	defer l.pubMu.Unlock()
	return l.pubCh
}

func statusEqual(a, b election.Status) bool {
	return a.Self == b.Self && a.Holder == b.Holder && a.Token == b.Token && a.Held == b.Held &&
		a.ValidUntil.Equal(b.ValidUntil) && a.Quorum == b.Quorum && slices.Equal(a.Peers, b.Peers) &&
		a.Leader == b.Leader && a.HolderSince.Equal(b.HolderSince) && a.Standby == b.Standby
}

// wish returns what SetEligible last said (never eligible for a witness):
// what this member records for itself in the log.
func (l *Lease) wish() (eligible bool, priority int) {
	l.desireMu.Lock()
	defer l.desireMu.Unlock()
	return l.eligible && !l.cfg.Witness, l.priority
}

// desire is whether this member may hold: its wish, unless an operator
// put it in standby.
func (l *Lease) desire() (eligible bool, priority int) {
	eligible, priority = l.wish()
	return eligible && !l.fsm.state().Standby[l.cfg.Self], priority
}

// SetEligible records whether this member may hold the lease. A holder that
// becomes ineligible stops holding before SetEligible returns (when Run is
// running) and hands the lease to the best eligible peer; the cluster learns
// the new record asynchronously, retried until the replicated record
// matches. A witness cannot be made eligible.
func (l *Lease) SetEligible(ctx context.Context, eligible bool, priority int) error {
	if eligible && l.cfg.Witness {
		return fmt.Errorf("set eligible on witness %s: %w", l.cfg.Self, election.ErrNotEligible)
	}
	l.desireMu.Lock()
	l.eligible, l.priority = eligible, priority
	l.desireMu.Unlock()
	poke(l.recPoke)
	select {
	case <-l.started:
	default:
		return nil // the loop reads the desire when it starts
	}
	done := make(chan error, 1)
	select {
	case l.reqs <- request{eligibility: true, reply: done}:
	case <-l.stopped:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("set eligible: %w", ctx.Err())
	}
	select {
	case <-done:
		return nil
	case <-l.stopped:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("set eligible: %w", ctx.Err())
	}
}

// Transfer moves the lease to node to, or to the best other eligible node
// when to is "", and returns once this member's Status shows the new holder.
// It works from any member: a follower forwards the request to the raft
// leader. It returns election.ErrUnknownNode or election.ErrNotEligible for
// a target that cannot hold, and ctx's error when the move does not complete
// in time.
func (l *Lease) Transfer(ctx context.Context, to string) error {
	if to != "" && to != l.cfg.Self {
		p, ok := l.peers[to]
		if !ok {
			return fmt.Errorf("transfer lease to %s: %w", to, election.ErrUnknownNode)
		}
		if p.Witness {
			return fmt.Errorf("transfer lease to witness %s: %w", to, election.ErrNotEligible)
		}
	}
	if to == l.cfg.Self && l.cfg.Witness {
		return fmt.Errorf("transfer lease to witness %s: %w", to, election.ErrNotEligible)
	}
	start := l.Status()
	if to != "" && start.Holder == to {
		return nil
	}
	select {
	case <-l.started:
	case <-ctx.Done():
		return fmt.Errorf("transfer lease to %s: %w", target(to), ctx.Err())
	}
	if err := l.requestTransfer(ctx, to); err != nil {
		return fmt.Errorf("transfer lease to %s: %w", target(to), err)
	}
	for {
		ch := l.published()
		st := l.Status()
		moved := st.Holder != "" && st.Token > start.Token
		if to == "" && moved && st.Holder != start.Holder || to != "" && moved && st.Holder == to {
			return nil
		}
		select {
		case <-ch:
		case <-l.stopped:
			return fmt.Errorf("transfer lease to %s: %w", target(to), errStopped)
		case <-ctx.Done():
			return fmt.Errorf("transfer lease to %s: wait for new holder: %w", target(to), ctx.Err())
		}
	}
}

var errStopped = errors.New("election stopped")

// target names a transfer's target in errors: "" is any other member.
func target(to string) string {
	if to == "" {
		return "another member"
	}
	return to
}

var _ election.Standbyer = (*Lease)(nil)

// SetStandby records in the replicated log that node is (on) or is no
// longer in standby, from any member, and returns once this member's
// replica shows it. A node in standby does not hold the lease: the leader
// hands a held grant to the best eligible peer, as for an ineligible
// holder. The record survives restarts of every member. Any member may set
// any node's standby (an operator action; over mutual TLS, any member with
// a valid certificate).
func (l *Lease) SetStandby(ctx context.Context, node string, on bool) error {
	if p, ok := l.peers[node]; !ok && node != l.cfg.Self {
		return fmt.Errorf("standby of %s: %w", node, election.ErrUnknownNode)
	} else if p.Witness || node == l.cfg.Self && l.cfg.Witness {
		return fmt.Errorf("standby of witness %s: a witness never holds the address: %w", node, election.ErrNotEligible)
	}
	select {
	case <-l.started:
	case <-ctx.Done():
		return fmt.Errorf("standby of %s: %w", node, ctx.Err())
	}
	retry := time.NewTicker(l.t.heartbeat / 10)
	defer retry.Stop()
	req := rpcRequest{Op: rpcStandby, From: l.cfg.Self, Node: node, Standby: on}
	for {
		err := l.askLeader(ctx, req)
		if err == nil {
			break
		}
		if !errors.Is(err, errNotLeader) && isAnswer(err) {
			return fmt.Errorf("standby of %s: %w", node, err)
		}
		select {
		case <-retry.C:
		case <-l.stopped:
			return fmt.Errorf("standby of %s: %w", node, errStopped)
		case <-ctx.Done():
			return fmt.Errorf("standby of %s: no leader recorded it: %w", node, errors.Join(ctx.Err(), err))
		}
	}
	for l.fsm.state().Standby[node] != on {
		select {
		case <-retry.C:
		case <-l.stopped:
			return fmt.Errorf("standby of %s: %w", node, errStopped)
		case <-ctx.Done():
			return fmt.Errorf("standby of %s: recorded, but not yet replicated here: %w", node, ctx.Err())
		}
	}
	return nil
}

// requestTransfer asks the raft leader to move the lease, retrying while
// leadership is unknown or moving or the leader cannot be reached. The
// leader's answer is final: retrying a hand-off that failed (an unreachable
// target) would make the holder drop and regain its grant again and again.
func (l *Lease) requestTransfer(ctx context.Context, to string) error {
	retry := time.NewTicker(l.t.heartbeat / 10)
	defer retry.Stop()
	for {
		err := l.askLeader(ctx, rpcRequest{Op: rpcTransfer, From: l.cfg.Self, To: to})
		if err == nil || !errors.Is(err, errNotLeader) && isAnswer(err) {
			return err
		}
		select {
		case <-retry.C:
		case <-l.stopped:
			return errStopped
		case <-ctx.Done():
			return errors.Join(ctx.Err(), err)
		}
	}
}

// answerError is the leader's own answer to a request it served locally,
// as remoteError is one received over the peer RPC.
type answerError struct{ err error }

func (e *answerError) Error() string { return e.err.Error() }
func (e *answerError) Unwrap() error { return e.err }

// isAnswer reports whether err is the leader's answer rather than a failure
// to ask it.
func isAnswer(err error) bool {
	var re *remoteError
	var ae *answerError
	return errors.As(err, &re) || errors.As(err, &ae)
}

// askLeader runs req on the raft leader: in the loop when this member leads,
// over the peer RPC otherwise. It returns errNotLeader (wrapped) when no
// leader is known or the one asked no longer leads.
func (l *Lease) askLeader(ctx context.Context, req rpcRequest) error {
	r := l.raft.Load()
	if r == nil {
		return errNotLeader
	}
	if r.State() == hraft.Leader {
		if err := l.handle(ctx, origin{local: true}, req); err != nil {
			return &answerError{err}
		}
		return nil
	}
	addr, id := r.LeaderWithID()
	if addr == "" || string(id) == l.cfg.Self {
		return errNotLeader
	}
	return call(ctx, l.cfg.Network, string(addr), l.t.election+l.t.apply, req)
}

// handle serves a peer RPC request (or a local one, from askLeader) on the
// raft leader.
func (l *Lease) handle(ctx context.Context, from origin, req rpcRequest) error {
	switch req.Op {
	case rpcPing:
		return nil
	case rpcConfirm:
		if !l.preConfirm {
			_, err := l.serveConfirm(from, req)
			return err
		}
	}
	r := l.raft.Load()
	if r == nil || r.State() != hraft.Leader {
		return errNotLeader
	}
	switch req.Op {
	case rpcEligible:
		if _, ok := l.peers[req.Node]; !ok && req.Node != l.cfg.Self {
			return fmt.Errorf("record eligibility of %s: %w", req.Node, election.ErrUnknownNode)
		}
		if err := l.mayRecord(from, req.Node); err != nil {
			l.log.Warn("eligibility record refused", "node", req.Node, "from", req.From, "remote", from.remote, "err", err)
			return fmt.Errorf("record eligibility of %s: %w", req.Node, err)
		}
		c := command{Op: opEligible, Node: req.Node, Eligible: req.Eligible, Priority: req.Priority}
		if err := waitFuture(ctx, r.Apply(c.encode(), l.t.apply)); err != nil {
			if errors.Is(err, hraft.ErrNotLeader) || errors.Is(err, hraft.ErrLeadershipLost) ||
				errors.Is(err, hraft.ErrLeadershipTransferInProgress) {
				err = errors.Join(errNotLeader, err)
			}
			return fmt.Errorf("record eligibility of %s: %w", req.Node, err)
		}
		return nil
	case rpcStandby:
		if p, ok := l.peers[req.Node]; !ok && req.Node != l.cfg.Self {
			return fmt.Errorf("record standby of %s: %w", req.Node, election.ErrUnknownNode)
		} else if p.Witness || req.Node == l.cfg.Self && l.cfg.Witness {
			return fmt.Errorf("record standby of witness %s: %w", req.Node, election.ErrNotEligible)
		}
		l.log.Info("standby set", "node", req.Node, "reason", "operator on "+req.From, "op", fmt.Sprint(req.Standby))
		c := command{Op: opStandby, Node: req.Node, Standby: req.Standby}
		if err := waitFuture(ctx, r.Apply(c.encode(), l.t.apply)); err != nil {
			if errors.Is(err, hraft.ErrNotLeader) || errors.Is(err, hraft.ErrLeadershipLost) ||
				errors.Is(err, hraft.ErrLeadershipTransferInProgress) {
				err = errors.Join(errNotLeader, err)
			}
			return fmt.Errorf("record standby of %s: %w", req.Node, err)
		}
		return nil
	case rpcTransfer:
		done := make(chan error, 1)
		select {
		case l.reqs <- request{transferTo: req.To, from: req.From, reply: done}:
		case <-l.stopped:
			return errNotLeader
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case err := <-done:
			return err
		case <-l.stopped:
			return errNotLeader
		case <-ctx.Done():
			return ctx.Err()
		}
	default:
		return fmt.Errorf("unknown peer rpc %q", req.Op)
	}
}

// mayRecord checks that the sender of a request may write node's
// eligibility record: only node itself may, so that a member cannot make
// another ineligible (or eligible while it is unhealthy). Over mutual TLS
// the sender is who its certificate names; plain TCP identifies no one, so
// there any member may (docs/security.md).
func (l *Lease) mayRecord(from origin, node string) error {
	switch {
	case from.local:
		return nil
	case from.peer != nil:
		if from.peer.VerifyHostname(node) != nil {
			return fmt.Errorf("%w: a member writes only its own eligibility, and the requesting member's certificate names %v", errNotPermitted, from.peer.DNSNames)
		}
		return nil
	case l.authenticates:
		return fmt.Errorf("%w: the request carries no verified certificate", errNotPermitted)
	default:
		return nil
	}
}

// waitFuture waits for f or ctx. A future abandoned on ctx still completes
// inside raft, bounded by raft's own timeouts.
func waitFuture(ctx context.Context, f hraft.Future) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run participates in the election until ctx is done; see the package doc
// for the startup quarantine. It then gives a held lease up (releasing it in
// the log and transferring leadership when it can), shuts raft down, closes
// the transport and stores, and returns after all its goroutines exited.
// Run may be called once.
// logStableStore is raft-wal's WAL as startRaft uses it.
type logStableStore interface {
	hraft.LogStore
	hraft.StableStore
}

// ErrCorruptLog reports a raft log that cannot be read back (entries lost,
// not merely unindexed: openLog repairs that). The node does not drop the
// log by itself: its acknowledged entries may be needed to know the newest
// grant, and fencing tokens are log indexes. The error names what the
// operator does instead; the node then rejoins without voting until it has
// the log again (gate.go).
var ErrCorruptLog = errors.New("raft log is corrupt")

// corruptLogWayOut is what an operator does about ErrCorruptLog.
func (l *Lease) corruptLogWayOut() string {
	return fmt.Sprintf("; stop vipd, move %s (only that directory) aside and start it again: "+
		"the node rejoins without voting until the leader has sent it the log (keep the old directory for a bug report)",
		filepath.Join(l.cfg.DataDir, "wal"))
}

// startRaft reads the stored state and starts raft. raft panics when its
// log store cannot return an entry it lists (as raft-wal v0.4.0's segments
// sealed without an index did before openLog repaired them); that panic is
// turned into ErrCorruptLog with the way out, instead of a crash loop with a
// stack trace.
func (l *Lease) startRaft(rc *hraft.Config, store logStableStore, snaps hraft.SnapshotStore, trans hraft.Transport) (exists bool, r *hraft.Raft, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("read raft log in %s: %v: %w%s", l.cfg.DataDir, p, ErrCorruptLog, l.corruptLogWayOut())
		}
	}()
	exists, err = hraft.HasExistingState(store, store, snaps)
	if err != nil {
		return false, nil, fmt.Errorf("read raft state in %s: %w", l.cfg.DataDir, err)
	}
	r, err = hraft.NewRaft(rc, l.fsm, store, store, snaps, trans)
	if err != nil {
		return false, nil, fmt.Errorf("start raft: %w", err)
	}
	return exists, r, nil
}

func (l *Lease) Run(ctx context.Context) (err error) {
	if !l.runOnce.CompareAndSwap(false, true) {
		return errors.New("raft election: Run called twice")
	}
	defer close(l.stopped)

	// Startup quarantine (package doc).
	if wait := time.Until(l.created.Add(l.t.heartbeat)); wait > 0 {
		q := time.NewTimer(wait)
		select {
		case <-q.C:
		case <-ctx.Done():
			q.Stop()
			return nil
		}
	}

	walDir := filepath.Join(l.cfg.DataDir, "wal")
	if err := os.MkdirAll(walDir, 0o700); err != nil {
		return fmt.Errorf("create raft log dir: %w", err)
	}
	lost, err := lostLog(l.cfg.DataDir, walDir)
	if err != nil {
		return err
	}
	if lost {
		l.log.Warn("this member lost its raft log: it follows without voting until the leader has sent it the log again",
			"data_dir", l.cfg.DataDir)
	}
	// The meta database is opened before the log, to repair it (openLog),
	// and closed here even when the log does not open: it holds the file
	// lock a later Open in this process would wait on forever. The log's
	// own Close closes it too; a second Close does nothing.
	meta := &metadb.BoltMetaDB{}
	defer func() {
		if cerr := meta.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("close raft log metadata: %w", cerr))
		}
	}()
	store, err := openLog(walDir, meta, l.log)
	if err != nil {
		var way string
		if errors.Is(err, ErrCorruptLog) {
			way = l.corruptLogWayOut()
		}
		return fmt.Errorf("open raft log in %s: %w%s", l.cfg.DataDir, err, way)
	}
	defer func() {
		if cerr := store.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("close raft log: %w", cerr))
		}
	}()
	hcl := newHCLogger(l.log)
	snaps, err := hraft.NewFileSnapshotStoreWithLogger(l.cfg.DataDir, 2, hcl)
	if err != nil {
		return fmt.Errorf("open raft snapshots in %s: %w", l.cfg.DataDir, err)
	}

	ln, err := l.cfg.Network.Listen(l.cfg.Bind)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", l.cfg.Bind, err)
	}
	// A member that cannot say what a connection is for (and finish a
	// TLS handshake) within the time raft allows an RPC is of no use to
	// raft either.
	m := newMux(ln, l.cfg.Transport == nil, 2*l.t.heartbeat, l.log)
	defer m.Close()
	trans := l.cfg.Transport
	if trans == nil {
		trans = hraft.NewNetworkTransportWithConfig(&hraft.NetworkTransportConfig{
			Stream:  newRaftStream(m, l.cfg.Network, l.cfg.Advertise),
			MaxPool: 3,
			Timeout: 2 * l.t.heartbeat,
			Logger:  hcl,
		})
	}

	gate := newVoteGate(trans, lost, l.t.renew, func() {
		if err := os.Remove(filepath.Join(l.cfg.DataDir, rejoinMarker)); err != nil && !errors.Is(err, os.ErrNotExist) {
			l.log.Warn("raft log received again, but its record could not be removed", "err", err)
		}
		l.log.Info("raft log received again: voting")
	})
	trans = gate
	l.gate = gate

	rc := hraft.DefaultConfig()
	rc.LocalID = hraft.ServerID(l.cfg.Self)
	rc.HeartbeatTimeout = l.t.heartbeat
	rc.ElectionTimeout = l.t.election
	rc.LeaderLeaseTimeout = l.t.leaderLease
	// CommitTimeout is how long raft lets a follower wait for the commit
	// index when nothing else is sent (an empty AppendEntries, without
	// fsync). Renewals do not write the log; raft's 50 ms default sent
	// each follower an RPC every 50-100 ms, the largest part of an idle
	// primary's CPU (issue 17). Members learn commits within one or two
	// renewal periods.
	rc.CommitTimeout = l.t.renew
	rc.Logger = hcl
	var logs logStableStore = store
	if l.wrapLog != nil {
		logs = l.wrapLog(store)
	}
	exists, r, err := l.startRaft(rc, logs, snaps, trans)
	if err != nil {
		closeTransport(trans)
		return err
	}
	defer func() {
		// Shutdown waits for raft's goroutines and closes the transport.
		if serr := r.Shutdown().Error(); serr != nil {
			err = errors.Join(err, fmt.Errorf("shut raft down: %w", serr))
		}
	}()
	if !exists {
		if berr := r.BootstrapCluster(l.bootstrapConfiguration()).Error(); berr != nil && !errors.Is(berr, hraft.ErrCantBootstrap) {
			return fmt.Errorf("bootstrap raft cluster: %w", berr)
		}
	}
	if lost {
		caughtUp := func(index, term uint64) bool {
			var e hraft.Log
			if store.GetLog(index, &e) == nil {
				return e.Term == term
			}
			metas, err := snaps.List()
			return err == nil && len(metas) > 0 && metas[0].Index >= index && metas[0].Term == term
		}
		gate.caughtUp.Store(&caughtUp)
	}
	// From now on a lost log is noticed (gate.go).
	if err := writeMarker(filepath.Join(l.cfg.DataDir, memberMarker)); err != nil {
		return fmt.Errorf("record raft membership in %s: %w", l.cfg.DataDir, err)
	}
	l.raft.Store(r)
	l.log.Info("election started", "peers", len(l.cfg.Peers), "witness", l.cfg.Witness, "lease", l.cfg.Lease, "bootstrap", !exists)

	obs := make(chan hraft.Observation, 16)
	observer := hraft.NewObserver(obs, false, func(o *hraft.Observation) bool {
		switch o.Data.(type) {
		case hraft.LeaderObservation, hraft.FailedHeartbeatObservation, hraft.ResumedHeartbeatObservation:
			return true
		}
		return false
	})
	r.RegisterObserver(observer)
	defer r.DeregisterObserver(observer)

	var wg sync.WaitGroup
	defer wg.Wait() // after raft's shutdown (deferred later, so it runs first)
	// A member reports every reportEvery; a kept connection idle for two
	// heartbeat timeouts belongs to a member that reports elsewhere now.
	srv := &rpcServer{conns: m.rpc, timeout: l.t.election + l.t.apply, idle: 2 * l.t.heartbeat, handle: l.handle, kept: l.serveKept,
		noConfirm: l.preConfirm}
	wg.Go(func() { srv.serve(ctx) })
	wg.Go(func() { l.record(ctx, r) })
	wg.Go(func() { l.exchange(ctx, r) })

	lp := newLoop(l, r, obs)
	close(l.started)
	lp.run(ctx)
	lp.wait()
	l.log.Info("election stopped")
	return nil
}

func closeTransport(t hraft.Transport) {
	if c, ok := t.(hraft.WithClose); ok {
		_ = c.Close()
	}
}

// bootstrapConfiguration lists every member as a voter. Every member
// bootstraps with the same list on first start; raft accepts the identical
// configurations.
func (l *Lease) bootstrapConfiguration() hraft.Configuration {
	c := hraft.Configuration{Servers: []hraft.Server{{
		Suffrage: hraft.Voter, ID: hraft.ServerID(l.cfg.Self), Address: hraft.ServerAddress(l.cfg.Advertise),
	}}}
	for _, p := range l.cfg.Peers {
		c.Servers = append(c.Servers, hraft.Server{Suffrage: hraft.Voter, ID: hraft.ServerID(p.Name), Address: hraft.ServerAddress(p.Address)})
	}
	return c
}

// record makes the replicated eligibility record of this member match what
// SetEligible last said: applied directly on the leader, forwarded to it
// otherwise. It retries every renewal period until they match, and then
// waits for SetEligible or a change of the replicated state (both poke
// recPoke) rather than waking every renewal period on every member.
func (l *Lease) record(ctx context.Context, r *hraft.Raft) {
	tick := time.NewTicker(l.t.renew)
	defer tick.Stop()
	var failures int
	for {
		eligible, priority := l.wish()
		rec, ok := l.fsm.state().Nodes[l.cfg.Self]
		var retry <-chan time.Time
		if !ok || rec != (record{Eligible: eligible, Priority: priority}) {
			retry = tick.C
			err := l.askLeader(ctx, rpcRequest{Op: rpcEligible, From: l.cfg.Self, Node: l.cfg.Self, Eligible: eligible, Priority: priority})
			switch {
			case err == nil:
				failures = 0
			case ctx.Err() != nil:
				return
			default:
				failures++
				// One line per ten failures: with no leader the
				// retry runs four times a lease.
				if failures%10 == 1 && !errors.Is(err, errNotLeader) {
					l.log.Warn("eligibility not recorded", "eligible", eligible, "err", err)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-l.recPoke:
		case <-retry:
		}
	}
}
