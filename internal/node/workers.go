package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vipd/vipd/internal/admin"
	"github.com/vipd/vipd/internal/fence"
	"github.com/vipd/vipd/internal/health"
)

const localStep = "local-address"

// acquire runs every resource's Acquire in order, binding the local
// address at its place in that order; it stops at the first failure. Runs
// in a worker goroutine.
func (n *Node) acquire(ctx context.Context, tok fence.Token) ([]admin.Step, error) {
	var steps []admin.Step
	bound := n.d.Local == nil
	bind := func() error {
		bound = true
		start := time.Now()
		sctx, cancel := context.WithTimeout(ctx, n.cfg.StepTimeout)
		defer cancel()
		// Binding is host-local and not fenced by AWS, but it must not
		// happen under a grant that already ended.
		err := tok.Check(0)
		if err == nil {
			err = n.d.Local.Bind(sctx)
		}
		steps = append(steps, step(localStep, "acquire", time.Since(start), err))
		if err != nil {
			return fmt.Errorf("bind %s: %w", n.d.Local, err)
		}
		return nil
	}
	for _, r := range n.d.Resources {
		if !bound && r.Kind() == n.cfg.LocalBeforeKind {
			if err := bind(); err != nil {
				return steps, err
			}
		}
		start := time.Now()
		sctx, cancel := context.WithTimeout(ctx, n.stepTimeout(r))
		err := r.Acquire(sctx, n.cfg.Self, tok)
		cancel()
		d := time.Since(start)
		steps = append(steps, step(r.Name(), "acquire", d, err))
		if err != nil {
			return steps, fmt.Errorf("acquire %s: %w", r.Name(), err)
		}
		n.d.Metrics.acquired(r.Kind(), d)
		n.log.Info("resource acquired", "op", r.Name(), "token", tok.N(), "duration", d.Round(time.Millisecond))
	}
	if !bound {
		if err := bind(); err != nil {
			return steps, err
		}
	}
	return steps, nil
}

// stepTimeout is how long one step of r may take.
func (n *Node) stepTimeout(r Resource) time.Duration {
	if st, ok := r.(stepTimer); ok {
		return max(n.cfg.StepTimeout, st.StepTimeout())
	}
	return n.cfg.StepTimeout
}

// release unbinds the local address first (it is what makes this host
// answer for the address, and it needs no AWS call), then releases the
// resources in reverse order. It carries on past failures and joins them.
func (n *Node) release(ctx context.Context, tok fence.Token) ([]admin.Step, error) {
	var steps []admin.Step
	var errs []error
	if n.d.Local != nil {
		start := time.Now()
		sctx, cancel := context.WithTimeout(ctx, n.cfg.StepTimeout)
		err := n.d.Local.Unbind(sctx)
		cancel()
		steps = append(steps, step(localStep, "release", time.Since(start), err))
		if err != nil {
			errs = append(errs, fmt.Errorf("unbind %s: %w", n.d.Local, err))
		}
	}
	for i := len(n.d.Resources) - 1; i >= 0; i-- {
		r := n.d.Resources[i]
		start := time.Now()
		sctx, cancel := context.WithTimeout(ctx, n.stepTimeout(r))
		err := r.Release(sctx, n.cfg.Self, tok)
		cancel()
		if errors.Is(err, fence.ErrStale) {
			// The grant is gone: the next owner overwrites; writing now
			// could undo its work.
			err = nil
		}
		steps = append(steps, step(r.Name(), "release", time.Since(start), err))
		if err != nil {
			errs = append(errs, fmt.Errorf("release %s: %w", r.Name(), err))
		}
	}
	return steps, errors.Join(errs...)
}

