package chaos

import (
	"fmt"
	"slices"
	"time"

	"github.com/vipd/vipd/internal/simcluster"
)

// window is when one fault step was on, with the members it resolved to.
type window struct {
	kind         Kind
	target, peer string
	from, to     time.Time
}

// windows pairs each step's injection with its undo (or the end of the
// faults, if it has none). Steps that failed or changed nothing are left
// out.
func windows(h *History) []window {
	on := map[int]FaultEvent{}
	var out []window
	for _, f := range h.Faults {
		if f.On {
			if f.Err == "" {
				on[f.Index] = f
			}
			continue
		}
		if o, ok := on[f.Index]; ok {
			out = append(out, window{o.Step.Kind, o.Step.Target, o.Step.Peer, o.At, f.At})
			delete(on, f.Index)
		}
	}
	end := h.FaultsEnd
	if end.IsZero() {
		end = h.End
	}
	for _, o := range on {
		out = append(out, window{o.Step.Kind, o.Step.Target, o.Step.Peer, o.At, end})
	}
	return out
}

func (w window) covers(t time.Time) bool { return !t.Before(w.from) && t.Before(w.to) }

// touches reports whether the fault acts on member: aimed at it, at a
// pair it is in, or at every caller of the EC2 API (for a node).
func (w window) touches(member string) bool {
	if w.target == member || w.peer == member {
		return true
	}
	return w.target == "" && ec2Fault(w.kind) && member != "witness"
}

func ec2Fault(k Kind) bool {
	switch k {
	case KindCallerCutoff, KindLatency, Kind5xx, KindThrottle, KindHang, KindLateWrite:
		return true
	}
	return false
}

// tolerated kinds are faults vipd is meant to shrug off: a node under one
// is still healthy, so the address must still get an owner.
func tolerated(k Kind) bool {
	switch k {
	case KindPortFlood, KindHookHang, KindDuplicateDaemon:
		return true
	}
	return false
}

// procState says, for a member at any time, whether its process runs
// and is neither paused nor stopping.
type procState struct {
	changes []simcluster.ProcEvent // start/resume → up; pause/term/exit → down
}

func newProcState(h *History, member string) procState {
	evs := slices.Clone(h.Procs[member])
	for _, x := range h.Exits[member] {
		evs = append(evs, simcluster.ProcEvent{At: x.At, What: "exit"})
	}
	slices.SortStableFunc(evs, func(a, b simcluster.ProcEvent) int { return a.At.Compare(b.At) })
	return procState{changes: evs}
}

// up reports whether the process was running and acting at t. Before the
// first event the member had not started (a member of a hand-built
// history without events counts as up).
func (p procState) up(t time.Time) bool {
	if len(p.changes) == 0 {
		return true
	}
	state := false
	for _, e := range p.changes {
		if e.At.After(t) {
			break
		}
		state = e.What == simcluster.ProcStart || e.What == simcluster.ProcResume
	}
	return state
}

// checkRejoin: every start or resume of a member is followed by a status
// answer showing it back (Poll.Back) within RejoinBound of the latest of:
// the event, the end of the last fault on that member, and the moment a
// peer it can reach runs again (quorum needs one) — unless the harness
// stopped, paused or killed it again first.
func checkRejoin(h *History) []Violation {
	ws := windows(h)
	procs := map[string]procState{}
	for _, m := range []string{"a", "b", "witness"} {
		procs[m] = newProcState(h, m)
	}
	// alone: no other member runs unpaused and unpartitioned from member.
	alone := func(member string, t time.Time) bool {
		for _, o := range []string{"a", "b", "witness"} {
			if o == member || !procs[o].up(t) {
				continue
			}
			cut := slices.ContainsFunc(ws, func(w window) bool {
				if (w.kind == KindCutOff || w.kind == KindFenced) && w.covers(t) {
					return w.target == member || w.target == o
				}
				return w.kind == KindPartition && w.covers(t) && ((w.target == member && w.peer == o) || (w.target == o && w.peer == member))
			})
			if !cut {
				return false
			}
		}
		return true
	}
	var vs []Violation
	for member, evs := range h.Procs {
		exits := h.Exits[member]
		for i, e := range evs {
			if e.What != simcluster.ProcStart && e.What != simcluster.ProcResume {
				continue
			}
			// The obligation lasts until the next thing done to the
			// process, or its end.
			until := h.End
			if i+1 < len(evs) {
				until = evs[i+1].At
			}
			for _, x := range exits {
				if x.At.After(e.At) && x.At.Before(until) {
					until = x.At
				}
			}
			deadline := e.At.Add(RejoinBound)
			for changed := true; changed; {
				changed = false
				for _, w := range ws {
					if w.touches(member) && w.from.Before(deadline) && w.to.After(e.At) && w.to.Add(RejoinBound).After(deadline) {
						deadline, changed = w.to.Add(RejoinBound), true
					}
				}
				for t := e.At; t.Before(deadline) && t.Before(h.End); t = t.Add(ownerStep) {
					if alone(member, t) && t.Add(ownerStep+RejoinBound).After(deadline) {
						deadline, changed = t.Add(ownerStep+RejoinBound), true
					}
				}
			}
			last := "no answer"
			ok := false
			for _, p := range h.Polls {
				if p.Node != member || p.Req.Before(e.At) || p.Req.After(until) || p.Req.After(deadline) {
					continue
				}
				if p.OK {
					last = fmt.Sprintf("role %s, quorum %v", p.Role, p.Quorum)
					if p.Back() {
						ok = true
						break
					}
				}
			}
			// A start whose obligation ran into the end of the history
			// (or into the next event) before its deadline proves nothing.
			if ok || !until.After(deadline) {
				continue
			}
			vs = append(vs, Violation{At: deadline, Rule: "no-rejoin",
				Detail: fmt.Sprintf("%s, %s at %s, was not back (backup, primary or witness in touch with a quorum) by %s (last: %s)",
					member, pastTense(e.What), clock(h, e.At), clock(h, deadline), last)})
		}
	}
	return vs
}

