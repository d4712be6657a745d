package raft

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	hraft "github.com/hashicorp/raft"
	"go.uber.org/goleak"

	"github.com/vipd/vipd/internal/election"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// raft's leadershipTransfer goroutine is not joined by Shutdown: on
		// the in-memory transport its TimeoutNow RPC to a member that was
		// shut down waits out the transport's 5 s timeout after the test.
		// Not ours to stop, and it ends by itself.
		goleak.IgnoreTopFunction("github.com/hashicorp/raft.(*InmemTransport).makeRPC"),
		goleak.IgnoreTopFunction("github.com/hashicorp/raft.(*Raft).leaderLoop.func2"))
}

// others returns the running members other than name.
func (c *cluster) others(name string) []*member {
	var out []*member
	for _, m := range c.members {
		if m.name != name && m.running() {
			out = append(out, m)
		}
	}
	return out
}

// otherNode returns the eligible node of a, b that is not name.
func otherNode(name string) string {
	if name == "a" {
		return "b"
	}
	return "a"
}

// eligibleAB makes a and b eligible and waits until every member knows.
func (c *cluster) eligibleAB() {
	c.t.Helper()
	c.setEligible("a", true, 100)
	c.setEligible("b", true, 100)
	waitFor(c.t, 10*testLease, "every member knowing that a and b are eligible", func() bool {
		for _, m := range c.members {
			for _, p := range []string{"a", "b"} {
				if m.running() && m.name != p && !c.knows(m.name, p, true) {
					return false
				}
			}
		}
		return true
	})
}

// knows reports whether member name sees peer's eligibility as eligible.
func (c *cluster) knows(name, peer string, eligible bool) bool {
	for _, p := range c.lease(name).Status().Peers {
		if p.Name == peer {
			return p.Eligible == eligible
		}
	}
	return false
}

func TestInitialGrantGoesToAnEligibleNode(t *testing.T) {
	c := newCluster(t, false)
	c.eligibleAB()
	h := c.holder(10 * testLease)
	if h.Self != "a" && h.Self != "b" {
		t.Fatalf("holder = %s, want a or b", h.Self)
	}
	if h.Token == 0 {
		t.Errorf("holder %s has token 0", h.Self)
	}
	if until, ok := c.lease(h.Self).Valid(h.Token); !ok || !until.After(time.Now()) {
		t.Errorf("Valid(%d) on holder = %v, %v; want a future instant, true", h.Token, until, ok)
	}
	if _, ok := c.lease(h.Self).Valid(h.Token - 1); ok {
		t.Errorf("Valid(%d) on holder of token %d = true, want false", h.Token-1, h.Token)
	}
	if _, ok := c.lease("w").Valid(h.Token); ok {
		t.Errorf("Valid(%d) on witness = true, want false", h.Token)
	}
	waitFor(t, 5*testLease, "every member knowing who is eligible", func() bool {
		return c.knows("w", "a", true) && c.knows("w", "b", true) &&
			c.knows("a", "b", true) && c.knows("a", "w", false) && c.knows("b", "a", true)
	})
}

func TestWitnessLeaderHandsLeadershipToAnEligibleNode(t *testing.T) {
	c := newCluster(t, false)
	var leader *Lease
	waitFor(t, 10*testLease, "a raft leader", func() bool {
		for _, m := range c.members {
			if r := m.lease.raft.Load(); r != nil && r.State() == hraft.Leader {
				leader = m.lease
				return true
			}
		}
		return false
	})
	if leader.cfg.Self != "w" {
		// Nobody is eligible, so nothing moves leadership back.
		r := leader.raft.Load()
		if err := r.LeadershipTransferToServer("w", hraft.ServerAddress(c.member("w").addr)).Error(); err != nil {
			t.Fatalf("move raft leadership to the witness: %v", err)
		}
	}
	waitFor(t, 5*testLease, "the witness leading", func() bool {
		r := c.lease("w").raft.Load()
		return r != nil && r.State() == hraft.Leader
	})
	c.setEligible("b", true, 100)
	if h := c.holder(10 * testLease); h.Self != "b" {
		t.Fatalf("holder = %s, want b, the only eligible node", h.Self)
	}
	if n := c.hist.count("w"); n != 0 {
		t.Errorf("witness held %d grants, want 0", n)
	}
}

