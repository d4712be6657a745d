// Package node is the node loop: the one goroutine that owns a node's state
// (backup, acquiring, primary, releasing, fault, maintenance), reacts to the
// election, health and operator requests, and orders the resources: acquire
// in order, release in reverse, each step bounded and fenced. Work that
// blocks (AWS calls, netlink, hooks, lease RPCs) runs in worker goroutines
// that report back by message; the loop itself never blocks on I/O.
//
// Imported by cmd/vipd and the demo.
package node

import (
	"context"
	"log/slog"
	"time"

	"github.com/vipd/vipd/internal/election"
	"github.com/vipd/vipd/internal/fence"
	"github.com/vipd/vipd/internal/health"
	"github.com/vipd/vipd/internal/hooks"
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

// Resource is one owned thing as the loop drives it. Acquire and Release are
// idempotent; Check reads the world without changing it.
type Resource interface {
	Name() string
	Kind() string
	Acquire(ctx context.Context, self resource.Self, tok fence.Token) error
	Release(ctx context.Context, self resource.Self, tok fence.Token) error
	Check(ctx context.Context, self resource.Self) (resource.Status, error)
}

// Preparer is a Resource that can do, at start and unfenced, work that
// would otherwise sit on the failover path (it must change only this
// node's own state).
type Preparer interface {
	Prepare(ctx context.Context, self resource.Self) error
}

// HostUnbinder is a Resource that binds addresses on the host itself (the
// secondary IPs beyond local-address); the node unbinds them whenever it
// is not the owner, as it does the local address.
type HostUnbinder interface {
	Unbind(ctx context.Context, self resource.Self) error
}

// stepTimer is a Resource whose steps need more than Config.StepTimeout.
type stepTimer interface {
	StepTimeout() time.Duration
}

// Health is the node's health as the loop reads it; *health.Monitor fits.
type Health interface {
	Run(ctx context.Context) error
	Healthy() bool
	Changes() <-chan struct{}
	Status() []health.CheckStatus
}

// Binder binds the service address locally; osnet's binders fit.
type Binder interface {
	Bind(ctx context.Context) error
	Unbind(ctx context.Context) error
	Bound(ctx context.Context) (bool, error)
	String() string
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
	// StepTimeout bounds one resource's acquire or release (default 10s);
	// a resource that needs longer (an ENI or volume move) says so with a
	// StepTimeout method.
	StepTimeout time.Duration
	// LocalBeforeKind places the local address in the acquire order: it is
	// bound before the first resource of this kind (design.md binds it
	// after overlay-route, before route53); "" binds it after all.
	LocalBeforeKind string
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
}

// Deps are the node's collaborators.
type Deps struct {
	Lease     election.Lease
	Health    Health
	Resources []Resource
	Local     Binder // nil: no local address
	Hooks     Notifier
	Metrics   *Metrics
	Log       *slog.Logger
}
