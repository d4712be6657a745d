package electiontest

import (
	"context"
	"runtime/pprof"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vipd/vipd/internal/election"
)

// Backend describes one election.Lease implementation to the conformance
// suite (Conformance). Each backend's tests fill one in and call
// Conformance, so that every backend keeps the promises the node loop
// relies on, whatever it elects with.
type Backend struct {
	// NewCluster creates the members named names, every one a candidate
	// that may hold once eligible, none running yet: the suite calls each
	// member's Run and stops it. Whatever else the backend needs (raft's
	// witness, a DynamoDB or etcd server) NewCluster starts, and
	// Harness.Close stops.
	NewCluster func(t *testing.T, names []string) Harness
	// Lease is the lease duration the cluster's members use. Every wait of
	// the suite is a multiple of it.
	Lease time.Duration
	// Transfers is true when Transfer moves the grant to another member.
	// When false (follow: the database elects), the suite checks instead
	// that Transfer fails and the holder keeps its grant.
	Transfers bool
	// HandsOver is true when a holder that becomes ineligible or stops
	// lets another eligible member take the grant. Follow mode has no
	// election of its own: its grant moves only when the followed
	// election moves (Harness.Isolate).
	HandsOver bool
	// KnowsHolder is true when every member's Status names the current
	// holder and its token (follow knows only whether it holds itself).
	KnowsHolder bool
	// IgnoreGoroutines names goroutines the backend's libraries leave
	// running for the life of the process by design; the suite's leak
	// check ignores them.
	IgnoreGoroutines []goleak.Option
}

// Harness is one cluster of a backend under test.
type Harness interface {
	// Lease returns member name's Lease.
	Lease(name string) election.Lease
	// Isolate cuts member name off from everything its election runs over
	// (its peers, the shared store, the followed database's election), as
	// a network partition or a paused process would, while it keeps
	// running. Heal reconnects it.
	Isolate(name string)
	Heal(name string)
	// Close stops what NewCluster started besides the members; the suite
	// calls it once every member's Run has returned.
	Close()
}

// Conformance runs the suite against b. Each subtest builds its own
// cluster; the backend's package should also run goleak.VerifyTestMain.
func Conformance(t *testing.T, b Backend) {
	t.Run("OneHolder", func(t *testing.T) { testOneHolder(t, b) })
	t.Run("FailoverAfterIsolation", func(t *testing.T) { testFailover(t, b) })
	t.Run("Ineligible", func(t *testing.T) { testIneligible(t, b) })
	t.Run("Transfer", func(t *testing.T) { testTransfer(t, b) })
	t.Run("Shutdown", func(t *testing.T) { testShutdown(t, b) })
}

// suite is one running cluster: the members' Run goroutines, and one
// goroutine per member that re-reads Status only when Changes fires, so
// that every wait of the suite proves Changes fires.
type suite struct {
	t       *testing.T
	b       Backend
	c       Harness
	names   []string
	members map[string]*running

	mu     sync.Mutex
	seen   map[string]election.Status // guarded by mu: as of the last Changes
	grants []grant                    // guarded by mu: every grant seen, in order
	bump   chan struct{}              // guarded by mu: closed on every record
	closed bool
}

type running struct {
	lease  election.Lease
	cancel context.CancelFunc
	done   chan error // Run's result
	wdone  chan struct{}
}

// grant is a member first seen holding a token.
type grant struct {
	node  string
	token uint64
	at    time.Time
}

func (s *suite) wait(n time.Duration) time.Duration { return time.Duration(n) * s.b.Lease }

// start creates a cluster of names and runs every member, eligible with
// priority 100 unless ineligible lists it.
func start(t *testing.T, b Backend, names []string) *suite {
	t.Helper()
	s := &suite{t: t, b: b, c: b.NewCluster(t, names), names: names,
		members: map[string]*running{}, seen: map[string]election.Status{}, bump: make(chan struct{})}
	t.Cleanup(s.close)
	for _, n := range names {
		s.run(n)
	}
	for _, n := range names {
		s.setEligible(n, true)
	}
	return s
}

func (s *suite) run(name string) {
	l := s.c.Lease(name)
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{lease: l, cancel: cancel, done: make(chan error, 1), wdone: make(chan struct{})}
	s.members[name] = r
	go func() { r.done <- l.Run(ctx) }()
	go func() {
		defer close(r.wdone)
		for {
			select {
			case <-l.Changes():
				s.record(name, l.Status())
			case <-ctx.Done():
				return
			}
		}
	}()
}

