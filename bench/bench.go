package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/vipd/vipd/internal/simcluster"
)

// Options configures a benchmark run.
type Options struct {
	// VipdBin is the vipd binary; required.
	VipdBin string
	// Rounds is the number of rounds per fault and system; default 10.
	Rounds int
	// Idle is how long the idle benchmark watches each system; default 60s.
	Idle time.Duration
	// ScaleAddrs and ScaleTables are the scale grid; default 1, 10, 100
	// addresses × 1, 5, 20 route tables.
	ScaleAddrs, ScaleTables []int
	// ScaleRounds is the number of failovers per scale cell; default 2.
	ScaleRounds int
	// Parts selects what runs: "failover", "switchover", "idle", "scale",
	// "routes", "storm", "pacemaker"; default all.
	Parts []string
	// Systems selects the systems of the failover, switchover and idle
	// parts: "keepalived", "default", "tuned", "dynamodb" (vipd's
	// defaults with the dynamodb election); default all.
	Systems []string
	// Starve runs this many busy-loop processes on the master's host in
	// every failover and switchover round, from a second before the fault
	// to the end of the round: a CPU-starving competitor. Its rounds are
	// reported as the system's name with "+N busy". 0: none.
	Starve int
	// TunedLease replaces the tuned profile's lease (TunedSettings), to
	// find the shortest lease a busy host holds; its rounds are reported
	// as "vipd tuned <lease>". 0: the profile's own.
	TunedLease time.Duration
	// Storm configures the storm part (storm.go); StormSystems lists what
	// fails over in it: "agents" (vipd run on every node), "controller"
	// (a vipd controller per cluster); default both.
	Storm        StormOptions
	StormSystems []string
	// PacemakerTables are the route table counts the Pacemaker agent
	// baseline runs with; default 1, 4, 20. PacemakerRounds is the number
	// of rounds for each; default 2.
	PacemakerTables []int
	PacemakerRounds int
	// RouteCells are the cells of the route-count part ("routes",
	// routecount.go); default RouteCells.
	RouteCells []RouteCell
	// Log receives progress; default discards.
	Log *slog.Logger
}

