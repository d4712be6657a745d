package daemon

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/vipd/vipd/internal/config"
)

// TestNewLeaseClusterTLS checks that vipd run builds the election on cluster
// TLS when it is configured: bad files stop it before it joins anything.
func TestNewLeaseClusterTLS(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.Parse([]byte(`cluster: c
node: {name: a, advertise: 127.0.0.1:7946, data-dir: `+dir+`}
peers:
  - {name: b, address: 127.0.0.2:7946}
  - {name: w, address: 127.0.0.3:7946, witness: true}
local-address: {interface: none}
cluster-tls: {ca: `+dir+`/ca.pem, cert: `+dir+`/a.pem, key: `+dir+`/a.key}
`), "a.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newLease(cfg, nil, slog.New(slog.DiscardHandler)); err == nil || !strings.HasPrefix(err.Error(), "cluster tls: read ca") {
		t.Errorf("newLease with missing cluster TLS files = %v, want cluster tls: read ca ...", err)
	}
}
