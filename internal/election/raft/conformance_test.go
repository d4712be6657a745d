package raft

import (
	"context"
	"log/slog"
	"testing"
	"time"

	hraft "github.com/hashicorp/raft"
	"go.uber.org/goleak"

	"github.com/vipd/vipd/internal/election"
	"github.com/vipd/vipd/internal/election/electiontest"
)

// conformanceLease is short enough for a quick suite and long enough for a
// loaded machine running -race.
const conformanceLease = time.Second

func TestConformance(t *testing.T) {
	electiontest.Conformance(t, electiontest.Backend{
		NewCluster:  newConformanceCluster,
		Lease:       conformanceLease,
		Transfers:   true,
		HandsOver:   true,
		KnowsHolder: true,
		// See TestMain: raft's leadership-transfer RPC to a stopped member
		// outlives Shutdown on the in-memory transport.
		IgnoreGoroutines: []goleak.Option{
			goleak.IgnoreTopFunction("github.com/hashicorp/raft.(*InmemTransport).makeRPC"),
			goleak.IgnoreTopFunction("github.com/hashicorp/raft.(*Raft).leaderLoop.func2"),
		},
	})
}

// conformanceCluster is the candidates plus a witness "w" on the
// in-memory transport and Network; the witness runs until Close.
type conformanceCluster struct {
	net    *memNet
	leases map[string]*Lease
	trans  map[string]*hraft.InmemTransport
	addrs  map[string]string
	stopW  context.CancelFunc
	wDone  chan error
	t      *testing.T
}

func newConformanceCluster(t *testing.T, names []string) electiontest.Harness {
	c := &conformanceCluster{net: newMemNet(), leases: map[string]*Lease{}, trans: map[string]*hraft.InmemTransport{},
		addrs: map[string]string{}, t: t}
	all := append(append([]string(nil), names...), "w")
	for _, n := range all {
		c.addrs[n] = n + ":7946"
		_, c.trans[n] = hraft.NewInmemTransport(hraft.ServerAddress(c.addrs[n]))
	}
	for _, n := range all {
		cfg := Config{Self: n, Advertise: c.addrs[n], Witness: n == "w", Priority: 100, Lease: conformanceLease,
			DataDir: t.TempDir(), Transport: c.trans[n], Network: c.net.endpoint(c.addrs[n])}
		for _, o := range all {
			if o == n {
				continue
			}
			cfg.Peers = append(cfg.Peers, Peer{Name: o, Address: c.addrs[o], Witness: o == "w"})
			c.trans[n].Connect(hraft.ServerAddress(c.addrs[o]), c.trans[o])
		}
		l, err := New(cfg, slog.New(slog.NewTextHandler(t.Output(), nil)))
		if err != nil {
			t.Fatalf("New(%s): %v", n, err)
		}
		c.leases[n] = l
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.stopW, c.wDone = cancel, make(chan error, 1)
	go func() { c.wDone <- c.leases["w"].Run(ctx) }()
	return c
}

func (c *conformanceCluster) Lease(name string) election.Lease { return c.leases[name] }

func (c *conformanceCluster) Isolate(name string) { c.cut(name, true) }
func (c *conformanceCluster) Heal(name string)    { c.cut(name, false) }

func (c *conformanceCluster) cut(name string, cut bool) {
	addr := hraft.ServerAddress(c.addrs[name])
	c.net.isolate(c.addrs[name], cut)
	if cut {
		c.trans[name].DisconnectAll()
	}
	for o, tr := range c.trans {
		if o == name {
			continue
		}
		if cut {
			tr.Disconnect(addr)
		} else {
			tr.Connect(addr, c.trans[name])
			c.trans[name].Connect(hraft.ServerAddress(c.addrs[o]), tr)
		}
	}
}

func (c *conformanceCluster) Close() {
	c.stopW()
	select {
	case err := <-c.wDone:
		if err != nil {
			c.t.Errorf("witness Run = %v", err)
		}
	case <-time.After(10 * conformanceLease):
		c.t.Errorf("witness Run did not return within %s", 10*conformanceLease)
	}
}
