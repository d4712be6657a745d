package simcluster

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// flood is a set of idle connections to a member's cluster port.
type flood struct {
	conns []net.Conn
}

// floodBudget bounds how long opening a flood may take.
const floodBudget = 3 * time.Second

// Flood opens up to n connections to a member's cluster (raft) port, in
// turn from the client's and the other members' namespaces, that never
// send a byte; close ends them. It stops early when the budget runs out
// or dials keep failing, and reports how many it holds.
func (c *Cluster) Flood(ctx context.Context, name string, n int) (*flood, error) {
	m := c.Host(name)
	var from []string
	for _, o := range c.Hosts {
		if o != m {
			from = append(from, o.InstanceID)
		}
	}
	from = append(from, c.o.Client)
	target, err := netip.ParseAddrPort(m.Advertise)
	if err != nil {
		return nil, fmt.Errorf("flood %s's cluster port: %w", name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, floodBudget)
	defer cancel()
	f := &flood{}
	var failures int
	var lastErr error
	for i := 0; i < n && ctx.Err() == nil && failures < 10; i++ {
		dctx, dcancel := context.WithTimeout(ctx, 300*time.Millisecond)
		conn, err := c.Fab.Dial(from[i%len(from)], target)(dctx)
		dcancel()
		if err != nil {
			failures++
			lastErr = err
			continue
		}
		f.conns = append(f.conns, conn)
	}
	if len(f.conns) == 0 {
		return nil, fmt.Errorf("flood %s's cluster port: no connection opened: %w", name, lastErr)
	}
	return f, nil
}

func (f *flood) close() {
	for _, c := range f.conns {
		c.Close()
	}
}
