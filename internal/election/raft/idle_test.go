package raft

import (
	"sync"
	"testing"
	"time"

	hraft "github.com/hashicorp/raft"
)

// appendCounter is a member's raft transport that counts the
// AppendEntries it sends to each peer that carry no entry and are not
// raft's heartbeats: commit-index updates, which raft sends every
// CommitTimeout when nothing else was sent.
type appendCounter struct {
	*hraft.InmemTransport
	mu    sync.Mutex
	empty map[hraft.ServerAddress]int
	full  map[hraft.ServerAddress]int
}

func (a *appendCounter) count(target hraft.ServerAddress, req *hraft.AppendEntriesRequest) {
	// raft's heartbeats carry neither the previous entry nor the commit
	// index (replication.go heartbeat).
	if req.PrevLogEntry == 0 && req.LeaderCommitIndex == 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(req.Entries) == 0 {
		a.empty[target]++
	} else {
		a.full[target]++
	}
}

func (a *appendCounter) counts(target hraft.ServerAddress) (empty, full int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.empty[target], a.full[target]
}

func (a *appendCounter) AppendEntries(id hraft.ServerID, target hraft.ServerAddress, req *hraft.AppendEntriesRequest, resp *hraft.AppendEntriesResponse) error {
	a.count(target, req)
	return a.InmemTransport.AppendEntries(id, target, req, resp)
}

func (a *appendCounter) AppendEntriesPipeline(id hraft.ServerID, target hraft.ServerAddress) (hraft.AppendPipeline, error) {
	p, err := a.InmemTransport.AppendEntriesPipeline(id, target)
	if err != nil {
		return nil, err
	}
	return countedPipeline{p, a, target}, nil
}

type countedPipeline struct {
	hraft.AppendPipeline
	a      *appendCounter
	target hraft.ServerAddress
}

func (p countedPipeline) AppendEntries(req *hraft.AppendEntriesRequest, resp *hraft.AppendEntriesResponse) (hraft.AppendFuture, error) {
	p.a.count(p.target, req)
	return p.AppendPipeline.AppendEntries(req, resp)
}

// An idle holder writes nothing to the raft log: renewals ask the
// followers (rpcConfirm) on a connection kept per follower, and an append
// with its fsync on three hosts per renewal, or a connection per renewal,
// would be most of an idle primary's CPU (issue 17). raft's own
// commit-index updates (CommitTimeout) were the largest idle cost once:
// with raft's default of 50 ms each follower got an empty append every
// 50-100 ms besides the heartbeats, a pipelined RPC each, and the idle
// primary used 3.5 % of a core in the benchmark. The holder must send each
// follower no append with entries, fewer empty appends than renewal
// periods, and open few connections to it.
func TestIdleHolderWritesNothingAndKeepsItsConnections(t *testing.T) {
	const lease = 2 * time.Second // vipd's default: CommitTimeout was then 50 ms
	timings := (&Config{Lease: lease}).timings()
	c := newStoppedCluster(t, false)
	c.dur, c.hist = lease, newHistory(lease)
	counters := map[string]*appendCounter{}
	c.wrapTrans = func(name string, tr *hraft.InmemTransport) hraft.Transport {
		a := &appendCounter{InmemTransport: tr, empty: map[hraft.ServerAddress]int{}, full: map[hraft.ServerAddress]int{}}
		counters[name] = a
		return a
	}
	for _, m := range c.members {
		c.start(m.name)
	}
	c.setEligible("a", true, 100)
	h := c.holder(10 * lease)
	if h.Self != "a" {
		t.Fatalf("holder = %s, want a, the only eligible node", h.Self)
	}
	// Let the eligibility records and the first renewals settle.
	time.Sleep(timings.heartbeat)
	a := counters["a"]
	watch := 2 * lease
	before := map[string][3]int{}
	for _, f := range []string{"b", "w"} {
		addr := c.member(f).addr
		e, n := a.counts(hraft.ServerAddress(addr))
		before[f] = [3]int{e, n, c.net.dialed(c.member("a").addr, addr)}
	}
	time.Sleep(watch)
	if st := c.lease("a").Status(); !st.Held || st.Token != h.Token {
		t.Fatalf("a lost grant %d while idle: held %v, token %d", h.Token, st.Held, st.Token)
	}
	renewals := int(watch / timings.renew)
	for _, f := range []string{"b", "w"} {
		addr := c.member(f).addr
		e, n := a.counts(hraft.ServerAddress(addr))
		empty, full := e-before[f][0], n-before[f][1]
		dials := c.net.dialed(c.member("a").addr, addr) - before[f][2]
		t.Logf("to %s in %s: %d appends with entries, %d empty, %d connections opened; %d renewal periods", f, watch, full, empty, dials, renewals)
		if full > 0 {
			t.Errorf("idle holder sent %s %d appends with entries in %s: renewals write the log", f, full, watch)
		}
		if empty >= renewals {
			t.Errorf("holder sent %s %d empty appends in %s (%d renewal periods of %s), want fewer than %d: "+
				"commit-index updates more often than renewals", f, empty, watch, renewals, timings.renew, renewals)
		}
		if dials >= renewals/2 {
			t.Errorf("holder opened %d connections to %s in %s, %d renewal periods: want its confirms on one", dials, f, watch, renewals)
		}
	}
}

// Each member reports to the leader three times per heartbeat timeout, or
// answers the holder's confirms with its report; a new connection per
// report (an accept, a goroutine and, over TLS, a handshake on the leader)
// was a fifth of an idle primary's CPU (issue 17). The reports keep one
// connection to the leader, and the view reaches every member.
func TestReportsReuseTheirConnection(t *testing.T) {
	const lease = 2 * time.Second
	timings := (&Config{Lease: lease}).timings()
	c := newCluster(t, false)
	c.setEligible("a", true, 100)
	if h := c.holder(10 * lease); h.Self != "a" {
		t.Fatalf("holder = %s, want a, the only eligible node", h.Self)
	}
	leader := c.member("a").addr
	count := func() map[string]int {
		n := map[string]int{}
		for _, f := range []string{"b", "w"} {
			n[f] = c.net.dialed(c.member(f).addr, leader)
		}
		return n
	}
	// Let a's view settle (a new leader's members ping it once).
	time.Sleep(timings.heartbeat)
	before := count()
	watch := 2 * lease
	time.Sleep(watch)
	after := count()
	reports := int(watch / timings.reportEvery)
	for _, f := range []string{"b", "w"} {
		n := after[f] - before[f]
		t.Logf("%s opened %d connections to the leader in %s (%d report periods)", f, n, watch, reports)
		// A member whose view goes stale on a loaded host pings the
		// leader too, on a connection of its own.
		if n >= reports/2 {
			t.Errorf("%s opened %d connections to the leader in %s, %d report periods: want the reports on one", f, n, watch, reports)
		}
		// The reports did go on: the leader's view reached the member.
		if st := c.lease(f).Status(); st.ViewAge > timings.contactTimeout {
			t.Errorf("%s's view of the cluster is %s old, want under %s: reports not answered", f, st.ViewAge, timings.contactTimeout)
		}
	}
}
