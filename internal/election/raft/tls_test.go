package raft

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	dir  string
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	ca := &testCA{cert: cert, key: key, dir: t.TempDir()}
	writePEM(t, ca.path("ca.pem"), "CERTIFICATE", der)
	return ca
}

func (ca *testCA) path(name string) string { return filepath.Join(ca.dir, name) }

// issue writes a member certificate for dnsName valid from notBefore to
// notAfter and returns the files for it.
func (ca *testCA) issue(t *testing.T, dnsName string, notBefore, notAfter time.Time) TLSFiles {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: dnsName},
		DNSNames:     []string{dnsName},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	// Every certificate gets its own files: a test may issue several for
	// one name.
	base := fmt.Sprintf("%s-%x", dnsName, serial)
	f := TLSFiles{CA: ca.path("ca.pem"), Cert: ca.path(base + ".pem"), Key: ca.path(base + ".key")}
	writePEM(t, f.Cert, "CERTIFICATE", der)
	writePEM(t, f.Key, "EC PRIVATE KEY", kder)
	return f
}

func (ca *testCA) member(t *testing.T, name string) TLSFiles {
	return ca.issue(t, name, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestNewTLSNetworkRefuses checks that a misconfigured member stops at
// start with an error that names the file and the reason.
func TestNewTLSNetworkRefuses(t *testing.T) {
	ca, other := newTestCA(t, "cluster"), newTestCA(t, "other")
	good := ca.member(t, "a")
	foreign := other.member(t, "a")
	peers := []Peer{{Name: "b", Address: "127.0.0.1:1"}}
	tests := []struct {
		name  string
		files TLSFiles
		self  string
		want  string
	}{
		{"expired", ca.issue(t, "a", time.Now().Add(-48*time.Hour), time.Now().Add(-time.Hour)), "a", "expired at"},
		{"not yet valid", ca.issue(t, "a", time.Now().Add(time.Hour), time.Now().Add(48*time.Hour)), "a", "is not valid before"},
		{"wrong ca", TLSFiles{CA: good.CA, Cert: foreign.Cert, Key: foreign.Key}, "a", "does not verify against ca"},
		{"other node's name", good, "b", `for node name "b"`},
		{"key of another cert", TLSFiles{CA: good.CA, Cert: good.Cert, Key: foreign.Key}, "a", "private key does not match public key"},
		{"missing ca", TLSFiles{CA: ca.path("nope.pem"), Cert: good.Cert, Key: good.Key}, "a", "read ca"},
		{"ca not a certificate", TLSFiles{CA: good.Key, Cert: good.Cert, Key: good.Key}, "a", "holds no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewTLSNetwork(tt.files, tt.self, peers, discard())
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "cluster tls: ") {
				t.Errorf("NewTLSNetwork = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if _, err := NewTLSNetwork(good, "a", peers, discard()); err != nil {
		t.Errorf("NewTLSNetwork(good) = %v", err)
	}
}

// tlsListened is a TLSNetwork whose port is already open, so that the test
// knows every member's address before building the networks.
func tlsListened(t *testing.T, files TLSFiles, self string, ln net.Listener, peers []Peer, log *slog.Logger) *TLSNetwork {
	t.Helper()
	n, err := NewTLSNetwork(files, self, peers, log)
	if err != nil {
		t.Fatal(err)
	}
	n.base = listened{ln: ln}
	return n
}

// echo serves connections on n's listener by echoing what they send,
// until the test ends.
func echo(t *testing.T, n *TLSNetwork) {
	t.Helper()
	ln, err := n.Listen("")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				_, _ = io.Copy(c, c)
			}()
		}
	}()
}

func TestTLSHandshake(t *testing.T) {
	ca, other := newTestCA(t, "cluster"), newTestCA(t, "other")
	lnA, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addrA := lnA.Addr().String()
	a := tlsListened(t, ca.member(t, "a"), "a", lnA, []Peer{{Name: "b", Address: "127.0.0.1:1"}, {Name: "c", Address: "127.0.0.1:2"}}, discard())
	echo(t, a)
	toA := []Peer{{Name: "a", Address: addrA}}

	dial := func(n *TLSNetwork) error {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		c, err := n.DialContext(ctx, addrA)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write([]byte("ping")); err != nil {
			return err
		}
		buf := make([]byte, 4)
		if _, err := io.ReadFull(c, buf); err != nil {
			return err
		}
		if string(buf) != "ping" {
			t.Errorf("echo = %q", buf)
		}
		return nil
	}

	t.Run("member", func(t *testing.T) {
		b, err := NewTLSNetwork(ca.member(t, "b"), "b", toA, discard())
		if err != nil {
			t.Fatal(err)
		}
		if err := dial(b); err != nil {
			t.Errorf("dial a from b: %v", err)
		}
	})
	t.Run("wrong CA", func(t *testing.T) {
		// c is consistent with its own CA, so it starts, but shares no
		// trust with a: each side refuses the other.
		c, err := NewTLSNetwork(other.member(t, "c"), "c", toA, discard())
		if err != nil {
			t.Fatal(err)
		}
		err = dial(c)
		if err == nil || !strings.Contains(err.Error(), "cluster tls: handshake with a at "+addrA) ||
			!strings.Contains(err.Error(), "certificate signed by unknown authority") {
			t.Errorf("dial a with another CA = %v, want an unknown authority handshake error", err)
		}
	})
	t.Run("expired client certificate", func(t *testing.T) {
		// NewTLSNetwork refuses an expired certificate, so present one
		// with crypto/tls directly, as a member whose certificate expired
		// while running would.
		files := ca.issue(t, "b", time.Now().Add(-48*time.Hour), time.Now().Add(-time.Hour))
		pair, err := tls.LoadX509KeyPair(files.Cert, files.Key)
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AddCert(ca.cert)
		d := tls.Dialer{Config: &tls.Config{RootCAs: pool, ServerName: "a", Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS13}}
		c, err := d.DialContext(t.Context(), "tcp", addrA)
		if err == nil {
			// TLS 1.3: the server's verdict on the client certificate
			// arrives with the first read.
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			_, _ = c.Write([]byte("ping"))
			_, err = c.Read(make([]byte, 4))
		}
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("expired client certificate: %v, want a certificate alert", err)
		}
	})
	t.Run("not a member's name", func(t *testing.T) {
		mallory, err := NewTLSNetwork(ca.member(t, "mallory"), "mallory", toA, discard())
		if err != nil {
			t.Fatal(err)
		}
		if err := dial(mallory); err == nil {
			t.Errorf("dial a with a certificate for mallory succeeded")
		}
	})
	t.Run("listener not the member dialled", func(t *testing.T) {
		// b believes a lives at a's address, but a's certificate says b:
		// an impostor listening there is refused.
		impostorLn, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		impostor := tlsListened(t, ca.member(t, "b"), "b", impostorLn, []Peer{{Name: "a", Address: "127.0.0.1:1"}}, discard())
		echo(t, impostor)
		b, err := NewTLSNetwork(ca.member(t, "b"), "b", []Peer{{Name: "a", Address: impostorLn.Addr().String()}}, discard())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		c, err := b.DialContext(ctx, impostorLn.Addr().String())
		if err == nil {
			c.Close()
			t.Fatal("dial an impostor succeeded")
		}
		if !strings.Contains(err.Error(), "certificate is valid for b, not a") {
			t.Errorf("dial impostor = %v, want a name mismatch", err)
		}
	})
	t.Run("unknown address", func(t *testing.T) {
		b, err := NewTLSNetwork(ca.member(t, "b"), "b", toA, discard())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.DialContext(t.Context(), "127.0.0.1:3"); err == nil || !strings.Contains(err.Error(), "not the address of a peer") {
			t.Errorf("dial an unknown address = %v", err)
		}
	})
}