func (s *suite) record(name string, st election.Status) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen[name] = st
	if st.Held && !slices.ContainsFunc(s.grants, func(g grant) bool { return g.node == name && g.token == st.Token }) {
		s.grants = append(s.grants, grant{node: name, token: st.Token, at: now})
	}
	close(s.bump)
	s.bump = make(chan struct{})
}

func (s *suite) setEligible(name string, eligible bool) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), s.wait(10))
	defer cancel()
	if err := s.members[name].lease.SetEligible(ctx, eligible, 100); err != nil {
		s.t.Fatalf("SetEligible(%s, %v): %v", name, eligible, err)
	}
}

// stop ends member name's Run and waits for it to return.
func (s *suite) stop(name string) {
	s.t.Helper()
	r := s.members[name]
	if r == nil {
		return
	}
	delete(s.members, name)
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			s.t.Errorf("Run(%s) after its context ended = %v, want nil", name, err)
		}
	case <-time.After(s.wait(10)):
		_ = pprof.Lookup("goroutine").WriteTo(s.t.Output(), 1)
		s.t.Fatalf("Run(%s) did not return within %s of its context ending", name, s.wait(10))
	}
	<-r.wdone
	s.mu.Lock()
	delete(s.seen, name)
	s.mu.Unlock()
}

// close stops every member and the cluster, then checks the history of
// grants: a token belongs to one member, and tokens rise with time.
func (s *suite) close() {
	if s.closed {
		return
	}
	s.closed = true
	for _, n := range s.names {
		s.stop(n)
	}
	s.c.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	owner := map[uint64]string{}
	for i, g := range s.grants {
		if o, ok := owner[g.token]; ok && o != g.node {
			s.t.Errorf("token %d was held by %s and by %s", g.token, o, g.node)
		}
		owner[g.token] = g.node
		if i > 0 && g.token <= s.grants[i-1].token {
			s.t.Errorf("%s was granted token %d after %s was granted %d: tokens must strictly increase",
				g.node, g.token, s.grants[i-1].node, s.grants[i-1].token)
		}
	}
}

// waitView waits until cond holds for the statuses last read on Changes.
func (s *suite) waitView(within time.Duration, what string, cond func(map[string]election.Status) bool) map[string]election.Status {
	s.t.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		view := make(map[string]election.Status, len(s.seen))
		for k, v := range s.seen {
			view[k] = v
		}
		bump := s.bump
		s.mu.Unlock()
		if cond(view) {
			return view
		}
		select {
		case <-bump:
		case <-deadline.C:
			s.t.Fatalf("no %s within %s (as told by Changes): %+v", what, within, view)
		}
	}
}

// holder waits until exactly one running member holds (and, where the
// backend tells, every running member names it) and returns its status.
func (s *suite) holder(within time.Duration, except ...string) election.Status {
	s.t.Helper()
	var held election.Status
	s.waitView(within, "single holder", func(v map[string]election.Status) bool {
		var hs []election.Status
		for _, st := range v {
			if st.Held {
				hs = append(hs, st)
			}
		}
		if len(hs) != 1 || slices.Contains(except, hs[0].Self) {
			return false
		}
		held = hs[0]
		if !s.b.KnowsHolder {
			return true
		}
		for n := range s.members {
			if st := v[n]; st.Holder != held.Self || st.Token != held.Token {
				return false
			}
		}
		return true
	})
	return held
}

func (s *suite) others(name string) []string {
	var out []string
	for _, n := range s.names {
		if n != name && s.members[n] != nil {
			out = append(out, n)
		}
	}
	return out
}

// checkHolder checks what a holder's own Status and Valid say.
func (s *suite) checkHolder(st election.Status) {
	s.t.Helper()
	l := s.members[st.Self].lease
	if st.Token == 0 || st.Holder != st.Self {
		s.t.Errorf("holder %s: token %d, holder %q; want a token above 0 and itself as holder", st.Self, st.Token, st.Holder)
	}
	until, ok := l.Valid(st.Token)
	if !ok || !until.After(time.Now()) {
		// The grant may have moved since; only a current holder must be valid.
		if now := l.Status(); now.Held && now.Token == st.Token {
			s.t.Errorf("holder %s: Valid(%d) = %v, %v while it holds", st.Self, st.Token, until, ok)
		}
	}
	if _, ok := l.Valid(st.Token + 1); ok {
		s.t.Errorf("holder %s: Valid(%d) is true for a token it was not granted", st.Self, st.Token+1)
	}
	if _, ok := l.Valid(0); ok {
		s.t.Errorf("holder %s: Valid(0) is true", st.Self)
	}
	for _, o := range s.others(st.Self) {
		if _, ok := s.members[o].lease.Valid(st.Token); ok {
			s.t.Errorf("%s: Valid(%d) is true for %s's token", o, st.Token, st.Self)
		}
	}
}

