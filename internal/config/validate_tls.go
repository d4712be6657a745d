package config

import "path/filepath"

// clusterTLS checks that cluster TLS is all or nothing and names its files
// absolutely (vipd runs from / under systemd). The files themselves are
// read and checked at start (internal/election/raft), where their content
// matters: expiry, the CA's signature, the node name.
func (v *validator) clusterTLS(c *Config) {
	t := c.ClusterTLS
	if !t.Enabled() {
		return
	}
	for _, f := range []struct{ key, path string }{{"ca", t.CA}, {"cert", t.Cert}, {"key", t.Key}} {
		switch {
		case f.path == "":
			v.errorf("cluster-tls."+f.key, "required when cluster-tls is set (ca, cert and key go together)")
		case !filepath.IsAbs(f.path):
			v.errorf("cluster-tls."+f.key, "%q is not an absolute path", f.path)
		}
	}
}
