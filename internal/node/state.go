package node

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/vipd/vipd/internal/election"
	"github.com/vipd/vipd/internal/fence"
	"github.com/vipd/vipd/internal/hooks"
	"github.com/vipd/vipd/internal/resource"
)

// loop is the state owned by the node loop goroutine. Nothing else reads or
// writes it; others learn about it through requests and replies.
type loop struct {
	n *Node
	// ctx ends when the loop does; every worker runs on it and is counted
	// in wg, which Run waits for.
	ctx context.Context
	wg  *sync.WaitGroup

	state State
	since time.Time
	// token is the grant the current (or last) acquire ran under.
	token uint64
	maint bool

	// op is the one acquire/release/repair worker in flight, if any.
	op       opKind
	opCancel context.CancelFunc
	opStart  time.Time
	// checking is true while a reconcile or cleanup worker runs.
	checking bool

	// Eligibility pushed to the lease: what was last sent, and whether a push
	// is in flight (one at a time; the newest wish wins afterwards).
	eligibleSent     *bool
	eligibleInFlight bool

	// Repeated acquire failures make the node step aside for a while, so a
	// node cut off from the EC2 API lets its peer try.
	acquireFailures int
	cooldownUntil   time.Time
	retryAt         time.Time

	// prevHolder is the other member this node last saw hold the lease,
	// until this node has taken over: the one a takeover fence stops
	// when the election cannot reach it (Deps.Fencer).
	prevHolder string

	// drifted names what the running repair found out of place.
	drifted []string
	// keptFor is the notice a holder keeps the address despite, because
	// no other member can take it (logged once per notice).
	keptFor string

	resources map[string]*ResourceStatus
	history   []Transition
	counters  map[string]int64

	timer *time.Timer
}

// Steps aside after this many acquire failures in a row, for cooldown.
const (
	maxAcquireFailures = 3
	cooldown           = 10 * time.Second
)

func newLoop(ctx context.Context, n *Node, wg *sync.WaitGroup) *loop {
	l := &loop{
		n:         n,
		ctx:       ctx,
		wg:        wg,
		state:     StateInit,
		since:     time.Now(),
		resources: map[string]*ResourceStatus{},
		counters:  map[string]int64{},
		timer:     time.NewTimer(time.Hour),
	}
	for _, r := range n.d.Plan.Resources() {
		l.resources[r.Name()] = &ResourceStatus{Name: r.Name(), Kind: r.Kind(), State: "released"}
	}
	if n.cfg.Witness {
		l.state = StateWitness
	} else {
		l.maint = n.storedStandby()
	}
	n.d.Metrics.setState(l.state)
	return l
}

func (l *loop) run(ctx context.Context, errc <-chan error) error {
	n := l.n
	ticker := time.NewTicker(n.cfg.ReconcileInterval)
	defer ticker.Stop()
	defer l.timer.Stop()
	var healthChanges, noticeChanges <-chan struct{}
	if n.d.Health != nil {
		healthChanges = n.d.Health.Changes()
	}
	if n.d.Notices != nil {
		noticeChanges = n.d.Notices.Changes()
	}
	l.step("start")
	for {
		select {
		case <-ctx.Done():
			return l.stop(ctx)
		case err := <-errc:
			// A dead election or health runner leaves nothing safe to do:
			// release and report.
			n.log.Error("component failed; stopping", "err", err)
			return errors.Join(err, l.stop(ctx))
		case <-n.d.Lease.Changes():
			l.step("lease")
		case <-healthChanges:
			l.step("health")
		case <-noticeChanges:
			l.step("notice")
		case <-l.timer.C:
			l.step("timer")
		case <-ticker.C:
			l.reconcile()
		case r := <-n.results:
			l.handle(r)
			l.step(string(r.kind))
		case req := <-n.reqs:
			l.serve(req)
		}
	}
}

// standby is whether an operator holds this node out: here (a backend
// without replicated standby) or in the cluster's record.
func (l *loop) standby() bool {
	return l.maint || l.n.leaseStatus().Standby
}

