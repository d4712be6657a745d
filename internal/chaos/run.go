package chaos

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/vipd/vipd/internal/simcluster"
	"github.com/vipd/vipd/internal/vpcsim/netns"
)

// ConvergeBound is how long after the faults stop the world must agree on
// one holder: a restarted member's startup quarantine (0.45 lease), raft
// noticing a dead or partitioned leader and electing (up to about two
// leases), the health check's rise (2 × 200 ms), the acquire's AWS calls
// (1 s timeout each, retried) and one reconcile interval (1 s) for a stale
// local address — under 8 s with the default 1 s lease; the bound leaves
// room for a loaded CI machine.
const ConvergeBound = 15 * time.Second

// OwnerBound is how long the address may be without an owner while a
// healthy node exists (its process up and not paused, no fault on it, and
// quorum with a peer or the witness that is up): raft noticing the old
// leader gone and electing (up to about two leases), the health rise and
// the acquire's AWS calls — about 3 s with the default 1 s lease; the
// bound leaves room for a loaded machine. Faults that vipd is meant to
// shrug off — idle connections on the cluster port, a hanging notify
// hook, a second daemon — leave a node healthy.
const OwnerBound = 8 * time.Second

// RejoinBound is how long a started or resumed member may take to answer
// `vipd status` as backup, primary or witness in touch with a quorum,
// counted from the end of the last fault on it and from when a peer it can
// reach runs: opening its raft log, the startup quarantine, joining the
// leader and the first health rise take under 3 s.
const RejoinBound = 10 * time.Second

// RunOptions configures one schedule's run.
type RunOptions struct {
	Cluster Options
	Seed    uint64
	// Length is how long faults are injected; default 10s.
	Length time.Duration
	// Converge bounds convergence after the faults; default ConvergeBound.
	Converge time.Duration
	// Interval between status polls and client attempts; default 100ms.
	Interval time.Duration
	// Stable is how long the world must stay converged; default 2s.
	Stable time.Duration
}

// Report is one schedule's outcome.
type Report struct {
	Schedule Schedule
	Mode     Mode
	// Faults counts the steps that injected something, by kind (a step
	// that failed or overlapped an earlier one of its kind on its target
	// does not count).
	Faults map[Kind]int
	// Grants is how many lease grants the nodes logged (failovers + 1).
	Grants int
	// Writes is how many fenced AWS writes took effect.
	Writes int
	// Fences is how many StopInstances calls (STONITH) took effect.
	Fences     int
	Violations []Violation
	Timeline   string
	// ConvergedIn is how long after the faults the world agreed on Holder.
	ConvergedIn time.Duration
	Holder      string
	// Dir holds the members' configs and logs when kept ("" once removed).
	Dir string
}

// Failed reports whether any invariant broke.
func (r *Report) Failed() bool { return len(r.Violations) > 0 }

// Summary is one line per run, and the seed to replay it.
func (r *Report) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d (%s): %d faults, %d grants, %d fenced writes, %d instances stopped by STONITH", r.Schedule.Seed, r.Mode, len(r.Schedule.Steps), r.Grants, r.Writes, r.Fences)
	if r.ConvergedIn > 0 {
		fmt.Fprintf(&b, ", converged on %s in %s", r.Holder, r.ConvergedIn.Round(time.Millisecond))
	}
	if r.Failed() {
		fmt.Fprintf(&b, ", %d VIOLATIONS (replay: make chaos SEED=%d MODE=%s)", len(r.Violations), r.Schedule.Seed, r.Mode)
	}
	if r.Dir != "" {
		fmt.Fprintf(&b, ", logs in %s", r.Dir)
	}
	return b.String()
}

