package raft

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/election"
)

// report makes every running member report a role, as the node loop does.
func (c *cluster) report() {
	for _, m := range c.members {
		if !m.running() {
			continue
		}
		role := "backup"
		if m.witness {
			role = "witness"
		}
		m.lease.Report(election.Report{Role: role, Healthy: true, Since: time.Now()})
	}
}

// peerOf returns peer as member name's Status shows it.
func (c *cluster) peerOf(name, peer string) (election.Peer, bool) {
	for _, p := range c.lease(name).Status().Peers {
		if p.Name == peer {
			return p, true
		}
	}
	return election.Peer{}, false
}

// Issue 20: on a follower only the raft leader showed as reachable (the
// witness reported a running node unreachable), and a crashed node still
// showed eligible. Every member now shows the leader's view: every running
// member reachable, with the role it reported; a crashed one unreachable
// and not eligible, on every member.
func TestEveryMemberSeesTheLeadersView(t *testing.T) {
	c := newCluster(t, false)
	c.eligibleAB()
	c.report()
	old := c.holder(10 * testLease)

	waitFor(t, 10*testLease, "every member seeing every other member reachable, with its role", func() bool {
		for _, m := range c.members {
			for _, o := range c.others(m.name) {
				p, ok := c.peerOf(m.name, o.name)
				if !ok || !p.Reachable || p.Role == "" || p.LastContact.IsZero() {
					return false
				}
			}
		}
		return true
	})
	for _, name := range []string{"a", "b"} {
		p, _ := c.peerOf("w", name)
		if !p.Eligible || !p.Healthy || p.Role != "backup" {
			t.Errorf("witness's view of %s = %+v, want reachable, eligible, healthy, role backup", name, p)
		}
	}
	if st := c.lease("w").Status(); st.Leader == "" || st.Holder != old.Self || st.HolderSince.IsZero() {
		t.Errorf("witness status: leader %q, holder %q since %v; want a leader, holder %s with its grant time", st.Leader, st.Holder, st.HolderSince, old.Self)
	}

	// A crash of the holder: nothing leaves it any more, then it stops.
	crashed := old.Self
	start := time.Now()
	c.isolate(crashed, true)
	c.stop(crashed)
	waitFor(t, 6*testLease, "every member seeing "+crashed+" down and not eligible", func() bool {
		for _, o := range c.others(crashed) {
			p, _ := c.peerOf(o.name, crashed)
			if p.Reachable || p.Eligible {
				return false
			}
		}
		return true
	})
	t.Logf("crashed holder shown down on every member after %s (lease %s)", time.Since(start), testLease)
	waitFor(t, 6*testLease, "the survivors seeing each other reachable again", func() bool {
		for _, o := range c.others(crashed) {
			for _, p := range c.others(crashed) {
				if p == o {
					continue
				}
				if pp, _ := c.peerOf(o.name, p.name); !pp.Reachable {
					return false
				}
			}
		}
		return true
	})
	t.Logf("survivors in contact again after %s", time.Since(start))
}

// vipd standby is cluster-wide and lasts: set from the witness, it moves
// the grant away from the holder, every member shows it, and the node
// stays out after a restart until standby is turned off.
func TestStandbyIsReplicatedAndSurvivesRestart(t *testing.T) {
	c := newCluster(t, false)
	c.eligibleAB()
	old := c.holder(10 * testLease)
	held, next := old.Self, otherNode(old.Self)

	ctx, cancel := context.WithTimeout(t.Context(), 10*testLease)
	defer cancel()
	if err := c.lease("w").SetStandby(ctx, held, true); err != nil {
		t.Fatalf("SetStandby(%s) from the witness: %v", held, err)
	}
	got := c.holder(10 * testLease)
	if got.Self != next || got.Token <= old.Token {
		t.Fatalf("after standby of %s: holder %s token %d, want %s with a token above %d", held, got.Self, got.Token, next, old.Token)
	}
	waitFor(t, 10*testLease, "every member showing "+held+" in standby", func() bool {
		for _, o := range c.others(held) {
			if p, _ := c.peerOf(o.name, held); !p.Standby || p.Eligible {
				return false
			}
		}
		return c.lease(held).Status().Standby
	})
	// A switchover to any other member says why none can take it.
	err := c.lease("w").Transfer(ctx, "")
	for _, want := range []string{next + " holds it", held + " is in standby (vipd standby off --node " + held + ")", "w is a witness"} {
		if !errors.Is(err, election.ErrNotEligible) || !strings.Contains(err.Error(), want) {
			t.Errorf("Transfer(\"\") with %s in standby = %v, want ErrNotEligible saying %q", held, err, want)
		}
	}

	// Restart the node in standby: it remembers, and does not take the
	// grant even when the holder leaves.
	c.stop(held)
	c.start(held)
	c.setEligible(held, true, 100)
	waitFor(t, 10*testLease, held+" knowing it is in standby after a restart", func() bool {
		return c.lease(held).Status().Standby
	})
	if err := c.lease(held).Transfer(ctx, held); err == nil {
		t.Errorf("Transfer to %s in standby succeeded, want refused", held)
	}
	c.stop(next)
	time.Sleep(3 * testLease) // long enough for a failover that must not happen
	if st := c.lease(held).Status(); st.Held {
		t.Fatalf("%s in standby took the grant (token %d) when the holder left", held, st.Token)
	}
	c.start(next)
	c.setEligible(next, true, 100)
	c.holder(10 * testLease)

	// Standby off, from the node itself: it may hold again.
	if err := c.lease(held).SetStandby(ctx, held, false); err != nil {
		t.Fatalf("SetStandby(%s, off): %v", held, err)
	}
	waitFor(t, 10*testLease, "the witness seeing "+held+" eligible again", func() bool {
		p, _ := c.peerOf("w", held)
		return !p.Standby && p.Eligible
	})
	if err := c.lease("w").Transfer(ctx, held); err != nil {
		t.Fatalf("Transfer to %s after standby off: %v", held, err)
	}
	if err := c.lease("a").SetStandby(ctx, "w", true); err == nil {
		t.Errorf("SetStandby of the witness succeeded, want refused")
	}
}

