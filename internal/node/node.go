// Package node is the node loop: the one goroutine that owns a node's state
// (backup, acquiring, primary, releasing, fault, maintenance), reacts to the
// election, health and operator requests, and drives its resource.Plan:
// acquire in order, release in reverse, each step bounded and fenced. Work that
// blocks (AWS calls, netlink, hooks, lease RPCs) runs in worker goroutines
// that report back by message; the loop itself never blocks on I/O.
//
// Imported by internal/daemon, which builds and runs it.
package node

import (
	"context"
	"log/slog"
	"net/netip"
	"time"

	"github.com/vipd/vipd/internal/election"
	"github.com/vipd/vipd/internal/fence"
	"github.com/vipd/vipd/internal/health"
	"github.com/vipd/vipd/internal/hooks"
	"github.com/vipd/vipd/internal/notice"
	"github.com/vipd/vipd/internal/resource"
)

// State is a node's role.
type State string

// The node states of design.md.
const (
	StateInit        State = "init"
	StateBackup      State = "backup"
	StateAcquiring   State = "acquiring"
	StatePrimary     State = "primary"
	StateReleasing   State = "releasing"
	StateFault       State = "fault"
	StateMaintenance State = "maintenance"
	StateWitness     State = "witness"
	StateStopped     State = "stopped"
)

// Health is the node's health as the loop reads it; *health.Monitor fits.
type Health interface {
	Run(ctx context.Context) error
	Healthy() bool
	Changes() <-chan struct{}
	Status() []health.CheckStatus
}

// Notices are this instance's announcements of its end (a Spot
// interruption, scheduled maintenance, an Auto Scaling termination);
// *notice.Poller fits. Run reads them until ctx is done; Notices returns
// the current ones without I/O; Changes is a one-slot hint.
type Notices interface {
	Run(ctx context.Context) error
	Notices() []notice.Notice
	Changes() <-chan struct{}
}

// Fencer stops the instance of a cluster member, named by its private
// address, before this node takes over from it (fence.before: takeover);
// *stonith.Fencer fits. StopAt returns once EC2 reports the instance
// stopped and fails otherwise; it refuses self, acts only under a valid
// grant of tok and only while this node is healthy.
type Fencer interface {
	StopAt(ctx context.Context, tok fence.Token, self, vpc string, addr netip.Addr) error
}

// Notifier runs notify hooks; *hooks.Runner fits.
type Notifier interface {
	Notify(ctx context.Context, ev hooks.Event) error
}

// Config is what the loop needs besides its collaborators.
type Config struct {
	Cluster  string
	Self     resource.Self
	Witness  bool
	Priority int
	// YieldContested stops the primary from repairing drift that shows
	// another node's claim (a route or address pointing at another
	// instance): in follow mode two nodes may both believe their database
	// is primary, and re-asserting would make the address flap. The
	// contest is logged and counted instead. With a lease (raft), the
	// lease is the authority and the primary repairs.
	YieldContested bool
	// ReconcileInterval is the drift-check period (default 5s).
	ReconcileInterval time.Duration
	// ReleaseOnStop releases resources on a clean stop.
	ReleaseOnStop bool
	// StopTimeout bounds the release at stop (default 10s).
	StopTimeout time.Duration
	// HookTimeout bounds each notify script (the runner enforces it; the
	// loop uses it to bound its wait at stop).
	HookTimeout time.Duration
	// History is how many transitions status keeps (default 32).
	History int
	// FenceMargin is how long before the grant's end every AWS write under
	// it is given up (fence.Margin of the lease; the package doc of fence
	// says why). Zero means fence.MinMargin.
	FenceMargin time.Duration
	// StandbyFile keeps this node's standby across restarts where the
	// election backend cannot record it for the cluster (it is not an
	// election.Standbyer); "" keeps it in memory only.
	StandbyFile string
}

// Deps are the node's collaborators.
type Deps struct {
	Lease  election.Lease
	Health Health
	// Plan is what the node owns: its resources in acquire order and the
	// local address; nil owns nothing (a witness).
	Plan  *resource.Plan
	Hooks Notifier
	// Notices, if set, make the node hand the address over before its
	// instance goes, and stay out while a notice that says move lasts.
	Notices Notices
	// Fencer, if set, stops the previous lease holder before a takeover
	// when the election cannot reach it (fence.before: takeover).
	Fencer  Fencer
	Metrics *Metrics
	Log     *slog.Logger
}
