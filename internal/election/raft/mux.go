package raft

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"

	hraft "github.com/hashicorp/raft"
)

// The first byte of every connection to the cluster port says who it is for.
// raft and vipd's peer RPC share the port so that a cluster needs one
// advertised address per node and one firewall rule.
const (
	connRaft byte = 'R'
	connRPC  byte = 'V'
)

// maxPendingConns bounds the connections the mux holds that have not been
// handed to raft or the peer RPC yet: those that have not sent their first
// byte (over TLS: not finished the handshake) and those waiting for the peer
// RPC to take them. A connection beyond it makes the mux close the oldest
// pending connection of the remote host that holds the most, so that
// accepting never waits and a flood from one host sheds its own
// connections, not a peer's.
const maxPendingConns = 64

// Network opens the cluster port and connections to peers' cluster ports.
// The default is TCP; tests pass an in-memory network.
type Network interface {
	Listen(address string) (net.Listener, error)
	DialContext(ctx context.Context, address string) (net.Conn, error)
}

type tcpNetwork struct{}

func (tcpNetwork) Listen(address string) (net.Listener, error) {
	return net.Listen("tcp", address)
}

func (tcpNetwork) DialContext(ctx context.Context, address string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", address)
}

var errMuxClosed = errors.New("cluster listener closed")

// mux accepts connections on the cluster port and routes them by their first
// byte to raft (raftStream.Accept) or to the peer RPC (rpc channel). Close
// closes the listener and every connection it accepted, so that raft's
// per-connection readers end even while peers keep their pooled connections
// open.
//
// The accept loop only accepts: the first byte (and with it a TLS
// handshake) is read on the connection's own goroutine, within a deadline,
// and at most maxPendingConns connections wait for it (see there), so idle
// connections cannot keep a peer's connection waiting in the listen queue.
type mux struct {
	ln  net.Listener
	rpc chan net.Conn
	// raft is nil when raft runs on another transport (tests); raft
	// connections are then refused.
	raft chan net.Conn
	// pendingTimeout is how long an accepted connection may take to say
	// what it is for and be taken by raft or the peer RPC.
	pendingTimeout time.Duration
	log            *slog.Logger

	closed    chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup

	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	pending []*pendingConn // in the order accepted
	shedLog time.Time      // when shedding was last logged
}

// pendingConn is an accepted connection not yet handed on.
type pendingConn struct {
	c    net.Conn
	host string
	shed chan struct{} // closed when the mux drops c to make room
	// handing is set (under mux.mu) once the first byte is read; a shed
	// connection is then dropped by its own goroutine, which may already
	// have handed it on, rather than closed by the shedder.
	handing bool
}

func newMux(ln net.Listener, withRaft bool, pendingTimeout time.Duration, log *slog.Logger) *mux {
	m := &mux{
		ln:             ln,
		rpc:            make(chan net.Conn),
		pendingTimeout: pendingTimeout,
		log:            log,
		closed:         make(chan struct{}),
		conns:          map[net.Conn]struct{}{},
	}
	if withRaft {
		m.raft = make(chan net.Conn)
	}
	m.wg.Add(1)
	go m.accept()
	return m
}

func (m *mux) accept() {
	defer m.wg.Done()
	for {
		c, err := m.ln.Accept()
		if err != nil {
			select {
			case <-m.closed:
				return
			default:
			}
			// A temporary error (too many open files): back off
			// instead of spinning.
			select {
			case <-m.closed:
				return
			case <-time.After(50 * time.Millisecond):
			}
			continue
		}
		p := &pendingConn{c: c, host: remoteHost(c), shed: make(chan struct{})}
		if !m.admit(p) {
			return
		}
		m.wg.Add(1)
		go m.route(p)
	}
}

// admit records p as tracked and pending, making room by shedding another
// pending connection when maxPendingConns are pending. It reports false
// (and closes p's connection) when the mux is closed.
func (m *mux) admit(p *pendingConn) bool {
	m.mu.Lock()
	select {
	case <-m.closed:
		m.mu.Unlock()
		p.c.Close()
		return false
	default:
	}
	m.conns[p.c] = struct{}{}
	var victim *pendingConn
	closeVictim := false
	if len(m.pending) >= maxPendingConns {
		victim = m.victimLocked()
		m.pending = slices.DeleteFunc(m.pending, func(q *pendingConn) bool { return q == victim })
		close(victim.shed)
		closeVictim = !victim.handing
	}
	m.pending = append(m.pending, p)
	logShed := victim != nil && time.Since(m.shedLog) >= time.Minute
	if logShed {
		m.shedLog = time.Now()
	}
	m.mu.Unlock()
	if victim != nil {
		if closeVictim {
			// Closing ends the victim's read; its goroutine
			// untracks it.
			victim.c.Close()
		}
		if logShed {
			m.log.Warn("cluster port: too many connections that have not said what they are for; closing the oldest of the host with the most",
				"host", victim.host, "pending", maxPendingConns, "wait", m.pendingTimeout)
		}
	}
	return true
}

