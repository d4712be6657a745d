package raft

import (
	"context"
	"errors"
	"fmt"
	"net"
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

// maxPendingConns bounds connections that have been accepted but have not yet
// sent their first byte, or are being served by the peer RPC, so a flood of
// idle connections cannot grow goroutines without bound.
const maxPendingConns = 64

// firstByteTimeout is how long an accepted connection may take to say what
// it is for.
const firstByteTimeout = 5 * time.Second

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
type mux struct {
	ln  net.Listener
	rpc chan net.Conn
	// raft is nil when raft runs on another transport (tests); raft
	// connections are then refused.
	raft chan net.Conn

	closed    chan struct{}
	closeOnce sync.Once
	sem       chan struct{}
	wg        sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func newMux(ln net.Listener, withRaft bool) *mux {
	m := &mux{
		ln:     ln,
		rpc:    make(chan net.Conn),
		closed: make(chan struct{}),
		sem:    make(chan struct{}, maxPendingConns),
		conns:  map[net.Conn]struct{}{},
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
		select {
		case m.sem <- struct{}{}:
		case <-m.closed:
			c.Close()
			return
		}
		if !m.track(c) {
			<-m.sem
			return
		}
		m.wg.Add(1)
		go m.route(c)
	}
}

// track records c so that Close closes it; it reports false (and closes c)
// when the mux is already closed.
func (m *mux) track(c net.Conn) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	select {
	case <-m.closed:
		c.Close()
		return false
	default:
	}
	m.conns[c] = struct{}{}
	return true
}

func (m *mux) untrack(c net.Conn) {
	m.mu.Lock()
	delete(m.conns, c)
	m.mu.Unlock()
}

// route reads c's first byte and hands c to its consumer.
func (m *mux) route(c net.Conn) {
	defer m.wg.Done()
	defer func() { <-m.sem }()
	var b [1]byte
	_ = c.SetReadDeadline(time.Now().Add(firstByteTimeout))
	if _, err := c.Read(b[:]); err != nil {
		m.drop(c)
		return
	}
	_ = c.SetReadDeadline(time.Time{})
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
	case <-m.closed:
		m.drop(c)
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