// wantEligible is whether this node may hold the lease now.
func (l *loop) wantEligible() bool {
	n := l.n
	if n.cfg.Witness || l.standby() {
		return false
	}
	if n.d.Health != nil && !n.d.Health.Healthy() {
		return false
	}
	if _, out := l.outForNotice(); out {
		return false
	}
	return time.Now().After(l.cooldownUntil)
}

// step re-reads the truth (lease and health) and moves toward it. It is
// level-triggered: it does not matter which event woke it.
func (l *loop) step(why string) {
	n := l.n
	l.report()
	if n.cfg.Witness {
		return
	}
	eligible := l.wantEligible()
	l.pushEligible(eligible)
	st := n.leaseStatus()
	if st.Holder != "" && st.Holder != n.cfg.Self.Name {
		l.prevHolder = st.Holder
	}
	n.d.Metrics.setToken(st.Token)
	l.armTimer(st)
	held := st.Held && eligible

	switch {
	case l.op == opAcquire || l.op == opRepair:
		if !held || st.Token != l.token {
			l.opCancel() // its result starts the release
		}
	case l.op == opRelease:
		// wait for it
	case l.state == StatePrimary:
		if !held {
			if nt, noticed := l.outForNotice(); noticed && !l.standby() {
				// The log line and metric that say why the address moves.
				n.d.Metrics.noticeHandover(string(nt.Kind))
				n.log.Info("instance notice; handing the address over", "op", string(nt.Kind), "reason", nt.String(), "token", l.token)
			}
			l.startRelease(reasonFor(st, eligible, l))
		} else if st.Token != l.token {
			l.startAcquire(st.Token, "regranted")
		}
	default:
		if held && time.Now().After(l.retryAt) {
			l.startAcquire(st.Token, "lease granted")
			return
		}
		l.settle(eligible)
	}
}

// settle puts a node that owns nothing into the state that explains why.
func (l *loop) settle(eligible bool) { l.settleWith(eligible, nil) }

// settleWith is settle after a release, whose steps the transition records.
func (l *loop) settleWith(eligible bool, steps []resource.Step) {
	n := l.n
	nt, noticed := l.outForNotice()
	switch {
	case l.standby():
		l.transition(StateMaintenance, "standby", steps)
	case noticed:
		// Out until the notice is gone, as in standby.
		l.transition(StateMaintenance, noticeReason(nt), steps)
	case n.d.Health != nil && !n.d.Health.Healthy():
		l.transition(StateFault, "unhealthy", steps)
	case !eligible:
		l.transition(StateBackup, "stepped aside", steps)
	default:
		l.transition(StateBackup, "not holder", steps)
	}
}

func reasonFor(st election.Status, eligible bool, l *loop) string {
	nt, noticed := l.outForNotice()
	switch {
	case l.standby():
		return "standby"
	case noticed:
		return noticeReason(nt)
	case !eligible:
		return "unhealthy"
	case !st.Held && st.Holder != "" && st.Holder != l.n.cfg.Self.Name:
		return "lease moved to " + st.Holder
	default:
		return "lease lost"
	}
}

// armTimer wakes the loop when the grant's validity runs out, in case the
// backend's own signal comes late, and when a retry or cooldown ends.
func (l *loop) armTimer(st election.Status) {
	next := time.Now().Add(time.Hour)
	if st.Held && st.ValidUntil.Before(next) {
		next = st.ValidUntil
	}
	for _, t := range []time.Time{l.retryAt, l.cooldownUntil} {
		if t.After(time.Now()) && t.Before(next) {
			next = t
		}
	}
	if !l.timer.Stop() {
		select {
		case <-l.timer.C:
		default:
		}
	}
	l.timer.Reset(time.Until(next) + time.Millisecond)
}

