package raft

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	hraft "github.com/hashicorp/raft"

	"github.com/vipd/vipd/internal/election"
)

// request is sent to the loop by SetEligible (eligibility) and by the
// transfer RPC handler; the loop answers on reply (buffered).
type request struct {
	eligibility bool
	transferTo  string
	from        string
	reply       chan error
}

// opResult is the outcome of one raft operation the loop started.
type opResult struct {
	kind  string
	start time.Time
	// at is the instant a grant or renewal is confirmed at (package doc).
	at    time.Time
	token uint64 // grant: the new token
	err   error
	req   *request // transfer, probe: the request to answer
	// probed is the member a probe pinged.
	probed string
}

const reasonShutdown = "shutdown"

// errUnreachable refuses a transfer to a member the leader cannot reach.
var errUnreachable = errors.New("unreachable from the raft leader")

const (
	kindGrant    = "grant"
	kindRenew    = "renew"
	kindTransfer = "transfer"
	kindProbe    = "probe"
)

// loop is the one goroutine that owns this member's grant: whether it holds,
// with which token, until when. It never blocks on raft: each raft
// operation runs in a worker goroutine that reports on ops, so that an
// expiring grant is dropped on time even while raft hangs. At most one
// operation other than a renewal runs at a time (busy); renewals run
// alongside it and alongside each other (renewing), so that one slow
// answer does not hold up the next confirmation.
type loop struct {
	l    *Lease
	r    *hraft.Raft
	obs  <-chan hraft.Observation
	conf *confirmer
	// ctx is run's: it ends the renewals' calls at shutdown.
	ctx context.Context

	held       bool
	token      uint64
	validUntil time.Time
	// leaderSince is when this loop first saw raft lead in the current
	// leadership (zero while it does not lead), and confirmed the
	// instant of the latest quorum confirmation (a grant's commit or a
	// renewal's answers) started since then: a held grant is valid until
	// confirmed + valid (package doc).
	leaderSince time.Time
	confirmed   time.Time
	renewStart  time.Time // start of the last renewal started
	renewing    int       // renewals in flight
	granting    bool      // a grant in flight
	grantWhy    string    // why the grant in flight was started, for its log line

	ops  chan opResult
	busy bool
	// handOffDropped: a grant was dropped for ineligibility while busy;
	// release it in the log and hand over once the loop is free.
	handOffDropped bool
	workers        sync.WaitGroup
	pending        *request

	grantAfter    time.Time // no grant attempt before
	transferAfter time.Time // no automatic transfer before
	failing       map[string]bool
}

// maxRenewing bounds the renewals in flight to those that can still help:
// a fourth would start 0.75 × HeartbeatTimeout after the first, when the
// first is of no use unless its answers arrive within the 0.05 left (a
// renewal dated by its start). A voter still answering an earlier renewal
// is not asked again meanwhile (confirmer).
const maxRenewing = 3

func newLoop(l *Lease, r *hraft.Raft, obs <-chan hraft.Observation) *loop {
	// Room for every worker's report, so that no worker blocks on it
	// after the loop has stopped reading.
	return &loop{l: l, r: r, obs: obs, conf: newConfirmer(l), ops: make(chan opResult, maxRenewing+1), failing: map[string]bool{}}
}

func (lp *loop) run(ctx context.Context) {
	lp.ctx = ctx
	tick := time.NewTicker(lp.l.t.renew)
	defer tick.Stop()
	expiry := time.NewTimer(time.Hour)
	defer expiry.Stop()
	for {
		lp.step()
		lp.publish()
		// While holding, wake for the next renewal and at expiry; that
		// is at least once per renewal period, so the tick, which makes
		// a leader that does not hold retry grants and hand-offs and a
		// follower publish a lost quorum, is left out (an idle holder
		// woke twice per renewal period: issue 17).
		var expired, ticked <-chan time.Time
		if !lp.held {
			ticked = tick.C
		}
		if lp.held {
			next := lp.validUntil
			if r := lp.renewStart.Add(lp.l.t.renew); lp.renewing < maxRenewing && r.Before(next) {
				next = r
			}
			expiry.Reset(time.Until(next))
			expired = expiry.C
		}
		select {
		case <-ctx.Done():
			lp.shutdown()
			return
		case <-lp.r.LeaderCh():
		case o := <-lp.obs:
			lp.observe(o)
		case <-lp.l.loopPoke:
		case <-ticked:
		case <-expired:
		case res := <-lp.ops:
			lp.handle(res)
		case req := <-lp.l.reqs:
			lp.request(req)
		}
	}
}

