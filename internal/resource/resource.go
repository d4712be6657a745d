// Package resource is what every resource kind shares and what drives
// them: the Resource interface, who "self" is and how a resource reports
// its state; the Kind each kind's package describes itself with and the
// Registry of kinds; and the Plan that acquires a configuration's
// resources in order under a fencing token, places the local address among
// them, releases in reverse and records each step. internal/node and
// internal/controller both drive resources through a Plan.
//
// Each kind lives in a subpackage (overlayroute, …) that exports its Kind;
// internal/resource/kinds lists them. See docs/design.md, "Adding a
// resource kind".
package resource

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/fence"
)

// Resource is one owned thing (a route, an address, a volume) as a Plan
// drives it. Acquire and Release are idempotent and bounded by ctx; every
// AWS write they make runs under tok (Write). Check reads the world
// without changing it. A Plan calls one method of a resource at a time.
type Resource interface {
	// Name identifies the resource in status and logs ("overlay-route
	// 192.168.100.10/32"); unique within a configuration.
	Name() string
	// Kind is the resource kind as written in the config.
	Kind() string
	Acquire(ctx context.Context, self Self, tok fence.Token) error
	Release(ctx context.Context, self Self, tok fence.Token) error
	Check(ctx context.Context, self Self) (Status, error)
}

// Preparer is a Resource that can do, at start and unfenced, work that
// would otherwise sit on the failover path (it must change only this
// node's own state).
type Preparer interface {
	Prepare(ctx context.Context, self Self) error
}

// HostUnbinder is a Resource that binds addresses on the host itself (the
// secondary IPs beyond local-address); a node unbinds them whenever it is
// not the owner, as it does the local address.
type HostUnbinder interface {
	Unbind(ctx context.Context, self Self) error
}

// StepTimer is a Resource whose acquire or release needs longer than a
// Plan's step timeout (an ENI or volume move, a Route 53 INSYNC wait).
type StepTimer interface {
	StepTimeout() time.Duration
}

// Fencer stops a previous owner before a volume or an interface is taken
// from it by force (STONITH, fence.stop-instance); *stonith.Fencer fits.
// Stop returns once EC2 reports instance stopped, and fails (the instance
// may still run) otherwise; it refuses self and acts only under a valid
// grant of tok.
type Fencer interface {
	Stop(ctx context.Context, tok fence.Token, self, instance string) error
	// Timeout bounds one Stop.
	Timeout() time.Duration
}

// Self is the node acquiring or releasing: its name in the cluster and its
// instance identity from IMDS.
type Self struct {
	Name string
	awsapi.Identity
}

// Status is a resource's state as last read from AWS (and the host).
type Status struct {
	// InSync is true when the world says "owned by self" everywhere.
	InSync bool `json:"in_sync"`
	// Drift lists, one line each, what differs from the wanted state.
	Drift []string `json:"drift,omitempty"`
	// Detail is one line of kind-specific facts worth showing next to the
	// state (route53: the last change id, its status and how long it took
	// to reach INSYNC); "" when there is nothing to add.
	Detail string `json:"detail,omitempty"`
	// Contested is true when the world says "owned by someone else" (a
	// route or address points at another instance), not merely "missing".
	// In follow mode that means another node claims the address too.
	Contested bool `json:"contested,omitempty"`
}

// Write runs one mutating AWS call under the fencing token: it bounds the
// call by ctx (the step's budget; writeBudget without a deadline) and by
// the grant's validity less the token's margin, as renewals extend it
// (fence.Token.Bound), so that the call, retries included, is not waited
// for past the grant's end, and stamps the call's context with the token
// so that it rides in the User-Agent. Each attempt is bounded by the
// clients' attempt timeout (aws.call-timeout), and a throttled call is
// retried within the bound (awsapi's retryer): when EC2 throttles the
// account, the write waits its turn instead of failing the step. what
// names the write for the error, which wraps fence.ErrStale when the
// grant's end cut the call short.
func Write(ctx context.Context, tok fence.Token, what string, call func(ctx context.Context) error) error {
	// Queue first (a controller's write gate), then check the grant: the
	// fencing bound starts only once the write may go.
	release, err := admit(ctx)
	if err != nil {
		return fmt.Errorf("%s: wait for a write slot: %w", what, err)
	}
	defer release()
	budget := writeBudget
	if dl, ok := ctx.Deadline(); ok {
		budget = time.Until(dl)
	}
	ctx, cancel, err := tok.Bound(ctx, budget)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer cancel()
	if err := call(ctx); err != nil {
		if cause := context.Cause(ctx); errors.Is(cause, fence.ErrStale) {
			return fmt.Errorf("%s: %w (%w)", what, err, cause)
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// writeBudget bounds a write whose context has no deadline: the plan's
// default step timeout.
const writeBudget = 10 * time.Second

// Parallel runs fns with at most limit at once and joins their errors.
// Each fn must honour ctx.
func Parallel(ctx context.Context, limit int, fns []func(ctx context.Context) error) error {
	if limit < 1 {
		limit = 1
	}
	sem := make(chan struct{}, limit)
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			errs[i] = ctx.Err()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = fn(ctx)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
