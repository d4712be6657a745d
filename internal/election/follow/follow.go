// Package follow is the election backend for sites where the
// database elects itself (an IRIS mirror, a MySQL master) and vipd only
// follows: no lease is negotiated among vipd nodes; the node whose
// user-supplied primary check (exec or http, e.g. "is this the mirror
// primary?") passes holds the grant, and loses it as soon as the check
// fails.
//
// Fencing tokens are the grant's wall-clock time in milliseconds (or the
// previous token plus one, if larger), so they rise across the cluster's
// history as long as the nodes' clocks agree to within a failover, which
// NTP on EC2 (the Amazon Time Sync Service) gives by a wide margin. Two
// nodes whose checks both pass both hold a grant: follow trusts the
// database's own election, and the resources' drift repair shows the
// fight in the logs and metrics; configure the check so that only one
// database can answer "primary".
//
// Only internal/node (through cmd/vipd) imports follow.
package follow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/vipd/vipd/internal/election"
)

// Primary is the user's primary check as the lease reads it; a
// *health.Monitor over the configured check fits, with its rise and fall.
type Primary interface {
	Run(ctx context.Context) error
	Healthy() bool
	Changes() <-chan struct{}
}

// ErrNoTransfer is returned by Transfer: in follow mode the database
// decides the primary, so a switchover is made there.
var ErrNoTransfer = errors.New("follow mode: switch the database over; vipd follows its primary")

// Config configures a Lease.
type Config struct {
	// Self is this node's name.
	Self string
	// Peers are the other members, reported as configured.
	Peers []election.Peer
	// Validity is how long a grant may be acted on, renewed while the
	// primary check passes (default 2s). A failing check ends the grant at
	// once.
	Validity time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Lease is the follow-mode election.Lease. Run owns the state; the other
// methods are safe for concurrent use and do not block.
type Lease struct {
	cfg     Config
	primary Primary
	log     *slog.Logger
	changes chan struct{}
	kick    chan struct{}

	mu       sync.Mutex
	eligible bool
	held     bool
	token    uint64
}

var _ election.Lease = (*Lease)(nil)

// New returns a Lease that follows primary.
func New(cfg Config, primary Primary, log *slog.Logger) *Lease {
	if cfg.Validity <= 0 {
		cfg.Validity = 2 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Lease{
		cfg:     cfg,
		primary: primary,
		log:     log.With("component", "election", "backend", "follow"),
		changes: make(chan struct{}, 1),
		kick:    make(chan struct{}, 1),
	}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Run runs the primary check and follows it until ctx is done, then drops
// the grant and returns once the check has stopped.
func (l *Lease) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		errc <- l.primary.Run(ctx)
	}()
	defer wg.Wait()
	for {
		l.update()
		select {
		case <-ctx.Done():
			l.drop("shutdown")
			return nil
		case err := <-errc:
			l.drop("primary check stopped")
			if err != nil && ctx.Err() == nil {
				return fmt.Errorf("follow: primary check: %w", err)
			}
			return nil
		case <-l.primary.Changes():
		case <-l.kick:
		}
	}
}

// update re-reads the check and eligibility and grants or drops.
func (l *Lease) update() {
	primary := l.primary.Healthy()
	l.mu.Lock()
	want := primary && l.eligible
	changed := want != l.held
	if want && !l.held {
		l.token = max(l.token+1, uint64(l.cfg.Now().UnixMilli()))
	}
	l.held = want
	tok := l.token
	l.mu.Unlock()
	if !changed {
		return
	}
	if want {
		l.log.Info("lease granted", "node", l.cfg.Self, "token", tok, "reason", "primary check passes")
	} else {
		reason := "primary check fails"
		if primary {
			reason = "ineligible"
		}
		l.log.Info("lease lost", "node", l.cfg.Self, "token", tok, "reason", reason)
	}
	signal(l.changes)
}

func (l *Lease) drop(reason string) {
	l.mu.Lock()
	was := l.held
	l.held = false
	tok := l.token
	l.mu.Unlock()
	if was {
		l.log.Info("lease lost", "node", l.cfg.Self, "token", tok, "reason", reason)
		signal(l.changes)
	}
}

// Status returns the current view. Holder is this node while it holds the
// grant and "" otherwise: follow does not know which other node's database
// is primary.
func (l *Lease) Status() election.Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := election.Status{Self: l.cfg.Self, Token: l.token, Held: l.held, Quorum: true,
		Peers: append([]election.Peer(nil), l.cfg.Peers...)}
	if l.held {
		st.Holder = l.cfg.Self
		st.ValidUntil = time.Now().Add(l.cfg.Validity)
	}
	return st
}

// Changes is signalled whenever Status may have changed.
func (l *Lease) Changes() <-chan struct{} { return l.changes }

// SetEligible says whether this node may hold the grant (healthy, not in
// maintenance); priority has no meaning here, the database decides. A
// holder made ineligible drops the grant before SetEligible returns, so
// that nothing is written under it afterwards.
func (l *Lease) SetEligible(ctx context.Context, eligible bool, priority int) error {
	l.mu.Lock()
	l.eligible = eligible
	l.mu.Unlock()
	if !eligible {
		l.drop("ineligible")
	}
	signal(l.kick)
	return ctx.Err()
}

// Transfer fails with ErrNoTransfer.
func (l *Lease) Transfer(ctx context.Context, to string) error {
	return fmt.Errorf("transfer lease to %q: %w", to, ErrNoTransfer)
}

// Valid answers fence.Validity: a grant is valid for Validity from now
// while it is held and current, and not at all otherwise.
func (l *Lease) Valid(token uint64) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.held || token != l.token {
		return time.Time{}, false
	}
	return time.Now().Add(l.cfg.Validity), true
}