// wait returns once every worker has reported and every renewal's call
// has returned, and closes the renewals' connections.
func (lp *loop) wait() {
	lp.workers.Wait()
	lp.conf.close()
}

// handle accounts for a finished operation and applies its result.
func (lp *loop) handle(res opResult) {
	switch res.kind {
	case kindRenew:
		lp.renewing--
	case kindGrant:
		lp.granting = false
		lp.busy = false
	default:
		lp.busy = false
	}
	lp.finish(res)
}

// drain applies the results that workers have already reported, so that a
// renewal confirmed in time counts even when the loop runs late.
func (lp *loop) drain() {
	for {
		select {
		case res := <-lp.ops:
			lp.handle(res)
		default:
			return
		}
	}
}

func (lp *loop) observe(o hraft.Observation) {
	switch d := o.Data.(type) {
	case hraft.FailedHeartbeatObservation:
		lp.failing[string(d.PeerID)] = true
	case hraft.ResumedHeartbeatObservation:
		delete(lp.failing, string(d.PeerID))
	case hraft.LeaderObservation:
		if string(d.LeaderID) != lp.l.cfg.Self {
			clear(lp.failing)
		}
	}
}

// step drops an expired or lost grant and, when this member leads and no
// operation is in flight, starts the next one. It is level-triggered: it
// looks at the state, not at what woke the loop.
func (lp *loop) step() {
	lp.drain()
	now := time.Now()
	if lp.held && !now.Before(lp.validUntil) {
		// How long ago the grant ran out: more than a moment means this
		// member could not run (paused, starved) when it did, and had
		// stopped acting on it from then, not from this line.
		lp.drop("not confirmed by a quorum in time", "lapsed", now.Sub(lp.validUntil))
	}
	if lp.r.State() != hraft.Leader {
		lp.leaderSince, lp.confirmed = time.Time{}, time.Time{}
		if lp.held {
			lp.drop("raft leadership lost")
		}
		if lp.pending != nil {
			lp.pending.reply <- errNotLeader
			lp.pending = nil
		}
		return
	}
	if lp.held {
		if e, _ := lp.l.desire(); !e {
			// Drop at once, even with a renewal in flight: SetEligible
			// promises that Held is false when it returns. The hand-off
			// follows once the loop is free (a leader that may not hold
			// hands leadership on, below).
			lp.drop("ineligible")
			lp.handOffDropped = true
		}
	}
	if lp.leaderSince.IsZero() {
		lp.leaderSince = now
	}
	// Renew while holding or granting, whatever else is in flight: a
	// renewal started while the grant commits counts for it too.
	if (lp.held || lp.granting) && lp.renewing < maxRenewing && now.Sub(lp.renewStart) >= lp.l.t.renew {
		lp.startRenew()
	}
	if lp.busy {
		return
	}
	if lp.handOffDropped {
		// Release the dropped grant in the log (followers then see no
		// holder) and hand leadership to an eligible peer, if any.
		lp.handOffDropped = false
		lp.startProbedHandOff(lp.ranked(lp.l.fsm.state(), lp.l.cfg.Self, false), "holder ineligible")
		return
	}
	if req := lp.pending; req != nil {
		lp.pending = nil
		lp.startTransferRequest(req)
		return
	}
	self := lp.l.cfg.Self
	eligible, priority := lp.l.desire()
	st := lp.l.fsm.state()
	switch {
	case lp.held && !eligible:
		lp.drop("ineligible")
		lp.startProbedHandOff(lp.ranked(st, self, false), "holder ineligible")
	case lp.held && lp.l.cfg.Preempt && !now.Before(lp.transferAfter):
		if b := lp.best(st, self, true); b != "" && st.Nodes[b].Priority > priority {
			lp.transferAfter = now.Add(lp.l.t.transferEvery)
			lp.drop("preempted by " + b)
			lp.startHandOff(b, "preempt", nil)
			return
		}
		fallthrough
	case lp.held:
		// Renewed above.
	case eligible:
		if !now.Before(lp.grantAfter) {
			lp.startGrant()
		}
	default:
		// A leader that may not hold hands leadership to one that may.
		if cs := lp.ranked(st, self, false); len(cs) > 0 && !now.Before(lp.transferAfter) {
			lp.transferAfter = now.Add(lp.l.t.transferEvery)
			lp.startProbedHandOff(cs, "leader ineligible")
		}
	}
}