func TestCrashedHolderIsReplaced(t *testing.T) {
	c := newCluster(t, false)
	c.eligibleAB()
	old := c.holder(10 * testLease)
	next := otherNode(old.Self)

	// A crash: nothing leaves the holder any more, then it stops.
	start := time.Now()
	c.isolate(old.Self, true)
	c.stop(old.Self)
	var got election.Status
	waitFor(t, 6*testLease, "a grant on "+next, func() bool {
		got = c.lease(next).Status()
		return got.Held
	})
	t.Logf("failover after crash took %s (lease %s)", time.Since(start), testLease)
	if got.Token <= old.Token {
		t.Errorf("token after failover = %d, want > %d", got.Token, old.Token)
	}
}

func TestStoppedHolderHandsOver(t *testing.T) {
	c := newCluster(t, false)
	c.eligibleAB()
	old := c.holder(10 * testLease)
	next := otherNode(old.Self)

	start := time.Now()
	c.stop(old.Self)
	h := c.holder(2 * testLease)
	t.Logf("hand-off at clean stop took %s", time.Since(start))
	if h.Self != next || h.Token <= old.Token {
		t.Errorf("holder after clean stop = %s with token %d, want %s with token > %d", h.Self, h.Token, next, old.Token)
	}
}

func TestPartitionedHolderStopsBeforeTheNextGrant(t *testing.T) {
	c := newCluster(t, false)
	c.eligibleAB()
	old := c.holder(10 * testLease)
	next := otherNode(old.Self)

	c.isolate(old.Self, true)
	var got election.Status
	waitFor(t, 6*testLease, "a grant on "+next, func() bool {
		got = c.lease(next).Status()
		return got.Held
	})
	var oldSpan, newSpan span
	for _, g := range c.hist.spans() {
		switch g.token {
		case old.Token:
			oldSpan = g
		case got.Token:
			newSpan = g
		}
	}
	if !oldSpan.dropped {
		t.Fatalf("isolated holder %s still holds token %d after %s got token %d", old.Self, old.Token, next, got.Token)
	}
	if !oldSpan.end.Before(newSpan.start) {
		t.Errorf("isolated holder's grant ended %s after the next grant began", oldSpan.end.Sub(newSpan.start))
	}
	t.Logf("gap between grants: %s", newSpan.start.Sub(oldSpan.end))
	if st := c.lease(old.Self).Status(); st.Held || st.Quorum {
		t.Errorf("isolated holder's status: Held %v, Quorum %v; want both false", st.Held, st.Quorum)
	}

	c.isolate(old.Self, false)
	if h := c.holder(6 * testLease); h.Self != next || h.Token != got.Token {
		t.Errorf("after healing, holder = %s token %d; want %s token %d (nopreempt)", h.Self, h.Token, next, got.Token)
	}
}

func TestWitnessLossChangesNothing(t *testing.T) {
	c := newCluster(t, false)
	c.eligibleAB()
	h := c.holder(10 * testLease)
	grants := len(c.hist.spans())

	stopped := time.Now()
	c.stop("w")
	// Renewals go on: the grant is confirmed again well after the witness
	// left, twice as long as a failover would take.
	waitFor(t, 6*testLease, "renewals after the witness stopped", func() bool {
		st := c.lease(h.Self).Status()
		return !st.Held || st.ValidUntil.After(stopped.Add(2*testLease))
	})
	if st := c.lease(h.Self).Status(); !st.Held || st.Token != h.Token {
		t.Fatalf("holder %s after witness loss: Held %v token %d; want true, %d", h.Self, st.Held, st.Token, h.Token)
	}
	if got := len(c.hist.spans()); got != grants {
		t.Errorf("grants after witness loss = %d, want %d", got, grants)
	}
	if st := c.lease(otherNode(h.Self)).Status(); st.Holder != h.Self || st.Token != h.Token {
		t.Errorf("other node sees holder %s token %d, want %s %d", st.Holder, st.Token, h.Self, h.Token)
	}
}

func TestIneligibleHolderHandsOver(t *testing.T) {
	c := newCluster(t, false)
	c.eligibleAB()
	old := c.holder(10 * testLease)
	next := otherNode(old.Self)

	c.setEligible(old.Self, false, 100)
	if st := c.lease(old.Self).Status(); st.Held {
		t.Errorf("holder still holds after SetEligible(false) returned")
	}
	if _, ok := c.lease(old.Self).Valid(old.Token); ok {
		t.Errorf("Valid(%d) = true after SetEligible(false) returned", old.Token)
	}
	if h := c.holder(3 * testLease); h.Self != next || h.Token <= old.Token {
		t.Errorf("holder = %s token %d, want %s token > %d", h.Self, h.Token, next, old.Token)
	}
}

