package raft

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"testing"
	"time"

	hraft "github.com/hashicorp/raft"

	"github.com/vipd/vipd/internal/election"
)

// listened is the TCP Network with the cluster port already open, so that
// tests learn the port the system picked before configuring peers.
type listened struct {
	tcpNetwork
	ln net.Listener
}

func (l listened) Listen(string) (net.Listener, error) { return l.ln, nil }

// TestTCPCluster runs the production transport: raft's NetworkTransport and
// the peer RPC sharing one loopback port per member.
func TestTCPCluster(t *testing.T) {
	names := []string{"a", "b", "w"}
	lns := map[string]net.Listener{}
	for _, n := range names {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns[n] = ln
	}
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	leases := map[string]*Lease{}
	for _, n := range names {
		cfg := Config{
			Self: n, Advertise: lns[n].Addr().String(), Witness: n == "w", Priority: 100,
			Lease: testLease, DataDir: t.TempDir(), Network: listened{ln: lns[n]},
		}
		for _, p := range names {
			if p != n {
				cfg.Peers = append(cfg.Peers, Peer{Name: p, Address: lns[p].Addr().String(), Witness: p == "w"})
			}
		}
		l, err := New(cfg, logger)
		if err != nil {
			t.Fatal(err)
		}
		leases[n] = l
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, len(names))
	for _, l := range leases {
		go func() { done <- l.Run(ctx) }()
	}
	t.Cleanup(func() {
		cancel()
		for range names {
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(10 * testLease):
				t.Fatalf("Run did not return within %s", 10*testLease)
			}
		}
	})
	for _, n := range []string{"a", "b"} {
		if err := leases[n].SetEligible(t.Context(), true, 100); err != nil {
			t.Fatal(err)
		}
	}
	holder := func() election.Status {
		t.Helper()
		var h election.Status
		waitFor(t, 10*testLease, "a holder known to the witness", func() bool {
			for _, n := range []string{"a", "b"} {
				if st := leases[n].Status(); st.Held && leases["w"].Status().Holder == n {
					h = st
					return true
				}
			}
			return false
		})
		return h
	}
	first := holder()
	other := otherNode(first.Self)
	waitFor(t, 10*testLease, "the witness knowing both nodes are eligible", func() bool {
		st := leases["w"].Status()
		return len(st.Peers) == 2 && st.Peers[0].Eligible && st.Peers[1].Eligible
	})

	// The witness asks the leader over the peer RPC.
	tctx, tcancel := context.WithTimeout(t.Context(), time.Second)
	defer tcancel()
	if err := leases["w"].Transfer(tctx, other); err != nil {
		t.Fatalf("Transfer(%q) on w: %v", other, err)
	}
	if h := holder(); h.Self != other || h.Token <= first.Token {
		t.Errorf("holder = %s token %d, want %s token > %d", h.Self, h.Token, other, first.Token)
	}
	if err := leases["w"].Transfer(t.Context(), "w"); !errors.Is(err, election.ErrNotEligible) {
		t.Errorf("Transfer(w) = %v, want %v", err, election.ErrNotEligible)
	}
}

func TestMuxRoutesByFirstByte(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := newMux(ln, true, 5*time.Second, discard())
	defer m.Close()
	stream := newRaftStream(m, tcpNetwork{}, ln.Addr().String())
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()

	// Raft connections reach the stream layer.
	rc, err := stream.Dial(hraft.ServerAddress(stream.Addr().String()), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	accepted, err := stream.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rc.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	var b [1]byte
	if _, err := io.ReadFull(accepted, b[:]); err != nil || b[0] != 'x' {
		t.Fatalf("raft connection read %q, %v; want \"x\"", b[:], err)
	}

	// Peer RPC connections reach the RPC server.
	srv := &rpcServer{conns: m.rpc, timeout: time.Second, handle: func(_ context.Context, _ origin, req rpcRequest) error {
		if req.To == "nobody" {
			return election.ErrUnknownNode
		}
		return nil
	}}
	sctx, scancel := context.WithCancel(ctx)
	served := make(chan struct{})
	go func() { srv.serve(sctx); close(served) }()
	defer func() { scancel(); <-served }()
	addr := ln.Addr().String()
	if err := call(ctx, tcpNetwork{}, addr, time.Second, rpcRequest{Op: rpcTransfer, To: "b"}); err != nil {
		t.Errorf("call = %v, want nil", err)
	}
	if err := call(ctx, tcpNetwork{}, addr, time.Second, rpcRequest{Op: rpcTransfer, To: "nobody"}); !errors.Is(err, election.ErrUnknownNode) {
		t.Errorf("call = %v, want %v", err, election.ErrUnknownNode)
	}

	// Anything else is closed.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("GET / HTTP/1.0\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(b[:]); err == nil {
		t.Errorf("unknown connection read %d bytes, want it closed", n)
	}
}

// The mux never holds more than maxPendingConns connections that have not
// said what they are for, and makes room by closing those of the host with
// the most: a peer whose connection is slow to send its first byte still
// gets through while another host keeps opening idle connections.
func TestMuxShedsTheFloodingHost(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := newMux(ln, true, 5*time.Second, discard())
	defer m.Close()
	stream := newRaftStream(m, tcpNetwork{}, ln.Addr().String())
	addr := ln.Addr().String()
	flooder := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
	var idle []net.Conn
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	openIdle := func(n int) {
		for range n {
			c, err := flooder.DialContext(t.Context(), "tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			idle = append(idle, c)
		}
	}
	pending := func() int {
		m.mu.Lock()
		defer m.mu.Unlock()
		return len(m.pending)
	}

	openIdle(100)
	waitFor(t, 5*time.Second, "the mux holding maxPendingConns idle connections", func() bool { return pending() == maxPendingConns })
	// A peer connects and is slow to say it is raft's; meanwhile the
	// other host opens 200 more.
	peer, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	openIdle(200)
	waitFor(t, 5*time.Second, "the mux still holding maxPendingConns", func() bool { return pending() == maxPendingConns })
	if _, err := peer.Write([]byte{connRaft, 'x'}); err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := stream.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	select {
	case c := <-accepted:
		var b [1]byte
		if _, err := io.ReadFull(c, b[:]); err != nil || b[0] != 'x' {
			t.Errorf("peer's raft connection read %q, %v; want \"x\"", b[:], err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the peer's connection did not reach raft while another host flooded the port")
	}
	// Of the flood, all but maxPendingConns are closed by the mux, well
	// before their 5 s would run out.
	if n := pending(); n > maxPendingConns {
		t.Errorf("the mux holds %d pending connections, want at most %d", n, maxPendingConns)
	}
	isClosed := make([]bool, len(idle))
	closed, want := 0, len(idle)-maxPendingConns
	waitFor(t, 2*time.Second, "all but maxPendingConns idle connections closed by the mux", func() bool {
		for i, c := range idle {
			if isClosed[i] {
				continue
			}
			_ = c.SetReadDeadline(time.Now().Add(time.Millisecond))
			if _, err := c.Read(make([]byte, 1)); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
				isClosed[i] = true
				closed++
			}
		}
		return closed >= want
	})
}
