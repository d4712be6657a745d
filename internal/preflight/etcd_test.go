package preflight_test

import (
	"context"
	"crypto/tls"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"github.com/vipd/vipd/internal/config"
	electionetcd "github.com/vipd/vipd/internal/election/etcd"
	"github.com/vipd/vipd/internal/preflight"
)

// testEtcd is a one-member etcd in this process on loopback, as a site
// runs it: https with a private CA when tls, auth enabled with a root
// user when users are given (user name → readable prefix, or prefix
// followed by " rw" for read and write).
type testEtcd struct {
	endpoint string
	ca       string // PEM file of the CA, when tls
	root     *clientv3.Client
}

func startTestEtcd(t *testing.T, serverTLS *config.ClusterTLS, users map[string]string) *testEtcd {
	t.Helper()
	cfg := embed.NewConfig()
	cfg.Dir = t.TempDir()
	cfg.Name = "test"
	scheme := "http"
	if serverTLS != nil {
		scheme = "https"
		cfg.ClientTLSInfo = transport.TLSInfo{CertFile: serverTLS.Cert, KeyFile: serverTLS.Key}
	}
	ports := []string{closedPort(t), closedPort(t)}
	cu, _ := url.Parse(scheme + "://" + ports[0])
	pu, _ := url.Parse("http://" + ports[1])
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.BcryptCost = 4 // the default cost takes seconds per login under -race
	cfg.TickMs, cfg.ElectionMs = 20, 200
	cfg.LogLevel = "error"
	cfg.LogOutputs = []string{"/dev/null"}
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatalf("start etcd: %v", err)
	}
	t.Cleanup(e.Close)
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(30 * time.Second):
		t.Fatal("etcd not ready within 30s")
	}
	te := &testEtcd{endpoint: cu.String()}
	ccfg := clientv3.Config{Endpoints: []string{te.endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()}
	if serverTLS != nil {
		// The server's certificate names localhost only.
		te.ca = serverTLS.CA
		ccfg.TLS = tlsTo(t, serverTLS.CA)
		ccfg.Endpoints = []string{"https://localhost:" + cu.Port()}
	}
	admin, err := clientv3.New(ccfg)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if len(users) > 0 {
		steps := []func() error{
			func() error { _, err := admin.UserAdd(ctx, "root", "root-pw"); return err },
			func() error { _, err := admin.UserGrantRole(ctx, "root", "root"); return err },
		}
		for user, grant := range users {
			prefix, rw := strings.CutSuffix(grant, " rw")
			perm := clientv3.PermissionType(clientv3.PermRead)
			if rw {
				perm = clientv3.PermissionType(clientv3.PermReadWrite)
			}
			steps = append(steps,
				func() error { _, err := admin.RoleAdd(ctx, user); return err },
				func() error {
					_, err := admin.RoleGrantPermission(ctx, user, prefix, clientv3.GetPrefixRangeEnd(prefix), perm)
					return err
				},
				func() error { _, err := admin.UserAdd(ctx, user, user+"-pw"); return err },
				func() error { _, err := admin.UserGrantRole(ctx, user, user); return err })
		}
		steps = append(steps, func() error { _, err := admin.AuthEnable(ctx); return err })
		for _, step := range steps {
			if err := step(); err != nil {
				t.Fatalf("set up etcd auth: %v", err)
			}
		}
		ccfg.Username, ccfg.Password = "root", "root-pw"
	}
	if te.root, err = clientv3.New(ccfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { te.root.Close() })
	return te
}