func (o *Options) defaults() {
	if o.Rounds <= 0 {
		o.Rounds = 10
	}
	if o.Idle <= 0 {
		o.Idle = time.Minute
	}
	if len(o.ScaleAddrs) == 0 {
		o.ScaleAddrs = []int{1, 10, 100}
	}
	if len(o.ScaleTables) == 0 {
		o.ScaleTables = []int{1, 5, 20}
	}
	if o.ScaleRounds <= 0 {
		o.ScaleRounds = 2
	}
	if len(o.Parts) == 0 {
		o.Parts = []string{"failover", "switchover", "idle", "scale", "routes", "storm", "pacemaker"}
	}
	if len(o.Systems) == 0 {
		o.Systems = []string{"keepalived", "default", "tuned", "dynamodb"}
	}
	if len(o.RouteCells) == 0 {
		o.RouteCells = RouteCells
	}
	if len(o.StormSystems) == 0 {
		o.StormSystems = []string{"agents", "controller"}
	}
	if len(o.PacemakerTables) == 0 {
		o.PacemakerTables = []int{1, 4, 20}
	}
	if o.PacemakerRounds <= 0 {
		o.PacemakerRounds = 2
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

// tuned returns the tuned settings with TunedLease applied.
func (o *Options) tuned() VipdSettings {
	set := TunedSettings
	if o.TunedLease > 0 && o.TunedLease != set.Lease {
		set.Lease = o.TunedLease
		set.Label = fmt.Sprintf("%s %s", set.Label, o.TunedLease)
	}
	return set
}

// Results is everything a run measured.
type Results struct {
	Started time.Time     `json:"started"`
	Took    time.Duration `json:"took_ns"`
	Rounds  []Round       `json:"rounds"`
	Idle    []IdleResult  `json:"idle"`
	Scale   []ScaleResult `json:"scale"`
	Storm   []StormResult `json:"storm,omitempty"`
	Routes  []StormResult `json:"route_counts,omitempty"`
	// Pacemaker are the rounds of the aws-vpc-move-ip agent baseline.
	Pacemaker []AgentRound `json:"pacemaker,omitempty"`
	Problems  []string     `json:"problems,omitempty"`
}

// The failover benchmark's service address: one overlay /32 outside the
// VPC in the three tables the subnets use.
var (
	failoverVIP    = netip.MustParseAddr("192.168.100.10")
	failoverTables = simcluster.TableIDs(4)
)

// Run runs the selected benchmarks. Each system gets a fresh world; a
// system that cannot start is reported in Problems and skipped.
func Run(ctx context.Context, o Options) (*Results, error) {
	o.defaults()
	if o.VipdBin == "" {
		return nil, errors.New("run benchmarks: no vipd binary")
	}
	res := &Results{Started: time.Now()}
	defer func() { res.Took = time.Since(res.Started) }()
	want := map[string]bool{}
	for _, p := range o.Parts {
		want[p] = true
	}
	dst := netip.PrefixFrom(failoverVIP, 32)
	systemNames := []string{"keepalived", "default", "tuned", "dynamodb"}
	systems := []func(*env) (system, error){
		func(e *env) (system, error) { return newKeepalived(e, failoverTables) },
		func(e *env) (system, error) { return newVipd(e, DefaultSettings, dst, nil) },
		func(e *env) (system, error) { return newVipd(e, o.tuned(), dst, nil) },
		func(e *env) (system, error) { return newVipd(e, DynamoDBSettings, dst, nil) },
	}
	for i, mk := range systems {
		if !slices.Contains(o.Systems, systemNames[i]) || !want["failover"] && !want["switchover"] && !(want["idle"] && i < 2) {
			continue
		}
		leaseInAWS := systemNames[i] == "dynamodb"
		err := withSystem(ctx, o, failoverVIP, len(failoverTables), leaseInAWS, mk, func(e *env, sys system) error {
			o.Log.Info("benchmarking", "system", sys.Name())
			if want["failover"] {
				for _, f := range Faults {
					for range o.Rounds {
						if ctx.Err() != nil {
							return ctx.Err()
						}
						r := runRound(ctx, e, sys, f, dst, failoverTables, o.Log)
						res.Rounds = append(res.Rounds, r)
						if strings.HasPrefix(r.Err, errDaemonDead.Error()) {
							return keepLogs(e, sys, r.Err)
						}
					}
				}
			}
			if want["switchover"] {
				for range o.Rounds {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					r := runRound(ctx, e, sys, FaultPlanned, dst, failoverTables, o.Log)
					res.Rounds = append(res.Rounds, r)
					if strings.HasPrefix(r.Err, errDaemonDead.Error()) {
						return keepLogs(e, sys, r.Err)
					}
				}
			}
			// Idle cost for the baseline and vipd's defaults only; tuned
			// settings trade idle work for speed on purpose.
			if want["idle"] && i < 2 {
				ir, err := measureIdle(ctx, e, sys, dst, failoverTables, o.Idle)
				if err != nil {
					return err
				}
				res.Idle = append(res.Idle, ir)
			}
			return nil
		})
		if err != nil {
			res.Problems = append(res.Problems, err.Error())
			o.Log.Warn("benchmark", "err", err)
		}
	}
	if want["scale"] {
		for _, tables := range o.ScaleTables {
			for _, addrs := range o.ScaleAddrs {
				for _, throttled := range []bool{false, true} {
					if throttled && addrs != o.ScaleAddrs[len(o.ScaleAddrs)-1] {
						continue
					}
					if ctx.Err() != nil {
						return res, ctx.Err()
					}
					sr, err := runScale(ctx, o, addrs, tables, throttled)
					if err != nil {
						res.Problems = append(res.Problems, err.Error())
						o.Log.Warn("scale", "addrs", addrs, "tables", tables, "err", err)
					}
					res.Scale = append(res.Scale, sr)
				}
			}
		}
	}
	if want["routes"] {
		rs, errs := RunRouteCounts(ctx, o.VipdBin, o.RouteCells, o.Log)
		res.Routes = rs
		for _, err := range errs {
			res.Problems = append(res.Problems, err.Error())
		}
	}
	if want["storm"] {
		for _, sys := range o.StormSystems {
			so := o.Storm
			so.Controller = sys == "controller"
			o.Log.Info("storm", "system", sys, "clusters", so.Clusters, "tables", so.Tables)
			sr, err := RunStorm(ctx, o.VipdBin, so, o.Log)
			if err != nil {
				res.Problems = append(res.Problems, fmt.Sprintf("storm (%s): %v", sys, err))
				o.Log.Warn("storm", "system", sys, "err", err)
			}
			res.Storm = append(res.Storm, sr)
		}
	}
	if want["pacemaker"] {
		for _, tables := range o.PacemakerTables {
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			o.Log.Info("benchmarking", "system", "pacemaker aws-vpc-move-ip", "tables", tables)
			rs, err := runPacemaker(ctx, o, tables, o.PacemakerRounds)
			res.Pacemaker = append(res.Pacemaker, rs...)
			if err != nil {
				res.Problems = append(res.Problems, err.Error())
				o.Log.Warn("pacemaker", "tables", tables, "err", err)
			}
		}
	}
	return res, nil
}

// withSystem builds a world, starts a system in it, waits for it to serve
// and runs fn; it cleans up both whatever fn returns.
func withSystem(ctx context.Context, o Options, vip netip.Addr, tables int, leaseInAWS bool, mk func(*env) (system, error), fn func(*env, system) error) error {
	e, err := newEnv(ctx, o, tables, vip, leaseInAWS)
	if err != nil {
		return fmt.Errorf("build the world: %w", err)
	}
	defer e.close()
	sys, err := mk(e)
	if err != nil {
		return err
	}
	if err := sys.start(ctx); err != nil {
		return err
	}
	return fn(e, sys)
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// keepLogs stops a system's benchmark after its daemon died on its own,
// keeping the cluster's directory (logs, raft data) for whoever debugs the
// crash.
func keepLogs(e *env, sys system, why string) error {
	e.c.KeepDir()
	return fmt.Errorf("stopped benchmarking %s: %s; logs kept in %s", sys.Name(), why, e.c.Dir)
}