func TestIneligibleHolderWithoutEligiblePeerReleases(t *testing.T) {
	c := newCluster(t, false)
	c.setEligible("a", true, 100)
	old := c.holder(10 * testLease)
	c.setEligible("a", false, 100)
	waitFor(t, 3*testLease, "every member seeing no holder", func() bool {
		for _, m := range c.members {
			if st := m.lease.Status(); st.Holder != "" || st.Held {
				return false
			}
		}
		return true
	})
	c.setEligible("a", true, 100)
	if h := c.holder(6 * testLease); h.Self != "a" || h.Token <= old.Token {
		t.Errorf("holder = %s token %d, want a token > %d", h.Self, h.Token, old.Token)
	}
}

func TestPreempt(t *testing.T) {
	for _, tc := range []struct {
		name    string
		preempt bool
		want    string
	}{
		{name: "nopreempt keeps the healthy holder", preempt: false, want: "a"},
		{name: "preempt moves the lease to higher priority", preempt: true, want: "b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, tc.preempt)
			c.setEligible("a", true, 100)
			if h := c.holder(10 * testLease); h.Self != "a" {
				t.Fatalf("first holder = %s, want a", h.Self)
			}
			c.setEligible("b", true, 200)
			waitFor(t, 5*testLease, "b's priority reaching the cluster", func() bool {
				return c.lease("a").fsm.state().Nodes["b"] == record{Eligible: true, Priority: 200}
			})
			recorded := time.Now()
			if tc.want == "b" {
				// a holds until the leader's next preempt check (at most
				// a heartbeat timeout away), so wait for the move rather
				// than sample the holder once.
				waitFor(t, 5*testLease, "the lease moving to b", func() bool { return c.lease("b").Status().Held })
				if h := c.holder(5 * testLease); h.Self != "b" {
					t.Fatalf("holder = %s, want b", h.Self)
				}
				return
			}
			waitFor(t, 6*testLease, "renewals after b became eligible", func() bool {
				st := c.lease("a").Status()
				return !st.Held || st.ValidUntil.After(recorded.Add(2*testLease))
			})
			if h := c.holder(time.Second); h.Self != "a" {
				t.Errorf("holder = %s, want a", h.Self)
			}
			if n := c.hist.count("b"); n != 0 {
				t.Errorf("b held %d grants, want 0", n)
			}
		})
	}
}

func TestTransfer(t *testing.T) {
	c := newCluster(t, false)
	c.eligibleAB()
	first := c.holder(10 * testLease)
	other := otherNode(first.Self)
	waitFor(t, 5*testLease, "the witness knowing both nodes are eligible", func() bool {
		return c.knows("w", "a", true) && c.knows("w", "b", true)
	})

	transfer := func(from, to string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		start := time.Now()
		if err := c.lease(from).Transfer(ctx, to); err != nil {
			t.Fatalf("Transfer(%q) on %s: %v", to, from, err)
		}
		t.Logf("Transfer(%q) on %s took %s", to, from, time.Since(start))
	}

	// A follower pulls the lease to itself.
	transfer(other, other)
	if h := c.holder(testLease); h.Self != other || h.Token <= first.Token {
		t.Fatalf("holder = %s token %d, want %s token > %d", h.Self, h.Token, other, first.Token)
	}
	// The witness moves it to "any other".
	transfer("w", "")
	second := c.holder(testLease)
	if second.Self != first.Self {
		t.Fatalf("holder = %s, want %s", second.Self, first.Self)
	}
	// The holder pushes it away.
	transfer(first.Self, "")
	if h := c.holder(testLease); h.Self != other || h.Token <= second.Token {
		t.Fatalf("holder = %s token %d, want %s token > %d", h.Self, h.Token, other, second.Token)
	}
	// Transfer to the holder is done at once.
	transfer("w", other)

	for _, tc := range []struct {
		from, to string
		want     error
	}{
		{from: "a", to: "nobody", want: election.ErrUnknownNode},
		{from: "a", to: "w", want: election.ErrNotEligible},
		{from: "w", to: "w", want: election.ErrNotEligible},
	} {
		if err := c.lease(tc.from).Transfer(t.Context(), tc.to); !errors.Is(err, tc.want) {
			t.Errorf("Transfer(%q) on %s = %v, want %v", tc.to, tc.from, err, tc.want)
		}
	}

	// An ineligible target is refused by the leader, also over the peer RPC.
	c.setEligible(first.Self, false, 100)
	waitFor(t, 5*testLease, "the cluster learning that "+first.Self+" is ineligible", func() bool {
		return c.knows("w", first.Self, false) && c.knows(other, first.Self, false)
	})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if err := c.lease("w").Transfer(ctx, first.Self); !errors.Is(err, election.ErrNotEligible) {
		t.Errorf("Transfer(%q) on w = %v, want %v", first.Self, err, election.ErrNotEligible)
	}
	err := c.lease("w").Transfer(ctx, "")
	if !errors.Is(err, election.ErrNotEligible) {
		t.Errorf("Transfer(\"\") on w with one eligible node = %v, want %v", err, election.ErrNotEligible)
	}
	// It names every member and why it cannot take the lease, and what to
	// do (issue 20: it said only "no other eligible node").
	for _, want := range []string{"transfer lease to another member: ", other + " holds it",
		first.Self + " is not eligible (a failing health check)", "w is a witness", "end its standby"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Transfer(\"\") on w = %v, want it to say %q", err, want)
		}
	}
}

