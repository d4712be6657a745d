// Package health runs the checks that decide whether this node may own the
// service address: tcp (a connection is accepted), http (a GET answers with
// a status in range) and exec (a command exits 0), each on its own interval
// and timeout, with keepalived's rise/fall hysteresis so that one slow probe
// neither gives the address up nor takes it.
//
// Checker is a single probe; Monitor runs all of a node's checks and says
// whether the node is healthy. Only internal/node, internal/controller,
// internal/daemon (which builds the monitors) and tests import health; it
// imports only config of vipd.
package health

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vipd/vipd/internal/config"
)

// Checker is one health probe.
type Checker interface {
	// Check probes once and returns nil when the target is healthy. It
	// returns within the check's timeout, or sooner when ctx is done, and
	// is safe for concurrent use.
	Check(ctx context.Context) error
}

// NewChecker returns the probe c describes (exactly one of TCP, HTTP, Exec),
// bounded by c.Timeout. The config package has validated c when it came from
// Parse; NewChecker still refuses what it cannot run.
func NewChecker(c config.Check) (Checker, error) {
	if c.Timeout <= 0 {
		return nil, fmt.Errorf("check %q: timeout %s is not positive", c.Name, c.Timeout)
	}
	var kinds int
	for _, set := range []bool{c.TCP != "", c.HTTP != nil, c.Exec != nil} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		return nil, fmt.Errorf("check %q: want exactly one of tcp, http, exec; got %d", c.Name, kinds)
	}
	switch {
	case c.TCP != "":
		return &tcpChecker{addr: c.TCP, timeout: c.Timeout}, nil
	case c.HTTP != nil:
		return newHTTPChecker(c.HTTP, c.Timeout)
	default:
		if len(c.Exec.Command) == 0 || c.Exec.Command[0] == "" {
			return nil, fmt.Errorf("check %q: exec: empty command", c.Name)
		}
		return &execChecker{argv: c.Exec.Command, timeout: c.Timeout}, nil
	}
}

// ErrTimeout is wrapped by probe errors when the probe ran out of its
// timeout, as opposed to a refused connection, a bad status or an exit code.
var ErrTimeout = errors.New("timed out")

// timeoutErr wraps err with ErrTimeout when the probe's own deadline ended
// it: probe is done with DeadlineExceeded while the caller's ctx is not done
// (a caller's cancellation or deadline is no verdict on the target).
func timeoutErr(ctx, probe context.Context, d time.Duration, err error) error {
	if errors.Is(probe.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
		return fmt.Errorf("%w after %s: %w", ErrTimeout, d, err)
	}
	return err
}
