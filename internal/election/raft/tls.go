package raft

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"sync"
	"time"
)

// TLSFiles name the PEM files of cluster TLS (config.ClusterTLS).
type TLSFiles struct {
	CA, Cert, Key string
}

// handshakeTimeout bounds a TLS handshake on either side: a member that
// cannot finish one in this time is not reachable for raft either.
const handshakeTimeout = 5 * time.Second

// TLSNetwork is a Network that runs the cluster port over mutual TLS (1.3):
// each side presents a certificate signed by the cluster CA and verifies
// the other's. A dialer checks that the listener's certificate names the
// member it meant to reach (DNS SAN = node name, looked up by address); a
// listener accepts any certificate naming a member. A connection that fails
// the handshake never reaches raft or the peer RPC, so a member with a
// wrong CA, an expired or foreign certificate gets no cluster membership.
type TLSNetwork struct {
	base Network
	// client is the dialer's configuration (ServerName set per dial);
	// server the listener's, which also checks the client names a member.
	client, server *tls.Config
	names          map[string]string // peer address -> node name
	members        []string
	notAfter       time.Time
	log            *slog.Logger

	// warned rate-limits handshake failure logs per remote host.
	mu     sync.Mutex
	warned map[string]time.Time
}

var _ Network = (*TLSNetwork)(nil)

// NewTLSNetwork loads the files and checks them before any connection: the
// certificate must be valid now, chain to the CA and name self. Each problem
// is an error that says which file and why, so a misconfigured member stops
// at start instead of failing handshakes.
func NewTLSNetwork(files TLSFiles, self string, peers []Peer, log *slog.Logger) (*TLSNetwork, error) {
	pem, err := os.ReadFile(files.CA)
	if err != nil {
		return nil, fmt.Errorf("cluster tls: read ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("cluster tls: ca %s holds no PEM certificate", files.CA)
	}
	pair, err := tls.LoadX509KeyPair(files.Cert, files.Key)
	if err != nil {
		return nil, fmt.Errorf("cluster tls: load cert %s and key %s: %w", files.Cert, files.Key, err)
	}
	leaf := pair.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, fmt.Errorf("cluster tls: parse cert %s: %w", files.Cert, err)
		}
	}
	now := time.Now()
	switch {
	case now.After(leaf.NotAfter):
		return nil, fmt.Errorf("cluster tls: cert %s expired at %s", files.Cert, leaf.NotAfter.UTC().Format(time.RFC3339))
	case now.Before(leaf.NotBefore):
		return nil, fmt.Errorf("cluster tls: cert %s is not valid before %s", files.Cert, leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	inter := x509.NewCertPool()
	for _, der := range pair.Certificate[1:] {
		if c, err := x509.ParseCertificate(der); err == nil {
			inter.AddCert(c)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, DNSName: self,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}); err != nil {
		return nil, fmt.Errorf("cluster tls: cert %s does not verify against ca %s for node name %q: %w", files.Cert, files.CA, self, err)
	}
	n := &TLSNetwork{
		base:     tcpNetwork{},
		names:    map[string]string{},
		members:  []string{self},
		notAfter: leaf.NotAfter,
		log:      log.With("component", "cluster-tls"),
		warned:   map[string]time.Time{},
	}
	for _, p := range peers {
		n.names[p.Address] = p.Name
		n.members = append(n.members, p.Name)
	}
	n.client = &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{pair},
		RootCAs:      pool,
	}
	n.server = &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{pair},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		// crypto/tls has verified the chain (and the client auth usage);
		// the name must be a member's, as a dialer checks ServerName.
		VerifyConnection: func(cs tls.ConnectionState) error {
			leaf := cs.PeerCertificates[0]
			if slices.ContainsFunc(n.members, func(m string) bool { return leaf.VerifyHostname(m) == nil }) {
				return nil
			}
			return fmt.Errorf("client certificate names %v, none a member of this cluster %v", leaf.DNSNames, n.members)
		},
	}
	return n, nil
}

// Listen opens the cluster port; connections handshake on their first read
// (on the mux's per-connection goroutine, within its pending deadline), so a slow or hostile
// client never holds up Accept.
func (n *TLSNetwork) Listen(address string) (net.Listener, error) {
	ln, err := n.base.Listen(address)
	if err != nil {
		return nil, err
	}
	return &tlsListener{Listener: ln, n: n}, nil
}

