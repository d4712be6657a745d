package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/vipd/vipd/internal/simcluster"
)

// Fault is what a failover round does to the current master.
type Fault string

// The faults of the failover benchmark.
const (
	// FaultKill SIGKILLs the master's daemon (and its children).
	FaultKill Fault = "kill -9"
	// FaultUnhealthy closes the master's service: its health check fails.
	FaultUnhealthy Fault = "unhealthy"
	// FaultIsolate cuts the master from its peers (for vipd also from the
	// witness) for a while, then heals the cut.
	FaultIsolate Fault = "isolated"
	// FaultPlanned is the planned switchover: vipd switchover, or stopping
	// keepalived on the master.
	FaultPlanned Fault = "planned"
)

// Faults are the unplanned faults, in the order the benchmark runs them.
var Faults = []Fault{FaultKill, FaultUnhealthy, FaultIsolate}

// catalogueName is each fault's name in the simulated cluster's
// catalogue (simcluster.Faults).
var catalogueName = map[Fault]string{FaultKill: simcluster.FaultKill, FaultUnhealthy: simcluster.FaultUnhealthy,
	FaultIsolate: simcluster.FaultIsolate, FaultPlanned: simcluster.FaultSwitchover}

// Round is one fault and what followed.
type Round struct {
	System string `json:"system"`
	Fault  Fault  `json:"fault"`
	From   string `json:"from"`
	To     string `json:"to"`
	// Failover is from the fault to the client's first answer from To;
	// zero with OK false when that did not happen within failoverLimit.
	Failover time.Duration `json:"failover_ns"`
	OK       bool          `json:"ok"`
	// AllRouted is from the fault to every table routing to To (polled
	// every 25ms); zero if that did not happen within failoverLimit.
	AllRouted time.Duration `json:"all_routed_ns"`
	// Calls are the nodes' EC2 calls from the fault (with Starve, from
	// the competitor's start) to a second after the client was served and
	// every table routed to To.
	Calls callCount `json:"calls"`
	// BothMaster is how long both nodes believed they were master during
	// the round, heal included.
	BothMaster time.Duration `json:"both_master_ns"`
	// Stale is set when, after an isolation healed and the nodes settled,
	// the route pointed at the node that was not master.
	Stale bool   `json:"stale_after_heal"`
	Err   string `json:"error,omitempty"`
	// Starve is the number of busy loops that ran on the master's host
	// from starveLead before the fault to the end of the round (Options).
	Starve int `json:"cpu_starve,omitempty"`
}

// errDaemonDead marks a round that found the peer's daemon gone.
var errDaemonDead = errors.New("daemon exited")

const (
	failoverLimit = 30 * time.Second
	stableLimit   = 60 * time.Second
	// isolateHold keeps an isolation on after the failover so that a
	// second master, if any, shows; healSettle lets VRRP or raft settle
	// after the heal before the route is compared with the master.
	isolateHold = 2 * time.Second
	healSettle  = 5 * time.Second
	sampleEvery = 100 * time.Millisecond
	// startQuiet is how long the peer must have made no EC2 call before
	// a round: a restarted node's start-up work (vipd turning the
	// source/dest check off) is not part of the next failover.
	startQuiet = time.Second
	// starveLead is how long a CPU-starving competitor runs on the master's
	// host before the fault: a holder that loses its lease to the load
	// alone shows as extra writes.
	starveLead = time.Second
)

// repairer is a system whose route an operator puts right by hand when the
// system leaves it on the node that is not master: keepalived never moves
// a route back by itself (a master that stayed master through a split
// brain keeps believing it routed), so the recipe's operator reruns the
// notify script.
type repairer interface {
	repair(ctx context.Context, node string) error
}

// stableMaster waits until exactly one node believes it is master, every
// listed table routes dst to it and the client is served by it, and
// returns it. A system with a repairer whose single master has not had
// the route for healSettle is repaired once, as its operator would; the
// rounds record such a stale route before they get here.
func stableMaster(ctx context.Context, e *env, sys system, dst netip.Prefix, tables []string) (string, error) {
	var m, saw string
	since := time.Now()
	var oneSince time.Time
	repaired := false
	err := waitFor(ctx, stableLimit, sys.Name()+" to settle on one master", func() bool {
		ms := sys.masters(ctx)
		owner := e.routeOwner(dst, tables)
		saw = fmt.Sprintf("masters %v, route to %q", slices.Sorted(maps.Keys(ms)), owner)
		if len(ms) != 1 {
			oneSince = time.Time{}
			return false
		}
		for name := range ms {
			if name != m || oneSince.IsZero() {
				m, oneSince = name, time.Now()
			}
		}
		if owner != m {
			if r, ok := sys.(repairer); ok && !repaired && time.Since(oneSince) > healSettle {
				repaired = true
				if err := r.repair(ctx, m); err != nil {
					saw += ", repair failed: " + err.Error()
				}
			}
			return false
		}
		if _, ok := e.servedBy(m, since); !ok {
			saw += ", client not served by it"
			return false
		}
		return true
	})
	if err != nil {
		return m, fmt.Errorf("%w (last seen: %s)", err, saw)
	}
	return m, nil
}

