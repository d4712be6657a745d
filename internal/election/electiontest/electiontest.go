// Package electiontest provides an in-memory election.Lease for unit tests of
// the code that consumes one (the node loop): a shared Cluster decides who
// holds, and tests grant, revoke and expire the lease per node and see the
// SetEligible and Transfer calls each node made.
//
// It models what the node loop relies on — one holder at a time, tokens that
// strictly increase, a validity that can pass before the holder is told, a
// hint channel — and nothing of how a real backend decides.
//
// Conformance is the other half: the suite every real backend runs, so that
// each keeps those same promises (conformance.go). Only _test.go files
// import this package.
package electiontest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/vipd/vipd/internal/election"
)

// DefaultValidity is how long a grant stays valid when Cluster.Validity is
// zero: long enough that a unit test never sees it pass unless it calls
// Expire.
const DefaultValidity = time.Minute

// Call is one SetEligible or Transfer call a node made.
type Call struct {
	Node string
	// Op is "SetEligible" or "Transfer".
	Op string
	// Eligible and Priority are SetEligible's arguments.
	Eligible bool
	Priority int
	// To is Transfer's argument.
	To string
}

// Cluster is the shared state of the fake: the members, the current grant
// and the calls made. Its methods are safe for concurrent use.
type Cluster struct {
	// Validity is how long a grant stays valid after Grant or Renew
	// (DefaultValidity when zero). Set it before use.
	Validity time.Duration
	// AutoElect, when set, grants the lease to the best eligible node
	// (highest priority, then name) whenever nobody holds it — after
	// Revoke, an ineligible holder, or a Run that ended. Set it before use.
	AutoElect bool

	mu      sync.Mutex
	nodes   map[string]*Lease
	order   []string
	holder  string
	token   uint64
	until   time.Time
	calls   []Call
	xferErr error
}

// NewCluster returns a cluster whose members are nodes (eligible once they
// say so) and witnesses (never eligible).
func NewCluster(nodes []string, witnesses ...string) *Cluster {
	c := &Cluster{nodes: map[string]*Lease{}}
	for _, n := range nodes {
		c.add(n, false)
	}
	for _, w := range witnesses {
		c.add(w, true)
	}
	return c
}

func (c *Cluster) add(name string, witness bool) {
	c.nodes[name] = &Lease{c: c, name: name, witness: witness, quorum: true, changes: make(chan struct{}, 1)}
	c.order = append(c.order, name)
}

// Node returns member name's Lease; it panics for a name not given to
// NewCluster, a mistake in the test.
func (c *Cluster) Node(name string) *Lease {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.nodes[name]
	if !ok {
		panic(fmt.Sprintf("electiontest: no member %q", name))
	}
	return l
}

// Grant gives the lease to name with a new token, taking it from any other
// holder, and returns the token. Granting to a witness panics.
func (c *Cluster) Grant(name string) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.nodes[name] == nil || c.nodes[name].witness {
		panic(fmt.Sprintf("electiontest: cannot grant to %q", name))
	}
	c.grantLocked(name)
	return c.token
}

func (c *Cluster) grantLocked(name string) {
	c.holder = name
	c.token++
	c.until = time.Now().Add(c.validity())
	c.signalLocked()
}

func (c *Cluster) validity() time.Duration {
	if c.Validity == 0 {
		return DefaultValidity
	}
	return c.Validity
}

// Renew extends the current grant's validity by Cluster.Validity from now,
// as a backend's renewal does.
func (c *Cluster) Renew() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.holder != "" {
		c.until = time.Now().Add(c.validity())
		c.signalLocked()
	}
}

// Revoke takes the lease from its holder, who is told (Changes).
func (c *Cluster) Revoke() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.revokeLocked()
}

func (c *Cluster) revokeLocked() {
	c.holder = ""
	c.until = time.Time{}
	if c.AutoElect {
		if best := c.bestLocked(""); best != "" {
			c.grantLocked(best)
			return
		}
	}
	c.signalLocked()
}

// Expire ends the current grant's validity now without telling anyone: the
// holder's Status still says Held, but Valid (and so every fencing check)
// refuses its token. It models a holder cut off from the quorum before its
// backend noticed.
func (c *Cluster) Expire() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.holder != "" {
		c.until = time.Now()
	}
}

// SetQuorum sets what member name's Status reports as Quorum.
func (c *Cluster) SetQuorum(name string, quorum bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nodes[name].quorum = quorum
	c.signalLocked()
}

// FailTransfers makes every later Transfer return err (nil restores them).
func (c *Cluster) FailTransfers(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.xferErr = err
}

// Holder returns the current holder and token ("" and the last token when
// nobody holds).
func (c *Cluster) Holder() (string, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.holder, c.token
}

