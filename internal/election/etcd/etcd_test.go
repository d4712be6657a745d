package etcd_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/vipd/vipd/internal/election"
	"github.com/vipd/vipd/internal/election/electiontest"
	"github.com/vipd/vipd/internal/election/etcd"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testLease is the members' lease (etcd's TTL, whole seconds).
const testLease = time.Second

// startEtcd runs a one-member etcd in this process on loopback, with a
// short election timeout so that its minimum lease TTL is one second
// (the server raises shorter TTLs to 1.5 × election timeout).
func startEtcd(t *testing.T) (endpoint string, stop func()) {
	t.Helper()
	cfg := embed.NewConfig()
	cfg.Dir = t.TempDir()
	cfg.Name = "test"
	ports := freePorts(t, 2)
	cu, _ := url.Parse("http://" + ports[0])
	pu, _ := url.Parse("http://" + ports[1])
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.TickMs, cfg.ElectionMs = 20, 200
	cfg.LogLevel = "error"
	cfg.LogOutputs = []string{"/dev/null"}
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatalf("start etcd: %v", err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(30 * time.Second):
		e.Close()
		t.Fatal("etcd not ready within 30s")
	}
	var once sync.Once
	return cu.Host, func() { once.Do(e.Close) }
}

func freePorts(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().String())
	}
	for _, l := range ls {
		l.Close()
	}
	return out
}

// link is one member's path to etcd: while cut, its connections are
// closed and new ones fail, as when the member is partitioned from etcd.
type link struct {
	target string
	mu     sync.Mutex
	cut    bool
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
}

func newLink(target string) *link { return &link{target: target, conns: map[net.Conn]bool{}} }

// dial is the member's dialer: a pipe whose far end is copied to etcd.
func (k *link) dial(ctx context.Context, _ string) (net.Conn, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cut {
		return nil, errors.New("link cut: network unreachable")
	}
	var d net.Dialer
	up, err := d.DialContext(ctx, "tcp", k.target)
	if err != nil {
		return nil, err
	}
	near, far := net.Pipe()
	k.conns[far], k.conns[up] = true, true
	k.wg.Add(2)
	go func() { defer k.wg.Done(); _, _ = io.Copy(up, far); up.Close(); far.Close() }()
	go func() { defer k.wg.Done(); _, _ = io.Copy(far, up); up.Close(); far.Close() }()
	return near, nil
}

func (k *link) set(cut bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.cut = cut
	if cut {
		for c := range k.conns {
			c.Close()
		}
		clear(k.conns)
	}
}

func (k *link) close() {
	k.set(true)
	k.wg.Wait()
}

type cluster struct {
	stop   func()
	leases map[string]*etcd.Lease
	links  map[string]*link
}

func newCluster(t *testing.T, names []string) electiontest.Harness {
	endpoint, stop := startEtcd(t)
	c := &cluster{stop: stop, leases: map[string]*etcd.Lease{}, links: map[string]*link{}}
	for _, n := range names {
		k := newLink(endpoint)
		l, err := etcd.New(etcd.Config{Self: n, Endpoints: []string{endpoint}, Prefix: "/vipd/test", Lease: testLease, Dial: k.dial},
			slog.New(slog.NewTextHandler(t.Output(), nil)))
		if err != nil {
			t.Fatal(err)
		}
		c.leases[n], c.links[n] = l, k
	}
	return c
}

func (c *cluster) Lease(name string) election.Lease { return c.leases[name] }
func (c *cluster) Isolate(name string)              { c.links[name].set(true) }
func (c *cluster) Heal(name string)                 { c.links[name].set(false) }
func (c *cluster) Close() {
	for _, k := range c.links {
		k.close()
	}
	c.stop()
}

// TestConformance runs the election suite against a real etcd.
func TestConformance(t *testing.T) {
	electiontest.Conformance(t, electiontest.Backend{
		NewCluster:  newCluster,
		Lease:       testLease,
		Transfers:   true,
		HandsOver:   true,
		KnowsHolder: true,
	})
}

// writeCerts writes a CA and a server certificate for 127.0.0.1 (PEM) to
// dir and returns their paths.
func writeCerts(t *testing.T, dir string) (ca, cert, key string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test etcd CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srvTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "etcd"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("server.pem", "CERTIFICATE", srvDER), write("server-key.pem", "EC PRIVATE KEY", keyDER)
}

