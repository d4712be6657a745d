package resource

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/config"
)

// Side says where a kind's work happens, and so who may drive it.
type Side int

const (
	// Cloud kinds change only AWS (routes, addresses, records): the owner's
	// nodes or a controller running elsewhere may drive them.
	Cloud Side = iota
	// Host kinds also change the owner's host (policy routing, a mount), so
	// only vipd on the owner itself can drive them, never a controller.
	Host
)

func (s Side) String() string {
	if s == Host {
		return "host"
	}
	return "cloud"
}

// LocalAddressOrder is the local address's place in the acquire order
// (design.md: … → overlay-route → local address → route53): a Plan binds
// it before the first resource whose kind's Order is higher.
const LocalAddressOrder = 600

// Kind is everything vipd knows about one resource kind, filled in by the
// kind's own package (overlayroute.Kind(), …) and listed once in
// internal/resource/kinds. Nothing outside that package and the config
// schema switches on a kind's name.
type Kind struct {
	// Name is the kind as written in the config (config.KindENI, …).
	Name string
	// Order places the kind in the acquire order, lower first (release
	// runs in reverse); resources of one kind keep their config order.
	// Orders are distinct, and LocalAddressOrder is the local address's.
	Order int
	// Side is Host when the kind changes the owner's host.
	Side Side
	// New builds the resource of r, which is of this kind, for env.
	New func(r config.Resource, env Env) (Resource, error)
}

// Env is what a kind's New builds a resource with.
type Env struct {
	// Clients are the SDK clients (EC2, Route 53, IMDS).
	Clients *awsapi.Clients
	// CallTimeout bounds each AWS call; 0 means the kind's default.
	CallTimeout time.Duration
	// OnOwner is true when the resources run on the instance that will own
	// them (vipd run), which lets them change the host; false in the
	// controller, which runs elsewhere.
	OnOwner bool
	// LocalAddress is the node's local-address (the zero value in the
	// controller): kinds that bind further addresses bind them beside it.
	LocalAddress config.LocalAddress
	// Log is the logger; nil discards.
	Log *slog.Logger
}

// Registry is the set of resource kinds vipd can drive.
type Registry struct {
	kinds []Kind // by Order
}

// NewRegistry returns the registry of kinds. It fails when a kind lacks a
// name or a constructor, or when two kinds share a name or an order.
func NewRegistry(kinds ...Kind) (*Registry, error) {
	var errs []error
	names, orders := map[string]bool{}, map[int]string{LocalAddressOrder: "the local address"}
	for _, k := range kinds {
		switch {
		case k.Name == "":
			errs = append(errs, fmt.Errorf("kind with order %d has no name", k.Order))
		case names[k.Name]:
			errs = append(errs, fmt.Errorf("kind %s registered twice", k.Name))
		case k.New == nil:
			errs = append(errs, fmt.Errorf("kind %s has no constructor", k.Name))
		}
		if other, ok := orders[k.Order]; ok {
			errs = append(errs, fmt.Errorf("kind %s has order %d, as %s", k.Name, k.Order, other))
		}
		names[k.Name], orders[k.Order] = true, k.Name
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("resource kinds: %w", err)
	}
	kinds = slices.Clone(kinds)
	slices.SortFunc(kinds, func(a, b Kind) int { return cmp.Compare(a.Order, b.Order) })
	return &Registry{kinds: kinds}, nil
}

// Kinds returns the registered kinds in acquire order.
func (g *Registry) Kinds() []Kind { return slices.Clone(g.kinds) }

// Kind returns the kind named name.
func (g *Registry) Kind(name string) (Kind, bool) {
	i := slices.IndexFunc(g.kinds, func(k Kind) bool { return k.Name == name })
	if i < 0 {
		return Kind{}, false
	}
	return g.kinds[i], true
}

// Plan builds the resources of rs for env and returns them as a Plan in
// acquire order. A kind that changes the host is refused unless
// env.OnOwner.
func (g *Registry) Plan(rs []config.Resource, env Env, o PlanOptions) (*Plan, error) {
	if env.Log == nil {
		env.Log = slog.New(slog.DiscardHandler)
	}
	planned := make([]Planned, 0, len(rs))
	for i, r := range rs {
		name := r.Kind()
		k, ok := g.Kind(name)
		switch {
		case name == "":
			return nil, fmt.Errorf("resources[%d]: no resource kind set", i)
		case !ok:
			return nil, fmt.Errorf("resources[%d]: resource kind %s is not available in this build", i, name)
		case k.Side == Host && !env.OnOwner:
			return nil, fmt.Errorf("resources[%d]: %s changes the owner's host and needs vipd run on each node", i, name)
		}
		res, err := k.New(r, env)
		if err != nil {
			return nil, fmt.Errorf("resources[%d].%s: %w", i, name, err)
		}
		planned = append(planned, Planned{Resource: res, Order: k.Order})
	}
	return NewPlan(planned, o), nil
}
