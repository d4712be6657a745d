package chaos

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vipd/vipd/internal/simcluster"
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
	resolved map[int]Step                   // step index → the step with member names
	healers  map[string]simcluster.Injected // counted key or step index → the fault in place
}

func newInjector(c *Cluster, h *History) *injector {
	return &injector{c: c, h: h, counts: map[string]int{}, resolved: map[int]Step{}, healers: map[string]simcluster.Injected{}}
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
		if m := in.c.Host("a"); !m.Running() || m.Paused() {
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

// counts say which steps share one fault in place: those of a kind on one
// target (kills, partitions, cut paths, pauses, a slow metadata service,
// starved CPUs); every other step makes its own.
var counted = []Kind{KindKill, KindPartition, KindCutOff, KindCutAPI, KindCutIMDS, KindStopCont, KindIMDSSlow, KindCPUStarve}

func (in *injector) apply(ctx context.Context, i int, st Step, on bool) {
	key := fmt.Sprint(i)
	if slices.Contains(counted, st.Kind) {
		if !in.counted(st, on) {
			in.h.addFault(FaultEvent{At: time.Now(), Index: i, Step: st, On: on, Err: errOverlap})
			return
		}
		key = string(st.Kind) + " " + st.Target + " " + st.Peer
	}
	var note string
	var err error
	if on {
		var f simcluster.Injected
		f, err = in.c.Inject(ctx, string(st.Kind), target(st))
		note = f.Note
		if err == nil {
			in.mu.Lock()
			in.healers[key] = f
			in.mu.Unlock()
		}
	} else {
		in.mu.Lock()
		f, ok := in.healers[key]
		delete(in.healers, key)
		in.mu.Unlock()
		if ok {
			err = f.Heal()
		}
		if st.Kind == KindDuplicateDaemon {
			if ds := in.c.Host(st.Target).Duplicates(); ok && len(ds) > 0 {
				note = "second daemon " + ds[len(ds)-1].Exit.Describe()
			}
		}
	}
	in.event(i, st, on, note, err)
}

// target is where the catalogue's fault strikes for st.
func target(st Step) simcluster.Target {
	return simcluster.Target{Host: st.Target, Peer: st.Peer, Action: st.Action, For: st.For, Latency: st.Latency, Conns: st.Conns}
}

// restart stops the member with SIGTERM, waits for it to exit (up to
// simcluster.StopBound), keeps it down for the step's duration and starts it again.
func (in *injector) restart(ctx context.Context, i int, st Step) {
	f, err := in.c.Inject(ctx, simcluster.FaultRestart, target(st))
	in.event(i, st, true, f.Note, err)
	sleep(ctx, st.For)
	in.event(i, st, false, "started", f.Heal())
}

// hookHang makes the member's hooks hang for the step's duration. With
// Stop it also stops the member with SIGTERM meanwhile (its stop hook
// hangs) and starts it again as soon as it has exited, hooks still
// hanging, as a supervisor would.
func (in *injector) hookHang(ctx context.Context, i int, st Step) {
	var err error
	if in.counted(st, true) {
		_, err = in.c.Inject(ctx, simcluster.FaultHookHang, target(st))
	} else {
		err = errors.New(errOverlap)
	}
	until := time.Now().Add(st.For)
	if !st.Stop {
		in.event(i, st, true, "", err)
	} else {
		in.event(i, st, true, "hooks hang; SIGTERM", err)
		r, _ := in.c.Inject(ctx, simcluster.FaultRestart, target(st))
		if rerr := r.Heal(); rerr != nil {
			// Shown in the timeline; an On with an error counts for
			// nothing else.
			in.event(i, st, true, "start again", rerr)
		}
	}
	sleep(ctx, time.Until(until))
	err = nil
	if in.counted(st, false) {
		err = in.c.Host(st.Target).HangHooks(false)
	}
	in.event(i, st, false, "hooks released", err)
}

// healAll undoes every fault and restarts every member, whatever steps
// are still counted. The steps have all ended when it runs.
func (in *injector) healAll() {
	c := in.c
	in.mu.Lock()
	healers := in.healers
	in.healers = map[string]simcluster.Injected{}
	clear(in.counts)
	in.mu.Unlock()
	for _, f := range healers {
		_ = f.Heal()
	}
	c.Srv.ClearFaults(0)
	for _, h := range c.Hosts {
		_ = h.HangHooks(false)
		c.StopDuplicate(h.Name)
		c.Resume(h.Name)
		_ = c.Start(h.Name)
	}
}