// waitStandby waits until a node stands by as backup and has made no EC2
// call for startQuiet (a restarted node's start-up work done), so that a
// round starts with a peer ready to take over, as a failover in production
// would. Only EC2 counts: a dynamodb election's backup reads the lease
// item all the time.
func waitStandby(ctx context.Context, e *env, sys system, name string) error {
	id := e.node(name).InstanceID
	dead := false
	err := waitFor(ctx, stableLimit, name+" to stand by", func() bool {
		if len(sys.pids(name)) == 0 {
			dead = true
			return true
		}
		if !sys.standby(ctx, name) {
			return false
		}
		for _, c := range e.srv.Calls(0) {
			if c.Service == "ec2" && c.Caller == id && time.Since(c.Time) < startQuiet {
				return false
			}
		}
		return true
	})
	if dead {
		return fmt.Errorf("%s: %s on %s is not running", errDaemonDead, sys.Name(), name)
	}
	return err
}

// sampler records how long both nodes believed they were master.
type sampler struct {
	sys    system
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	both   time.Duration
}

func startSampler(ctx context.Context, sys system) *sampler {
	ctx, cancel := context.WithCancel(ctx)
	s := &sampler{sys: sys, cancel: cancel}
	s.wg.Go(func() {
		last := time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(sampleEvery):
			}
			both := len(sys.masters(ctx)) == 2
			now := time.Now()
			if both {
				s.mu.Lock()
				s.both += now.Sub(last)
				s.mu.Unlock()
			}
			last = now
		}
	})
	return s
}

func (s *sampler) stop() time.Duration {
	s.cancel()
	s.wg.Wait()
	return s.both
}

// runRound faults the current master and measures the failover, then
// undoes the fault and waits for the system to settle again.
func runRound(ctx context.Context, e *env, sys system, fault Fault, dst netip.Prefix, tables []string, log *slog.Logger) Round {
	r := Round{System: sys.Name(), Fault: fault, Starve: e.starve}
	if e.starve > 0 {
		r.System = fmt.Sprintf("%s +%d busy", r.System, e.starve)
	}
	from, err := stableMaster(ctx, e, sys, dst, tables)
	if err != nil {
		r.Err = err.Error()
		log.Warn("round", "system", r.System, "fault", string(r.Fault), "err", r.Err)
		return r
	}
	r.From, r.To = from, e.peer(from)
	if len(sys.pids(r.To)) == 0 {
		// The peer's daemon died on its own (a crash, not a fault of
		// ours): no failover can be measured until someone fixes it.
		r.Err = fmt.Sprintf("%s: %s on %s is not running", errDaemonDead, sys.Name(), r.To)
		log.Warn("round", "system", r.System, "fault", string(r.Fault), "err", r.Err)
		return r
	}
	if err := waitStandby(ctx, e, sys, r.To); err != nil {
		r.Err = err.Error()
		log.Warn("round", "system", r.System, "fault", string(r.Fault), "err", r.Err)
		return r
	}
	seq := e.lastSeq()
	countFrom := time.Now()
	if e.starve > 0 {
		busy, err := e.c.Inject(ctx, simcluster.FaultBusyHost, simcluster.Target{Host: from, Count: e.starve})
		if err != nil {
			r.Err = err.Error()
			return r
		}
		defer func() { _ = busy.Heal() }()
		sleepCtx(ctx, starveLead)
	}
	smp := startSampler(ctx, sys)
	t0 := time.Now()
	injected, err := sys.inject(ctx, fault, from, r.To)
	if err != nil {
		r.Err = fmt.Sprintf("inject %s: %v", fault, err)
	}
	var served, routed time.Time
	_ = waitFor(ctx, failoverLimit, "failover", func() bool {
		if routed.IsZero() && e.routeOwner(dst, tables) == r.To {
			routed = time.Now()
		}
		if !r.OK {
			served, r.OK = e.servedBy(r.To, t0)
		}
		return r.OK && !routed.IsZero()
	})
	end := time.Now()
	if r.OK {
		r.Failover = served.Sub(t0)
		end = served
	}
	if !routed.IsZero() {
		r.AllRouted = routed.Sub(t0)
		end = routed
	}
	// Count the calls that belong to this failover: up to a second after
	// the client was served, so that the last route writes are in.
	sleepCtx(ctx, time.Second)
	r.Calls = e.countCalls(seq, countFrom, end.Add(time.Second))

	// Undo the fault.
	if fault != FaultIsolate {
		err = injected.Heal()
	} else {
		sleepCtx(ctx, isolateHold)
		err = injected.Heal()
		sleepCtx(ctx, healSettle)
		// A slow host may take longer than healSettle to settle the
		// split brain; the route is judged once there is one master.
		_ = waitFor(ctx, stableLimit, "one master after the heal", func() bool { return len(sys.masters(ctx)) == 1 })
		if ms := sys.masters(ctx); len(ms) == 1 {
			for m := range ms {
				r.Stale = e.routeOwner(dst, tables) != m
				if r.Stale {
					log.Info("route left on the node that is not master after the heal", "system", sys.Name(), "master", m)
					if rp, ok := sys.(repairer); ok {
						if err := rp.repair(ctx, m); err != nil {
							log.Warn("repair", "err", err)
						}
					}
				}
			}
		}
	}
	if err != nil && r.Err == "" {
		r.Err = fmt.Sprintf("undo %s: %v", fault, err)
	}
	if _, err := stableMaster(ctx, e, sys, dst, tables); err != nil && r.Err == "" {
		r.Err = err.Error()
	}
	r.BothMaster = smp.stop()
	log.Info("round", "system", r.System, "fault", string(r.Fault), "from", r.From, "to", r.To, "ok", r.OK,
		"failover_ms", r.Failover.Milliseconds(), "all_routed_ms", r.AllRouted.Milliseconds(), "calls", r.Calls.All, "writes", r.Calls.Writes,
		"both_master_ms", r.BothMaster.Milliseconds(), "stale", r.Stale, "err", r.Err, "write_log", r.Calls.WriteLog)
	return r
}
