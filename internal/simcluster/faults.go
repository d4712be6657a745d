package simcluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vipd/vipd/internal/vpcsim"
)

// The faults of the catalogue, by name. The fault-schedule suite prints
// and replays schedules by these names; `vipd demo` and the benchmarks
// name their scenarios after them.
const (
	// FaultKill SIGKILLs the host's daemon; heal starts it again.
	FaultKill = "kill"
	// FaultPause SIGSTOPs the host's daemon; heal SIGCONTs it: a paused VM
	// or a process stalled in the kernel, which wakes up believing it
	// still holds what it held.
	FaultPause = "stop-cont"
	// FaultRestart stops the host's daemon with SIGTERM (a planned stop,
	// as systemd does) and waits up to StopBound for it to exit; heal
	// starts it again.
	FaultRestart = "restart"
	// FaultUnhealthy closes the node's service, so that its health check
	// fails; heal serves it again.
	FaultUnhealthy = "unhealthy"
	// FaultSwitchover is the planned move: the host's daemon is asked to
	// hand the address to Peer. Nothing to heal.
	FaultSwitchover = "switchover"
	// FaultPartition drops all traffic between the host and Peer.
	FaultPartition = "partition"
	// FaultIsolate cuts the host off from every other host that runs a
	// daemon, and from the AWS API when the lease lives there
	// (Options.LeaseInAWS).
	FaultIsolate = "isolate"
	// FaultCutOff cuts the host off from every other host that runs a
	// daemon and from the AWS API, its daemon still running: it can
	// neither hear that it lost the lease nor let go of what it holds —
	// the previous owner STONITH is for.
	FaultCutOff = "cut-off"
	// FaultCutAPI cuts the host's path to the AWS API.
	FaultCutAPI = "cut-api"
	// FaultCutIMDS cuts the host's path to its metadata service.
	FaultCutIMDS = "cut-imds"
	// FaultIMDSSlow delays every request to the host's metadata service by
	// Latency.
	FaultIMDSSlow = "imds-slow"
	// FaultHookHang makes the host's notify hooks (Host.Hook) wait until
	// healed.
	FaultHookHang = "hook-hang"
	// FaultPortFlood opens Conns idle connections, which never send a
	// byte, to the host's cluster port from the other hosts and the
	// client; heal closes them.
	FaultPortFlood = "port-flood"
	// FaultDuplicateDaemon starts a second daemon with the host's
	// configuration, as an operator's mistake would; heal stops it if it
	// still runs (Host.Duplicates keeps how it ended).
	FaultDuplicateDaemon = "duplicate-daemon"
	// FaultCPUStarve pins the host's vipd to one CPU and runs busy loops
	// on that CPU at a higher priority, so that vipd gets a small share.
	FaultCPUStarve = "cpu-starve"
	// FaultBusyHost runs Count busy-loop processes on the host, competing
	// with its daemon for the machine's cores as a busy neighbour would;
	// heal kills them.
	FaultBusyHost = "busy-host"
	// FaultCallerCutoff makes vpcsim drop every call of the host (every
	// caller, with no host) unanswered.
	FaultCallerCutoff = "caller-cutoff"
	// FaultLatency delays the host's AWS calls by Latency.
	FaultLatency = "latency"
	// Fault5xx answers the host's AWS calls with InternalError (HTTP 500).
	Fault5xx = "5xx"
	// FaultThrottle answers the host's AWS calls with RequestLimitExceeded
	// (HTTP 503).
	FaultThrottle = "throttle"
	// FaultHang holds the host's AWS calls unanswered for For.
	FaultHang = "hang"
	// FaultLateWrite makes vpcsim hold the host's mutating calls until the
	// client gives up, answer 503, and apply the mutation Latency later
	// all the same, as AWS may apply a request its client timed out on.
	FaultLateWrite = "late-write"
	// FaultSpot makes EC2 announce a Spot interruption (stop) of the
	// host's instance For from now, through its metadata service's
	// instance-action notice as AWS does two minutes ahead, and carry it
	// out then; heal starts the instance again.
	FaultSpot = "spot"
	// FaultAPIFaults makes EC2 answer the next three ReplaceRoute calls
	// with RequestLimitExceeded and the next two DescribeRouteTables with
	// InternalError, whoever calls: a failover that must retry through
	// both.
	FaultAPIFaults = "api-faults"
)