// Issue 20: a node whose peers are unreachable from the start logged
// nothing after "election started". It now says that no quorum was
// reached, which peers are missing, and the likely cause of each: here
// one port nothing listens on, and one where a program accepts but does
// not answer as a vipd member.
func TestQuorumNotReachedNamesMissingPeersAndCause(t *testing.T) {
	refused, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedAddr := refused.Addr().String()
	refused.Close()
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held sync.WaitGroup
	defer func() {
		silent.Close()
		held.Wait()
	}()
	held.Go(func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c) // accepted, never answered
		}
	})
	self, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	selfAddr := self.Addr().String()
	self.Close()

	var logs syncBuffer
	l, err := New(Config{Self: "a", Advertise: selfAddr, Lease: testLease, DataDir: t.TempDir(),
		Peers: []Peer{{Name: "b", Address: refusedAddr}, {Name: "w", Address: silent.Addr().String(), Witness: true}}},
		slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	waitFor(t, 15*testLease, "a log line saying no quorum was reached", func() bool {
		return strings.Contains(logs.String(), "quorum not reached since start")
	})
	var line string
	for _, ln := range strings.Split(logs.String(), "\n") {
		if strings.Contains(ln, "quorum not reached since start") {
			line = ln
			break
		}
	}
	for _, want := range []string{
		"1 of 3 members in contact, 2 needed",
		"b (out of contact since start: connection refused by " + refusedAddr,
		"w (out of contact since start: " + silent.Addr().String() + " accepts connections but does not answer as a vipd member",
	} {
		if !strings.Contains(line, want) {
			t.Errorf("log line lacks %q:\n%s", want, line)
		}
	}
	st := l.Status()
	if st.Quorum || len(st.Peers) != 2 {
		t.Fatalf("status: quorum %v, %d peers; want no quorum, 2 peers", st.Quorum, len(st.Peers))
	}
	for _, p := range st.Peers {
		if p.Reachable || p.Problem == "" {
			t.Errorf("peer %+v: want unreachable with its problem", p)
		}
	}
}

// The causes an operator reads in "peer down" and "quorum lost" lines.
func TestCauseOfAFailedPing(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("peer rpc ping: dial 10.0.2.10:7946: %w", context.DeadlineExceeded),
			"no answer from 10.0.2.10:7946: a security group, firewall or a wrong address drops the traffic"},
		{fmt.Errorf("peer rpc ping: dial 10.0.2.10:7946: %w", &HandshakeError{Peer: "b", Address: "10.0.2.10:7946", Err: fmt.Errorf("x509: unknown authority")}),
			"TLS handshake with 10.0.2.10:7946 failed"},
		{fmt.Errorf("peer rpc ping to 10.0.2.10:7946: receive: %w: EOF", ErrNoAnswer),
			"accepts connections but does not answer as a vipd member"},
	} {
		if got := cause(tc.err, "10.0.2.10:7946"); !strings.Contains(got, tc.want) {
			t.Errorf("cause(%v) = %q, want it to contain %q", tc.err, got, tc.want)
		}
	}
}
