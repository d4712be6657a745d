package resource

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/iampolicy"
	"github.com/vipd/vipd/internal/preflight/probe"
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
	// Policy adds the IAM statements resource r needs to b (`vipd
	// iam-policy`): every call New's resource and Preflight make.
	Policy func(b *iampolicy.Builder, r config.Resource)
	// Preflight checks, for `vipd check`, that this instance can take
	// every resource of this kind over: the objects they name exist where
	// the instance can take them, and every write is allowed (DryRun
	// where EC2 offers it). It gets all of the configuration's resources
	// of this kind at once, so that an object several of them name is
	// checked once.
	Preflight func(ctx context.Context, p *probe.Probe, rs []probe.Entry)
}

// Env is what a kind's New builds a resource with.
type Env struct {
	// Clients are the SDK clients (EC2, Route 53, IMDS): the instance's.
	// A resource with a role is built with that role's set instead
	// (Plan, through Clients.Role).
	Clients *awsapi.Clients
	// AssumeRole is the role of resources without their own assume-role
	// (aws.assume-role); nil leaves them on Clients.
	AssumeRole *config.AssumeRole
	// Member names role sessions whose assume-role sets no session-name
	// (vipd-<Member>): node.name, or the controller's name.
	Member string
	// CallTimeout bounds each AWS call; 0 means the kind's default.
	CallTimeout time.Duration
	// OnOwner is true when the resources run on the instance that will own
	// them (vipd run), which lets them change the host; false in the
	// controller, which runs elsewhere.
	OnOwner bool
	// Fencer stops a previous owner before its volume or interface is
	// force-detached (fence.stop-instance); nil when off, and always in
	// the controller, which moves neither.
	Fencer Fencer
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
// name, a constructor, an IAM policy or a preflight check, or when two
// kinds share a name or an order.
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
		case k.Policy == nil:
			errs = append(errs, fmt.Errorf("kind %s has no IAM policy", k.Name))
		case k.Preflight == nil:
			errs = append(errs, fmt.Errorf("kind %s has no preflight check", k.Name))
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
		k, err := g.lookup(r)
		if err != nil {
			return nil, fmt.Errorf("resources[%d]: %w", i, err)
		}
		name := k.Name
		if k.Side == Host && !env.OnOwner {
			return nil, fmt.Errorf("resources[%d]: %s changes the owner's host and needs vipd run on each node", i, name)
		}
		res, err := k.New(r, env.For(r))
		if err != nil {
			return nil, fmt.Errorf("resources[%d].%s: %w", i, name, err)
		}
		planned = append(planned, Planned{Resource: res, Order: k.Order})
	}
	return NewPlan(planned, o), nil
}

// For returns env with the clients of r: its role's (its own
// assume-role, else env.AssumeRole), or env's.
func (env Env) For(r config.Resource) Env {
	if a := r.Role(env.AssumeRole); a != nil && env.Clients != nil {
		env.Clients = env.Clients.Role(Role(a, env.Member))
	}
	return env
}

// Role is a's role for awsapi, its session named for member when a names
// none.
func Role(a *config.AssumeRole, member string) awsapi.Role {
	return awsapi.Role{ARN: a.RoleARN, ExternalID: a.ExternalID, SessionName: a.SessionNameFor(member)}
}

// lookup returns r's kind, or an error naming what is missing.
func (g *Registry) lookup(r config.Resource) (Kind, error) {
	name := r.Kind()
	k, ok := g.Kind(name)
	switch {
	case name == "":
		return Kind{}, errors.New("no resource kind set")
	case !ok:
		return Kind{}, fmt.Errorf("resource kind %s is not available in this build", name)
	}
	return k, nil
}

// Policy adds the IAM statements r needs to b, as its kind says
// (iampolicy.Kinds).
func (g *Registry) Policy(b *iampolicy.Builder, r config.Resource) error {
	k, err := g.lookup(r)
	if err != nil {
		return err
	}
	k.Policy(b, r)
	return nil
}

// Preflight runs the checks of the resources rs[i] for which only(i) holds
// (every one when only is nil), with p's clients: each kind once, over all
// of its resources, kinds in the order the configuration first names them.
// The resources keep their places in rs (resources[i]) in what is
// reported; vipd check calls it once per set of credentials (the
// instance's, each assume-role's). A resource of no known kind is reported
// as a failed check.
func (g *Registry) Preflight(ctx context.Context, p *probe.Probe, rs []config.Resource, only func(i int) bool) {
	var order []Kind
	byKind := map[string][]probe.Entry{}
	for i, r := range rs {
		if only != nil && !only(i) {
			continue
		}
		where := fmt.Sprintf("resources[%d]", i)
		k, err := g.lookup(r)
		if err != nil {
			p.Fail(where, err.Error(), "use a vipd that has it, or remove it")
			continue
		}
		if _, ok := byKind[k.Name]; !ok {
			order = append(order, k)
		}
		byKind[k.Name] = append(byKind[k.Name], probe.Entry{Where: where + "." + k.Name, Config: r})
	}
	for _, k := range order {
		k.Preflight(ctx, p, byKind[k.Name])
	}
}