func (l *loop) pushEligible(want bool) {
	if l.eligibleInFlight || (l.eligibleSent != nil && *l.eligibleSent == want) {
		return
	}
	l.eligibleInFlight = true
	n := l.n
	l.wg.Go(func() {
		ctx, cancel := context.WithTimeout(l.ctx, 3*time.Second)
		defer cancel()
		err := n.d.Lease.SetEligible(ctx, want, n.cfg.Priority)
		n.report(result{kind: opEligible, eligible: &want, err: err})
	})
}

// transition records a state change (no-op when unchanged).
func (l *loop) transition(to State, reason string, steps []resource.Step) {
	if l.state == to && steps == nil {
		return
	}
	n := l.n
	now := time.Now()
	from := l.state
	tr := Transition{At: now, From: from, To: to, Reason: reason, Token: l.token,
		InPrevious: now.Sub(l.since), Steps: steps}
	l.history = append(l.history, tr)
	if len(l.history) > n.cfg.History {
		l.history = l.history[len(l.history)-n.cfg.History:]
	}
	if from != to {
		// A drift repair (primary to primary) is recorded with its steps
		// but does not restart "primary since".
		l.since = now
	}
	l.state = to
	l.report()
	n.d.Metrics.setState(to)
	n.d.Metrics.transition(from, to, reason)
	if from != to {
		n.log.Info("state changed", "from", string(from), "to", string(to), "reason", reason,
			"token", l.token, "duration", now.Sub(l.opStartOr(now)).Round(time.Millisecond))
		l.notify(from, to, reason)
	}
}

// report tells the other members this node's role and health, where the
// election backend carries it (election.Reporter).
func (l *loop) report() {
	r, ok := l.n.d.Lease.(election.Reporter)
	if !ok {
		return
	}
	r.Report(election.Report{Role: string(l.state), Healthy: l.n.d.Health == nil || l.n.d.Health.Healthy(), Since: l.since})
}

func (l *loop) opStartOr(t time.Time) time.Time {
	if l.opStart.IsZero() {
		return t
	}
	return l.opStart
}

func (l *loop) notify(from, to State, reason string) {
	var hs hooks.State
	switch to {
	case StatePrimary:
		hs = hooks.Master
	case StateBackup, StateMaintenance:
		// keepalived announces the initial BACKUP state too.
		hs = hooks.Backup
	case StateFault:
		hs = hooks.Fault
	case StateStopped:
		hs = hooks.Stop
	default:
		return
	}
	n := l.n
	st := n.leaseStatus()
	ev := hooks.Event{State: hs, PreviousState: hookState(from), Reason: reason, Node: n.cfg.Self.Name,
		Holder: st.Holder, Token: l.token, Priority: n.cfg.Priority, Time: time.Now()}
	for _, r := range n.d.Plan.Resources() {
		rs := l.resources[r.Name()]
		ev.Resources = append(ev.Resources, hooks.Resource{Name: rs.Name, Kind: rs.Kind, State: rs.State})
	}
	n.enqueueHook(ev)
}

func hookState(s State) hooks.State {
	switch s {
	case StatePrimary:
		return hooks.Master
	case StateFault:
		return hooks.Fault
	case StateStopped:
		return hooks.Stop
	}
	return hooks.Backup
}

// fence returns the fencing token of this node's grant token, with the
// configured margin.
func (n *Node) fence(token uint64) fence.Token {
	return fence.New(token, n.d.Lease.Valid).WithMargin(n.cfg.FenceMargin)
}

func (l *loop) startAcquire(token uint64, reason string) {
	n := l.n
	kind := opAcquire
	if l.state == StatePrimary && token == l.token {
		kind = opRepair
	}
	l.token = token
	ctx, cancel := context.WithCancel(l.ctx)
	l.op, l.opCancel, l.opStart = kind, cancel, time.Now()
	if kind == opAcquire {
		l.transition(StateAcquiring, reason, nil)
	}
	tok := n.fence(token)
	var target fenceTarget
	if kind == opAcquire {
		target = l.fenceTarget()
	}
	l.wg.Go(func() {
		defer cancel()
		steps, err := n.acquire(ctx, tok, target)
		n.report(result{kind: kind, token: token, steps: steps, err: err})
	})
}