func pastTense(what string) string {
	if what == simcluster.ProcResume {
		return "resumed"
	}
	return "started"
}

// ownerStep is the resolution at which checkOwnerGaps samples the history.
const ownerStep = 50 * time.Millisecond

// cutsRaft reports the faults that keep a member from voting: a
// partition, a starved CPU, a node cut off from every member, and an
// instance stopped by a fence.
func cutsRaft(k Kind) bool {
	return k == KindPartition || k == KindCPUStarve || k == KindCutOff || k == KindFenced
}

// checkOwnerGaps: the address (as the client reaches it) is never without
// an owner for more than OwnerBound while a healthy node exists: a node
// whose process runs unpaused with no fault on it but tolerated ones, and
// that has a quorum partner (the other node or the witness, running,
// unpaused, not starved and not partitioned from it).
func checkOwnerGaps(h *History) []Violation {
	if len(h.Reaches) == 0 {
		return nil
	}
	ws := windows(h)
	procs := map[string]procState{}
	for _, m := range []string{"a", "b", "witness"} {
		procs[m] = newProcState(h, m)
	}
	faulted := func(m string, t time.Time, raftOnly bool) bool {
		for _, w := range ws {
			if !w.covers(t) || !w.touches(m) || tolerated(w.kind) {
				continue
			}
			if raftOnly && !cutsRaft(w.kind) {
				continue // EC2 and metadata faults do not stop a vote
			}
			return true
		}
		return false
	}
	partitioned := func(a, b string, t time.Time) bool {
		for _, w := range ws {
			if w.kind == KindPartition && w.covers(t) && ((w.target == a && w.peer == b) || (w.target == b && w.peer == a)) {
				return true
			}
		}
		return false
	}
	healthy := func(n string, t time.Time) bool {
		if !procs[n].up(t) || faulted(n, t, false) {
			return false
		}
		for _, m := range []string{"a", "b", "witness"} {
			if m != n && procs[m].up(t) && !faulted(m, t, true) && !partitioned(n, m, t) {
				return true
			}
		}
		return false
	}
	reaches := slices.Clone(h.Reaches)
	slices.SortStableFunc(reaches, func(a, b Reach) int { return a.At.Compare(b.At) })
	var vs []Violation
	var since time.Time // unowned with a healthy node since
	reported := false
	ri, owned := 0, true
	for t := reaches[0].At; !t.After(h.End); t = t.Add(ownerStep) {
		for ri < len(reaches) && !reaches[ri].At.After(t) {
			owned = reaches[ri].Node != ""
			ri++
		}
		if owned || !(healthy("a", t) || healthy("b", t)) {
			since, reported = time.Time{}, false
			continue
		}
		if since.IsZero() {
			since = t
		}
		if !reported && t.Sub(since) > OwnerBound {
			reported = true
			vs = append(vs, Violation{At: t, Rule: "owner-gap",
				Detail: fmt.Sprintf("the client reached no node from %s to past %s while a healthy node could have owned the address (bound %s)",
					clock(h, since), clock(h, t), OwnerBound)})
		}
	}
	return vs
}