// DialContext connects to the member at address and completes the
// handshake within ctx, verifying that the listener is that member.
func (n *TLSNetwork) DialContext(ctx context.Context, address string) (net.Conn, error) {
	name, ok := n.names[address]
	if !ok {
		return nil, fmt.Errorf("cluster tls: %s is not the address of a peer", address)
	}
	raw, err := n.base.DialContext(ctx, address)
	if err != nil {
		return nil, err
	}
	cfg := n.client.Clone()
	cfg.ServerName = name
	c := tls.Client(raw, cfg)
	hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	if err := c.HandshakeContext(hctx); err != nil {
		raw.Close()
		herr := &HandshakeError{Peer: name, Address: address, Err: err}
		n.warn(address, herr)
		return nil, herr
	}
	return c, nil
}

// HandshakeError is a failed TLS handshake with a peer: the port answered,
// but one side did not accept the other's certificate.
type HandshakeError struct {
	Peer, Address string
	Err           error
}

func (e *HandshakeError) Error() string {
	return fmt.Sprintf("cluster tls: handshake with %s at %s: %v", e.Peer, e.Address, e.Err)
}

func (e *HandshakeError) Unwrap() error { return e.Err }

// NotAfter is when this member's certificate expires; from then on its
// peers refuse it.
func (n *TLSNetwork) NotAfter() time.Time { return n.notAfter }

// warn logs a handshake failure at most once a minute per remote host: raft
// redials every heartbeat, and one line says what is wrong.
func (n *TLSNetwork) warn(remote string, err error) {
	host, _, serr := net.SplitHostPort(remote)
	if serr != nil {
		host = remote
	}
	now := time.Now()
	n.mu.Lock()
	last, seen := n.warned[host]
	quiet := seen && now.Sub(last) < time.Minute
	if !quiet {
		n.warned[host] = now
	}
	n.mu.Unlock()
	if !quiet {
		n.log.Warn("cluster tls handshake failed", "remote", remote, "err", err)
	}
}

type tlsListener struct {
	net.Listener
	n *TLSNetwork
}

func (l *tlsListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &serverConn{Conn: tls.Server(c, l.n.server), n: l.n, remote: c.RemoteAddr().String()}, nil
}

// serverConn handshakes on first use and logs why a handshake failed,
// which crypto/tls would otherwise only tell the client.
type serverConn struct {
	*tls.Conn
	n      *TLSNetwork
	remote string
	once   sync.Once
	err    error
}

func (c *serverConn) handshake() error {
	c.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
		defer cancel()
		if err := c.Conn.HandshakeContext(ctx); err != nil {
			c.err = fmt.Errorf("cluster tls: handshake with client %s: %w", c.remote, err)
			if !errors.Is(err, net.ErrClosed) {
				c.n.warn(c.remote, c.err)
			}
			lingerAfterRefusal(c.Conn.NetConn())
		}
	})
	return c.err
}

// refusalLinger bounds how long a refused client is read from after its
// handshake failed.
const refusalLinger = time.Second

// lingerAfterRefusal lets the alert that says why a client was refused
// reach it. With TLS 1.3 the client finishes its side of the handshake
// before the server checks the client's certificate, and sends its first
// request at once; closing with that request unread makes the kernel reset
// the connection, and the reset can overtake the alert, so the client sees
// "connection reset" instead of "bad certificate". Half-closing and reading
// what the client sent (at most refusalLinger and 64 KiB; the client closes
// as soon as it reads the alert) closes cleanly instead.
func lingerAfterRefusal(raw net.Conn) {
	if cw, ok := raw.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_ = raw.SetReadDeadline(time.Now().Add(refusalLinger))
	_, _ = io.Copy(io.Discard, io.LimitReader(raw, 64<<10))
}

func (c *serverConn) Read(b []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

func (c *serverConn) Write(b []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}

// peerCertificate returns the verified certificate of the member at the
// other end of c, an accepted connection, or nil when c's listener does not
// authenticate its clients (plain TCP).
func peerCertificate(c net.Conn) *x509.Certificate {
	for {
		switch v := c.(type) {
		case *serverConn:
			if v.handshake() != nil {
				return nil
			}
			if certs := v.Conn.ConnectionState().PeerCertificates; len(certs) > 0 {
				return certs[0]
			}
			return nil
		case interface{ unwrap() net.Conn }:
			c = v.unwrap()
		default:
			return nil
		}
	}
}

// authenticatesPeers tells the Lease that every connection this network
// accepts carries a verified client certificate, so a request that arrives
// without one is refused rather than served as over plain TCP.
func (n *TLSNetwork) authenticatesPeers() bool { return true }
