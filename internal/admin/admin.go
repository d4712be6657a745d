// Package admin is vipd's local control surface: the wire types of
// `vipd status --json` (a contract that may gain fields but never changes or
// drops one), the unix-socket HTTP server the daemon runs, and the client
// the CLI uses. The client side imports nothing of the daemon.
package admin

import "time"

// Status is a node's state as `vipd status --json` prints it.
type Status struct {
	Cluster     string           `json:"cluster"`
	Node        string           `json:"node"`
	Witness     bool             `json:"witness"`
	Role        string           `json:"role"`
	Since       time.Time        `json:"since"`
	Holder      string           `json:"holder"`
	Token       uint64           `json:"token"`
	LeaseHeld   bool             `json:"lease_held"`
	LeaseValid  string           `json:"lease_valid_for,omitempty"`
	Quorum      bool             `json:"quorum"`
	Healthy     bool             `json:"healthy"`
	Maintenance bool             `json:"maintenance"`
	InstanceID  string           `json:"instance_id,omitempty"`
	ENIID       string           `json:"eni_id,omitempty"`
	Health      []Check          `json:"health"`
	Resources   []Resource       `json:"resources"`
	Peers       []Peer           `json:"peers"`
	Transitions []Transition     `json:"transitions"`
	Counters    map[string]int64 `json:"counters"`

	// Standby is true while an operator holds this node out of
	// ownership (vipd standby); Maintenance says the same, under its
	// older name.
	Standby bool `json:"standby"`
	// StandbyReplicated is true where standby is recorded by the cluster
	// (the raft backend: any member can set it for any node, and it
	// survives restarts of every member); false where it is kept on each
	// node for itself.
	StandbyReplicated bool `json:"standby_replicated"`
	// Leader is the member whose view Members show (the raft leader), ""
	// when none is known.
	Leader string `json:"leader,omitempty"`
	// ViewAgeMS is how old that view is on this member (0 on the leader).
	ViewAgeMS float64 `json:"view_age_ms"`
	// HolderSince is when the grant of Token was made.
	HolderSince time.Time `json:"holder_since,omitzero"`
	// QuorumHave counts the members in contact, this one included;
	// QuorumNeed is how many a quorum needs (0 where the backend has no
	// quorum of members).
	QuorumHave int `json:"quorum_have"`
	QuorumNeed int `json:"quorum_need"`
	// Members is every cluster member, this one included, in the order of
	// the configuration.
	Members []Member `json:"members"`
	// Notices are this instance's current announcements of its end, read
	// from the instance metadata (instance-notices); one with move true
	// keeps the node out of ownership while it lasts.
	Notices []Notice `json:"notices"`
}

// Notice is one announcement of the instance's end.
type Notice struct {
	// Kind is spot-interruption, rebalance-recommendation,
	// scheduled-maintenance or autoscaling-termination.
	Kind string `json:"kind"`
	// Action is what is announced: stop, hibernate or terminate, a
	// scheduled event's code, a target lifecycle state.
	Action string `json:"action,omitempty"`
	// At is when it is due (or, for a rebalance recommendation, was made).
	At time.Time `json:"at,omitzero"`
	// ID is a scheduled event's id.
	ID string `json:"id,omitempty"`
	// Move is true when the configuration moves the address on it.
	Move bool `json:"move"`
}

// Member is one cluster member: its role and health as it last reported
// them, whether it may hold the address, and whether the leader hears
// from it.
type Member struct {
	Name    string `json:"name"`
	Address string `json:"address,omitempty"`
	// Self marks the member that answered this status.
	Self    bool `json:"self"`
	Witness bool `json:"witness"`
	// Holder marks the member holding the lease.
	Holder bool `json:"holder"`
	// Role is the member's state as it last reported it ("" when it has
	// not reported since this view began).
	Role    string `json:"role,omitempty"`
	Healthy bool   `json:"healthy"`
	// Eligible is true when the member could take the address now:
	// healthy, reachable, not in standby, not a witness.
	Eligible bool `json:"eligible"`
	Standby  bool `json:"standby"`
	// Reachable is true while the leader hears from the member.
	Reachable   bool      `json:"reachable"`
	LastContact time.Time `json:"last_contact,omitzero"`
	// Problem is why an unreachable member cannot be reached, where this
	// member knows.
	Problem string `json:"problem,omitempty"`
}

// Check is one health check's state.
type Check struct {
	Name      string `json:"name"`
	Passing   bool   `json:"passing"`
	LastError string `json:"last_error,omitempty"`
}

// Resource is one resource's state.
type Resource struct {
	Name      string   `json:"name"`
	Kind      string   `json:"kind"`
	State     string   `json:"state"`
	InSync    bool     `json:"in_sync"`
	Drift     []string `json:"drift,omitempty"`
	LastError string   `json:"last_error,omitempty"`
	// Detail is what the resource reports beyond in-sync, e.g. a Route53
	// change id and its INSYNC wait.
	Detail string `json:"detail,omitempty"`
	// AcquireMS is how long the last acquire of this resource took.
	AcquireMS float64 `json:"acquire_ms"`
}

// Peer is another cluster member as this node sees it.
type Peer struct {
	Name      string `json:"name"`
	Address   string `json:"address"`
	Witness   bool   `json:"witness"`
	Eligible  bool   `json:"eligible"`
	Reachable bool   `json:"reachable"`
	// LastContact is when the leader last heard from the peer.
	LastContact time.Time `json:"last_contact,omitzero"`
	Standby     bool      `json:"standby"`
}

// Transition is one state change with its timing.
type Transition struct {
	At     time.Time `json:"at"`
	From   string    `json:"from"`
	To     string    `json:"to"`
	Reason string    `json:"reason"`
	Token  uint64    `json:"token"`
	// InPreviousMS is how long the node was in From.
	InPreviousMS float64 `json:"in_previous_ms"`
	// Steps are the resource steps an acquire or release took, in order.
	Steps []Step `json:"steps,omitempty"`
}

// Step is one resource's part of an acquire or release.
type Step struct {
	Resource   string  `json:"resource"`
	Op         string  `json:"op"`
	DurationMS float64 `json:"duration_ms"`
	Error      string  `json:"error,omitempty"`
}

// SwitchoverRequest asks for a planned move.
type SwitchoverRequest struct {
	To string `json:"to"`
}

// MaintenanceRequest holds or frees the node that serves it (the older
// form of StandbyRequest).
type MaintenanceRequest struct {
	On bool `json:"on"`
}

// StandbyRequest puts Node ("" = the node that serves the request) in
// standby or takes it out.
type StandbyRequest struct {
	Node string `json:"node,omitempty"`
	On   bool   `json:"on"`
}

// errorBody is the JSON of a failed request.
type errorBody struct {
	Error string `json:"error"`
}
