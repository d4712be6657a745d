package raft

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/pprof"
	"slices"
	"sync"
	"testing"
	"time"

	hraft "github.com/hashicorp/raft"

	"github.com/vipd/vipd/internal/election"
)

// testLease is the lease duration of the in-memory clusters: short enough
// for quick tests, long enough for a loaded CI machine running -race.
const testLease = 400 * time.Millisecond

// member is one process of a test cluster; it can be stopped and started
// again on the same data directory.
type member struct {
	name     string
	addr     string
	witness  bool
	priority int
	dir      string

	lease *Lease
	trans *hraft.InmemTransport
	stop  context.CancelFunc
	done  chan error
}

func (m *member) running() bool { return m.lease != nil }

// cluster runs members on raft's in-memory transport and an in-memory
// Network, and records every status they publish.
type cluster struct {
	t       *testing.T
	dur     time.Duration // Config.Lease
	preempt bool
	net     *memNet
	members []*member
	hist    *history
	// wrapLog, if set, wraps every member's raft log (Lease.wrapLog).
	wrapLog func(logStableStore) logStableStore
	// wrapTrans, if set, wraps every member's raft transport.
	wrapTrans func(name string, t *hraft.InmemTransport) hraft.Transport
	// old names the members that answer the peer RPC as members from
	// before rpcConfirm (Lease.preConfirm).
	old map[string]bool
}

type spec struct {
	name     string
	witness  bool
	priority int
}

// newCluster starts members (a, b and witness w unless given) and stops
// them when the test ends, then checks the grant history.
func newCluster(t *testing.T, preempt bool, specs ...spec) *cluster {
	t.Helper()
	c := newStoppedCluster(t, preempt, specs...)
	for _, m := range c.members {
		c.start(m.name)
	}
	return c
}

// newStoppedCluster is newCluster without starting the members, for a test
// that prepares their data directories first.
func newStoppedCluster(t *testing.T, preempt bool, specs ...spec) *cluster {
	t.Helper()
	if len(specs) == 0 {
		specs = []spec{{name: "a", priority: 100}, {name: "b", priority: 100}, {name: "w", witness: true}}
	}
	c := &cluster{t: t, dur: testLease, preempt: preempt, net: newMemNet(), hist: newHistory(testLease)}
	for _, s := range specs {
		c.members = append(c.members, &member{
			name: s.name, addr: s.name + ":7946", witness: s.witness, priority: s.priority, dir: t.TempDir(),
		})
	}
	t.Cleanup(func() {
		for _, m := range c.members {
			if m.running() {
				c.stop(m.name)
			}
		}
		c.hist.check(t)
	})
	return c
}

func (c *cluster) member(name string) *member {
	for _, m := range c.members {
		if m.name == name {
			return m
		}
	}
	c.t.Fatalf("no member %q", name)
	return nil
}

func (c *cluster) lease(name string) *Lease { return c.member(name).lease }

