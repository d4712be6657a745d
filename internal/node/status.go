package node

import (
	"time"

	"github.com/vipd/vipd/internal/election"
	"github.com/vipd/vipd/internal/health"
	"github.com/vipd/vipd/internal/notice"
	"github.com/vipd/vipd/internal/resource"
)

// Status is a copy of a node's state as its loop holds it (Node.Status).
// It is the node's own view in Go types; the admin socket's JSON (`vipd
// status --json`) is made from it by internal/daemon, so that the wire
// contract and the loop's state can change apart.
type Status struct {
	Cluster string
	Node    string
	Witness bool
	Role    State
	// Since is when the node entered Role.
	Since time.Time
	// Lease is the election's view when the status was taken.
	Lease   election.Status
	Healthy bool
	// Standby is true while an operator holds the node out of ownership
	// (here, or in the cluster's record); Maintenance is the same.
	Standby     bool
	Maintenance bool
	// StandbyReplicated is true where the election records standby for
	// the whole cluster (raft); false where it is kept on this node only.
	StandbyReplicated bool
	// Eligible is whether the node may hold the lease now: healthy, not
	// in standby, not stepping aside after failed acquires.
	Eligible   bool
	InstanceID string
	ENIID      string
	Health     []health.CheckStatus
	// Resources are in acquire order.
	Resources []ResourceStatus
	// Transitions are the last Config.History state changes, oldest first.
	Transitions []Transition
	// Counters count acquire failures, drift repairs and contested claims.
	Counters map[string]int64
	// Notices are the instance's current announcements of its end; one
	// that moves keeps the node out of ownership (role maintenance) while
	// it lasts.
	Notices []notice.Notice
}

// ResourceStatus is one resource's state as the loop last saw it.
type ResourceStatus struct {
	Name string
	Kind string
	// State is released, owned or error.
	State     string
	InSync    bool
	Drift     []string
	LastError string
	// Detail is what the resource reports beyond in-sync, e.g. a Route53
	// change id and its INSYNC wait.
	Detail string
	// AcquireTook is how long the last acquire of this resource took.
	AcquireTook time.Duration
}

// Transition is one state change with its timing.
type Transition struct {
	At     time.Time
	From   State
	To     State
	Reason string
	Token  uint64
	// InPrevious is how long the node was in From.
	InPrevious time.Duration
	// Steps are the resource steps an acquire or release took, in order.
	Steps []resource.Step
}
