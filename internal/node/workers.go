package node

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/vipd/vipd/internal/election"
	"github.com/vipd/vipd/internal/fence"
	"github.com/vipd/vipd/internal/resource"
)

// acquire fences target, if any, then runs the plan's acquire and logs
// what it took. A fence that fails fails the acquire before anything is
// taken: the node tries again, as after any failed step. Runs in a worker
// goroutine.
func (n *Node) acquire(ctx context.Context, tok fence.Token, target fenceTarget) ([]resource.Step, error) {
	var fenced []resource.Step
	if target.name != "" {
		start := time.Now()
		err := target.err
		if err == nil {
			n.log.Warn("previous holder cannot be reached; fencing it before the takeover", "node", target.name, "reason", target.addr.String(), "token", tok.N())
			err = n.d.Fencer.StopAt(ctx, tok, n.cfg.Self.InstanceID, n.cfg.Self.VPCID, target.addr)
		}
		fenced = append(fenced, resource.Step{Resource: "fence " + target.name, Kind: "fence", Op: "acquire", Took: time.Since(start), Err: err})
		if err != nil {
			return fenced, fmt.Errorf("fence the previous holder %s before the takeover: %w", target.name, err)
		}
	}
	steps, err := n.d.Plan.Acquire(ctx, n.cfg.Self, tok)
	for _, s := range steps {
		if s.Err != nil || s.Resource == resource.LocalStep {
			continue
		}
		n.d.Metrics.acquired(s.Kind, s.Took)
		n.log.Info("resource acquired", "op", s.Resource, "token", tok.N(), "duration", s.Took.Round(time.Millisecond))
	}
	return append(fenced, steps...), err
}

// release runs the plan's release. Runs in a worker goroutine, or on the
// loop at stop.
func (n *Node) release(ctx context.Context, tok fence.Token) ([]resource.Step, error) {
	return n.d.Plan.Release(ctx, n.cfg.Self, tok)
}

// check reads every resource's state (reconcile) or only the local address
// (cleanup on a non-owner). Runs in a worker goroutine.
func (n *Node) check(ctx context.Context, kind opKind) result {
	r := result{kind: kind, drift: map[string][]string{}, inSync: map[string]bool{}, checkErr: map[string]string{}, detail: map[string]string{}, contested: map[string]bool{}}
	if kind == opReconcile {
		for c := range n.d.Plan.Check(ctx, n.cfg.Self) {
			name, st := c.Resource.Name(), c.Status
			if c.Err != nil {
				// A failed read is not drift: do not write on a guess.
				r.checkErr[name] = c.Err.Error()
				n.log.Warn("reconcile check failed", "op", name, "err", c.Err)
				continue
			}
			r.inSync[name] = st.InSync
			r.detail[name] = st.Detail
			if !st.InSync {
				r.drift[name] = st.Drift
				r.contested[name] = st.Contested
			}
		}
	}
	if kind == opCleanup {
		n.unbindHost(ctx)
	}
	if local := n.d.Plan.Local(); local != nil {
		bound, err := local.Bound(ctx)
		switch {
		case err != nil:
			n.log.Warn("read local address", "err", err)
		case kind == opReconcile && !bound:
			r.drift[resource.LocalStep] = []string{local.String() + ": not bound"}
		case kind == opCleanup && bound:
			if err := local.Unbind(ctx); err != nil {
				n.log.Warn("remove stale local address", "err", err)
			} else {
				n.log.Info("removed stale local address", "reason", "not owner", "vip", local.String())
			}
		}
	}
	return r
}

// unbindHost removes the host addresses of resources that bind their own
// (HostUnbinder); a node that is not the owner must not answer for them.
func (n *Node) unbindHost(ctx context.Context) {
	for _, r := range n.d.Plan.Resources() {
		if u, ok := r.(resource.HostUnbinder); ok {
			if err := u.Unbind(ctx, n.cfg.Self); err != nil {
				n.log.Warn("remove stale host addresses", "op", r.Name(), "err", err)
			}
		}
	}
}

// hasHostState reports whether a non-owner has anything to clean up.
func (n *Node) hasHostState() bool {
	if n.d.Plan.Local() != nil {
		return true
	}
	for _, r := range n.d.Plan.Resources() {
		if _, ok := r.(resource.HostUnbinder); ok {
			return true
		}
	}
	return false
}

// status copies the loop's state. Called on the loop goroutine.
func (l *loop) status() Status {
	n := l.n
	standby := l.standby()
	out := Status{
		Cluster: n.cfg.Cluster, Node: n.cfg.Self.Name, Witness: n.cfg.Witness,
		Role: l.state, Since: l.since, Lease: n.leaseStatus(),
		Healthy: n.d.Health == nil || n.d.Health.Healthy(), Maintenance: standby, Standby: standby,
		Eligible: l.wantEligible(),
		StandbyReplicated: func() bool {
			_, ok := n.d.Lease.(election.Standbyer)
			return ok
		}(),
		InstanceID: n.cfg.Self.InstanceID, ENIID: n.cfg.Self.ENIID,
		Transitions: slices.Clone(l.history),
		Counters:    maps.Clone(l.counters),
		Notices:     n.notices(),
	}
	if n.d.Health != nil {
		out.Health = n.d.Health.Status()
	}
	for _, r := range n.d.Plan.Resources() {
		rs := *l.resources[r.Name()]
		rs.Drift = slices.Clone(rs.Drift)
		out.Resources = append(out.Resources, rs)
	}
	return out
}