// start runs member name's Lease.
func (c *cluster) start(name string) {
	c.t.Helper()
	m := c.member(name)
	// The timeout of the TCP transport vipd runs (Lease.Run): raft's
	// in-memory default, 500 ms, fails an append a follower takes longer
	// to take in, which a TCP connection's buffer does not.
	timeout := 2 * (&Config{Lease: c.dur}).timings().heartbeat
	_, trans := hraft.NewInmemTransportWithTimeout(hraft.ServerAddress(m.addr), timeout)
	cfg := Config{
		Self: m.name, Advertise: m.addr, Witness: m.witness, Priority: m.priority,
		Preempt: c.preempt, Lease: c.dur, DataDir: m.dir,
		Transport: trans, Network: c.net.endpoint(m.addr),
	}
	if c.wrapTrans != nil {
		cfg.Transport = c.wrapTrans(name, trans)
	}
	for _, o := range c.members {
		if o == m {
			continue
		}
		cfg.Peers = append(cfg.Peers, Peer{Name: o.name, Address: o.addr, Witness: o.witness})
		if o.running() {
			trans.Connect(hraft.ServerAddress(o.addr), o.trans)
			o.trans.Connect(hraft.ServerAddress(m.addr), trans)
		}
	}
	logger := slog.New(slog.NewTextHandler(c.t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	l, err := New(cfg, logger)
	if err != nil {
		c.t.Fatalf("New(%s): %v", name, err)
	}
	l.trace = func(st election.Status) { c.hist.record(st) }
	l.wrapLog = c.wrapLog
	l.preConfirm = c.old[name]
	ctx, cancel := context.WithCancel(c.t.Context())
	m.lease, m.trans, m.stop, m.done = l, trans, cancel, make(chan error, 1)
	go func() { m.done <- l.Run(ctx) }()
}

// stop ends member name's Run (a clean shutdown) and waits for it.
func (c *cluster) stop(name string) {
	c.t.Helper()
	m := c.member(name)
	m.stop()
	select {
	case err := <-m.done:
		if err != nil {
			c.t.Errorf("Run(%s) = %v", name, err)
		}
	case <-time.After(10 * c.dur):
		_ = pprof.Lookup("goroutine").WriteTo(c.t.Output(), 1)
		c.t.Fatalf("Run(%s) did not return within %s of its context ending", name, 10*c.dur)
	}
	for _, o := range c.members {
		if o != m && o.running() {
			o.trans.Disconnect(hraft.ServerAddress(m.addr))
		}
	}
	m.lease, m.trans = nil, nil
}

// isolate cuts member name off from every other member (cut) or heals it.
func (c *cluster) isolate(name string, cut bool) {
	m := c.member(name)
	c.net.isolate(m.addr, cut)
	if cut {
		m.trans.DisconnectAll()
	}
	for _, o := range c.members {
		if o == m || !o.running() {
			continue
		}
		if cut {
			o.trans.Disconnect(hraft.ServerAddress(m.addr))
		} else {
			o.trans.Connect(hraft.ServerAddress(m.addr), m.trans)
			m.trans.Connect(hraft.ServerAddress(o.addr), o.trans)
		}
	}
}

func (c *cluster) setEligible(name string, eligible bool, priority int) {
	c.t.Helper()
	if err := c.lease(name).SetEligible(c.t.Context(), eligible, priority); err != nil {
		c.t.Fatalf("SetEligible(%s, %v, %d): %v", name, eligible, priority, err)
	}
}

// holder waits until exactly one running member holds the lease and every
// running member reports it as holder, and returns its status.
func (c *cluster) holder(within time.Duration) election.Status {
	c.t.Helper()
	var held election.Status
	waitFor(c.t, within, "one holder that every member knows", func() bool {
		var holders []election.Status
		for _, m := range c.members {
			if m.running() && m.lease.Status().Held {
				holders = append(holders, m.lease.Status())
			}
		}
		if len(holders) != 1 {
			return false
		}
		held = holders[0]
		for _, m := range c.members {
			if m.running() {
				if st := m.lease.Status(); st.Holder != held.Self || st.Token != held.Token {
					return false
				}
			}
		}
		return true
	})
	return held
}

// waitFor polls cond until it holds or within passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s", what, within)
		}
		select {
		case <-tick.C:
		case <-t.Context().Done():
			t.Fatalf("test ended waiting for %s", what)
		}
	}
}

// history records every grant any member held: when it began (the start of
// the raft operation that committed it, the earliest instant it could count
// from) and when it ended (the earlier of its last ValidUntil and the
// moment its holder published that it no longer holds it).
type history struct {
	valid time.Duration

	mu     sync.Mutex
	grants map[uint64]*span
	held   map[string]uint64 // member -> token it holds now
}

type span struct {
	node       string
	token      uint64
	start, end time.Time
	dropped    bool
}

func newHistory(lease time.Duration) *history {
	cfg := Config{Lease: lease}
	return &history{valid: cfg.timings().valid, grants: map[uint64]*span{}, held: map[string]uint64{}}
}

func (h *history) record(st election.Status) {
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	if prev, ok := h.held[st.Self]; ok && (!st.Held || st.Token != prev) {
		if g := h.grants[prev]; !g.dropped {
			g.dropped = true
			if now.Before(g.end) {
				g.end = now
			}
		}
		delete(h.held, st.Self)
	}
	if !st.Held {
		return
	}
	g, ok := h.grants[st.Token]
	if !ok {
		g = &span{node: st.Self, token: st.Token, start: st.ValidUntil.Add(-h.valid)}
		h.grants[st.Token] = g
	}
	if g.node != st.Self {
		panic(fmt.Sprintf("token %d held by %s and %s", st.Token, g.node, st.Self))
	}
	if !g.dropped && st.ValidUntil.After(g.end) {
		g.end = st.ValidUntil
	}
	h.held[st.Self] = st.Token
}

// spans returns the grants in token order.
func (h *history) spans() []span {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []span
	for _, g := range h.grants {
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b span) int { return int(a.token) - int(b.token) })
	return out
}

// check asserts the invariants of every scenario: grants begin in token
// order and each ends before the next begins.
func (h *history) check(t *testing.T) {
	t.Helper()
	gs := h.spans()
	for i := 1; i < len(gs); i++ {
		prev, next := gs[i-1], gs[i]
		if !prev.start.Before(next.start) {
			t.Errorf("grant %d (%s) began before grant %d (%s): tokens must grow with time", next.token, next.node, prev.token, prev.node)
		}
		if prev.end.After(next.start) {
			t.Errorf("grant %d (%s) was valid until %s after grant %d (%s) began", prev.token, prev.node, prev.end.Sub(next.start), next.token, next.node)
		}
	}
}

// count returns how many grants member node held so far.
func (h *history) count(node string) int {
	n := 0
	for _, g := range h.spans() {
		if g.node == node {
			n++
		}
	}
	return n
}
