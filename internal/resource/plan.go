package resource

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"time"

	"github.com/vipd/vipd/internal/fence"
)

// LocalStep names the local address in a Plan's steps.
const LocalStep = "local-address"

// Binder binds the service address on this host; osnet's binders fit.
type Binder interface {
	Bind(ctx context.Context) error
	Unbind(ctx context.Context) error
	Bound(ctx context.Context) (bool, error)
	String() string
}

// Planned is one resource and its kind's place in the acquire order.
type Planned struct {
	Resource Resource
	Order    int
}

// PlanOptions are a Plan's settings besides its resources.
type PlanOptions struct {
	// Local is the service address bound on this host, placed at
	// LocalAddressOrder; nil when there is none (a controller, a
	// configuration with interface none).
	Local Binder
	// StepTimeout bounds one resource's acquire, release or check, and
	// the local address's bind and unbind (default 10s); a resource that
	// needs longer says so with StepTimeout (StepTimer).
	StepTimeout time.Duration
}

// Plan is a configuration's resources in acquire order. It keeps no state
// between calls: its methods may be called from any goroutine, one at a
// time per resource (the node loop and the controller run one worker).
type Plan struct {
	res         []Planned // stable by Order
	local       Binder
	stepTimeout time.Duration
}

// NewPlan returns the plan of rs: sorted by Order, keeping the given
// order within one Order.
func NewPlan(rs []Planned, o PlanOptions) *Plan {
	if o.StepTimeout <= 0 {
		o.StepTimeout = 10 * time.Second
	}
	rs = slices.Clone(rs)
	slices.SortStableFunc(rs, func(a, b Planned) int { return cmp.Compare(a.Order, b.Order) })
	return &Plan{res: rs, local: o.Local, stepTimeout: o.StepTimeout}
}

// Resources returns the resources in acquire order.
func (p *Plan) Resources() []Resource {
	out := make([]Resource, len(p.res))
	for i, r := range p.res {
		out[i] = r.Resource
	}
	return out
}

// Local returns the local address, or nil.
func (p *Plan) Local() Binder { return p.local }

// StepTimeout is the default bound of one step.
func (p *Plan) StepTimeout() time.Duration { return p.stepTimeout }

// Step is one step a Plan took: a resource's (or the local address's)
// acquire or release, how long it took and how it ended.
type Step struct {
	// Resource is the resource's Name, or LocalStep.
	Resource string
	// Kind is the resource's kind; "" for the local address.
	Kind string
	// Op is "acquire" or "release".
	Op   string
	Took time.Duration
	Err  error
}

// Acquire makes every resource point at self under tok, in order, binding
// the local address at its place; it stops at the first failure and
// returns the steps taken. Each step is bounded by the step timeout.
func (p *Plan) Acquire(ctx context.Context, self Self, tok fence.Token) ([]Step, error) {
	var steps []Step
	bound := p.local == nil
	bind := func() error {
		bound = true
		start := time.Now()
		sctx, cancel := context.WithTimeout(ctx, p.stepTimeout)
		defer cancel()
		// Binding is host-local and not fenced by AWS, but it must not
		// happen under a grant that already ended.
		err := tok.Check(0)
		if err == nil {
			err = p.local.Bind(sctx)
		}
		steps = append(steps, Step{Resource: LocalStep, Op: "acquire", Took: time.Since(start), Err: err})
		if err != nil {
			return fmt.Errorf("bind %s: %w", p.local, err)
		}
		return nil
	}
	for _, pr := range p.res {
		if !bound && pr.Order > LocalAddressOrder {
			if err := bind(); err != nil {
				return steps, err
			}
		}
		r := pr.Resource
		start := time.Now()
		sctx, cancel := context.WithTimeout(ctx, p.timeout(r))
		err := r.Acquire(sctx, self, tok)
		cancel()
		steps = append(steps, Step{Resource: r.Name(), Kind: r.Kind(), Op: "acquire", Took: time.Since(start), Err: err})
		if err != nil {
			return steps, fmt.Errorf("acquire %s: %w", r.Name(), err)
		}
	}
	if !bound {
		if err := bind(); err != nil {
			return steps, err
		}
	}
	return steps, nil
}

// Release unbinds the local address first (it is what makes this host
// answer for the address, and it needs no AWS call), then releases the
// resources in reverse order. It carries on past failures and joins them.
// A resource that finds the grant gone (fence.ErrStale) has nothing to
// undo: the next owner overwrites, and writing now could undo its work.
func (p *Plan) Release(ctx context.Context, self Self, tok fence.Token) ([]Step, error) {
	var steps []Step
	var errs []error
	if p.local != nil {
		start := time.Now()
		sctx, cancel := context.WithTimeout(ctx, p.stepTimeout)
		err := p.local.Unbind(sctx)
		cancel()
		steps = append(steps, Step{Resource: LocalStep, Op: "release", Took: time.Since(start), Err: err})
		if err != nil {
			errs = append(errs, fmt.Errorf("unbind %s: %w", p.local, err))
		}
	}
	for _, pr := range slices.Backward(p.res) {
		r := pr.Resource
		start := time.Now()
		sctx, cancel := context.WithTimeout(ctx, p.timeout(r))
		err := r.Release(sctx, self, tok)
		cancel()
		if errors.Is(err, fence.ErrStale) {
			err = nil
		}
		steps = append(steps, Step{Resource: r.Name(), Kind: r.Kind(), Op: "release", Took: time.Since(start), Err: err})
		if err != nil {
			errs = append(errs, fmt.Errorf("release %s: %w", r.Name(), err))
		}
	}
	return steps, errors.Join(errs...)
}

// Checked is one resource's state as Check read it.
type Checked struct {
	Resource Resource
	Status   Status
	Err      error
}

// Check reads every resource's state for self, in order, each read bounded
// by the step timeout; the caller may stop early (a failed read ends a
// controller's survey, a node reads on). The local address is not among
// them: read it with Local().Bound.
func (p *Plan) Check(ctx context.Context, self Self) iter.Seq[Checked] {
	return func(yield func(Checked) bool) {
		for _, pr := range p.res {
			sctx, cancel := context.WithTimeout(ctx, p.stepTimeout)
			st, err := pr.Resource.Check(sctx, self)
			cancel()
			if !yield(Checked{Resource: pr.Resource, Status: st, Err: err}) {
				return
			}
		}
	}
}

// timeout is how long one step of r may take.
func (p *Plan) timeout(r Resource) time.Duration {
	if st, ok := r.(StepTimer); ok {
		return max(p.stepTimeout, st.StepTimeout())
	}
	return p.stepTimeout
}