// victimLocked picks the pending connection to shed: the oldest of the
// remote host with the most pending connections.
func (m *mux) victimLocked() *pendingConn {
	count := map[string]int{}
	top := ""
	for _, q := range m.pending {
		count[q.host]++
		if count[q.host] > count[top] {
			top = q.host
		}
	}
	for _, q := range m.pending {
		if q.host == top {
			return q
		}
	}
	return m.pending[0]
}

// settled removes p from the pending connections, if it is still there.
func (m *mux) settled(p *pendingConn) {
	m.mu.Lock()
	m.pending = slices.DeleteFunc(m.pending, func(q *pendingConn) bool { return q == p })
	m.mu.Unlock()
}

func remoteHost(c net.Conn) string {
	a := c.RemoteAddr()
	if a == nil {
		return ""
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

func (m *mux) untrack(c net.Conn) {
	m.mu.Lock()
	delete(m.conns, c)
	m.mu.Unlock()
}

// route reads p's first byte and hands its connection to its consumer, all
// within pendingTimeout, unless the mux sheds it first.
func (m *mux) route(p *pendingConn) {
	defer m.wg.Done()
	defer m.settled(p)
	c := p.c
	expire := time.NewTimer(m.pendingTimeout)
	defer expire.Stop()
	var b [1]byte
	_ = c.SetReadDeadline(time.Now().Add(m.pendingTimeout))
	if _, err := io.ReadFull(c, b[:]); err != nil {
		m.drop(c)
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	m.mu.Lock()
	shed := isClosed(p.shed)
	p.handing = !shed
	m.mu.Unlock()
	if shed {
		m.drop(c)
		return
	}
	var to chan net.Conn
	switch b[0] {
	case connRaft:
		to = m.raft
	case connRPC:
		to = m.rpc
	}
	if to == nil {
		m.drop(c)
		return
	}
	select {
	case to <- &trackedConn{Conn: c, m: m}:
	case <-p.shed:
		m.drop(c)
	case <-expire.C:
		m.drop(c)
	case <-m.closed:
		m.drop(c)
	}
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func (m *mux) drop(c net.Conn) {
	m.untrack(c)
	c.Close()
}

// Close stops accepting, closes every accepted connection and waits for the
// mux's goroutines.
func (m *mux) Close() error {
	var err error
	m.closeOnce.Do(func() {
		m.mu.Lock()
		close(m.closed)
		for c := range m.conns {
			c.Close()
		}
		m.conns = nil
		m.mu.Unlock()
		err = m.ln.Close()
		m.wg.Wait()
	})
	return err
}

// trackedConn forgets itself in the mux when its owner closes it.
type trackedConn struct {
	net.Conn
	m    *mux
	once sync.Once
}

func (c *trackedConn) unwrap() net.Conn { return c.Conn }

func (c *trackedConn) Close() error {
	c.once.Do(func() { c.m.untrack(c.Conn) })
	return c.Conn.Close()
}

// raftStream is the hraft.StreamLayer over the mux: Accept yields the raft
// connections, Dial opens a connection and announces it as raft's.
type raftStream struct {
	m         *mux
	network   Network
	advertise string

	closed    chan struct{}
	closeOnce sync.Once
}

var _ hraft.StreamLayer = (*raftStream)(nil)

func newRaftStream(m *mux, network Network, advertise string) *raftStream {
	return &raftStream{m: m, network: network, advertise: advertise, closed: make(chan struct{})}
}

func (s *raftStream) Accept() (net.Conn, error) {
	select {
	case c := <-s.m.raft:
		return c, nil
	case <-s.closed:
		return nil, errMuxClosed
	case <-s.m.closed:
		return nil, errMuxClosed
	}
}

// Close ends Accept; the listener itself belongs to the mux, which the
// Lease closes after raft has shut down.
func (s *raftStream) Close() error {
	s.closeOnce.Do(func() { close(s.closed) })
	return nil
}

// Addr is the advertised address: raft tells peers to reach it there.
func (s *raftStream) Addr() net.Addr { return clusterAddr(s.advertise) }

func (s *raftStream) Dial(address hraft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return dialKind(ctx, s.network, string(address), connRaft)
}

// dialKind connects to a peer's cluster port and sends the first byte.
func dialKind(ctx context.Context, network Network, address string, kind byte) (net.Conn, error) {
	c, err := network.DialContext(ctx, address)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", address, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetWriteDeadline(dl)
	}
	if _, err := c.Write([]byte{kind}); err != nil {
		c.Close()
		return nil, fmt.Errorf("dial %s: %w", address, err)
	}
	_ = c.SetWriteDeadline(time.Time{})
	return c, nil
}

type clusterAddr string

func (a clusterAddr) Network() string { return "tcp" }
func (a clusterAddr) String() string  { return string(a) }