// best returns the eligible member other than except that should hold:
// reachable first, then highest priority, then lowest name. With
// reachableOnly it ignores members whose heartbeats fail. "" when none.
func (lp *loop) best(st fsmState, except string, reachableOnly bool) string {
	if cs := lp.ranked(st, except, reachableOnly); len(cs) > 0 {
		return cs[0]
	}
	return ""
}

// ranked returns the eligible members other than except in the order best
// prefers them.
func (lp *loop) ranked(st fsmState, except string, reachableOnly bool) []string {
	type cand struct {
		name      string
		priority  int
		reachable bool
	}
	var cs []cand
	consider := func(name string, eligible bool, priority int, reachable bool) {
		if name == except || !eligible || reachableOnly && !reachable {
			return
		}
		cs = append(cs, cand{name, priority, reachable})
	}
	for _, p := range lp.l.cfg.Peers {
		rec := st.Nodes[p.Name]
		consider(p.Name, rec.Eligible && !p.Witness && !st.Standby[p.Name], rec.Priority, !lp.failing[p.Name])
	}
	eligible, priority := lp.l.desire()
	consider(lp.l.cfg.Self, eligible, priority, true)
	slices.SortFunc(cs, func(a, b cand) int {
		if a.reachable != b.reachable {
			if a.reachable {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(b.priority, a.priority); c != 0 {
			return c
		}
		return cmp.Compare(a.name, b.name)
	})
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.name
	}
	return out
}

func (lp *loop) drop(reason string, attrs ...any) {
	lp.l.log.Info("lease lost", append([]any{"token", lp.token, "reason", reason}, attrs...)...)
	lp.held = false
	lp.validUntil = time.Time{}
}

// work runs f as the one operation in flight (busy).
func (lp *loop) work(kind string, req *request, f func(start time.Time) opResult) {
	lp.busy = true
	lp.spawn(kind, req, f)
}

// spawn runs f in a worker that reports on ops.
func (lp *loop) spawn(kind string, req *request, f func(start time.Time) opResult) {
	start := time.Now()
	lp.workers.Go(func() {
		res := f(start)
		res.kind, res.start, res.req = kind, start, req
		lp.ops <- res
	})
}

func (lp *loop) startGrant() {
	c := command{Op: opGrant, Node: lp.l.cfg.Self}
	switch prev := lp.l.fsm.state().Grant; {
	case prev.Holder == "":
		lp.grantWhy = "first grant: raft leader and eligible"
	case prev.Holder == lp.l.cfg.Self:
		lp.grantWhy = "raft leader and eligible again"
	case prev.Released:
		lp.grantWhy = "handed over by " + prev.Holder
	default:
		lp.grantWhy = "took over from " + prev.Holder + ", which no longer leads"
	}
	lp.granting = true
	term := lp.r.CurrentTerm()
	lp.work(kindGrant, nil, func(start time.Time) opResult {
		f := lp.r.Apply(c.encode(), lp.l.t.apply)
		if err := f.Error(); err != nil {
			return opResult{err: err}
		}
		if err := lp.l.fenceVotes(lp.r, start, term); err != nil {
			return opResult{err: err}
		}
		return opResult{token: f.Index(), at: start}
	})
}

// startRenew asks the other voters when they last heard from this leader
// (confirm.go); a majority's answers confirm the grant at the earliest of
// those instants (package doc). Renewals do not wait for each other: one
// voter's slow answer does not hold up the next confirmation. In a
// cluster with members from before rpcConfirm it commits a barrier
// instead, which confirms at its start.
func (lp *loop) startRenew() {
	q := time.Now()
	term := lp.r.CurrentTerm()
	lp.renewStart = q
	lp.renewing++
	lp.spawn(kindRenew, nil, func(time.Time) opResult {
		// The cluster port's timeout for a raft RPC bounds a call.
		at, err := lp.conf.confirm(lp.ctx, lp.r, q, term, lp.l.t.valid, 2*lp.l.t.heartbeat)
		if errors.Is(err, errOldMembers) {
			b := time.Now()
			if err = lp.r.Barrier(lp.l.t.apply).Error(); err == nil {
				at = b
			}
		}
		if err == nil {
			err = lp.l.fenceVotes(lp.r, at, term)
		}
		return opResult{at: at, err: err}
	})
}

// startHandOff releases the grant the loop just dropped (if any) in the log
// and transfers leadership to to (if any).
func (lp *loop) startHandOff(to, reason string, req *request) {
	token := lp.token
	self := lp.l.cfg.Self
	if to != "" {
		lp.l.log.Info("lease transfer", "from", self, "to", to, "reason", reason, "token", token)
	}
	addr := lp.address(to)
	lp.work(kindTransfer, req, func(time.Time) opResult {
		if token != 0 {
			// Best effort: followers learn at once that nobody holds.
			c := command{Op: opRelease, Node: self, Token: token}
			_ = lp.r.Apply(c.encode(), lp.l.t.apply).Error()
		}
		switch {
		case to != "":
			return opResult{err: lp.r.LeadershipTransferToServer(hraft.ServerID(to), addr).Error()}
		case reason == reasonShutdown:
			// No eligible peer is known: hand leadership to any
			// member rather than make the cluster wait for a
			// timeout; a new leader that may not hold passes it on.
			return opResult{err: lp.r.LeadershipTransfer().Error()}
		}
		return opResult{}
	})
	lp.token = 0
}

// startProbedHandOff hands leadership to the first of cands that answers a
// peer RPC ping. A newly elected leader (often the witness, right after the
// holder died) has no heartbeat history yet, so the dead former holder
// still looks eligible and reachable; a transfer to it would only time out
// after ElectionTimeout. A ping answers in a round trip, or fails at once
// on a refused connection, or after a quarter heartbeat timeout.
func (lp *loop) startProbedHandOff(cands []string, reason string) {
	token := lp.token
	self := lp.l.cfg.Self
	timeout := max(lp.l.t.heartbeat/4, 50*time.Millisecond)
	lp.work(kindTransfer, nil, func(time.Time) opResult {
		if token != 0 {
			// Best effort: followers learn at once that nobody holds.
			c := command{Op: opRelease, Node: self, Token: token}
			_ = lp.r.Apply(c.encode(), lp.l.t.apply).Error()
		}
		var errs []error
		for _, to := range cands {
			if to == self {
				continue
			}
			addr := lp.address(to)
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			err := call(ctx, lp.l.cfg.Network, string(addr), timeout, rpcRequest{Op: rpcPing, From: self})
			cancel()
			if err != nil {
				errs = append(errs, err)
				continue
			}
			lp.l.log.Info("lease transfer", "from", self, "to", to, "reason", reason, "token", token)
			return opResult{err: lp.r.LeadershipTransferToServer(hraft.ServerID(to), addr).Error()}
		}
		if len(errs) > 0 {
			lp.l.log.Debug("no eligible peer answered", "reason", reason, "err", errors.Join(errs...))
		}
		return opResult{}
	})
	lp.token = 0
}

// startProbe pings a transfer target marked failing; finish clears the
// mark and retries the request if it answers, or refuses it otherwise.
func (lp *loop) startProbe(to string, req *request) {
	addr := lp.address(to)
	timeout := max(lp.l.t.heartbeat/4, 50*time.Millisecond)
	self := lp.l.cfg.Self
	lp.work(kindProbe, req, func(time.Time) opResult {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		err := call(ctx, lp.l.cfg.Network, string(addr), timeout, rpcRequest{Op: rpcPing, From: self})
		return opResult{err: err, probed: to}
	})
}

func (lp *loop) address(name string) hraft.ServerAddress {
	if p, ok := lp.l.peers[name]; ok {
		return hraft.ServerAddress(p.Address)
	}
	return hraft.ServerAddress(lp.l.cfg.Advertise)
}

// finish applies the result of an operation.
func (lp *loop) finish(res opResult) {
	now := time.Now()
	switch res.kind {
	case kindGrant:
		if res.err == nil {
			lp.confirm(res.start, res.at)
		}
		until := lp.confirmed.Add(lp.l.t.valid)
		switch {
		case res.err != nil:
			lp.l.log.Debug("grant not committed", "err", res.err)
			lp.grantAfter = now.Add(lp.l.t.renew)
		case lp.r.State() != hraft.Leader || !now.Before(until) || lp.l.fsm.state().Grant.Token != res.token:
			// Leadership moved on, the grant took longer than its
			// validity, or a newer grant exists: tokens must only grow.
			lp.l.log.Debug("grant committed too late", "token", res.token)
			lp.grantAfter = now.Add(lp.l.t.renew)
		default:
			if e, _ := lp.l.desire(); !e {
				// Became ineligible while the grant was in flight:
				// release it unused and hand over.
				lp.token = res.token
				lp.startHandOff(lp.best(lp.l.fsm.state(), lp.l.cfg.Self, false), "holder ineligible", nil)
				return
			}
			lp.held, lp.token, lp.validUntil = true, res.token, until
			lp.l.log.Info("lease granted", "token", res.token, "reason", lp.grantWhy)
		}
	case kindRenew:
		if res.err != nil {
			lp.l.log.Debug("grant not renewed", "token", lp.token, "err", res.err)
			return
		}
		lp.confirm(res.start, res.at)
		if lp.held {
			lp.validUntil = lp.confirmed.Add(lp.l.t.valid)
		}
	case kindProbe:
		if res.err != nil {
			res.req.reply <- fmt.Errorf("node %s: %w: %w", res.probed, errUnreachable, res.err)
			return
		}
		delete(lp.failing, res.probed)
		lp.pending = res.req // step runs it again, now unmarked
	case kindTransfer:
		if res.err != nil {
			lp.l.log.Warn("lease transfer failed", "err", res.err)
		}
		if res.req != nil {
			res.req.reply <- res.err
		}
	}
}

// confirm records a quorum confirmation at at, of an operation that
// started at start, if it started in the current leadership (one from
// before may have been answered by a quorum that has since followed
// another leader).
func (lp *loop) confirm(start, at time.Time) {
	if lp.leaderSince.IsZero() || start.Before(lp.leaderSince) || lp.r.State() != hraft.Leader {
		return
	}
	if at.After(lp.confirmed) {
		lp.confirmed = at
	}
}

// request handles SetEligible (whose local effect step applies) and
// transfer requests from Transfer and the peer RPC.
func (lp *loop) request(req request) {
	if req.eligibility {
		lp.step()
		// SetEligible promises a Status without the grant when it
		// returns; the loop would publish only after the reply.
		lp.publish()
		req.reply <- nil
		return
	}
	if lp.r.State() != hraft.Leader {
		req.reply <- errNotLeader
		return
	}
	if lp.pending != nil {
		lp.pending.reply <- errors.New("superseded by a newer transfer request")
	}
	lp.pending = &req
}

// startTransferRequest validates a transfer request against the replicated
// eligibility records and starts it.
func (lp *loop) startTransferRequest(req *request) {
	self := lp.l.cfg.Self
	st := lp.l.fsm.state()
	eligible, _ := lp.l.desire()
	to := req.transferTo
	if to == "" {
		except := ""
		if lp.held {
			except = self
		}
		if to = lp.best(st, except, false); to == "" {
			req.reply <- lp.noTarget(st)
			return
		}
	} else {
		p, known := lp.l.peers[to]
		switch {
		case !known && to != self:
			req.reply <- fmt.Errorf("node %s: %w", to, election.ErrUnknownNode)
			return
		case to == self && !eligible, known && (p.Witness || !st.Nodes[to].Eligible || st.Standby[to]):
			req.reply <- fmt.Errorf("node %s: %w", to, election.ErrNotEligible)
			return
		}
	}
	if lp.failing[to] {
		// Dropping the grant for a hand-off bound to fail would only
		// cost a new token, so ask the target first. The mark is a hint:
		// raft's observations are dropped when the loop is slow, and a
		// member restarted after a failure may never have cleared it.
		lp.startProbe(to, req)
		return
	}
	if to == self {
		// This leader may hold: grant now if it does not already.
		lp.grantAfter = time.Time{}
		req.reply <- nil
		return
	}
	reason := "switchover requested by " + req.from
	if lp.held {
		lp.drop("transfer to " + to)
	}
	lp.startHandOff(to, reason, req)
}

// noTargetError is a transfer to "any other node" with none eligible: it
// names every member and why it cannot take the lease, so the operator
// learns what to fix rather than only that nothing could be done.
type noTargetError struct{ why []string }

func (e *noTargetError) Error() string {
	return "no other member can take the lease: " + strings.Join(e.why, "; ") +
		" (make a node eligible: fix its failing health check, or end its standby; vipd status shows every member)"
}

func (e *noTargetError) Unwrap() error { return election.ErrNotEligible }

// noTarget explains, from the replicated records, why no member but the
// holder may take the lease.
func (lp *loop) noTarget(st fsmState) error {
	holder := ""
	if !st.Grant.Released {
		holder = st.Grant.Holder
	}
	e := &noTargetError{}
	explain := func(name string, witness, reported, eligible bool) {
		switch {
		case name == holder:
			e.why = append(e.why, name+" holds it")
		case witness:
			e.why = append(e.why, name+" is a witness")
		case st.Standby[name]:
			e.why = append(e.why, name+" is in standby (vipd standby off --node "+name+")")
		case !reported:
			e.why = append(e.why, name+" has never reported its eligibility (not started, or cannot reach the cluster)")
		case !eligible:
			e.why = append(e.why, name+" is not eligible (a failing health check)")
		default:
			e.why = append(e.why, name+" is eligible")
		}
	}
	self := lp.l.cfg.Self
	eligible, _ := lp.l.wish()
	explain(self, lp.l.cfg.Witness, true, eligible)
	for _, p := range lp.l.cfg.Peers {
		rec, ok := st.Nodes[p.Name]
		explain(p.Name, p.Witness, ok, rec.Eligible)
	}
	return e
}

// shutdown gives a held grant up: it is dropped at once, then released in
// the log and leadership transferred to the best eligible peer, each
// bounded by raft's timeouts.
func (lp *loop) shutdown() {
	if lp.pending != nil {
		lp.pending.reply <- errStopped
		lp.pending = nil
	}
	wasHeld := lp.held
	if lp.held {
		lp.drop("shutdown")
		lp.publish()
	}
	if lp.busy {
		res, ok := lp.awaitBusy(lp.l.t.election + lp.l.t.apply)
		if !ok {
			return
		}
		if res.req != nil {
			res.req.reply <- errStopped
		}
	}
	if !wasHeld || lp.r.State() != hraft.Leader {
		return
	}
	lp.startHandOff(lp.best(lp.l.fsm.state(), lp.l.cfg.Self, false), reasonShutdown, nil)
	// On timeout raft's shutdown ends the operation; wait collects the
	// worker.
	if res, ok := lp.awaitBusy(2*lp.l.t.election + lp.l.t.apply); ok && res.err != nil {
		lp.l.log.Warn("lease hand-off at shutdown failed", "err", res.err)
	}
}

// awaitBusy waits up to d for the busy operation's result, discarding
// renewals' on the way; false when d passed first.
func (lp *loop) awaitBusy(d time.Duration) (opResult, bool) {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case res := <-lp.ops:
			if res.kind == kindRenew {
				lp.renewing--
				continue
			}
			lp.busy, lp.granting = false, false
			return res, true
		case <-t.C:
			return opResult{}, false
		}
	}
}

