package chaos

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/vipd/vipd/internal/vpcsim"
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
	Faults   map[Kind]int // injected, by kind
	// Grants is how many lease grants the nodes logged (failovers + 1).
	Grants int
	// Writes is how many fenced AWS writes took effect.
	Writes     int
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
	fmt.Fprintf(&b, "seed %d (%s): %d faults, %d grants, %d fenced writes", r.Schedule.Seed, r.Mode, len(r.Schedule.Steps), r.Grants, r.Writes)
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
	prefix := c.Fab.Prefix()
	closed := false
	defer func() {
		if !closed {
			c.Close()
			_ = os.RemoveAll(c.Dir)
		}
	}()

	h := &History{Start: time.Now(), Exits: map[string][]Exit{}}
	rctx, stopRecording := context.WithCancel(ctx)
	var rec sync.WaitGroup
	rec.Go(func() { record(rctx, c, h, o.Interval) })

	inj := &injector{c: c, h: h, counts: map[string]int{}, faultIDs: map[int]int64{}, resolved: map[int]Step{}}
	var steps sync.WaitGroup
	for i, st := range sched.Steps {
		rep.Faults[st.Kind]++
		steps.Go(func() {
			if !sleep(ctx, time.Until(h.Start.Add(st.At))) {
				return
			}
			inj.apply(i, st, true)
			sleep(ctx, st.For)
			inj.apply(i, st, false)
		})
	}
	steps.Wait()
	inj.healAll()
	h.FaultsEnd = time.Now()

	// Convergence: one holder; every table routes the VIP to its ENI; the
	// VIP is bound on its eth0 only; the client reaches it — at every check
	// for Stable, so that a restarted member joining cannot undo it.
	deadline := h.FaultsEnd.Add(o.Converge + o.Stable)
	since, prev := time.Time{}, ""
	for time.Now().Before(deadline) && ctx.Err() == nil {
		began := time.Now()
		holder := converged(ctx, c)
		if holder == "" || holder != prev {
			since = began
		}
		prev = holder
		if holder != "" {
			if time.Since(since) >= o.Stable {
				h.ConvergedAt, h.Holder = since, holder
				break
			}
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
	for _, m := range c.Members {
		h.Exits[m.Name] = m.Exits()
		names[m.InstanceID] = m.Name
		logs, err := readLog(m.Name, m.LogPath())
		if err != nil {
			return nil, err
		}
		h.Logs = append(h.Logs, logs...)
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

// injector applies steps, counting overlapping faults on one target so a
// fault is undone only when the last step that wants it ends.
type injector struct {
	c *Cluster
	h *History

	mu       sync.Mutex
	counts   map[string]int
	faultIDs map[int]int64 // step index → vpcsim fault
	resolved map[int]Step  // step index → the step with member names
}

// resolve replaces Holder and Other by the nodes they name now.
func (in *injector) resolve(st Step) Step {
	holder := in.c.Holder(context.Background())
	if holder == "" {
		holder = "a" // nobody holds right now: hit a fixed node
	}
	other := "b"
	if holder == "b" {
		other = "a"
	}
	for _, p := range []*string{&st.Target, &st.Peer} {
		switch *p {
		case Holder:
			*p = holder
		case Other:
			*p = other
		}
	}
	if st.Kind == KindPartition && st.Target == st.Peer {
		st.Peer = "witness"
		if st.Target == "witness" {
			st.Peer = other
		}
	}
	return st
}

func (in *injector) apply(i int, st Step, on bool) {
	if on {
		st = in.resolve(st)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if on {
		in.resolved[i] = st
	} else {
		st = in.resolved[i]
	}
	key := string(st.Kind) + " " + st.Target + " " + st.Peer
	var err error
	c := in.c
	switch st.Kind {
	case KindKill, KindPartition, KindCutAPI, KindCutIMDS:
		first := on && in.counts[key] == 0
		if on {
			in.counts[key]++
		} else {
			in.counts[key]--
		}
		last := !on && in.counts[key] == 0
		if !first && !last {
			in.h.addFault(FaultEvent{At: time.Now(), Step: st, On: on, Err: "overlaps an earlier step; no change"})
			return
		}
		err = in.toggle(st, on)
	default:
		if on {
			var id int64
			id, err = c.Srv.InjectFault(in.vpcsimFault(st))
			in.faultIDs[i] = id
		} else if id, ok := in.faultIDs[i]; ok {
			c.Srv.ClearFaults(id)
		}
	}
	ev := FaultEvent{At: time.Now(), Step: st, On: on}
	if err != nil {
		ev.Err = err.Error()
	}
	in.h.addFault(ev)
}

func (in *injector) toggle(st Step, on bool) error {
	c := in.c
	switch st.Kind {
	case KindKill:
		if on {
			c.Kill(st.Target)
			return nil
		}
		return c.Restart(st.Target)
	case KindPartition:
		return c.Fab.Partition(c.Member(st.Target).InstanceID, c.Member(st.Peer).InstanceID, on)
	case KindCutAPI:
		return c.Fab.CutAPI(c.Member(st.Target).InstanceID, on)
	case KindCutIMDS:
		return c.Fab.CutIMDS(c.Member(st.Target).InstanceID, on)
	}
	return fmt.Errorf("toggle %s: not a fabric fault", st.Kind)
}

func (in *injector) vpcsimFault(st Step) vpcsim.Fault {
	f := vpcsim.Fault{Action: st.Action, Duration: vpcsim.Duration(st.For)}
	if st.Target != "" {
		f.Caller = in.c.Member(st.Target).InstanceID
	}
	switch st.Kind {
	case KindCallerCutoff:
		f.Kind = vpcsim.FaultCutoff
	case KindLatency:
		f.Kind, f.Latency = vpcsim.FaultLatency, vpcsim.Duration(st.Latency)
	case Kind5xx:
		f.Kind, f.Code = vpcsim.FaultError, "InternalError"
	case KindThrottle:
		f.Kind, f.Code = vpcsim.FaultError, "RequestLimitExceeded"
	case KindHang:
		f.Kind, f.Timeout = vpcsim.FaultHang, vpcsim.Duration(st.For)
	}
	return f
}

// healAll undoes every fault and restarts every member, whatever steps
// are still counted.
func (in *injector) healAll() {
	in.mu.Lock()
	defer in.mu.Unlock()
	c := in.c
	c.Srv.ClearFaults(0)
	ms := c.Members
	for i, a := range ms {
		for _, b := range ms[i+1:] {
			_ = c.Fab.Partition(a.InstanceID, b.InstanceID, false)
		}
		_ = c.Fab.CutAPI(a.InstanceID, false)
		_ = c.Fab.CutIMDS(a.InstanceID, false)
		_ = c.Restart(a.Name)
	}
	clear(in.counts)
}