// TestTLSCluster runs raft and the peer RPC over mutual TLS: two members
// with the cluster's CA elect a holder; a witness whose certificate comes
// from another CA gets no membership — it never learns the holder — and
// logs the failed handshakes.
func TestTLSCluster(t *testing.T) {
	ca, other := newTestCA(t, "cluster"), newTestCA(t, "other")
	names := []string{"a", "b", "w"}
	lns := map[string]net.Listener{}
	for _, n := range names {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns[n] = ln
	}
	var wlog syncBuffer
	leases := map[string]*Lease{}
	for _, n := range names {
		var peers []Peer
		for _, p := range names {
			if p != n {
				peers = append(peers, Peer{Name: p, Address: lns[p].Addr().String(), Witness: p == "w"})
			}
		}
		files, log := ca.member(t, n), slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
		if n == "w" {
			files, log = other.member(t, n), slog.New(slog.NewTextHandler(&wlog, &slog.HandlerOptions{Level: slog.LevelWarn}))
		}
		l, err := New(Config{
			Self: n, Advertise: lns[n].Addr().String(), Witness: n == "w", Priority: 100, Peers: peers,
			Lease: testLease, DataDir: t.TempDir(), Network: tlsListened(t, files, n, lns[n], peers, log),
		}, log)
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
	var holder string
	waitFor(t, 20*testLease, "a holder known to both nodes", func() bool {
		for _, n := range []string{"a", "b"} {
			if st := leases[n].Status(); st.Held && leases[otherNode(n)].Status().Holder == n {
				holder = n
				return true
			}
		}
		return false
	})
	if st := leases["w"].Status(); st.Holder != "" {
		t.Errorf("witness with a foreign CA knows holder %q, want none", st.Holder)
	}
	waitFor(t, 20*testLease, "the witness logging the refused handshake", func() bool {
		// Which side fails first depends on who dials: w's own check
		// (unknown authority) or the peer's verdict (bad certificate).
		return strings.Contains(wlog.String(), "cluster tls handshake failed")
	})
	if st := leases["w"].Status(); st.Holder != "" {
		t.Errorf("witness with a foreign CA knows holder %q, want none", st.Holder)
	}
	t.Logf("holder %s; witness log:\n%s", holder, wlog.String())
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// tlsCluster runs members a, b and witness w over mutual TLS with
// certificates of one CA, and returns their leases, cluster networks and
// the log of each member.
func tlsCluster(t *testing.T) (map[string]*Lease, map[string]*TLSNetwork, map[string]*syncBuffer) {
	t.Helper()
	ca := newTestCA(t, "cluster")
	names := []string{"a", "b", "w"}
	lns := map[string]net.Listener{}
	for _, n := range names {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns[n] = ln
	}
	leases, nets, logs := map[string]*Lease{}, map[string]*TLSNetwork{}, map[string]*syncBuffer{}
	for _, n := range names {
		var peers []Peer
		for _, p := range names {
			if p != n {
				peers = append(peers, Peer{Name: p, Address: lns[p].Addr().String(), Witness: p == "w"})
			}
		}
		logs[n] = &syncBuffer{}
		log := slog.New(slog.NewTextHandler(io.MultiWriter(logs[n], t.Output()), &slog.HandlerOptions{Level: slog.LevelWarn}))
		nets[n] = tlsListened(t, ca.member(t, n), n, lns[n], peers, log)
		l, err := New(Config{
			Self: n, Advertise: lns[n].Addr().String(), Witness: n == "w", Priority: 100, Peers: peers,
			Lease: testLease, DataDir: t.TempDir(), Network: nets[n],
		}, log)
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
	return leases, nets, logs
}

// With mutual TLS a member writes only its own eligibility record: the
// leader compares the record's node with the name in the requesting
// member's certificate, refuses another's with an error that says why, and
// logs it (issue 16, finding 8; docs/security.md).
func TestTLSEligibilityOnlyForSelf(t *testing.T) {
	leases, nets, logs := tlsCluster(t)
	for _, n := range []string{"a", "b"} {
		if err := leases[n].SetEligible(t.Context(), true, 100); err != nil {
			t.Fatal(err)
		}
	}
	var holder string
	waitFor(t, 20*testLease, "a holder known to every member, both nodes recorded eligible", func() bool {
		for _, n := range []string{"a", "b"} {
			st := leases[n].Status()
			if !st.Held || leases[otherNode(n)].Status().Holder != n || leases["w"].Status().Holder != n {
				continue
			}
			nodes := leases[n].fsm.state().Nodes
			if nodes["a"].Eligible && nodes["b"].Eligible {
				holder = n
				return true
			}
		}
		return false
	})
	other := otherNode(holder)
	leaderAddr := leases[holder].cfg.Advertise
	ask := func(from, node string, eligible bool) error {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		return call(ctx, nets[from], leaderAddr, 5*time.Second,
			rpcRequest{Op: rpcEligible, From: from, Node: node, Eligible: eligible, Priority: 100})
	}

	// The witness, a member with a valid certificate, tries to make the
	// other node ineligible.
	err := ask("w", other, false)
	if err == nil || !strings.Contains(err.Error(), "not permitted") || !strings.Contains(err.Error(), "names [w]") {
		t.Fatalf("w records %s ineligible: %v, want refused as not permitted, naming w's certificate", other, err)
	}
	if rec := leases[holder].fsm.state().Nodes[other]; !rec.Eligible {
		t.Errorf("after w's refused request the leader records %s as %+v, want eligible", other, rec)
	}
	if !strings.Contains(logs[holder].String(), "eligibility record refused") {
		t.Errorf("leader %s did not log the refused request; log:\n%s", holder, logs[holder].String())
	}
	// The holder cannot be made ineligible by another node either.
	if err := ask(other, holder, false); err == nil || !strings.Contains(err.Error(), "not permitted") {
		t.Errorf("%s records %s ineligible: %v, want refused", other, holder, err)
	}
	// Its own record a member may write.
	if err := ask("w", "w", false); err != nil {
		t.Errorf("w records itself ineligible: %v, want accepted", err)
	}
	if err := ask(other, other, true); err != nil {
		t.Errorf("%s records itself eligible: %v, want accepted", other, err)
	}
	if st := leases[holder].Status(); !st.Held {
		t.Errorf("%s lost the lease during the test: %+v", holder, st)
	}
}
