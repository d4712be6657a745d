package raft

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	hraft "github.com/hashicorp/raft"
)

// A member whose raft log was moved aside (the way out of ErrCorruptLog)
// must not help elect a member that lacks committed entries: here the
// witness, cut off while the newest grant was committed by the two nodes,
// would win with the vote of the node that lost its log once the holder
// fails too, and grant a token below the holder's. The member follows
// without voting until it has the log again; the cluster then waits for the
// holder, and every later token is above its (issue 16, finding 1: tokens
// stay monotonic after the operator's documented recovery and another
// failure).
func TestLostLogWithholdsVoteUntilCaughtUp(t *testing.T) {
	c := newCluster(t, false)
	c.eligibleAB()
	first := c.holder(10 * c.dur)
	lost, holder := first.Self, otherNode(first.Self)

	// w falls behind; the lease moves to the other node with the first
	// one's vote, and is renewed for a while, so that the new token is
	// past the end of w's log.
	c.isolate("w", true)
	ctx, cancel := context.WithTimeout(t.Context(), 10*c.dur)
	defer cancel()
	if err := c.lease(lost).Transfer(ctx, holder); err != nil {
		t.Fatalf("Transfer(%s): %v", holder, err)
	}
	time.Sleep(3 * c.dur)

	// The operator's recovery on the first node: stop, move its log
	// aside, start. The holder fails meanwhile, and w comes back.
	c.stop(lost)
	// Without the first node, the holder commits nothing more: its grant
	// is the newest.
	newest := c.lease(holder).fsm.state().Grant
	if newest.Holder != holder || newest.Token <= first.Token {
		t.Fatalf("newest grant %+v, want %s's, above %d", newest, holder, first.Token)
	}
	dir := c.member(lost).dir
	if err := os.Rename(filepath.Join(dir, "wal"), filepath.Join(dir, "wal.corrupt")); err != nil {
		t.Fatal(err)
	}
	c.stop(holder)
	c.isolate("w", false)
	c.start(lost)
	c.setEligible(lost, true, 100)

	// The restarted node and w are a majority, but w lacks the newest
	// grant: nobody may hold.
	deadline := time.Now().Add(8 * c.dur)
	for time.Now().Before(deadline) {
		for _, n := range []string{lost, "w"} {
			if st := c.lease(n).Status(); st.Held || st.Holder != "" && st.Token <= newest.Token {
				t.Fatalf("%s sees holder %s with token %d after %s (token %d) failed, with only %s (log moved aside) and w (behind) up",
					n, st.Holder, st.Token, holder, newest.Token, lost)
			}
		}
		time.Sleep(5 * time.Millisecond)
	}

	// The holder returns: the cluster elects a member with the log, the
	// restarted node receives it, and the next grants are above.
	c.start(holder)
	c.setEligible(holder, true, 100)
	h := c.holder(20 * c.dur)
	if h.Token <= newest.Token {
		t.Errorf("holder %s has token %d, want above %d", h.Self, h.Token, newest.Token)
	}
	waitFor(t, 20*c.dur, "the restarted node voting again (its rejoin record removed)", func() bool {
		_, err := os.Stat(filepath.Join(dir, rejoinMarker))
		return os.IsNotExist(err)
	})
	// It votes again: with the other node gone once more, it and w elect
	// it holder.
	c.stop(holder)
	h2 := c.holder(20 * c.dur)
	if h2.Self != lost || h2.Token <= h.Token {
		t.Errorf("after %s stopped again holder %s token %d, want %s with a token above %d", holder, h2.Self, h2.Token, lost, h.Token)
	}
}

// A leader that confirmed a grant at S refuses every vote until S +
// HeartbeatTimeout, even one its raft grants after stepping down (package
// doc, step 3), except a leadership transfer's, which only the holder
// starts. The fence acts on raft's answer, so a vote raft took in before
// the fence stood is refused too.
func TestFenceRefusesVotesRaftGrants(t *testing.T) {
	_, voter := hraft.NewInmemTransport("voter:7946")
	_, candidate := hraft.NewInmemTransport("candidate:7946")
	candidate.Connect("voter:7946", voter)
	g := newVoteGate(voter, false, time.Hour, func() {})
	defer g.Close()
	defer candidate.Close()

	// vote asks the gated voter for a vote, which raft (here: the test)
	// grants, and returns whether the candidate got it.
	vote := func(transfer bool, before func()) bool {
		t.Helper()
		got := make(chan bool, 1)
		go func() {
			var resp hraft.RequestVoteResponse
			err := candidate.RequestVote("voter", "voter:7946", &hraft.RequestVoteRequest{
				RPCHeader: hraft.RPCHeader{ID: []byte("candidate"), Addr: []byte("candidate:7946")}, Term: 2, LeadershipTransfer: transfer,
			}, &resp)
			got <- err == nil && resp.Granted
		}()
		select {
		case rpc := <-g.Consumer():
			before()
			rpc.Respond(&hraft.RequestVoteResponse{Term: 2, Granted: true}, nil)
		case <-time.After(5 * time.Second):
			t.Fatal("the vote request did not reach raft")
		}
		return <-got
	}
	if !vote(false, func() {}) {
		t.Error("vote granted without a fence did not reach the candidate")
	}
	// The fence goes up after the request passed the gate, before raft
	// answers it.
	if vote(false, func() { g.fence(time.Now().Add(time.Hour)) }) {
		t.Error("vote granted while fenced reached the candidate")
	}
	if !vote(true, func() {}) {
		t.Error("a leadership transfer's vote granted while fenced did not reach the candidate")
	}
	// An earlier instant does not lower the fence.
	g.fence(time.Now())
	if vote(false, func() {}) {
		t.Error("vote granted after an earlier fence did not lower it reached the candidate")
	}
}
