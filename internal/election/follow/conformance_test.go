package follow_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/election"
	"github.com/vipd/vipd/internal/election/electiontest"
	"github.com/vipd/vipd/internal/election/follow"
)

const conformanceLease = 200 * time.Millisecond

// TestConformance runs the suite with follow's members each watching one
// node of a replicated database that elects its own primary, as Patroni
// does: a primary cut off from the DCS demotes itself at once, and a
// replica is promoted only once the old leader key has expired (ttl). A
// follow grant stays valid for Validity after the check last passed, so
// follow keeps grants apart only when the database's ttl is longer than
// Validity plus the check's detection time; the docs say so.
func TestConformance(t *testing.T) {
	electiontest.Conformance(t, electiontest.Backend{
		NewCluster: newDatabase,
		Lease:      conformanceLease,
		// The database decides: Transfer refuses, an ineligible holder's
		// grant goes nowhere, and a member knows only its own role.
		Transfers: false, HandsOver: false, KnowsHolder: false,
	})
}

// ttl is how long the database waits after its primary went silent before
// promoting another node.
const ttl = 3 * conformanceLease

// database is the followed election: one primary among its nodes.
type database struct {
	wg       sync.WaitGroup
	stop     chan struct{}
	mu       sync.Mutex
	nodes    []string
	primary  string
	isolated map[string]bool
	checks   map[string]*roleCheck
	leases   map[string]*follow.Lease
}

func newDatabase(t *testing.T, names []string) electiontest.Harness {
	db := &database{stop: make(chan struct{}), nodes: names, primary: names[0], isolated: map[string]bool{},
		checks: map[string]*roleCheck{}, leases: map[string]*follow.Lease{}}
	for _, n := range names {
		db.checks[n] = &roleCheck{db: db, name: n, changes: make(chan struct{}, 1)}
		db.leases[n] = follow.New(follow.Config{Self: n, Validity: conformanceLease}, db.checks[n], logger(t).With("node", n))
	}
	return db
}

func (db *database) Lease(name string) election.Lease { return db.leases[name] }

// Isolate cuts name off; if it was primary, it is demoted at once and the
// first node not cut off is promoted a ttl later.
func (db *database) Isolate(name string) {
	db.mu.Lock()
	db.isolated[name] = true
	demoted := db.primary == name
	if demoted {
		db.primary = ""
	}
	db.mu.Unlock()
	db.signal()
	if !demoted {
		return
	}
	db.wg.Go(func() {
		select {
		case <-time.After(ttl):
		case <-db.stop:
			return
		}
		db.mu.Lock()
		if i := slices.IndexFunc(db.nodes, func(n string) bool { return !db.isolated[n] }); i >= 0 && db.primary == "" {
			db.primary = db.nodes[i]
		}
		db.mu.Unlock()
		db.signal()
	})
}

func (db *database) Heal(name string) {
	db.mu.Lock()
	db.isolated[name] = false
	db.mu.Unlock()
	db.signal()
}

func (db *database) Close() {
	close(db.stop)
	db.wg.Wait()
}

func (db *database) signal() {
	for _, c := range db.checks {
		select {
		case c.changes <- struct{}{}:
		default:
		}
	}
}

// roleCheck is one node's primary check: "is my database the primary?"
type roleCheck struct {
	db      *database
	name    string
	changes chan struct{}
}

func (c *roleCheck) Run(ctx context.Context) error { <-ctx.Done(); return nil }
func (c *roleCheck) Healthy() bool {
	c.db.mu.Lock()
	defer c.db.mu.Unlock()
	return c.db.primary == c.name
}
func (c *roleCheck) Changes() <-chan struct{} { return c.changes }