// Target says where and how a fault strikes.
type Target struct {
	// Host is the host it hits; for faults of the AWS API, "" is every
	// caller.
	Host string
	// Peer is the other side of a partition, or where a switchover moves
	// the address.
	Peer string
	// Action narrows a fault of the AWS API to one action ("" = any).
	Action string
	// For is how long the fault is meant to last: vpcsim's faults expire
	// after it, and faults on a process wait up to a part of it for the
	// process to run.
	For time.Duration
	// Latency is a latency or imds-slow fault's delay, or how late a
	// late-write applies the mutation.
	Latency time.Duration
	// Conns is how many connections a port-flood opens.
	Conns int
	// Count is how many calls a fault of the AWS API answers before it
	// lapses (0: every call for For), or how many busy loops busy-host
	// runs.
	Count int
}

// Injected is a fault in place: what it did, and how to undo it.
type Injected struct {
	// Note says what the injection did ("300 idle connections open"), for
	// a timeline; "" when there is nothing to add.
	Note string
	heal func() error
}

// Heal undoes the fault (a no-op for one with nothing to undo).
func (i Injected) Heal() error {
	if i.heal == nil {
		return nil
	}
	return i.heal()
}

// fault is one entry of the catalogue: its name, and the function that
// injects it and returns how to heal it. Adding a fault is adding an
// entry and its function.
type fault struct {
	name   string
	inject func(ctx context.Context, c *Cluster, t Target) (Injected, error)
}

var catalogue = []fault{
	{FaultKill, kill},
	{FaultPause, pause},
	{FaultRestart, restart},
	{FaultUnhealthy, unhealthy},
	{FaultSwitchover, switchover},
	{FaultPartition, partition},
	{FaultIsolate, isolate},
	{FaultCutOff, cutOff},
	{FaultCutAPI, pathFault(func(p PathCutter, id string, on bool, _ Target) error { return p.CutAPI(id, on) })},
	{FaultCutIMDS, pathFault(func(p PathCutter, id string, on bool, _ Target) error { return p.CutIMDS(id, on) })},
	{FaultIMDSSlow, pathFault(func(p PathCutter, id string, on bool, t Target) error {
		if !on {
			t.Latency = 0
		}
		return p.SlowIMDS(id, t.Latency)
	})},
	{FaultHookHang, hookHang},
	{FaultPortFlood, portFlood},
	{FaultDuplicateDaemon, duplicateDaemon},
	{FaultCPUStarve, cpuStarve},
	{FaultBusyHost, busyHost},
	{FaultCallerCutoff, simFault(func(f *vpcsim.Fault, _ Target) { f.Kind = vpcsim.FaultCutoff })},
	{FaultLatency, simFault(func(f *vpcsim.Fault, t Target) { f.Kind, f.Latency = vpcsim.FaultLatency, vpcsim.Duration(t.Latency) })},
	{Fault5xx, simFault(func(f *vpcsim.Fault, _ Target) { f.Kind, f.Code = vpcsim.FaultError, "InternalError" })},
	{FaultThrottle, simFault(func(f *vpcsim.Fault, _ Target) { f.Kind, f.Code = vpcsim.FaultError, "RequestLimitExceeded" })},
	{FaultHang, simFault(func(f *vpcsim.Fault, t Target) { f.Kind, f.Timeout = vpcsim.FaultHang, vpcsim.Duration(t.For) })},
	{FaultLateWrite, simFault(func(f *vpcsim.Fault, t Target) {
		f.Kind, f.Delay, f.Timeout = vpcsim.FaultLateWrite, vpcsim.Duration(t.Latency), vpcsim.Duration(t.For)
	})},
	{FaultAPIFaults, apiFaults},
	{FaultSpot, spot},
}

// Faults lists the catalogue's names.
func Faults() []string {
	out := make([]string, len(catalogue))
	for i, f := range catalogue {
		out[i] = f.name
	}
	return out
}

// ErrUnknownFault is returned for a name not in the catalogue.
var ErrUnknownFault = errors.New("unknown fault")

// Inject makes the fault named name at t and returns it in place. A
// fault the cluster's fabric cannot make returns an error that is
// errors.ErrUnsupported; so does one on a host that is down when it needs
// a process.
func (c *Cluster) Inject(ctx context.Context, name string, t Target) (Injected, error) {
	i := slices.IndexFunc(catalogue, func(f fault) bool { return f.name == name })
	if i < 0 {
		return Injected{}, fmt.Errorf("inject %s: %w (want one of %v)", name, ErrUnknownFault, Faults())
	}
	in, err := catalogue[i].inject(ctx, c, t)
	if err != nil {
		return Injected{Note: in.Note}, fmt.Errorf("inject %s on %s: %w", name, t.Host, err)
	}
	return in, nil
}

