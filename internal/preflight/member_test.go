package preflight_test

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	electionraft "github.com/vipd/vipd/internal/election/raft"
)

// tcp is the plain cluster port.
type tcp struct{}

func (tcp) Listen(address string) (net.Listener, error) { return net.Listen("tcp", address) }

func (tcp) DialContext(ctx context.Context, address string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", address)
}

// bound reports the address its cluster port was opened on, so that a
// member can listen on a port the system picks.
type bound struct {
	electionraft.Network
	addr chan string
}

func (b bound) Listen(address string) (net.Listener, error) {
	ln, err := b.Network.Listen(address)
	if err == nil {
		b.addr <- ln.Addr().String()
	}
	return ln, err
}

// member runs a real vipd election member named name on a loopback port
// until the test ends and returns its cluster address. network carries its
// cluster port (tcp{} or a *electionraft.TLSNetwork). Its peers need not
// exist (nor listen on port 9, its advertised address, which no peer may
// share): the member answers the peer handshake without a quorum.
func member(t *testing.T, name string, network electionraft.Network, peers []electionraft.Peer) string {
	t.Helper()
	b := bound{Network: network, addr: make(chan string, 1)}
	l, err := electionraft.New(electionraft.Config{
		Self: name, Advertise: "127.0.0.1:9", Bind: "127.0.0.1:0", Peers: peers,
		Lease: time.Second, DataDir: t.TempDir(), Network: b,
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("member %s: Run: %v", name, err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("member %s: Run did not return within 10s", name)
		}
	})
	select {
	case a := <-b.addr:
		return a
	case err := <-done:
		t.Fatalf("member %s: Run: %v", name, err)
	case <-time.After(10 * time.Second):
		t.Fatalf("member %s: cluster port not open within 10s", name)
	}
	return ""
}
