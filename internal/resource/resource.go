// Package resource holds what every resource kind shares: who "self" is and
// how a resource reports its state. Each kind lives in a subpackage
// (overlayroute, …) and implements the Resource interface that
// internal/node declares.
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
// call by timeout and by the grant's validity less the token's margin, as
// renewals extend it (fence.Token.Bound), so that the call, retries
// included, is not waited for past the grant's end, and stamps the call's
// context with the token so that it rides in the User-Agent. what names
// the write for the error, which wraps fence.ErrStale when the grant's end
// cut the call short.
func Write(ctx context.Context, tok fence.Token, timeout time.Duration, what string, call func(ctx context.Context) error) error {
	ctx, cancel, err := tok.Bound(ctx, timeout)
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