func kill(_ context.Context, c *Cluster, t Target) (Injected, error) {
	c.Kill(t.Host)
	return Injected{heal: func() error { return c.Start(t.Host) }}, nil
}

func pause(ctx context.Context, c *Cluster, t Target) (Injected, error) {
	note := waitRunning(ctx, c.Host(t.Host), t.For/2)
	if !c.Pause(t.Host) {
		return Injected{Note: note}, fmt.Errorf("%s is not running", t.Host)
	}
	return Injected{Note: note, heal: func() error { c.Resume(t.Host); return nil }}, nil
}

func restart(_ context.Context, c *Cluster, t Target) (Injected, error) {
	c.Stop(t.Host, StopBound)
	return Injected{Note: "SIGTERM", heal: func() error { return c.Start(t.Host) }}, nil
}

func unhealthy(_ context.Context, c *Cluster, t Target) (Injected, error) {
	c.StopService(t.Host)
	return Injected{heal: func() error { return c.StartService(t.Host) }}, nil
}

func switchover(ctx context.Context, c *Cluster, t Target) (Injected, error) {
	return Injected{}, c.Host(t.Host).Switchover(ctx, t.Peer)
}

func partition(_ context.Context, c *Cluster, t Target) (Injected, error) {
	p, ok := c.Fab.(Partitioner)
	if !ok {
		return Injected{}, errUnavailable
	}
	a, b := c.Host(t.Host).InstanceID, c.Host(t.Peer).InstanceID
	if err := p.Partition(a, b, true); err != nil {
		return Injected{}, err
	}
	return Injected{heal: func() error { return p.Partition(a, b, false) }}, nil
}

func isolate(_ context.Context, c *Cluster, t Target) (Injected, error) {
	p, ok := c.Fab.(Partitioner)
	if !ok {
		return Injected{}, errUnavailable
	}
	a := c.Host(t.Host).InstanceID
	var others []string
	for _, h := range c.Running() {
		if h.Name != t.Host {
			others = append(others, h.InstanceID)
		}
	}
	set := func(on bool) error {
		var errs []error
		for _, b := range others {
			errs = append(errs, p.Partition(a, b, on))
		}
		if c.o.LeaseInAWS {
			cut, ok := c.Fab.(PathCutter)
			if !ok {
				return errUnavailable
			}
			errs = append(errs, cut.CutAPI(a, on))
		}
		return errors.Join(errs...)
	}
	if err := set(true); err != nil {
		return Injected{}, err
	}
	return Injected{heal: func() error { return set(false) }}, nil
}

func cutOff(ctx context.Context, c *Cluster, t Target) (Injected, error) {
	iso, err := isolate(ctx, c, t)
	if err != nil {
		return Injected{}, err
	}
	p, ok := c.Fab.(PathCutter)
	if !ok {
		_ = iso.Heal()
		return Injected{}, errUnavailable
	}
	id := c.Host(t.Host).InstanceID
	if err := p.CutAPI(id, true); err != nil {
		_ = iso.Heal()
		return Injected{}, err
	}
	return Injected{heal: func() error { return errors.Join(p.CutAPI(id, false), iso.Heal()) }}, nil
}

// pathFault cuts or slows the host's paths with set (on) and undoes it
// (off), on a fabric that can.
func pathFault(set func(p PathCutter, instance string, on bool, t Target) error) func(context.Context, *Cluster, Target) (Injected, error) {
	return func(_ context.Context, c *Cluster, t Target) (Injected, error) {
		p, ok := c.Fab.(PathCutter)
		if !ok {
			return Injected{}, errUnavailable
		}
		id := c.Host(t.Host).InstanceID
		if err := set(p, id, true, t); err != nil {
			return Injected{}, err
		}
		return Injected{heal: func() error { return set(p, id, false, t) }}, nil
	}
}

func hookHang(_ context.Context, c *Cluster, t Target) (Injected, error) {
	h := c.Host(t.Host)
	if err := h.HangHooks(true); err != nil {
		return Injected{}, err
	}
	return Injected{heal: func() error { return h.HangHooks(false) }}, nil
}