// check reads every resource's state (reconcile) or only the local address
// (cleanup on a non-owner). Runs in a worker goroutine.
func (n *Node) check(ctx context.Context, kind opKind) result {
	r := result{kind: kind, drift: map[string][]string{}, inSync: map[string]bool{}, checkErr: map[string]string{}, detail: map[string]string{}, contested: map[string]bool{}}
	if kind == opReconcile {
		for _, res := range n.d.Resources {
			st, err := res.Check(ctx, n.cfg.Self)
			if err != nil {
				// A failed read is not drift: do not write on a guess.
				r.checkErr[res.Name()] = err.Error()
				n.log.Warn("reconcile check failed", "op", res.Name(), "err", err)
				continue
			}
			r.inSync[res.Name()] = st.InSync
			r.detail[res.Name()] = st.Detail
			if !st.InSync {
				r.drift[res.Name()] = st.Drift
				r.contested[res.Name()] = st.Contested
			}
		}
	}
	if kind == opCleanup {
		n.unbindHost(ctx)
	}
	if n.d.Local != nil {
		bound, err := n.d.Local.Bound(ctx)
		switch {
		case err != nil:
			n.log.Warn("read local address", "err", err)
		case kind == opReconcile && !bound:
			r.drift[localStep] = []string{n.d.Local.String() + ": not bound"}
		case kind == opCleanup && bound:
			if err := n.d.Local.Unbind(ctx); err != nil {
				n.log.Warn("remove stale local address", "err", err)
			} else {
				n.log.Info("removed stale local address", "reason", "not owner", "vip", n.d.Local.String())
			}
		}
	}
	return r
}

// unbindHost removes the host addresses of resources that bind their own
// (HostUnbinder); a node that is not the owner must not answer for them.
func (n *Node) unbindHost(ctx context.Context) {
	for _, r := range n.d.Resources {
		if u, ok := r.(HostUnbinder); ok {
			if err := u.Unbind(ctx, n.cfg.Self); err != nil {
				n.log.Warn("remove stale host addresses", "op", r.Name(), "err", err)
			}
		}
	}
}

// hasHostState reports whether a non-owner has anything to clean up.
func (n *Node) hasHostState() bool {
	if n.d.Local != nil {
		return true
	}
	for _, r := range n.d.Resources {
		if _, ok := r.(HostUnbinder); ok {
			return true
		}
	}
	return false
}

func step(name, op string, d time.Duration, err error) admin.Step {
	s := admin.Step{Resource: name, Op: op, DurationMS: ms(d)}
	if err != nil {
		s.Error = err.Error()
	}
	return s
}

// status builds the admin view. Called on the loop goroutine.
func (l *loop) status() admin.Status {
	n := l.n
	st := n.leaseStatus()
	out := admin.Status{
		Cluster: n.cfg.Cluster, Node: n.cfg.Self.Name, Witness: n.cfg.Witness,
		Role: string(l.state), Since: l.since,
		Holder: st.Holder, Token: st.Token, LeaseHeld: st.Held, Quorum: st.Quorum,
		Healthy: n.d.Health == nil || n.d.Health.Healthy(), Maintenance: l.maint,
		InstanceID: n.cfg.Self.InstanceID, ENIID: n.cfg.Self.ENIID,
		Transitions: append([]admin.Transition(nil), l.history...),
		Counters:    map[string]int64{},
		Health:      []admin.Check{},
		Resources:   []admin.Resource{},
		Peers:       []admin.Peer{},
	}
	if st.Held {
		out.LeaseValid = time.Until(st.ValidUntil).Round(time.Millisecond).String()
	}
	for k, v := range l.counters {
		out.Counters[k] = v
	}
	if n.d.Health != nil {
		for _, c := range n.d.Health.Status() {
			out.Health = append(out.Health, checkStatus(c))
		}
	}
	for _, r := range n.d.Resources {
		out.Resources = append(out.Resources, *l.resources[r.Name()])
	}
	for _, p := range st.Peers {
		out.Peers = append(out.Peers, admin.Peer{Name: p.Name, Address: p.Address, Witness: p.Witness, Eligible: p.Eligible, Reachable: p.Reachable})
	}
	return out
}

func checkStatus(c health.CheckStatus) admin.Check {
	return admin.Check{Name: c.Name, Passing: c.Passing, LastError: c.LastError}
}
