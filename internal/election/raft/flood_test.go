package raft

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"
)

// killable is a member's TCP cluster port that the test can kill as a
// SIGKILL would: every connection it accepted or dialled is closed at once,
// and from then on it accepts nothing (the connections are closed as they
// arrive, as a port nobody listens on refuses them) and dials nothing.
type killable struct {
	ln net.Listener

	mu     sync.Mutex
	dead   bool
	conns  map[net.Conn]struct{}
	dialer net.Dialer
}

func newKillable(ln net.Listener) *killable {
	return &killable{ln: ln, conns: map[net.Conn]struct{}{}}
}

func (k *killable) add(c net.Conn) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.dead {
		c.Close()
		return false
	}
	k.conns[c] = struct{}{}
	return true
}

func (k *killable) kill() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.dead = true
	for c := range k.conns {
		c.Close()
	}
}

func (k *killable) Listen(string) (net.Listener, error) { return killableListener{k}, nil }

func (k *killable) DialContext(ctx context.Context, address string) (net.Conn, error) {
	c, err := k.dialer.DialContext(ctx, "tcp", address)
	if err != nil {
		return nil, err
	}
	if !k.add(c) {
		return nil, errors.New("killed")
	}
	return c, nil
}

type killableListener struct{ k *killable }

func (l killableListener) Accept() (net.Conn, error) {
	for {
		c, err := l.k.ln.Accept()
		if err != nil {
			return nil, err
		}
		if l.k.add(c) {
			return c, nil
		}
	}
}

func (l killableListener) Close() error   { return l.k.ln.Close() }
func (l killableListener) Addr() net.Addr { return l.k.ln.Addr() }

// flood holds n connections to address open from another loopback address
// (as a scanner or a misbehaving host would), never sending a byte; a
// connection the server closes is opened again after pause. It stops when
// ctx ends and returns a func that waits for its goroutines.
func flood(ctx context.Context, t *testing.T, address string, n int, pause time.Duration) (wait func()) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: time.Second}
	var wg sync.WaitGroup
	opened := make(chan struct{}, n)
	for range n {
		wg.Go(func() {
			first := true
			for ctx.Err() == nil {
				c, err := d.DialContext(ctx, "tcp", address)
				if first {
					opened <- struct{}{}
					first = false
				}
				if err == nil {
					stop := context.AfterFunc(ctx, func() { c.Close() })
					_, _ = io.Copy(io.Discard, c) // until the server closes it
					stop()
					c.Close()
				}
				select {
				case <-ctx.Done():
				case <-time.After(pause):
				}
			}
		})
	}
	for range n {
		<-opened
	}
	return wg.Wait
}

// Idle connections on the cluster port — hundreds that never send a byte,
// held open and reopened when closed — must not keep a member from taking
// real peers' connections: after the holder dies, the other node takes
// over as fast as without the flood (issue 16, finding 4). Run over plain
// TCP and over mutual TLS, where the handshake is what the idle
// connections never start.
func TestFailoverDespiteIdleConnectionFlood(t *testing.T) {
	for _, withTLS := range []bool{false, true} {
		name := "tcp"
		if withTLS {
			name = "tls"
		}
		t.Run(name, func(t *testing.T) { failoverDespiteFlood(t, withTLS) })
	}
}

// floodLease is the lease of the flood test: longer than testLease, so that
// TLS handshakes under -race on a loaded machine fit in the time raft
// allows a dial (2 × heartbeat timeout); what the test measures is whether
// the witness takes the surviving node's connections at all.
const floodLease = time.Second

func failoverDespiteFlood(t *testing.T, withTLS bool) {
	names := []string{"a", "b", "w"}
	ports := map[string]*killable{}
	for _, n := range names {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[n] = newKillable(ln)
		t.Cleanup(func() { ln.Close() })
	}
	addr := func(n string) string { return ports[n].ln.Addr().String() }
	var ca *testCA
	if withTLS {
		ca = newTestCA(t, "cluster")
	}
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	leases := map[string]*Lease{}
	for _, n := range names {
		var peers []Peer
		for _, p := range names {
			if p != n {
				peers = append(peers, Peer{Name: p, Address: addr(p), Witness: p == "w"})
			}
		}
		var network Network = ports[n]
		if withTLS {
			tn, err := NewTLSNetwork(ca.member(t, n), n, peers, logger)
			if err != nil {
				t.Fatal(err)
			}
			tn.base = ports[n]
			network = tn
		}
		l, err := New(Config{
			Self: n, Advertise: addr(n), Witness: n == "w", Priority: 100, Peers: peers,
			Lease: floodLease, DataDir: t.TempDir(), Network: network,
		}, logger.With("member", n))
		if err != nil {
			t.Fatal(err)
		}
		leases[n] = l
	}
	ctx, cancel := context.WithCancel(t.Context())
	var running sync.WaitGroup
	run := func(n string) {
		running.Go(func() {
			if err := leases[n].Run(ctx); err != nil {
				t.Errorf("Run(%s): %v", n, err)
			}
		})
	}
	t.Cleanup(func() { cancel(); running.Wait() })

	// a holds, elected with w; b joins afterwards as a follower, so it
	// has never dialled w and must open new connections to w once a is
	// gone.
	run("a")
	run("w")
	if err := leases["a"].SetEligible(t.Context(), true, 100); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*floodLease, "a holding, known to w", func() bool {
		return leases["a"].Status().Held && leases["w"].Status().Holder == "a"
	})
	run("b")
	if err := leases["b"].SetEligible(t.Context(), true, 100); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*floodLease, "w knowing b is eligible and holder a", func() bool {
		st := leases["w"].Status()
		for _, p := range st.Peers {
			if p.Name == "b" && p.Eligible {
				return st.Holder == "a"
			}
		}
		return false
	})

	// 300 idle connections to w's cluster port, reopened 3 s after the
	// member closes one; then a dies.
	fctx, fcancel := context.WithCancel(t.Context())
	wait := flood(fctx, t, addr("w"), 300, 3*time.Second)
	defer func() { fcancel(); wait() }()
	time.Sleep(2 * floodLease) // the flood is in place
	waitFor(t, 20*floodLease, "a holding, known to w, with the flood on", func() bool {
		return leases["a"].Status().Held && leases["w"].Status().Holder == "a"
	})
	killed := time.Now()
	ports["a"].kill()

	// Without the flood b holds within about one lease; allow ten for a
	// loaded machine running -race.
	bound := 10 * floodLease
	waitFor(t, bound, "b holding, known to w, after a died", func() bool {
		return leases["b"].Status().Held && leases["w"].Status().Holder == "b"
	})
	t.Logf("b holds %s after a died, with the flood on", time.Since(killed).Round(time.Millisecond))
	fcancel()
	wait()
}