func portFlood(ctx context.Context, c *Cluster, t Target) (Injected, error) {
	// A host that is down refuses every connection: wait for it.
	note := waitRunning(ctx, c.Host(t.Host), t.For/4)
	f, err := c.Flood(ctx, t.Host, t.Conns)
	if err != nil {
		return Injected{Note: note}, err
	}
	note += fmt.Sprintf("%d idle connections open", len(f.conns))
	return Injected{Note: note, heal: func() error { f.close(); return nil }}, nil
}

func duplicateDaemon(ctx context.Context, c *Cluster, t Target) (Injected, error) {
	// A second daemon is second only next to a first one that holds the
	// instance lock: started while the host is down, exiting or still
	// starting, it may take the lock first and be the first, and the
	// host's own vipd then rightly refuses.
	note, up := waitUp(ctx, c.Host(t.Host), t.For/2)
	if !up {
		return Injected{Note: note}, fmt.Errorf("%s's vipd is not up", t.Host)
	}
	if err := c.StartDuplicate(t.Host); err != nil {
		return Injected{Note: note}, err
	}
	return Injected{Note: note, heal: func() error { c.StopDuplicate(t.Host); return nil }}, nil
}

func cpuStarve(ctx context.Context, c *Cluster, t Target) (Injected, error) {
	note := waitRunning(ctx, c.Host(t.Host), t.For/2)
	s, err := c.Starve(t.Host)
	if err != nil {
		return Injected{Note: note}, err
	}
	note += fmt.Sprintf("vipd pinned to cpu %d with %d busy loops", s.cpu, len(s.loops))
	return Injected{Note: note, heal: func() error { s.stop(); return nil }}, nil
}

func busyHost(_ context.Context, c *Cluster, t Target) (Injected, error) {
	stop, err := c.busyHost(t.Host, t.Count)
	if err != nil {
		return Injected{}, err
	}
	return Injected{Note: fmt.Sprintf("%d busy loops", t.Count), heal: func() error { stop(); return nil }}, nil
}

// simFault injects one of vpcsim's faults on the host's calls (every
// caller's without a host), on t.Action, for t.For, as kind fills it in.
func simFault(kind func(f *vpcsim.Fault, t Target)) func(context.Context, *Cluster, Target) (Injected, error) {
	return func(_ context.Context, c *Cluster, t Target) (Injected, error) {
		f := vpcsim.Fault{Action: t.Action, Duration: vpcsim.Duration(t.For), Count: t.Count}
		if t.Host != "" {
			f.Caller = c.Host(t.Host).InstanceID
		}
		kind(&f, t)
		return injectSim(c, []vpcsim.Fault{f})
	}
}

func spot(_ context.Context, c *Cluster, t Target) (Injected, error) {
	id := c.Host(t.Host).InstanceID
	err := c.Srv.AnnounceEvent(id, vpcsim.InstanceEvent{Kind: vpcsim.EventSpotInterruption, Action: "stop", In: vpcsim.Duration(t.For)})
	if err != nil {
		return Injected{}, err
	}
	// Withdraw the notice before starting the instance: healed before the
	// notice's time, EC2 would otherwise still stop it then.
	return Injected{heal: func() error {
		if err := c.Srv.ClearEvents(id, vpcsim.EventSpotInterruption); err != nil {
			return err
		}
		return c.Srv.SetInstanceState(id, "running")
	}}, nil
}

func apiFaults(_ context.Context, c *Cluster, _ Target) (Injected, error) {
	return injectSim(c, []vpcsim.Fault{
		{Action: "ReplaceRoute", Kind: vpcsim.FaultError, Code: "RequestLimitExceeded", Status: 503, Message: "Request limit exceeded.", Count: 3},
		{Action: "DescribeRouteTables", Kind: vpcsim.FaultError, Code: "InternalError", Status: 500, Message: "An internal error has occurred.", Count: 2},
	})
}

// injectSim injects fs in vpcsim; heal clears them.
func injectSim(c *Cluster, fs []vpcsim.Fault) (Injected, error) {
	var ids []int64
	clear := func() error {
		for _, id := range ids {
			c.Srv.ClearFaults(id)
		}
		return nil
	}
	for _, f := range fs {
		id, err := c.Srv.InjectFault(f)
		if err != nil {
			_ = clear()
			return Injected{}, err
		}
		ids = append(ids, id)
	}
	return Injected{heal: clear}, nil
}
