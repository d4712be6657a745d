package daemon

import (
	"context"
	"time"

	"github.com/vipd/vipd/internal/admin"
	"github.com/vipd/vipd/internal/node"
	"github.com/vipd/vipd/internal/resource"
)

// nodeAdmin is a node as the admin socket serves it: node.Status in the
// JSON types of `vipd status --json`, a contract that only grows.
type nodeAdmin struct{ *node.Node }

var _ admin.Handler = nodeAdmin{}

// Status asks the node's loop and converts its answer.
func (n nodeAdmin) Status(ctx context.Context) (admin.Status, error) {
	st, err := n.Node.Status(ctx)
	if err != nil {
		return admin.Status{}, err
	}
	return adminStatus(st, time.Now()), nil
}

// adminStatus is st as the admin socket shows it at now (which the lease's
// remaining validity is counted from).
func adminStatus(st node.Status, now time.Time) admin.Status {
	out := admin.Status{
		Cluster: st.Cluster, Node: st.Node, Witness: st.Witness,
		Role: string(st.Role), Since: st.Since,
		Holder: st.Lease.Holder, Token: st.Lease.Token, LeaseHeld: st.Lease.Held, Quorum: st.Lease.Quorum,
		Healthy: st.Healthy, Maintenance: st.Maintenance, Standby: st.Standby, StandbyReplicated: st.StandbyReplicated,
		InstanceID: st.InstanceID, ENIID: st.ENIID,
		Counters:    map[string]int64{},
		Health:      []admin.Check{},
		Resources:   []admin.Resource{},
		Peers:       []admin.Peer{},
		Members:     []admin.Member{},
		Leader:      st.Lease.Leader,
		HolderSince: st.Lease.HolderSince,
		ViewAgeMS:   ms(st.Lease.ViewAge),
	}
	out.Notices = []admin.Notice{}
	for _, n := range st.Notices {
		out.Notices = append(out.Notices, admin.Notice{Kind: string(n.Kind), Action: n.Action, At: n.At, ID: n.ID, Move: n.Move})
	}
	if st.Lease.Held {
		out.LeaseValid = st.Lease.ValidUntil.Sub(now).Round(time.Millisecond).String()
	}
	for k, v := range st.Counters {
		out.Counters[k] = v
	}
	for _, c := range st.Health {
		out.Health = append(out.Health, admin.Check{Name: c.Name, Passing: c.Passing, LastError: c.LastError})
	}
	for _, r := range st.Resources {
		out.Resources = append(out.Resources, admin.Resource{Name: r.Name, Kind: r.Kind, State: r.State,
			InSync: r.InSync, Drift: r.Drift, LastError: r.LastError, Detail: r.Detail, AcquireMS: ms(r.AcquireTook)})
	}
	// Every member, this one first: the peers' reachability is the
	// election leader's view, so it reads the same on every member.
	out.Members = append(out.Members, admin.Member{
		Name: st.Node, Self: true, Witness: st.Witness, Holder: st.Lease.Holder == st.Node,
		Role: string(st.Role), Healthy: st.Healthy, Eligible: st.Eligible, Standby: st.Standby,
		Reachable: true, LastContact: now,
	})
	out.QuorumHave = 1
	for _, p := range st.Lease.Peers {
		out.Peers = append(out.Peers, admin.Peer{Name: p.Name, Address: p.Address, Witness: p.Witness, Eligible: p.Eligible,
			Reachable: p.Reachable, LastContact: p.LastContact, Standby: p.Standby})
		out.Members = append(out.Members, admin.Member{
			Name: p.Name, Address: p.Address, Witness: p.Witness, Holder: st.Lease.Holder == p.Name,
			Role: p.Role, Healthy: p.Healthy, Eligible: p.Eligible, Standby: p.Standby,
			Reachable: p.Reachable, LastContact: p.LastContact, Problem: p.Problem,
		})
		if p.Reachable {
			out.QuorumHave++
		}
	}
	if len(st.Lease.Peers) > 0 {
		out.QuorumNeed = (len(st.Lease.Peers)+1)/2 + 1
	}
	for _, t := range st.Transitions {
		out.Transitions = append(out.Transitions, admin.Transition{At: t.At, From: string(t.From), To: string(t.To),
			Reason: t.Reason, Token: t.Token, InPreviousMS: ms(t.InPrevious), Steps: adminSteps(t.Steps)})
	}
	return out
}

// adminSteps are an acquire's or release's steps as the transition history
// shows them; nil stays nil (the field is left out).
func adminSteps(steps []resource.Step) []admin.Step {
	if steps == nil {
		return nil
	}
	out := make([]admin.Step, len(steps))
	for i, s := range steps {
		out[i] = admin.Step{Resource: s.Resource, Op: s.Op, DurationMS: ms(s.Took)}
		if s.Err != nil {
			out[i].Error = s.Err.Error()
		}
	}
	return out
}

// ms is d in milliseconds, to the microsecond, as the JSON reports time.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