// Run starts a cluster, injects the seed's schedule while recording, heals
// everything, waits for convergence, tears down and checks the history.
func Run(ctx context.Context, o RunOptions) (*Report, error) {
	if o.Length <= 0 {
		o.Length = 10 * time.Second
	}
	if o.Converge <= 0 {
		o.Converge = ConvergeBound
	}
	if o.Interval <= 0 {
		o.Interval = 100 * time.Millisecond
	}
	if o.Stable <= 0 {
		o.Stable = 2 * time.Second
	}
	sched := Generate(o.Seed, o.Length)
	rep := &Report{Schedule: sched, Faults: map[Kind]int{}}
	// The logs are read after the processes are gone; the directory goes
	// at the end, kept when asked or when an invariant broke.
	keep := o.Cluster.Keep
	o.Cluster.Keep = true
	c, err := Start(ctx, o.Cluster)
	if err != nil {
		return nil, err
	}
	rep.Dir, rep.Mode = c.Dir, c.Mode()
	prefix := c.NS.Fab.Prefix()
	closed := false
	defer func() {
		if !closed {
			c.Close()
			_ = os.RemoveAll(c.Dir)
		}
	}()

	h := &History{Start: time.Now(), Lease: c.o.Lease, Fence: c.o.Fence, Exits: map[string][]simcluster.Exit{}, Procs: map[string][]simcluster.ProcEvent{}}
	rctx, stopRecording := context.WithCancel(ctx)
	var rec sync.WaitGroup
	rec.Go(func() { record(rctx, c, h, o.Interval) })
	if c.o.Fence {
		rec.Go(func() { superviseFences(rctx, c, h, 50*time.Millisecond, len(sched.Steps)) })
	}

	inj := newInjector(c, h)
	var steps sync.WaitGroup
	for i, st := range sched.Steps {
		steps.Go(func() {
			if !sleep(ctx, time.Until(h.Start.Add(st.At))) {
				return
			}
			inj.run(ctx, i, st)
		})
	}
	steps.Wait()
	inj.healAll()
	h.FaultsEnd = time.Now()

	// Convergence: one holder; every table routes the VIP to its ENI; the
	// VIP is bound on its eth0 only; the client reaches it — at every check
	// for Stable, so that a restarted member joining cannot undo it. Then
	// every member must answer as backup, primary or witness (the rejoin
	// rule's evidence), within the same deadline.
	deadline := h.FaultsEnd.Add(o.Converge + o.Stable)
	since, prev := time.Time{}, ""
	for time.Now().Before(deadline) && ctx.Err() == nil {
		began := time.Now()
		if h.ConvergedAt.IsZero() {
			holder := converged(ctx, c)
			if holder == "" || holder != prev {
				since = began
			}
			prev = holder
			if holder != "" && time.Since(since) >= o.Stable {
				h.ConvergedAt, h.Holder = since, holder
			}
		}
		if !h.ConvergedAt.IsZero() && rejoined(ctx, c, h) {
			break
		}
		sleep(ctx, o.Interval)
	}
	stopRecording()
	rec.Wait()
	h.End = time.Now()
	h.Calls = c.Srv.Calls(0)
	c.Close()
	closed = true

	names := map[string]string{}
	for _, m := range c.Hosts {
		h.Exits[m.Name] = m.Exits()
		h.Procs[m.Name] = m.Events()
		h.Stops = append(h.Stops, m.Stops()...)
		h.Duplicates = append(h.Duplicates, m.Duplicates()...)
		names[m.InstanceID] = m.Name
		logs, err := readLog(m.Name, m.LogPath())
		if err != nil {
			return nil, err
		}
		h.Logs = append(h.Logs, logs...)
	}
	// A second daemon's lease lines count as a holder of its own, ended
	// when it ended; its end is never a crash (refusing to run is what it
	// should do).
	for _, d := range h.Duplicates {
		name := DuplicateName(d.Node)
		if _, done := h.Exits[name]; !done {
			logs, err := readLog(name, c.Host(d.Node).DuplicateLog())
			if err != nil {
				return nil, err
			}
			h.Logs = append(h.Logs, logs...)
		}
		x := d.Exit
		x.Killed = true
		h.Exits[name] = append(h.Exits[name], x)
	}
	for _, f := range h.Faults {
		if f.On && f.Err == "" {
			rep.Faults[f.Step.Kind]++
		}
	}
	for _, c := range h.Calls {
		if c.Action == "StopInstances" && c.Code == "" {
			rep.Fences++
		}
	}
	// The harness killed everything at Close; those ends are not crashes,
	// and a process killed after the history ends does not cut a hold.
	for name, xs := range h.Exits {
		for i := range xs {
			if xs[i].At.After(h.End) {
				xs[i].Killed = true
			}
		}
		h.Exits[name] = xs
	}
	rep.Violations = Check(h, o.Converge)
	rep.Grants = len(Grants(h))
	for _, c := range h.Calls {
		if isWrite(c.Action) && c.Code == "" && c.Token != 0 {
			rep.Writes++
		}
	}
	if left, _ := netns.Namespaces(prefix); len(left) > 0 {
		rep.Violations = append(rep.Violations, Violation{At: h.End, Rule: "leaked-namespaces", Detail: strings.Join(left, " ")})
	}
	if !h.ConvergedAt.IsZero() {
		rep.ConvergedIn, rep.Holder = h.ConvergedAt.Sub(h.FaultsEnd), h.Holder
	}
	rep.Timeline = Timeline(h, rep.Violations, names)
	if !keep && !rep.Failed() {
		_ = os.RemoveAll(c.Dir)
		rep.Dir = ""
	}
	return rep, nil
}

// rejoined reports whether every member is back (Poll.Back); the answers
// join the history.
func rejoined(ctx context.Context, c *Cluster, h *History) bool {
	all := true
	for _, m := range c.Hosts {
		p := poll(ctx, m)
		h.addPoll(p)
		all = all && p.Back()
	}
	return all
}

// Back reports whether the answer shows a member that came back: backup,
// primary or witness, with its election running and in touch with a
// quorum. A node whose election failed may still answer as backup.
func (p Poll) Back() bool {
	return p.OK && p.Quorum && (p.Role == "backup" || p.Role == "primary" || p.Role == "witness")
}

// converged returns the node the whole world agrees on, or "": it holds
// the lease, vpcsim gives it the address, the address is bound on its
// eth0 only (where vipd binds it), and the client reaches it.
func converged(ctx context.Context, c *Cluster) string {
	holder := c.Holder(ctx)
	if holder == "" || c.Owner() != holder {
		return ""
	}
	if c.o.Mode != ModeENI {
		for _, n := range c.Nodes() {
			bound, err := c.Bound(n)
			if err != nil || bound != (n.Name == holder) {
				return ""
			}
		}
	}
	if got, err := c.Reach(ctx); err != nil || got != holder {
		return ""
	}
	return holder
}

func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
