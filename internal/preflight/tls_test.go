package preflight_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vipd/vipd/internal/config"
	electionraft "github.com/vipd/vipd/internal/election/raft"
	"github.com/vipd/vipd/internal/preflight"
)

type ca struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	dir  string
	n    int
}

func newCA(t *testing.T) *ca {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	c := &ca{cert: cert, key: key, dir: t.TempDir()}
	writePEM(t, filepath.Join(c.dir, "ca.pem"), "CERTIFICATE", der)
	return c
}

// issue writes a certificate for name valid until notAfter.
func (c *ca) issue(t *testing.T, name string, notAfter time.Time) config.ClusterTLS {
	t.Helper()
	c.n++
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(c.n + 1)), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: notAfter, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	f := config.ClusterTLS{CA: filepath.Join(c.dir, "ca.pem"),
		Cert: filepath.Join(c.dir, fmt.Sprintf("%s-%d.pem", name, c.n)), Key: filepath.Join(c.dir, fmt.Sprintf("%s-%d.key", name, c.n))}
	writePEM(t, f.Cert, "CERTIFICATE", der)
	writePEM(t, f.Key, "EC PRIVATE KEY", kder)
	return f
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// tlsPeer runs member name with cluster TLS from files, counting peers
// (by name) as the other members, and returns its cluster address.
func tlsPeer(t *testing.T, files config.ClusterTLS, name string, peers ...string) string {
	t.Helper()
	var ps []electionraft.Peer
	for i, p := range peers {
		ps = append(ps, electionraft.Peer{Name: p, Address: fmt.Sprintf("127.0.0.1:%d", i+1)})
	}
	n, err := electionraft.NewTLSNetwork(electionraft.TLSFiles{CA: files.CA, Cert: files.Cert, Key: files.Key}, name, ps, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return member(t, name, n, ps)
}

// TestClusterTLS: vipd check loads the member's certificate as vipd run
// does, and dials the peers with mutual TLS, so an expired certificate or a
// peer of another CA fails the check.
func TestClusterTLS(t *testing.T) {
	cluster, foreign := newCA(t), newCA(t)
	good := tlsPeer(t, cluster.issue(t, "a", time.Now().Add(time.Hour)), "a", "w")
	alien := tlsPeer(t, foreign.issue(t, "b", time.Now().Add(time.Hour)), "b", "w")
	// x trusts the cluster CA but does not count w as a member.
	other := tlsPeer(t, cluster.issue(t, "x", time.Now().Add(time.Hour)), "x", "a")
	cfg := func(files config.ClusterTLS) *config.Config {
		c, err := config.Parse([]byte(fmt.Sprintf(`cluster: c
node: {name: w, advertise: 127.0.0.1:7946, witness: true, data-dir: /tmp/x}
peers:
  - {name: a, address: %q}
  - {name: b, address: %q}
  - {name: x, address: %q}
cluster-tls: {ca: %q, cert: %q, key: %q}
`, good, alien, other, files.CA, files.Cert, files.Key)), "w.yaml")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	rs := preflight.Run(t.Context(), cfg(cluster.issue(t, "w", time.Now().Add(time.Hour))), preflight.Deps{Timeout: 6 * time.Second})
	want := []outcome{{"config", preflight.Pass}, {"cluster tls", preflight.Pass},
		{"peer a", preflight.Pass}, {"peer b", preflight.Fail}, {"peer x", preflight.Fail}}
	if diff := cmp.Diff(want, outcomes(rs)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s\n%s", diff, written(t, rs))
	}
	if out := written(t, rs); !strings.Contains(out, "✓ peer a: "+good+" answered as a vipd member") {
		t.Errorf("output lacks a's answer:\n%s", out)
	}
	if out := written(t, rs); !strings.Contains(out, "✗ peer b: cluster tls: handshake with b at "+alien) {
		t.Errorf("output lacks the failed handshake with b:\n%s", out)
	}
	if out := written(t, rs); !strings.Contains(out, "✗ peer x: cluster tls: x at "+other+" refused this member's certificate") {
		t.Errorf("output lacks x's refusal:\n%s", out)
	}

	rs = preflight.Run(t.Context(), cfg(cluster.issue(t, "w", time.Now().Add(-time.Hour))), preflight.Deps{})
	if len(rs) < 2 || rs[1].Check != "cluster tls" || rs[1].Status != preflight.Fail || !strings.Contains(rs[1].Detail, "expired at") {
		t.Errorf("expired certificate: want ✗ cluster tls ... expired at, got:\n%s", written(t, rs))
	}
	if !preflight.Blocking(rs) {
		t.Errorf("expired certificate does not block")
	}
}