// tlsTo is the client TLS configuration trusting ca.
func tlsTo(t *testing.T, ca string) *tls.Config {
	t.Helper()
	c, err := electionetcd.LoadTLS(ca, "", "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// put writes keys as root.
func (te *testEtcd) put(t *testing.T, kv ...string) {
	t.Helper()
	for i := 0; i+1 < len(kv); i += 2 {
		if _, err := te.root.Put(t.Context(), kv[i], kv[i+1]); err != nil {
			t.Fatal(err)
		}
	}
}

// passwordFile writes a password file for user (password user-pw, or pw).
func passwordFile(t *testing.T, pw string) string {
	p := filepath.Join(t.TempDir(), "etcd-password")
	if err := os.WriteFile(p, []byte(pw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// etcdResults runs vipd check with body and returns the results of the
// etcd and Patroni checks.
func etcdResults(t *testing.T, body string) []preflight.Result {
	t.Helper()
	e := newEnv(t, fullRole, false)
	head := "cluster: c\nnode: {name: a, advertise: 127.0.0.1:7946, data-dir: /tmp/x}\npeers: [{name: b, address: " + closedPort(t) + "}]\n"
	cfg, err := config.Parse([]byte(head+body+"resources:\n  - overlay-route: {cidr: 192.168.100.10/32, route-tables: [rtb-0a000000000000001]}\n"+
		"local-address: {interface: auto, cidr: 192.168.100.10/32}\n"), "vipd.yaml")
	if err != nil {
		t.Fatalf("parse config: %v", err)
	}
	var out []preflight.Result
	for _, r := range preflight.Run(t.Context(), cfg, e.deps) {
		// Neither backend's nodes talk to each other: no peer is pinged.
		if r.Check == "peers" && r.Status != preflight.Skip || strings.HasPrefix(r.Check, "peer ") {
			t.Errorf("peers contacted: %s %s: %s", r.Check, r.Status, r.Detail)
		}
		if strings.HasPrefix(r.Check, "etcd") || strings.HasPrefix(r.Check, "patroni") {
			out = append(out, r)
		}
	}
	return out
}

func patroniBody(endpoint, scope, extra string) string {
	return "election:\n  backend: follow\n  patroni:\n    scope: " + scope + "\n    etcd: {endpoints: [\"" + endpoint + "\"]" + extra + "}\n"
}

// TestEtcdPatroni: vipd check finds Patroni's scope, this node among its
// members and the leader key, and says what is wrong when the scope or
// the member name does not match what Patroni writes.
func TestEtcdPatroni(t *testing.T) {
	te := startTestEtcd(t, nil, nil)
	te.put(t, "/service/orders/leader", "b", "/service/orders/members/a", "{}", "/service/orders/members/b", "{}",
		"/service/orders/config", "{}", "/service/sales/leader", "x")
	ep := te.endpoint
	down := "http://" + closedPort(t)
	tests := []struct {
		name   string
		body   string
		want   []outcome
		detail map[string]string // check → text its detail or fix must contain
	}{
		{name: "found", body: patroniBody(ep, "orders", ""),
			want: []outcome{{"etcd " + ep, preflight.Pass}, {"patroni scope orders", preflight.Pass},
				{"patroni member a", preflight.Pass}, {"patroni leader", preflight.Pass}},
			detail: map[string]string{"patroni leader": "names b: this node (a) stands by", "patroni scope orders": "members: a, b"}},
		{name: "wrong scope", body: patroniBody(ep, "order", ""),
			want:   []outcome{{"etcd " + ep, preflight.Pass}, {"patroni scope order", preflight.Fail}},
			detail: map[string]string{"patroni scope order": "orders, sales"}},
		{name: "wrong member", body: patroniBody(ep, "orders", "") + "    member: pg-a\n",
			want: []outcome{{"etcd " + ep, preflight.Pass}, {"patroni scope orders", preflight.Pass},
				{"patroni member pg-a", preflight.Fail}, {"patroni leader", preflight.Pass}},
			detail: map[string]string{"patroni member pg-a": "members: a, b"}},
		{name: "no leader", body: patroniBody(ep, "orders", ""), // the leader key is deleted below
			want: []outcome{{"etcd " + ep, preflight.Pass}, {"patroni scope orders", preflight.Pass},
				{"patroni member a", preflight.Pass}, {"patroni leader", preflight.Warn}}},
		{name: "etcd down", body: patroniBody(down, "orders", ""),
			want:   []outcome{{"etcd " + down, preflight.Fail}, {"patroni scope orders", preflight.Fail}},
			detail: map[string]string{"etcd": "refused the connection"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "no leader" {
				if _, err := te.root.Delete(t.Context(), "/service/orders/leader"); err != nil {
					t.Fatal(err)
				}
			}
			rs := etcdResults(t, tt.body)
			checkEtcd(t, rs, tt.want, tt.detail)
		})
	}
}

// checkEtcd compares outcomes and looks for the detail texts.
func checkEtcd(t *testing.T, rs []preflight.Result, want []outcome, detail map[string]string) {
	t.Helper()
	got := outcomes(rs)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("outcomes (-want +got):\n%s\n%s", d, written(t, rs))
	}
	for check, text := range detail {
		found := false
		for _, r := range rs {
			if (r.Check == check || (check == "etcd" && strings.HasPrefix(r.Check, "etcd "))) &&
				(strings.Contains(r.Detail, text) || strings.Contains(r.Fix, text)) {
				found = true
			}
		}
		if !found {
			t.Errorf("no %s result says %q:\n%s", check, text, written(t, rs))
		}
	}
}

// TestEtcdTLSAndAuth: over https with a private CA and etcd's auth, vipd
// check logs in as the configured user and proves what the etcd backend
// needs (read and write under its prefix, without writing), and names the
// mistake when the CA, the address, the password or the role is wrong.
func TestEtcdTLSAndAuth(t *testing.T) {
	c := newCA(t)
	srv := c.issue(t, "localhost", time.Now().Add(time.Hour))
	te := startTestEtcd(t, &srv, map[string]string{"vipd": "/vipd/ rw", "reader": "/vipd/", "patroni-ro": "/service/orders/"})
	te.put(t, "/service/orders/leader", "a", "/service/orders/members/a", "{}")
	port := strings.TrimPrefix(te.endpoint, "https://127.0.0.1:")
	named := "https://localhost:" + port
	otherCA := newCA(t)
	pw := passwordFile(t, "vipd-pw")
	etcdBody := func(endpoint, user, pwFile, ca string) string {
		return "election:\n  backend: etcd\n  etcd: {endpoints: [\"" + endpoint + "\"], username: " + user +
			", password-file: " + pwFile + ", ca: " + ca + "}\n"
	}
	tests := []struct {
		name   string
		body   string
		want   []outcome
		detail map[string]string
	}{
		{name: "allowed", body: etcdBody(named, "vipd", pw, srv.CA),
			want:   []outcome{{"etcd " + named, preflight.Pass}, {"etcd prefix /vipd/c/", preflight.Pass}},
			detail: map[string]string{"etcd " + named: "over TLS, as user vipd"}},
		{name: "read only", body: etcdBody(named, "reader", passwordFile(t, "reader-pw"), srv.CA),
			want:   []outcome{{"etcd " + named, preflight.Pass}, {"etcd prefix /vipd/c/", preflight.Fail}},
			detail: map[string]string{"etcd prefix /vipd/c/": "may read /vipd/c/ but not write there"}},
		{name: "wrong password", body: etcdBody(named, "vipd", passwordFile(t, "nope"), srv.CA),
			want:   []outcome{{"etcd " + named, preflight.Fail}, {"etcd prefix /vipd/c/", preflight.Fail}},
			detail: map[string]string{"etcd " + named: "authentication failed"}},
		{name: "unknown CA", body: etcdBody(named, "vipd", pw, filepath.Join(otherCA.dir, "ca.pem")),
			want:   []outcome{{"etcd " + named, preflight.Fail}, {"etcd prefix /vipd/c/", preflight.Fail}},
			detail: map[string]string{"etcd " + named: "authority this host does not trust"}},
		{name: "address not in certificate", body: etcdBody(te.endpoint, "vipd", pw, srv.CA),
			want:   []outcome{{"etcd " + te.endpoint, preflight.Fail}, {"etcd prefix /vipd/c/", preflight.Fail}},
			detail: map[string]string{"etcd " + te.endpoint: "not valid for 127.0.0.1"}},
		{name: "http to a TLS port", body: etcdBody("http://localhost:"+port, "vipd", pw, srv.CA),
			want:   []outcome{{"etcd http://localhost:" + port, preflight.Fail}, {"etcd prefix /vipd/c/", preflight.Fail}},
			detail: map[string]string{"etcd http://localhost:" + port: "speaks TLS"}},
		{name: "patroni read denied", body: patroniBody(named, "orders", ", username: vipd, password-file: "+pw+", ca: "+srv.CA),
			want:   []outcome{{"etcd " + named, preflight.Pass}, {"patroni scope orders", preflight.Fail}},
			detail: map[string]string{"patroni scope orders": "grant-permission"}},
		{name: "patroni read-only user", body: patroniBody(named, "orders", ", username: patroni-ro, password-file: "+passwordFile(t, "patroni-ro-pw")+", ca: "+srv.CA),
			want: []outcome{{"etcd " + named, preflight.Pass}, {"patroni scope orders", preflight.Pass},
				{"patroni member a", preflight.Pass}, {"patroni leader", preflight.Pass}},
			detail: map[string]string{"patroni leader": "names this node (a)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkEtcd(t, etcdResults(t, tt.body), tt.want, tt.detail)
		})
	}
	// Nothing was written by the checks.
	resp, err := te.root.Get(t.Context(), "/vipd/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil || resp.Count != 0 {
		t.Errorf("keys under /vipd/ after the checks: %v (%v), want none", resp, err)
	}
}