func testOneHolder(t *testing.T, b Backend) {
	s := start(t, b, []string{"a", "b", "c"})
	st := s.holder(s.wait(20))
	s.checkHolder(st)
	// Nobody else takes the grant from a healthy holder.
	quiet := time.After(s.wait(3))
	for {
		select {
		case <-quiet:
			if again := s.holder(0); again.Self != st.Self || again.Token != st.Token {
				t.Errorf("grant moved from %s (token %d) to %s (token %d) without a cause", st.Self, st.Token, again.Self, again.Token)
			}
			return
		case <-time.After(5 * time.Millisecond):
			for _, o := range s.others(st.Self) {
				if s.members[o].lease.Status().Held {
					t.Fatalf("%s holds while %s holds token %d", o, st.Self, st.Token)
				}
			}
		}
	}
}

// overlap samples the old holder's Valid(token) and the other members'
// Status until one of them holds a newer token, and fails the test if the
// old grant was still valid at that moment. It returns the new holder.
func (s *suite) overlap(old election.Status, within time.Duration) election.Status {
	s.t.Helper()
	l := s.members[old.Self].lease
	deadline := time.Now().Add(within)
	var lastUntil time.Time
	for {
		if until, ok := l.Valid(old.Token); ok {
			lastUntil = until
		}
		for _, o := range s.others(old.Self) {
			st := s.members[o].lease.Status()
			if !st.Held {
				continue
			}
			seen := time.Now()
			if st.Token <= old.Token {
				s.t.Fatalf("%s holds token %d, not above the previous holder's %d", o, st.Token, old.Token)
			}
			if lastUntil.After(seen) {
				s.t.Fatalf("%s's grant %d was valid until %s after %s held grant %d", old.Self, old.Token, lastUntil.Sub(seen), o, st.Token)
			}
			if _, ok := l.Valid(old.Token); ok {
				s.t.Fatalf("%s's grant %d is still valid after %s holds grant %d", old.Self, old.Token, o, st.Token)
			}
			return st
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no member took over from %s within %s", old.Self, within)
		}
		time.Sleep(time.Millisecond) // sampling two clocks, not waiting for a condition
	}
}

func testFailover(t *testing.T, b Backend) {
	s := start(t, b, []string{"a", "b", "c"})
	old := s.holder(s.wait(20))
	s.c.Isolate(old.Self)
	next := s.overlap(old, s.wait(20))
	// The isolated holder learns it lost its grant (or that it lapsed).
	s.waitView(s.wait(10), old.Self+" not holding", func(v map[string]election.Status) bool { return !v[old.Self].Held })
	s.c.Heal(old.Self)
	// Back in contact, the old holder follows the new one and does not
	// take the grant back from a healthy holder.
	st := s.holder(s.wait(20))
	if st.Self != next.Self || st.Token != next.Token {
		t.Errorf("after healing %s: holder %s token %d, want %s token %d", old.Self, st.Self, st.Token, next.Self, next.Token)
	}
	quiet := time.After(s.wait(3))
	for waiting := true; waiting; {
		select {
		case <-quiet:
			waiting = false
		case <-time.After(5 * time.Millisecond):
			if s.members[old.Self].lease.Status().Held {
				t.Fatalf("%s holds again after healing while %s holds", old.Self, next.Self)
			}
		}
	}
	s.checkHolder(s.holder(0))
}

