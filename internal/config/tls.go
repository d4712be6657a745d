package config

// ClusterTLS secures the cluster port (raft and the peer RPC) with mutual
// TLS: every member presents a certificate signed by the cluster's CA whose
// DNS name (subject alternative name) is its node name, and accepts only
// such certificates from the others. Unset (the default), cluster traffic
// is plain TCP: keep it then on a network only the members reach. See
// docs/security.md for the threat model.
type ClusterTLS struct {
	// CA is the PEM file of the cluster's CA certificate(s). Use a CA
	// dedicated to this cluster: any certificate it signed for a member's
	// name is that member.
	CA string `yaml:"ca"`
	// Cert is the PEM file of this member's certificate (with
	// intermediates, if any), valid for the DNS name node.name, with the
	// server and client auth extended key usages.
	Cert string `yaml:"cert"`
	// Key is the PEM file of Cert's private key (readable by vipd only).
	Key string `yaml:"key"`
}

// Enabled reports whether cluster TLS is configured.
func (t ClusterTLS) Enabled() bool { return t.CA != "" || t.Cert != "" || t.Key != "" }