// fenceTarget is the member a takeover must stop first: the previous
// holder, when the node fences before takeovers and the election cannot
// reach that member (it did not hand the lease over and may still run,
// cut off, with the address). A reachable previous holder hears that it
// lost the lease and releases by itself, as in a planned switchover; it
// is not fenced. The node fencing is healthy (it acquires only then, and
// the fencer checks again right before the call), so the member it
// stops is never the last healthy one.
func (l *loop) fenceTarget() fenceTarget {
	n := l.n
	if n.d.Fencer == nil || l.prevHolder == "" {
		return fenceTarget{}
	}
	st := n.leaseStatus()
	for _, p := range st.Peers {
		if p.Name != l.prevHolder || p.Witness {
			continue
		}
		if p.Reachable {
			n.log.Info("previous holder reachable; no fence before the takeover", "node", p.Name, "token", l.token)
			return fenceTarget{}
		}
		ap, err := netip.ParseAddrPort(p.Address)
		if err != nil {
			// Validation requires an IP address; a peer named otherwise
			// cannot be found, and the takeover must not pretend it was
			// fenced.
			return fenceTarget{name: p.Name, err: fmt.Errorf("fence %s: address %q is not an IP address and port: %w", p.Name, p.Address, err)}
		}
		return fenceTarget{name: p.Name, addr: ap.Addr()}
	}
	return fenceTarget{}
}

// fenceTarget is a member to stop before a takeover; the zero value
// stops nothing.
type fenceTarget struct {
	name string
	addr netip.Addr
	err  error
}

func (l *loop) startRelease(reason string) {
	n := l.n
	ctx, cancel := context.WithCancel(l.ctx)
	l.op, l.opCancel, l.opStart = opRelease, cancel, time.Now()
	l.transition(StateReleasing, reason, nil)
	tok := n.fence(l.token)
	l.wg.Go(func() {
		defer cancel()
		steps, err := n.release(ctx, tok)
		n.report(result{kind: opRelease, token: tok.N(), steps: steps, err: err})
	})
}

// handle applies a worker's result to the loop's state.
func (l *loop) handle(r result) {
	n := l.n
	switch r.kind {
	case opEligible:
		l.eligibleInFlight = false
		if r.err != nil {
			n.log.Warn("report eligibility to the cluster", "err", r.err)
			return // retried by the next step
		}
		l.eligibleSent = r.eligible
	case opAcquire, opRepair:
		l.op, l.opCancel = "", nil
		l.applySteps(r.steps, "owned")
		if r.err != nil {
			l.acquireFailures++
			l.counters["acquire_failures"]++
			backoff := time.Duration(l.acquireFailures) * 500 * time.Millisecond
			l.retryAt = time.Now().Add(backoff)
			if l.acquireFailures >= maxAcquireFailures {
				l.cooldownUntil = time.Now().Add(cooldown)
				l.acquireFailures = 0
				n.log.Error("acquire keeps failing; stepping aside", "token", r.token, "duration", cooldown, "err", r.err)
			} else {
				n.log.Warn("acquire failed", "token", r.token, "err", r.err)
			}
			// Undo local state from a partial acquire; AWS-side writes are
			// left for the next owner (or our retry) to overwrite.
			l.startRelease("acquire failed")
			return
		}
		l.acquireFailures = 0
		if r.kind == opRepair {
			l.counters["drift_repairs"]++
			for _, name := range l.drifted {
				kind := name // the local address is its own kind
				if rs := l.resources[name]; rs != nil {
					kind = rs.Kind
				}
				n.d.Metrics.repaired(kind)
			}
			l.drifted = nil
			l.transition(StatePrimary, "drift repaired", r.steps)
			return
		}
		// Taken over: whoever held before is no longer the previous
		// owner of anything this node may take again later.
		l.prevHolder = ""
		l.transition(StatePrimary, "acquired", r.steps)
	case opRelease:
		l.op, l.opCancel = "", nil
		l.applySteps(r.steps, "released")
		if r.err != nil {
			n.log.Warn("release incomplete", "token", r.token, "err", r.err)
		}
		l.settleWith(l.wantEligible(), r.steps)
	case opReconcile, opCleanup:
		l.checking = false
		for name, ok := range r.inSync {
			if rs := l.resources[name]; rs != nil {
				rs.InSync, rs.Drift, rs.LastError, rs.Detail = ok, r.drift[name], r.checkErr[name], r.detail[name]
			}
		}
		if r.kind == opReconcile && n.cfg.YieldContested {
			for name := range r.contested {
				if !r.contested[name] {
					continue
				}
				l.counters["contested"]++
				n.d.Metrics.contested(l.resources[name].Kind)
				n.log.Error("another node claims the address; not repairing", "op", name,
					"reason", r.drift[name], "token", l.token)
				delete(r.drift, name)
			}
		}
		if r.kind == opReconcile && len(r.drift) > 0 && l.state == StatePrimary && l.op == "" {
			n.log.Warn("drift found; repairing", "token", l.token, "reason", r.drift)
			l.drifted = slices.Sorted(maps.Keys(r.drift))
			l.startAcquire(l.token, "drift")
		}
	}
}