func TestRestartedMemberRejoins(t *testing.T) {
	c := newCluster(t, false)
	c.eligibleAB()
	h := c.holder(10 * testLease)
	other := otherNode(h.Self)

	c.stop(other)
	c.start(other)
	waitFor(t, 10*testLease, other+" rejoining", func() bool {
		st := c.lease(other).Status()
		return st.Quorum && st.Holder == h.Self && st.Token == h.Token
	})
	// A restarted node is ineligible until it says otherwise.
	waitFor(t, 5*testLease, "the cluster learning that the restarted "+other+" is ineligible", func() bool {
		return c.knows("w", other, false) && c.knows(h.Self, other, false)
	})
	c.setEligible(other, true, 100)
	waitFor(t, 5*testLease, "the cluster learning that "+other+" is eligible again", func() bool {
		return c.knows("w", other, true) && c.knows(h.Self, other, true)
	})
	ctx, cancel := context.WithTimeout(t.Context(), 5*testLease)
	defer cancel()
	if err := c.lease("w").Transfer(ctx, other); err != nil {
		t.Fatalf("Transfer(%q) to the restarted node: %v", other, err)
	}

	// The whole cluster restarts: tokens continue from the log.
	last := c.holder(testLease)
	for _, m := range c.members {
		c.stop(m.name)
	}
	for _, m := range c.members {
		c.start(m.name)
	}
	c.eligibleAB()
	if h := c.holder(10 * testLease); h.Token <= last.Token {
		t.Errorf("token after restarting the cluster = %d, want > %d", h.Token, last.Token)
	}
}

func TestQuarantineDelaysRaftAndASingleMemberHolds(t *testing.T) {
	c := newCluster(t, false, spec{name: "solo", priority: 1})
	l := c.lease("solo")
	var started time.Time
	waitFor(t, 5*testLease, "raft starting", func() bool {
		if l.raft.Load() != nil {
			started = time.Now()
			return true
		}
		return false
	})
	if quarantine := started.Sub(l.created); quarantine < l.t.heartbeat {
		t.Errorf("raft started %s after New, want at least the heartbeat timeout %s", quarantine, l.t.heartbeat)
	}
	c.setEligible("solo", true, 1)
	if h := c.holder(5 * testLease); h.Self != "solo" {
		t.Errorf("holder = %s, want solo", h.Self)
	}
	if err := l.SetEligible(t.Context(), false, 1); err != nil {
		t.Fatal(err)
	}
	if st := l.Status(); st.Held {
		t.Error("single member still holds after SetEligible(false)")
	}
}

func TestTransferToAnUnreachableNodeKeepsTheGrant(t *testing.T) {
	c := newCluster(t, false)
	c.eligibleAB()
	h := c.holder(10 * testLease)
	other := otherNode(h.Self)
	c.stop(other)
	waitFor(t, 5*testLease, "the holder seeing "+other+" unreachable", func() bool {
		for _, p := range c.lease(h.Self).Status().Peers {
			if p.Name == other {
				return !p.Reachable
			}
		}
		return false
	})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if err := c.lease("w").Transfer(ctx, other); err == nil || ctx.Err() != nil {
		t.Errorf("Transfer(%q) to a stopped node = %v; want a prompt error", other, err)
	}
	if st := c.lease(h.Self).Status(); !st.Held || st.Token != h.Token {
		t.Errorf("holder %s after the refused transfer: Held %v token %d; want true, %d", h.Self, st.Held, st.Token, h.Token)
	}
}