// Calls returns the SetEligible and Transfer calls made so far, in order.
func (c *Cluster) Calls() []Call {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.calls)
}

// Eligible returns what member name last told SetEligible.
func (c *Cluster) Eligible(name string) (eligible bool, priority int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.nodes[name]
	return n.eligible, n.priority
}

func (c *Cluster) signalLocked() {
	for _, n := range c.nodes {
		select {
		case n.changes <- struct{}{}:
		default:
		}
	}
}

// bestLocked returns the eligible member other than except with the highest
// priority, then the lowest name; "" when none.
func (c *Cluster) bestLocked(except string) string {
	var best *Lease
	for _, name := range c.order {
		n := c.nodes[name]
		if name == except || !n.eligible || n.witness {
			continue
		}
		if best == nil || cmp.Or(cmp.Compare(n.priority, best.priority), cmp.Compare(best.name, n.name)) > 0 {
			best = n
		}
	}
	if best == nil {
		return ""
	}
	return best.name
}

// Lease is one member's view of the Cluster; it implements election.Lease.
type Lease struct {
	c       *Cluster
	name    string
	witness bool
	changes chan struct{}

	// Guarded by c.mu.
	eligible bool
	priority int
	quorum   bool
}

var _ election.Lease = (*Lease)(nil)

// Run blocks until ctx is done; the member then counts as ineligible, and a
// holder gives the lease up, as a real backend does on a clean stop.
func (l *Lease) Run(ctx context.Context) error {
	<-ctx.Done()
	l.c.mu.Lock()
	defer l.c.mu.Unlock()
	l.eligible = false
	if l.c.holder == l.name {
		l.c.revokeLocked()
	}
	return nil
}

// Status returns the member's view of the cluster.
func (l *Lease) Status() election.Status {
	c := l.c
	c.mu.Lock()
	defer c.mu.Unlock()
	st := election.Status{Self: l.name, Holder: c.holder, Quorum: l.quorum}
	if c.holder != "" {
		st.Token = c.token
	}
	if c.holder == l.name {
		st.Held, st.ValidUntil = true, c.until
	}
	for _, name := range c.order {
		if name == l.name {
			continue
		}
		n := c.nodes[name]
		st.Peers = append(st.Peers, election.Peer{Name: name, Witness: n.witness, Eligible: n.eligible, Reachable: true})
	}
	return st
}

// Changes is signalled on every change of the cluster's grant.
func (l *Lease) Changes() <-chan struct{} { return l.changes }

// SetEligible records the call; a holder that becomes ineligible loses the
// lease at once (to the best eligible node with AutoElect).
func (l *Lease) SetEligible(_ context.Context, eligible bool, priority int) error {
	c := l.c
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, Call{Node: l.name, Op: "SetEligible", Eligible: eligible, Priority: priority})
	if eligible && l.witness {
		return fmt.Errorf("set eligible on witness %s: %w", l.name, election.ErrNotEligible)
	}
	l.eligible, l.priority = eligible, priority
	switch {
	case c.holder == l.name && !eligible:
		c.revokeLocked()
	case c.holder == "" && c.AutoElect:
		c.revokeLocked() // elects the best eligible node, if any
	default:
		c.signalLocked()
	}
	return nil
}

// Transfer records the call and, unless FailTransfers set an error, grants
// the lease to the target at once: to, or the best eligible node other than
// the holder when to is "".
func (l *Lease) Transfer(ctx context.Context, to string) error {
	c := l.c
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, Call{Node: l.name, Op: "Transfer", To: to})
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("transfer lease to %q: %w", to, err)
	}
	if c.xferErr != nil {
		return fmt.Errorf("transfer lease to %q: %w", to, c.xferErr)
	}
	target := to
	if to == "" {
		if target = c.bestLocked(c.holder); target == "" {
			return fmt.Errorf("transfer lease: no other eligible node: %w", election.ErrNotEligible)
		}
	}
	n, ok := c.nodes[target]
	switch {
	case !ok:
		return fmt.Errorf("transfer lease to %s: %w", target, election.ErrUnknownNode)
	case n.witness || !n.eligible:
		return fmt.Errorf("transfer lease to %s: %w", target, election.ErrNotEligible)
	case c.holder == target:
		return nil
	}
	c.grantLocked(target)
	return nil
}

// Valid answers fence.Validity for the member's grants.
func (l *Lease) Valid(token uint64) (time.Time, bool) {
	c := l.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.holder != l.name || c.token != token || token == 0 || !time.Now().Before(c.until) {
		return time.Time{}, false
	}
	return c.until, true
}

// ErrTransfer is a ready error for FailTransfers.
var ErrTransfer = errors.New("electiontest: transfer failed")