func (l *loop) applySteps(steps []resource.Step, okState string) {
	for _, s := range steps {
		rs := l.resources[s.Resource]
		if rs == nil {
			continue
		}
		rs.LastError = ""
		if s.Err == nil {
			rs.State = okState
			rs.InSync = okState == "owned"
			if s.Op == string(opAcquire) {
				rs.AcquireTook = s.Took
			}
		} else {
			rs.LastError = s.Err.Error()
			rs.State = "error"
		}
	}
}

// reconcile starts a drift check: while primary, every resource and the
// local address; otherwise only a stale local address.
func (l *loop) reconcile() {
	n := l.n
	if l.checking || l.op != "" || n.cfg.Witness {
		return
	}
	kind := opCleanup
	if l.state == StatePrimary {
		kind = opReconcile
	} else if !n.hasHostState() {
		return
	}
	l.checking = true
	l.wg.Go(func() {
		cctx, cancel := context.WithTimeout(l.ctx, n.cfg.ReconcileInterval)
		defer cancel()
		n.report(n.check(cctx, kind))
	})
}

// serve answers an operator request.
func (l *loop) serve(req request) {
	switch {
	case req.maintenance != nil:
		l.maint = *req.maintenance
		l.n.log.Info("standby set", "reason", "operator", "op", fmt.Sprint(l.maint))
		l.step("standby")
		req.reply <- response{}
	case req.status:
		req.reply <- response{status: l.status()}
	}
}

// stop ends the loop: cancel what runs, release if configured (under the
// still-valid grant), announce stop.
func (l *loop) stop(ctx context.Context) error {
	n := l.n
	if l.opCancel != nil {
		l.opCancel()
		// Drain the worker's result so it can exit.
		for l.op != "" {
			r := <-n.results
			if r.kind == l.op {
				l.op, l.opCancel = "", nil
			}
		}
	}
	var err error
	owned := l.state == StatePrimary || l.state == StateAcquiring || l.state == StateReleasing
	if owned && n.cfg.ReleaseOnStop {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), n.cfg.StopTimeout)
		defer cancel()
		l.transition(StateReleasing, "stopping", nil)
		var steps []resource.Step
		steps, err = n.release(rctx, n.fence(l.token))
		l.applySteps(steps, "released")
		l.transition(StateStopped, "stopping", steps)
		return err
	} else if owned {
		n.log.Info("stopping; keeping resources", "token", l.token)
	}
	l.transition(StateStopped, "stopping", nil)
	return err
}
