package raft

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
)

// memNet is an in-memory Network for the peer RPC, partitionable like raft's
// in-memory transport.
type memNet struct {
	mu        sync.Mutex
	listeners map[string]*memListener
	isolated  map[string]bool
	// cut are the pairs of addresses (either way) that cannot connect.
	cut map[[2]string]bool
	// conns are the open connections, so that isolating a member cuts
	// them as a partition cuts TCP connections.
	conns []memConn
	// dials counts connections opened, by "from->to".
	dials map[string]int
}

type memConn struct {
	from, to       string
	client, server net.Conn
}

func newMemNet() *memNet {
	return &memNet{listeners: map[string]*memListener{}, isolated: map[string]bool{}, cut: map[[2]string]bool{}, dials: map[string]int{}}
}

// dialed returns how many connections from opened to to.
func (n *memNet) dialed(from, to string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.dials[from+"->"+to]
}

// endpoint returns the Network as seen from the member at address self.
func (n *memNet) endpoint(self string) Network { return memEndpoint{n: n, self: self} }

func (n *memNet) isolate(addr string, cut bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.isolated[addr] = cut
	if !cut {
		return
	}
	kept := n.conns[:0]
	for _, c := range n.conns {
		if c.from == addr || c.to == addr {
			c.client.Close()
			c.server.Close()
			continue
		}
		kept = append(kept, c)
	}
	n.conns = kept
}

// sever cuts (or heals) the peer RPC between addresses a and b, and closes
// their open connections.
func (n *memNet) sever(a, b string, cut bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cut[[2]string{a, b}], n.cut[[2]string{b, a}] = cut, cut
	if !cut {
		return
	}
	kept := n.conns[:0]
	for _, c := range n.conns {
		if c.from == a && c.to == b || c.from == b && c.to == a {
			c.client.Close()
			c.server.Close()
			continue
		}
		kept = append(kept, c)
	}
	n.conns = kept
}

// blocked reports whether from cannot reach to; n.mu is held.
func (n *memNet) blockedLocked(from, to string) bool {
	return n.isolated[to] || n.isolated[from] || n.cut[[2]string{from, to}]
}

type memEndpoint struct {
	n    *memNet
	self string
}

func (e memEndpoint) Listen(addr string) (net.Listener, error) {
	e.n.mu.Lock()
	defer e.n.mu.Unlock()
	if _, ok := e.n.listeners[addr]; ok {
		return nil, fmt.Errorf("listen %s: address in use", addr)
	}
	l := &memListener{n: e.n, addr: addr, ch: make(chan net.Conn), closed: make(chan struct{})}
	e.n.listeners[addr] = l
	return l, nil
}

func (e memEndpoint) DialContext(ctx context.Context, addr string) (net.Conn, error) {
	e.n.mu.Lock()
	l := e.n.listeners[addr]
	cut := e.n.blockedLocked(e.self, addr)
	e.n.mu.Unlock()
	if l == nil || cut {
		return nil, fmt.Errorf("dial %s from %s: connection refused", addr, e.self)
	}
	client, server := net.Pipe()
	select {
	case l.ch <- server:
		e.n.mu.Lock()
		defer e.n.mu.Unlock()
		e.n.dials[e.self+"->"+addr]++
		if e.n.blockedLocked(e.self, addr) {
			client.Close()
			server.Close()
			return nil, fmt.Errorf("dial %s from %s: connection reset", addr, e.self)
		}
		// Closed connections stay listed until the next isolation:
		// a test opens few.
		e.n.conns = append(e.n.conns, memConn{from: e.self, to: addr, client: client, server: server})
		return client, nil
	case <-l.closed:
	case <-ctx.Done():
	}
	client.Close()
	server.Close()
	return nil, fmt.Errorf("dial %s from %s: connection refused", addr, e.self)
}

type memListener struct {
	n      *memNet
	addr   string
	ch     chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func (l *memListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.closed:
		return nil, errors.New("listener closed")
	}
}

func (l *memListener) Close() error {
	l.once.Do(func() {
		close(l.closed)
		l.n.mu.Lock()
		if l.n.listeners[l.addr] == l {
			delete(l.n.listeners, l.addr)
		}
		l.n.mu.Unlock()
	})
	return nil
}

func (l *memListener) Addr() net.Addr { return clusterAddr(l.addr) }