// publish computes the status from the loop's state and raft's view.
func (lp *loop) publish() {
	l := lp.l
	st := election.Status{Self: l.cfg.Self, Held: lp.held}
	leaderAddr, leaderID := lp.r.LeaderWithID()
	isLeader := lp.r.State() == hraft.Leader
	fs := l.fsm.state()
	switch {
	case lp.held:
		st.Holder, st.Token, st.ValidUntil = l.cfg.Self, lp.token, lp.validUntil
	case !isLeader && leaderAddr != "" && fs.Grant.Holder == string(leaderID) && !fs.Grant.Released:
		st.Holder, st.Token = fs.Grant.Holder, fs.Grant.Token
	}
	if st.Holder != "" && fs.Grant.Token == st.Token {
		st.HolderSince = fs.Grant.At
	}
	if leaderAddr != "" || isLeader {
		st.Leader = string(leaderID)
	}
	st.Standby = fs.Standby[l.cfg.Self]
	if isLeader {
		l.members.setFailing(maps.Clone(lp.failing))
	}
	lastContact := lp.r.LastContact()
	contact := !lastContact.IsZero() && time.Since(lastContact) < l.t.heartbeat
	if isLeader {
		st.Quorum = true
	} else {
		st.Quorum = leaderAddr != "" && contact
	}
	for _, p := range l.cfg.Peers {
		ps := election.Peer{Name: p.Name, Address: p.Address, Witness: p.Witness, Eligible: fs.Nodes[p.Name].Eligible}
		if isLeader {
			ps.Reachable = !lp.failing[p.Name]
		} else {
			ps.Reachable = string(leaderID) == p.Name && contact
		}
		st.Peers = append(st.Peers, ps)
	}
	l.publish(st)
}