func testIneligible(t *testing.T, b Backend) {
	s := start(t, b, []string{"a", "b"})
	old := s.holder(s.wait(20))
	s.setEligible(old.Self, false)
	// The node loop stops acting as soon as SetEligible returns: the
	// grant is no longer valid for writes.
	if until, ok := s.members[old.Self].lease.Valid(old.Token); ok {
		t.Errorf("%s: Valid(%d) = %v after SetEligible(false) returned", old.Self, old.Token, until)
	}
	s.waitView(s.wait(10), old.Self+" not holding", func(v map[string]election.Status) bool { return !v[old.Self].Held })
	if b.HandsOver {
		next := s.holder(s.wait(20))
		if next.Self == old.Self || next.Token <= old.Token {
			t.Errorf("after %s became ineligible: holder %s token %d, want the other member with a token above %d", old.Self, next.Self, next.Token, old.Token)
		}
		s.setEligible(old.Self, true)
		time.Sleep(s.wait(2)) // a quiet period: nothing should happen
		if st := s.holder(s.wait(5)); st.Self != next.Self || st.Token != next.Token {
			t.Errorf("after %s became eligible again: holder %s token %d, want %s token %d unchanged", old.Self, st.Self, st.Token, next.Self, next.Token)
		}
		return
	}
	s.setEligible(old.Self, true)
	again := s.holder(s.wait(20))
	if again.Token <= old.Token {
		t.Errorf("grant after eligibility returned: token %d, want above %d", again.Token, old.Token)
	}
}

// waitEligible waits until member name's Status, where it lists peer,
// reports it eligible: a backend that replicates eligibility (raft) may
// refuse a transfer to a member whose eligibility it has not yet learnt.
func (s *suite) waitEligible(name, peer string) {
	s.t.Helper()
	s.waitView(s.wait(20), name+" seeing "+peer+" eligible", func(v map[string]election.Status) bool {
		for _, p := range v[name].Peers {
			if p.Name == peer {
				return p.Eligible
			}
		}
		return true
	})
}

func testTransfer(t *testing.T, b Backend) {
	s := start(t, b, []string{"a", "b"})
	old := s.holder(s.wait(20))
	to := s.others(old.Self)[0]
	s.waitEligible(old.Self, to)
	ctx, cancel := context.WithTimeout(context.Background(), s.wait(20))
	defer cancel()
	err := s.members[old.Self].lease.Transfer(ctx, to)
	if !b.Transfers {
		if err == nil {
			t.Fatalf("Transfer(%s) = nil; this backend does not transfer", to)
		}
		if st := s.members[old.Self].lease.Status(); !st.Held || st.Token != old.Token {
			t.Errorf("after a refused Transfer: %s holds %v token %d, want token %d kept", old.Self, st.Held, st.Token, old.Token)
		}
		return
	}
	if err != nil {
		t.Fatalf("Transfer(%s) from %s: %v", to, old.Self, err)
	}
	if until, ok := s.members[old.Self].lease.Valid(old.Token); ok {
		t.Errorf("%s: Valid(%d) = %v after Transfer returned", old.Self, old.Token, until)
	}
	next := s.holder(s.wait(20))
	if next.Self != to || next.Token <= old.Token {
		t.Errorf("after Transfer(%s): holder %s token %d, want %s with a token above %d", to, next.Self, next.Token, to, old.Token)
	}
	s.checkHolder(next)
	// And back, with "" for any other member.
	s.waitEligible(next.Self, old.Self)
	if err := s.members[next.Self].lease.Transfer(ctx, ""); err != nil {
		t.Fatalf("Transfer(\"\") from %s: %v", next.Self, err)
	}
	back := s.holder(s.wait(20))
	if back.Self != old.Self || back.Token <= next.Token {
		t.Errorf("after Transfer(\"\"): holder %s token %d, want %s with a token above %d", back.Self, back.Token, old.Self, next.Token)
	}
}

func testShutdown(t *testing.T, b Backend) {
	ignore := append([]goleak.Option{goleak.IgnoreCurrent()}, b.IgnoreGoroutines...)
	s := start(t, b, []string{"a", "b"})
	old := s.holder(s.wait(20))
	l := s.members[old.Self].lease
	began := time.Now()
	s.stop(old.Self)
	if st := l.Status(); st.Held {
		t.Errorf("%s's Status after Run returned: %+v, want not held", old.Self, st)
	}
	if _, ok := l.Valid(old.Token); ok {
		t.Errorf("%s: Valid(%d) is true after Run returned", old.Self, old.Token)
	}
	if b.HandsOver {
		// A clean stop hands over: the other member need not wait for the
		// stopped holder's lease to run out.
		next := s.holder(s.wait(20))
		if next.Token <= old.Token {
			t.Errorf("after %s stopped: token %d, want above %d", old.Self, next.Token, old.Token)
		}
		t.Logf("%s stopped; %s held %s later", old.Self, next.Self, time.Since(began).Round(time.Millisecond))
	}
	s.close()
	if err := goleak.Find(ignore...); err != nil {
		t.Errorf("goroutines left after every member stopped: %v", err)
	}
}
