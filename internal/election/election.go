// Package election decides which node of a cluster may own the service
// address. It defines the Lease interface the node loop consumes; backends
// live in subpackages (raft, and later dynamodb, etcd, follow).
//
// A Lease hands out a fencing token with every grant; tokens strictly
// increase across the cluster's history, so a write carrying a lower token
// than one already seen was made under a deposed grant.
//
// Only internal/node (and tests, demo) import election and its backends.
package election

import (
	"context"
	"errors"
	"time"

	"github.com/vipd/vipd/internal/fence"
)

// ErrNotHolder is returned by operations that only the current holder (or the
// cluster as a whole) can perform when no holder can be reached.
var ErrNotHolder = errors.New("not the lease holder")

// ErrUnknownNode is returned by Transfer for a target that is not a peer.
var ErrUnknownNode = errors.New("unknown node")

// ErrNotEligible is returned by Transfer for a target that may not hold the
// lease (a witness, or a node that reported itself ineligible).
var ErrNotEligible = errors.New("node not eligible")

// Status is one node's view of the lease. It is a copy; callers may keep it.
type Status struct {
	// Self is this node's name.
	Self string
	// Holder is the node that holds the newest grant this node knows of,
	// or "" when no grant is known to be current.
	Holder string
	// Token is the fencing token of that grant (0 when none).
	Token uint64
	// Held is true while this node holds a valid grant.
	Held bool
	// ValidUntil is, while Held, the instant (this process's monotonic
	// clock) until which this node may act on the grant. The backend renews
	// it; a holder that cannot renew stops acting when it passes.
	ValidUntil time.Time
	// Peers is the last known state of each other cluster member.
	Peers []Peer
	// Quorum is true while this node is in contact with a quorum.
	Quorum bool
	// Leader is the member that decides who holds (the raft leader), ""
	// when none is known or the backend has none.
	Leader string
	// HolderSince is when the grant of Token was made, by the clock of
	// the member that made it; zero when unknown.
	HolderSince time.Time
	// Standby is true while an operator holds this node out of ownership
	// (vipd standby), as the cluster records it.
	Standby bool
	// ViewAge is how old the cluster view in Peers is: the time since this
	// member last heard the leader's view of who is in contact (zero on
	// the leader itself, or where the backend has no such view).
	ViewAge time.Duration
}

// Peer is one other member of the cluster as this node sees it.
type Peer struct {
	Name     string
	Address  string
	Witness  bool
	Eligible bool
	// Reachable reports whether the peer was heard from recently: by the
	// leader, whose view every member shares where the backend has one,
	// else by this node.
	Reachable bool
	// LastContact is when the peer was last heard from (this process's
	// clock), zero when never or unknown.
	LastContact time.Time
	// Standby is true while an operator holds the peer out of ownership.
	Standby bool
	// Role and Healthy are what the peer last said about itself ("" when
	// it has not said anything this view knows of).
	Role    string
	Healthy bool
	// Problem says why the peer is unreachable, where this node knows
	// (e.g. "connection refused"), for operators.
	Problem string
}

// Report is what a node says about itself to the other members, so that
// vipd status on any member shows every member's role and health.
type Report struct {
	Role    string
	Healthy bool
	// Since is when the node entered Role.
	Since time.Time
}

// Reporter is an optional capability of a Lease that carries each node's
// Report to the other members. Report does not block.
type Reporter interface {
	Report(r Report)
}

// Standbyer is an optional capability of a Lease that records standby in
// the cluster's replicated state, so that it holds on every member and
// survives restarts. SetStandby works from any member for any node and
// returns once the cluster recorded it; a node in standby does not hold
// the lease (a holder hands it on).
type Standbyer interface {
	SetStandby(ctx context.Context, node string, on bool) error
}

// Fence returns the fencing token of the grant s describes, whose validity is
// answered by l. It is the zero Token when s does not hold the lease.
func (s Status) Fence(v fence.Validity) fence.Token {
	if !s.Held {
		return fence.Token{}
	}
	return fence.New(s.Token, v)
}

// Lease is an election backend as the node loop sees it.
//
// Implementations run their own goroutines inside Run; all other methods are
// safe for concurrent use and return promptly. Changes is a hint channel with
// a buffer of one: the receiver re-reads Status instead of counting signals.
type Lease interface {
	// Run participates in the election until ctx is done, then leaves the
	// cluster gracefully (a holder gives the lease up) and returns after all
	// of its goroutines have exited.
	Run(ctx context.Context) error
	// Status returns the current view without blocking on I/O.
	Status() Status
	// Changes is signalled whenever Status may have changed.
	Changes() <-chan struct{}
	// SetEligible says whether this node may hold the lease: healthy and not
	// in maintenance. A holder that becomes ineligible hands the lease to an
	// eligible peer if there is one, and stops holding it either way.
	// priority orders eligible nodes (higher wins); preempt lets a
	// higher-priority eligible node take the lease from a healthy holder.
	SetEligible(ctx context.Context, eligible bool, priority int) error
	// Transfer asks the cluster to move the lease to node to ("" means any
	// other eligible node) and waits until the grant moved or ctx is done.
	Transfer(ctx context.Context, to string) error
	// Valid answers fence.Validity for this node's grants.
	Valid(token uint64) (until time.Time, ok bool)
}