// TestTLSAuthAndToken runs etcd as a site secures it — https with a
// private CA, auth enabled, a user allowed only under /vipd/ — and checks
// that a member configured the same way holds with the leader key's
// create revision as its token, and that one with a wrong password never
// holds.
func TestTLSAuthAndToken(t *testing.T) {
	dir := t.TempDir()
	caFile, certFile, keyFile := writeCerts(t, dir)
	cfg := embed.NewConfig()
	cfg.Dir = filepath.Join(dir, "data")
	cfg.Name = "test"
	ports := freePorts(t, 2)
	cu, _ := url.Parse("https://" + ports[0])
	pu, _ := url.Parse("http://" + ports[1])
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.ClientTLSInfo = transport.TLSInfo{CertFile: certFile, KeyFile: keyFile}
	// bcrypt at its default cost takes seconds per login under -race.
	cfg.BcryptCost = 4
	cfg.TickMs, cfg.ElectionMs = 20, 200
	cfg.LogLevel = "error"
	cfg.LogOutputs = []string{"/dev/null"}
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatalf("start etcd: %v", err)
	}
	defer e.Close()
	<-e.Server.ReadyNotify()

	tlsCfg, err := etcd.LoadTLS(caFile, "", "")
	if err != nil {
		t.Fatal(err)
	}
	admin, err := clientv3.New(clientv3.Config{Endpoints: []string{cu.String()}, TLS: tlsCfg, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for _, step := range []func() error{
		func() error { _, err := admin.UserAdd(ctx, "root", "root-pw"); return err },
		func() error { _, err := admin.UserGrantRole(ctx, "root", "root"); return err },
		func() error { _, err := admin.RoleAdd(ctx, "vipd"); return err },
		func() error {
			_, err := admin.RoleGrantPermission(ctx, "vipd", "/vipd/", clientv3.GetPrefixRangeEnd("/vipd/"), clientv3.PermissionType(clientv3.PermReadWrite))
			return err
		},
		func() error { _, err := admin.UserAdd(ctx, "vipd", "vipd-pw"); return err },
		func() error { _, err := admin.UserGrantRole(ctx, "vipd", "vipd"); return err },
		func() error { _, err := admin.AuthEnable(ctx); return err },
	} {
		if err := step(); err != nil {
			t.Fatalf("set up etcd auth: %v", err)
		}
	}

	start := func(name, password string) (*etcd.Lease, func()) {
		tc, err := etcd.LoadTLS(caFile, "", "")
		if err != nil {
			t.Fatal(err)
		}
		l, err := etcd.New(etcd.Config{Self: name, Endpoints: []string{cu.String()}, Prefix: "/vipd/secure", Lease: 2 * time.Second,
			TLS: tc, Username: "vipd", Password: password}, slog.New(slog.NewTextHandler(t.Output(), nil)))
		if err != nil {
			t.Fatal(err)
		}
		rctx, stop := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- l.Run(rctx) }()
		if err := l.SetEligible(ctx, true, 100); err != nil {
			t.Fatal(err)
		}
		return l, func() {
			stop()
			if err := <-done; err != nil {
				t.Errorf("Run(%s) = %v", name, err)
			}
		}
	}
	bad, stopBad := start("intruder", "wrong")
	defer stopBad()
	a, stopA := start("a", "vipd-pw")
	defer stopA()
	var st election.Status
	deadline := time.Now().Add(10 * time.Second)
	for !st.Held {
		if time.Now().After(deadline) {
			t.Fatalf("a does not hold over TLS with auth: %+v", a.Status())
		}
		select {
		case <-a.Changes():
		case <-time.After(20 * time.Millisecond):
		}
		st = a.Status()
	}
	// The token is the create revision of a's key, as etcd reports it.
	root, err := clientv3.New(clientv3.Config{Endpoints: []string{cu.String()}, TLS: tlsCfg, Username: "root", Password: "root-pw",
		DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	resp, err := root.Get(ctx, "/vipd/secure/", clientv3.WithFirstCreate()...)
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("read the leader key: %v %v", resp, err)
	}
	if kv := resp.Kvs[0]; string(kv.Value) != "a" || uint64(kv.CreateRevision) != st.Token {
		t.Errorf("leader key %s = %q created at revision %d; a holds token %d", kv.Key, kv.Value, kv.CreateRevision, st.Token)
	}
	if bst := bad.Status(); bst.Held || bst.Quorum {
		t.Errorf("a member with a wrong password: %+v, want neither holding nor in contact", bst)
	}
}
