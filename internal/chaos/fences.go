package chaos

import (
	"context"
	"fmt"
	"time"

	"github.com/vipd/vipd/internal/vpcsim"
)

// KindFenced marks, in a history, the time a member's instance spent
// stopped by a fence (Options.Fence): a fault on that member the cluster
// caused itself, not one a schedule draws. The harness starts the
// instance again once it sees it stopped, and its vipd with it, as an
// operator or an Auto Scaling group would.
const KindFenced Kind = "fenced"

// Sight is vpcsim's state of the nodes' instances and of the floating
// interface at one moment, recorded when it changes.
type Sight struct {
	At time.Time
	// States maps each node's instance to its state.
	States map[string]string
	// ENIOn is the instance the floating interface is attached to or
	// attaching to ("" when none).
	ENIOn string
}

func (h *History) addSight(s Sight) {
	h.mu.Lock()
	h.Sights = append(h.Sights, s)
	h.mu.Unlock()
}

// superviseFences watches vpcsim every interval while ctx lasts: it
// records each change of the nodes' instance states and of the floating
// interface's attachment, and starts a fenced (stopped) instance again,
// restarting its vipd as a boot would, recording the stop as a KindFenced
// fault on its member. first numbers those faults after the schedule's
// steps.
func superviseFences(ctx context.Context, c *Cluster, h *History, interval time.Duration, first int) {
	var prev Sight
	n := 0
	down := map[string]fenced{}
	for sleep(ctx, interval) {
		st := c.Srv.Snapshot()
		s := Sight{At: time.Now(), States: map[string]string{}}
		for _, m := range c.Nodes() {
			for _, in := range st.Instances {
				if in.ID == m.InstanceID {
					s.States[in.ID] = in.State
				}
			}
		}
		for _, e := range st.NetworkInterfaces {
			if e.ID == FloatENI && (e.AttachmentStatus == "attached" || e.AttachmentStatus == "attaching") {
				s.ENIOn = e.Instance
			}
		}
		if changed(prev, s) {
			h.addSight(s)
			prev = s
		}
		for _, m := range c.Nodes() {
			id := m.InstanceID
			if s.States[id] != "stopped" {
				continue
			}
			f, seen := down[id]
			if !seen {
				f = fenced{since: time.Now(), index: first + n, step: Step{Kind: KindFenced, Target: m.Name}}
				n++
				down[id] = f
				h.addFault(FaultEvent{At: f.since, Index: f.index, Step: f.step, On: true, Note: id + " stopped"})
			}
			// Started again once the interface has left it (the fence's
			// takeover is done), or after restartAfter: not before the
			// fencing node has seen it stopped.
			if d := time.Since(f.since); d < restartMin || s.ENIOn == id && d < restartAfter {
				continue
			}
			delete(down, id)
			err := c.Srv.SetInstanceState(id, "running")
			if err == nil {
				// The stop ended every process of the instance: its vipd
				// starts afresh with the boot.
				c.Kill(m.Name)
				err = c.Start(m.Name)
			}
			ev := FaultEvent{At: time.Now(), Index: f.index, Step: f.step, Note: "started again"}
			if err != nil {
				ev.Err = err.Error()
			}
			h.addFault(ev)
		}
	}
}

// A fenced instance stays stopped at least restartMin, and until the
// floating interface has left it or restartAfter has passed: the fencing
// node polls for the stop with growing pauses and must see it.
const (
	restartMin   = 2 * time.Second
	restartAfter = 8 * time.Second
)

type fenced struct {
	since time.Time
	index int
	step  Step
}

func changed(a, b Sight) bool {
	if a.ENIOn != b.ENIOn || len(a.States) != len(b.States) {
		return true
	}
	for k, v := range b.States {
		if a.States[k] != v {
			return true
		}
	}
	return false
}

// checkFences asserts STONITH's rules on vpcsim's call log and the
// recorded sights: no StopInstances of the caller's own instance
// (fence-self); every forced detach of the floating interface from
// another instance comes after a forced stop of that instance took
// effect, with no sight of it running again in between (fence-order: a
// forced detach never leaves a live writer behind).
func checkFences(h *History) []Violation {
	var vs []Violation
	stops := map[string][]vpcsim.Call{} // instance → its successful stops
	for _, c := range h.Calls {
		if c.Action != "StopInstances" || c.Code != "" {
			continue
		}
		id := c.Params["InstanceId.1"]
		if id == c.Caller {
			vs = append(vs, Violation{At: c.Time, Rule: "fence-self", Detail: fmt.Sprintf("%s stopped its own instance under token %d", c.Caller, c.Token)})
		}
		if c.Params["Force"] != "true" {
			vs = append(vs, Violation{At: c.Time, Rule: "fence-order", Detail: fmt.Sprintf("%s stopped %s without Force", c.Caller, id)})
		}
		stops[id] = append(stops[id], c)
	}
	for _, c := range h.Calls {
		if c.Action != "DetachNetworkInterface" || c.Code != "" || c.Params["Force"] != "true" {
			continue
		}
		at := applied(c)
		from := ""
		for _, s := range h.Sights {
			if s.At.After(at) {
				break
			}
			from = s.ENIOn
		}
		if from == "" || from == c.Caller {
			continue
		}
		fenced := false
		for _, s := range stops[from] {
			if !applied(s).Before(at) {
				continue
			}
			fenced = true
			for _, x := range h.Sights {
				if x.At.After(applied(s)) && x.At.Before(at) && (x.States[from] == "running" || x.States[from] == "pending") {
					fenced = false // started again since
				}
			}
			if fenced {
				break
			}
		}
		if !fenced {
			vs = append(vs, Violation{At: at, Rule: "fence-order",
				Detail: fmt.Sprintf("%s force-detached the interface from %s under token %d, which no forced stop had stopped", c.Caller, from, c.Token)})
		}
	}
	return vs
}

// applied is when a call took effect (its end when not recorded).
func applied(c vpcsim.Call) time.Time {
	if !c.Applied.IsZero() {
		return c.Applied
	}
	return c.Time
}
