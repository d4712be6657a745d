package chaos

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/vipd/vipd/internal/vpcsim"
)

// injector applies steps, counting overlapping faults on one target so a
// fault is undone only when the last step that wants it ends. Each step
// runs on its own goroutine (Run waits for them); the mutex guards the
// maps, never a slow operation: stopping a member waits outside it.
type injector struct {
	c *Cluster
	h *History

	mu       sync.Mutex
	counts   map[string]int
	resolved map[int]Step        // step index → the step with member names
	faultIDs map[int]int64       // step index → vpcsim fault
	floods   map[int]*flood      // step index → its connections
	starvers map[string]*starver // member → its busy loops
}

func newInjector(c *Cluster, h *History) *injector {
	return &injector{c: c, h: h, counts: map[string]int{}, resolved: map[int]Step{}, faultIDs: map[int]int64{},
		floods: map[int]*flood{}, starvers: map[string]*starver{}}
}

// run injects step i, waits its duration (or runs its sequence) and undoes
// it. It returns early, undoing what it did, when ctx ends.
func (in *injector) run(ctx context.Context, i int, st Step) {
	st = in.resolve(i, st)
	switch st.Kind {
	case KindRestart:
		in.restart(ctx, i, st)
	case KindHookHang:
		in.hookHang(ctx, i, st)
	default:
		in.apply(ctx, i, st, true)
		sleep(ctx, st.For)
		in.apply(ctx, i, st, false)
	}
}

