package raft

import (
	"sync/atomic"
	"testing"
	"time"

	hraft "github.com/hashicorp/raft"
)

// slowLog is a raft log whose disk can be made slow: every append waits
// delay (nanoseconds) before it is stored and fsynced, as on a busy host.
type slowLog struct {
	logStableStore
	delay *atomic.Int64
}

func (s slowLog) StoreLog(l *hraft.Log) error {
	time.Sleep(time.Duration(s.delay.Load()))
	return s.logStableStore.StoreLog(l)
}

func (s slowLog) StoreLogs(ls []*hraft.Log) error {
	time.Sleep(time.Duration(s.delay.Load()))
	return s.logStableStore.StoreLogs(ls)
}

// A renewal commits only after two appends in a row, the leader's and then
// a follower's, each with its fsync. On a busy host that takes longer than
// the renewal period, and when each renewal waited for the previous one
// the grant lapsed between two commits that each came in time: the tuned
// profile's holder lost and won its lease again during failovers (issue
// 16, finding 9). Here, once a holds, every append takes 0.2 ×
// HeartbeatTimeout before its real fsync, so a renewal commits more than
// 0.4 × HeartbeatTimeout after it started: more than half of the 0.8 ×
// HeartbeatTimeout a confirmation keeps the grant valid, so renewals that
// wait for each other cannot keep up. Side by side they commit about 0.45
// × HeartbeatTimeout after their start (the leader stores the next barrier
// while a follower stores the last), less than the validity less the 0.25
// × renewal period. The holder must keep its grant, under one token, with
// no overlap.
func TestSlowDiskKeepsTheGrant(t *testing.T) {
	const lease = 8 * time.Second
	timings := (&Config{Lease: lease}).timings()
	var delay atomic.Int64
	c := newStoppedCluster(t, false)
	c.dur, c.hist = lease, newHistory(lease)
	c.wrapLog = func(s logStableStore) logStableStore { return slowLog{s, &delay} }
	for _, m := range c.members {
		c.start(m.name)
	}
	c.setEligible("a", true, 100)
	h := c.holder(10 * lease)
	if h.Self != "a" {
		t.Fatalf("holder = %s, want a, the only eligible node", h.Self)
	}
	delay.Store(int64(timings.heartbeat / 5))
	watch := 5 * timings.renew
	for end := time.Now().Add(watch); time.Now().Before(end); time.Sleep(timings.renew / 10) {
		st := c.lease("a").Status()
		if !st.Held || st.Token != h.Token {
			t.Fatalf("a lost grant %d within %s of its disk turning slow: now held %v with token %d", h.Token, watch, st.Held, st.Token)
		}
	}
	delay.Store(0)
}
