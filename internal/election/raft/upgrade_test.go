package raft

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/election"
)

// During a rolling upgrade some voters are members from before rpcConfirm,
// which answer a confirm as "not the raft leader" (rpcServer.noConfirm).
// When the confirms of the members that know them make no majority, the
// holder renews by committing a raft barrier instead (loop.startRenew,
// errOldMembers): it must keep its grant under one token for several
// lease periods, and its log must grow by those barriers.
func TestOlderMembersKeepTheGrantByBarrier(t *testing.T) {
	for _, tc := range []struct {
		name string
		old  []string
		down string
	}{
		{name: "old b, w down", old: []string{"b"}, down: "w"},
		{name: "old b and w", old: []string{"b", "w"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newStoppedCluster(t, false)
			// A barrier waits for fsyncs on two hosts: the default
			// lease's margin, not the tests' 400 ms one, is what a
			// loaded host gives it during an upgrade.
			c.dur, c.hist = time.Second, newHistory(time.Second)
			c.old = map[string]bool{}
			for _, o := range tc.old {
				c.old[o] = true
			}
			for _, m := range c.members {
				c.start(m.name)
			}
			timings := (&Config{Lease: c.dur}).timings()
			c.setEligible("a", true, 100)
			h := c.holder(10 * c.dur)
			if h.Self != "a" {
				t.Fatalf("holder = %s, want a, the only eligible node", h.Self)
			}
			// An older follower answers a confirm as its handle's
			// default did: not the raft leader.
			term := c.lease("a").raft.Load().CurrentTerm()
			for _, o := range tc.old {
				ctx, cancel := context.WithTimeout(t.Context(), c.dur)
				_, err := callResponse(ctx, c.net.endpoint(c.member("a").addr), c.member(o).addr, c.dur,
					rpcRequest{Op: rpcConfirm, From: "a", Term: term})
				cancel()
				if !errors.Is(err, errNotLeader) {
					t.Fatalf("confirm from leader a to older member %s: %v, want %v", o, err, errNotLeader)
				}
			}
			if tc.down != "" {
				c.isolate(tc.down, true)
				c.stop(tc.down)
			}
			r := c.lease("a").raft.Load()
			first := r.LastIndex()
			watch := 5 * c.dur
			for end := time.Now().Add(watch); time.Now().Before(end); time.Sleep(timings.renew / 10) {
				st := c.lease("a").Status()
				if !st.Held || st.Token != h.Token {
					t.Fatalf("a lost grant %d within %s with %v answering as older members: now held %v with token %d",
						h.Token, watch, tc.old, st.Held, st.Token)
				}
			}
			// A renewal every timings.renew; allow for the ones a
			// loaded host delays.
			if n, want := r.LastIndex()-first, uint64(watch/timings.renew/4); n < want {
				t.Errorf("a's log grew by %d entries in %s, want at least %d barriers", n, watch, want)
			}
		})
	}
}

// While a holder renews, its confirms carry the members' reports and
// members skip their own (members.go). When the confirms stop (here the
// holder becomes ineligible and nobody else may hold), the members must
// report again: a change of b's health must reach the leader's view, and
// from it the witness's, within a bounded time.
func TestReportsResumeWhenConfirmsStop(t *testing.T) {
	c := newCluster(t, false)
	c.report()
	c.setEligible("a", true, 100)
	if h := c.holder(10 * c.dur); h.Self != "a" {
		t.Fatalf("holder = %s, want a, the only eligible node", h.Self)
	}
	b := c.lease("b")
	waitFor(t, 10*c.dur, "b taking its view from a's confirms", func() bool {
		return b.members.confirmedBy(time.Now(), "a", b.t.reportEvery)
	})

	c.setEligible("a", false, 100)
	waitFor(t, 10*c.dur, "a releasing the grant", func() bool {
		for _, m := range c.members {
			if st := m.lease.Status(); st.Held || st.Holder != "" {
				return false
			}
		}
		return true
	})
	b.Report(election.Report{Role: "backup", Healthy: false, Since: time.Now()})
	changed := time.Now()
	// A report every reportEvery once the last confirm is reportEvery
	// old; the witness hears the leader's view as often.
	within := 2 * c.dur
	for _, viewer := range []string{"leader", "w"} {
		waitFor(t, within, viewer+"'s view showing b unhealthy", func() bool {
			name := viewer
			if name == "leader" {
				name = b.Status().Leader
				if name == "" || name == "b" {
					return false
				}
			}
			p, ok := c.peerOf(name, "b")
			return ok && p.Reachable && !p.Healthy
		})
		t.Logf("%s's view showed b unhealthy %s after the change", viewer, time.Since(changed))
	}
}