// resolve replaces Holder, Other and Follows by the members they name now,
// and remembers the result for the step's undo and its followers.
func (in *injector) resolve(i int, st Step) Step {
	holder := in.c.Holder(context.Background())
	if holder == "" {
		// Nobody holds right now: hit a node that runs, if any.
		holder = "a"
		if m := in.c.Member("a"); !m.Running() || m.Paused() {
			holder = "b"
		}
	}
	other := "b"
	if holder == "b" {
		other = "a"
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if st.Follows > 0 {
		st.Target = "a"
		if lead, ok := in.resolved[st.Follows-1]; ok {
			st.Target = lead.Target
		}
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
	in.resolved[i] = st
	return st
}

func (in *injector) event(i int, st Step, on bool, note string, err error) {
	ev := FaultEvent{At: time.Now(), Index: i, Step: st, On: on, Note: strings.TrimSuffix(note, "; ")}
	if err != nil {
		ev.Err = err.Error()
	}
	in.h.addFault(ev)
}

// counted reports whether this on or off is the first on or the last off
// of its kind on its target: only those change anything.
func (in *injector) counted(st Step, on bool) bool {
	key := string(st.Kind) + " " + st.Target + " " + st.Peer
	in.mu.Lock()
	defer in.mu.Unlock()
	if on {
		in.counts[key]++
		return in.counts[key] == 1
	}
	in.counts[key]--
	return in.counts[key] == 0
}

// errOverlap marks a step that changed nothing because an earlier one of
// its kind on its target was still on.
const errOverlap = "overlaps an earlier step; no change"

func (in *injector) apply(ctx context.Context, i int, st Step, on bool) {
	c := in.c
	var err error
	var note string
	switch st.Kind {
	case KindKill, KindPartition, KindCutAPI, KindCutIMDS, KindStopCont, KindIMDSSlow, KindCPUStarve:
		if !in.counted(st, on) {
			in.h.addFault(FaultEvent{At: time.Now(), Index: i, Step: st, On: on, Err: errOverlap})
			return
		}
		note, err = in.toggle(ctx, st, on)
	case KindPortFlood:
		if on {
			// A member that is down refuses every connection: wait for it.
			note = waitRunning(ctx, c.Member(st.Target), st.For/4)
			var f *flood
			if f, err = c.Flood(ctx, st.Target, st.Conns); err == nil {
				note += fmt.Sprintf("%d idle connections open", len(f.conns))
				in.mu.Lock()
				in.floods[i] = f
				in.mu.Unlock()
			}
		} else {
			in.mu.Lock()
			f := in.floods[i]
			delete(in.floods, i)
			in.mu.Unlock()
			if f != nil {
				f.close()
			}
		}
	case KindDuplicateDaemon:
		if on {
			// A second daemon is second only next to a first one that holds
			// the instance lock: started while the member is down, exiting
			// or still starting, it may take the lock first and be the
			// first, and the member's own vipd then rightly refuses.
			m := c.Member(st.Target)
			if note = waitUp(ctx, m, st.For/2); note == "" || !strings.HasPrefix(note, "not up") {
				err = c.StartDuplicate(st.Target)
			} else {
				err = fmt.Errorf("%s's vipd is not up", st.Target)
			}
		} else if d, ok := c.StopDuplicate(st.Target); ok {
			in.h.addDuplicate(d)
			note = "second daemon " + d.Exit.describe()
		}
	default: // vpcsim's faults
		if on {
			var id int64
			id, err = c.Srv.InjectFault(in.vpcsimFault(st))
			in.mu.Lock()
			in.faultIDs[i] = id
			in.mu.Unlock()
		} else {
			in.mu.Lock()
			id, ok := in.faultIDs[i]
			in.mu.Unlock()
			if ok {
				c.Srv.ClearFaults(id)
			}
		}
	}
	in.event(i, st, on, note, err)
}

// waitRunning waits up to d for a member's vipd to run unpaused (a kill or
// restart may have it down for a moment), so that a fault on its process
// finds one; it says how long it waited.
func waitRunning(ctx context.Context, m *Member, d time.Duration) string {
	start := time.Now()
	for time.Since(start) < d && (!m.Running() || m.Paused()) {
		if !sleep(ctx, 50*time.Millisecond) {
			break
		}
	}
	if waited := time.Since(start); waited >= 50*time.Millisecond {
		return fmt.Sprintf("waited %s for it to run; ", waited.Round(time.Millisecond))
	}
	return ""
}

// waitUp waits up to d for a member's vipd to run unpaused and answer on
// its admin socket, which it opens only after it holds the instance lock;
// it says how long it waited, or starts with "not up" if it never was.
func waitUp(ctx context.Context, m *Member, d time.Duration) string {
	start := time.Now()
	for {
		if m.Running() && !m.Paused() {
			if _, err := m.Status(ctx); err == nil {
				break
			}
		}
		if time.Since(start) >= d || !sleep(ctx, 50*time.Millisecond) {
			return fmt.Sprintf("not up after %s; ", time.Since(start).Round(time.Millisecond))
		}
	}
	if waited := time.Since(start); waited >= 50*time.Millisecond {
		return fmt.Sprintf("waited %s for it to be up; ", waited.Round(time.Millisecond))
	}
	return ""
}

func (in *injector) toggle(ctx context.Context, st Step, on bool) (string, error) {
	c := in.c
	m := c.Member(st.Target)
	switch st.Kind {
	case KindKill:
		if on {
			c.Kill(st.Target)
			return "", nil
		}
		return "", c.Restart(st.Target)
	case KindStopCont:
		if !on {
			c.Resume(st.Target)
			return "", nil
		}
		note := waitRunning(ctx, m, st.For/2)
		if !c.Pause(st.Target) {
			return "", fmt.Errorf("%s is not running", st.Target)
		}
		return note, nil
	case KindPartition:
		return "", c.Fab.Partition(m.InstanceID, c.Member(st.Peer).InstanceID, on)
	case KindCutAPI:
		return "", c.Fab.CutAPI(m.InstanceID, on)
	case KindCutIMDS:
		return "", c.Fab.CutIMDS(m.InstanceID, on)
	case KindIMDSSlow:
		d := st.Latency
		if !on {
			d = 0
		}
		return "", c.Fab.SlowIMDS(m.InstanceID, d)
	case KindCPUStarve:
		in.mu.Lock()
		s := in.starvers[st.Target]
		delete(in.starvers, st.Target)
		in.mu.Unlock()
		if s != nil {
			s.stop()
		}
		if !on {
			return "", nil
		}
		note := waitRunning(ctx, m, st.For/2)
		s, err := c.Starve(st.Target)
		if err != nil {
			return "", err
		}
		in.mu.Lock()
		in.starvers[st.Target] = s
		in.mu.Unlock()
		return note + fmt.Sprintf("vipd pinned to cpu %d with %d busy loops", s.cpu, len(s.loops)), nil
	}
	return "", fmt.Errorf("toggle %s: not a counted fault", st.Kind)
}

// restart stops the member with SIGTERM, waits for it to exit (up to
// StopBound), keeps it down for the step's duration and starts it again.
func (in *injector) restart(ctx context.Context, i int, st Step) {
	in.event(i, st, true, "SIGTERM", nil)
	in.stopped(st.Target, in.c.Stop(st.Target, StopBound))
	sleep(ctx, st.For)
	in.event(i, st, false, "started", in.c.Restart(st.Target))
}

// hookHang makes the member's hooks hang for the step's duration. With
// Stop it also stops the member with SIGTERM meanwhile (its stop hook
// hangs) and starts it again as soon as it has exited, hooks still
// hanging, as a supervisor would.
func (in *injector) hookHang(ctx context.Context, i int, st Step) {
	m := in.c.Member(st.Target)
	var err error
	if in.counted(st, true) {
		err = m.HangHooks(true)
	} else {
		err = errors.New(errOverlap)
	}
	until := time.Now().Add(st.For)
	if !st.Stop {
		in.event(i, st, true, "", err)
	} else {
		in.event(i, st, true, "hooks hang; SIGTERM", err)
		in.stopped(st.Target, in.c.Stop(st.Target, StopBound))
		if rerr := in.c.Restart(st.Target); rerr != nil {
			// Shown in the timeline; an On with an error counts for
			// nothing else.
			in.event(i, st, true, "start again", rerr)
		}
	}
	sleep(ctx, time.Until(until))
	err = nil
	if in.counted(st, false) {
		err = m.HangHooks(false)
	}
	in.event(i, st, false, "hooks released", err)
}

// stopped records how a planned stop went.
func (in *injector) stopped(name string, r stopResult) {
	if r.Took == 0 && !r.Forced {
		return // nothing was running
	}
	in.h.addStop(Stop{Node: name, At: r.At, Took: r.Took, Forced: r.Forced})
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
	case KindLateWrite:
		f.Kind, f.Delay, f.Timeout = vpcsim.FaultLateWrite, vpcsim.Duration(st.Latency), vpcsim.Duration(st.For)
	}
	return f
}

// healAll undoes every fault and restarts every member, whatever steps
// are still counted. The steps have all ended when it runs.
func (in *injector) healAll() {
	c := in.c
	c.Srv.ClearFaults(0)
	in.mu.Lock()
	floods, starvers := in.floods, in.starvers
	in.floods, in.starvers = map[int]*flood{}, map[string]*starver{}
	clear(in.counts)
	in.mu.Unlock()
	for _, f := range floods {
		f.close()
	}
	for _, s := range starvers {
		s.stop()
	}
	ms := c.Members
	for i, a := range ms {
		for _, b := range ms[i+1:] {
			_ = c.Fab.Partition(a.InstanceID, b.InstanceID, false)
		}
		_ = c.Fab.CutAPI(a.InstanceID, false)
		_ = c.Fab.CutIMDS(a.InstanceID, false)
		_ = c.Fab.SlowIMDS(a.InstanceID, 0)
		if !a.Witness {
			_ = a.HangHooks(false)
		}
		if d, ok := c.StopDuplicate(a.Name); ok {
			in.h.addDuplicate(d)
		}
		c.Resume(a.Name)
		_ = c.Restart(a.Name)
	}
}
