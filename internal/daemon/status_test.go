package daemon

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vipd/vipd/internal/admin"
	"github.com/vipd/vipd/internal/election"
	"github.com/vipd/vipd/internal/health"
	"github.com/vipd/vipd/internal/node"
	"github.com/vipd/vipd/internal/notice"
	"github.com/vipd/vipd/internal/resource"
)

// The admin socket shows the node's state with the JSON fields `vipd
// status --json` has always had: times in milliseconds, errors as text,
// the lease's remaining validity from when it is asked.
func TestAdminStatusKeepsTheJSONContract(t *testing.T) {
	now := time.Date(2026, 12, 5, 5, 0, 0, 0, time.UTC)
	st := node.Status{
		Cluster: "c", Node: "a", Role: node.StatePrimary, Since: now.Add(-time.Minute),
		Lease: election.Status{Self: "a", Holder: "a", Token: 7, Held: true, ValidUntil: now.Add(1500 * time.Millisecond), Quorum: true,
			Leader: "a", HolderSince: now.Add(-time.Minute), ViewAge: 0,
			Peers: []election.Peer{
				{Name: "b", Address: "10.0.2.11:7946", Eligible: true, Reachable: true, LastContact: now.Add(-100 * time.Millisecond),
					Role: "backup", Healthy: true},
				{Name: "w", Address: "10.0.3.10:7946", Witness: true, LastContact: now.Add(-5 * time.Second),
					Role: "witness", Healthy: true, Problem: "connection refused"},
			}},
		Healthy: true, Eligible: true, InstanceID: "i-1", ENIID: "eni-1",
		Health: []health.CheckStatus{{Name: "tcp", Passing: false, LastError: "refused"}},
		Resources: []node.ResourceStatus{{Name: "route", Kind: "overlay-route", State: "owned", InSync: true,
			Detail: "rtb-1", AcquireTook: 6500 * time.Microsecond}},
		Transitions: []node.Transition{{At: now, From: node.StateAcquiring, To: node.StatePrimary, Reason: "acquired", Token: 7,
			InPrevious: 12 * time.Millisecond, Steps: []resource.Step{
				{Resource: "route", Kind: "overlay-route", Op: "acquire", Took: 6500 * time.Microsecond},
				{Resource: resource.LocalStep, Op: "acquire", Took: time.Millisecond, Err: errors.New("bind: busy")},
			}}},
		Counters: map[string]int64{"drift_repairs": 1},
		Notices: []notice.Notice{{Kind: notice.ScheduledMaintenance, Move: true, Action: "system-reboot",
			At: now.Add(5 * time.Minute), ID: "instance-event-0d59937288b749b32"}},
	}
	want := admin.Status{
		Cluster: "c", Node: "a", Role: "primary", Since: now.Add(-time.Minute),
		Holder: "a", Token: 7, LeaseHeld: true, LeaseValid: "1.5s", Quorum: true,
		Healthy: true, InstanceID: "i-1", ENIID: "eni-1",
		Health:    []admin.Check{{Name: "tcp", Passing: false, LastError: "refused"}},
		Resources: []admin.Resource{{Name: "route", Kind: "overlay-route", State: "owned", InSync: true, Detail: "rtb-1", AcquireMS: 6.5}},
		Peers: []admin.Peer{
			{Name: "b", Address: "10.0.2.11:7946", Eligible: true, Reachable: true, LastContact: now.Add(-100 * time.Millisecond)},
			{Name: "w", Address: "10.0.3.10:7946", Witness: true, LastContact: now.Add(-5 * time.Second)},
		},
		Leader: "a", HolderSince: now.Add(-time.Minute), QuorumHave: 2, QuorumNeed: 2,
		Members: []admin.Member{
			{Name: "a", Self: true, Holder: true, Role: "primary", Healthy: true, Eligible: true, Reachable: true, LastContact: now},
			{Name: "b", Address: "10.0.2.11:7946", Role: "backup", Healthy: true, Eligible: true, Reachable: true,
				LastContact: now.Add(-100 * time.Millisecond)},
			{Name: "w", Address: "10.0.3.10:7946", Witness: true, Role: "witness", Healthy: true,
				LastContact: now.Add(-5 * time.Second), Problem: "connection refused"},
		},
		Transitions: []admin.Transition{{At: now, From: "acquiring", To: "primary", Reason: "acquired", Token: 7, InPreviousMS: 12,
			Steps: []admin.Step{
				{Resource: "route", Op: "acquire", DurationMS: 6.5},
				{Resource: resource.LocalStep, Op: "acquire", DurationMS: 1, Error: "bind: busy"},
			}}},
		Counters: map[string]int64{"drift_repairs": 1},
		Notices: []admin.Notice{{Kind: "scheduled-maintenance", Action: "system-reboot", At: now.Add(5 * time.Minute),
			ID: "instance-event-0d59937288b749b32", Move: true}},
	}
	if diff := cmp.Diff(want, adminStatus(st, now)); diff != "" {
		t.Errorf("adminStatus (-want +got):\n%s", diff)
	}

	// A witness that has not moved yet: empty lists, never null, in JSON.
	got := adminStatus(node.Status{Node: "w", Witness: true, Role: node.StateWitness}, now)
	if got.Health == nil || got.Resources == nil || got.Peers == nil || got.Counters == nil || got.Members == nil || got.Notices == nil {
		t.Errorf("adminStatus of a bare witness = %+v, want empty (not nil) health, resources, peers and counters", got)
	}
}
