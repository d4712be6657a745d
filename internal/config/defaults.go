package config

import (
	"path/filepath"
	"time"
)

// FailoverBudget bounds how long a failing health check may take to be
// noticed (Fall × Interval). design.md aims at a median failover of 2 s with
// default settings; a check slower than 30 s to declare failure would make
// vipd slower than the keepalived setups it replaces, so Validate refuses it
// rather than letting a typo (interval: 10m) hide a dead service.
const FailoverBudget = 30 * time.Second

// MinLease is the shortest election lease Validate accepts: below it a
// single GC pause or a loaded host would cost the lease and flap the address.
const MinLease = 200 * time.Millisecond

// MinReconcileInterval is the shortest reconcile interval Validate accepts:
// each reconcile is one Describe call, and EC2 throttles describe calls per
// account (20 per second sustained), shared with every other tool there.
const MinReconcileInterval = time.Second

// MaxNotifyTimeout is the longest notify.timeout Validate accepts. Scripts
// run one at a time, so a slow one delays every later notification, and a
// stop waits for its stop script after releasing the address (the shipped
// unit allows shutdown.timeout plus this before it kills vipd). A script
// with longer work to do starts it in the background and returns.
const MaxNotifyTimeout = 30 * time.Second

// Default returns the configuration every file is decoded over: the one
// place vipd's defaults are defined (flag help and docs read them here).
// Fields left zero have no default and are either optional or required by
// Validate. Defaults that depend on other fields (Node.Listen, Node.DataDir,
// check names) are filled by DeriveDefaults; per-check defaults come from
// DefaultCheck.
func Default() *Config {
	release := true
	return &Config{
		Node: Node{
			Priority: 100,
		},
		Election: Election{
			Backend: BackendRaft,
			Lease:   2 * time.Second,
		},
		LocalAddress: LocalAddress{
			Interface: InterfaceAuto,
		},
		Notify: Notify{
			Timeout: 10 * time.Second,
		},
		Reconcile: Reconcile{
			Interval: 5 * time.Second,
		},
		InstanceNotices: defaultInstanceNotices(),
		API: API{
			Socket: "/run/vipd/vipd.sock",
		},
		AWS: AWS{
			Region:      "auto",
			CallTimeout: 2 * time.Second,
		},
		Log: Log{
			Format: LogText,
			Level:  LogInfo,
		},
		Shutdown: Shutdown{
			Release: &release,
			Timeout: 10 * time.Second,
		},
	}
}

// DefaultCheck returns the defaults of one health check (interval 1s,
// timeout 1s, rise 2, fall 2); the probe itself has no default.
func DefaultCheck() Check {
	return Check{
		Interval: time.Second,
		Timeout:  time.Second,
		Rise:     2,
		Fall:     2,
	}
}

// defaultDataDirRoot is where a node keeps its raft state when data-dir is
// not set: one directory per cluster, so a host can run members of several.
const defaultDataDirRoot = "/var/lib/vipd"

// defaultHTTPStatus is the accepted status range of an HTTP check.
const defaultHTTPStatus = "200-299"

// DeriveDefaults fills the defaults that depend on other fields: Node.Listen
// (Node.Advertise), Node.DataDir (/var/lib/vipd/<cluster>), the DynamoDB
// lease item's key (the cluster name) and attribute (id), the etcd
// election's prefix (/vipd/<cluster>), Patroni's namespace, member and
// grace, the name of each
// unnamed check and the status range of HTTP checks. Parse calls it; a
// config built in code calls it before Validate. It never overwrites a
// field that is set, so calling it twice is harmless.
func (c *Config) DeriveDefaults() {
	if c.Node.Listen == "" {
		c.Node.Listen = c.Node.Advertise
	}
	if c.Node.DataDir == "" && c.Cluster != "" {
		c.Node.DataDir = filepath.Join(defaultDataDirRoot, c.Cluster)
	}
	if d := c.Election.DynamoDB; d != nil {
		if d.Key == "" {
			d.Key = c.Cluster
		}
		if d.KeyAttribute == "" {
			d.KeyAttribute = "id"
		}
	}
	if e := c.Election.Etcd; e != nil && e.Prefix == "" && c.Cluster != "" {
		e.Prefix = "/vipd/" + c.Cluster
	}
	if p := c.Election.Patroni; p != nil {
		if p.Namespace == "" {
			p.Namespace = "/service"
		}
		if p.Member == "" {
			p.Member = c.Node.Name
		}
		if p.Grace == 0 {
			p.Grace = 10 * time.Second
		}
	}
	checks := make([]*Check, 0, len(c.Health)+1)
	for i := range c.Health {
		checks = append(checks, &c.Health[i])
	}
	if c.Election.PrimaryCheck != nil {
		checks = append(checks, c.Election.PrimaryCheck)
	}
	for _, h := range checks {
		if h.HTTP != nil && h.HTTP.Status == "" {
			h.HTTP.Status = defaultHTTPStatus
		}
		if h.Name == "" {
			h.Name = h.probeName()
		}
	}
}

// probeName names a check after its probe, for checks without a name.
func (c *Check) probeName() string {
	switch {
	case c.TCP != "" && c.HTTP == nil && c.Exec == nil:
		return "tcp " + c.TCP
	case c.HTTP != nil && c.TCP == "" && c.Exec == nil:
		return "http " + c.HTTP.URL
	case c.Exec != nil && c.TCP == "" && c.HTTP == nil && len(c.Exec.Command) > 0:
		return "exec " + c.Exec.Command[0]
	}
	// Not exactly one probe: Validate reports that, naming the check by index.
	return ""
}
