package config

import (
	"errors"
	"regexp"
	"strings"
	"time"
)

// Validate checks c and returns every problem found, joined, each an
// *Error. ParseController calls it; a config built in code calls
// DeriveDefaults first.
func (c *Controller) Validate() error { return c.validate(nil) }

// instanceRE is an EC2 instance id.
var instanceRE = regexp.MustCompile(`^i-([0-9a-f]{8}|[0-9a-f]{17})$`)

// ssmNameRE is what SSM accepts as a parameter name.
var ssmNameRE = regexp.MustCompile(`^[a-zA-Z0-9_.\-/]+$`)

// tableRE is a DynamoDB table name.
var tableRE = regexp.MustCompile(`^[a-zA-Z0-9_.-]{3,255}$`)

// MinControllerInterval is the shortest controller pass Validate accepts:
// each pass is one DescribeInstanceStatus, a describe call that EC2
// throttles per account.
const MinControllerInterval = 200 * time.Millisecond

// sampleAddress stands in for a candidate's address when a check template
// is validated.
const sampleAddress = "192.0.2.1"

func (c *Controller) validate(idx *index) error {
	v := &validator{idx: idx}
	if c.Name != "" {
		v.name("name", c.Name)
	}
	if len(c.Clusters) == 0 {
		v.controllerCluster(c.cluster(), true)
	} else {
		v.fleet(c)
	}
	if c.Interval < MinControllerInterval {
		v.errorf("interval", "%s is shorter than the minimum %s", c.Interval, MinControllerInterval)
	}
	for name, b := range map[string]Bucket{"write": c.EC2Buckets.Write, "read": c.EC2Buckets.Read} {
		if b.Size < 0 {
			v.errorf("ec2-buckets."+name+".size", "%d is negative; 0 means EC2's default", b.Size)
		}
		if b.Refill < 0 {
			v.errorf("ec2-buckets."+name+".refill", "%d is negative; 0 means EC2's default", b.Refill)
		}
	}
	if c.WriteConcurrency < 0 {
		v.errorf("write-concurrency", "%d is negative; 0 means the default", c.WriteConcurrency)
	}
	l := c.Lease
	if !tableRE.MatchString(l.Table) {
		if l.Table == "" {
			v.errorf("lease.table", "required: the DynamoDB table that holds the controllers' lease")
		} else {
			v.errorf("lease.table", "%q is not a DynamoDB table name (3 to 255 of a-z A-Z 0-9 _ . -)", l.Table)
		}
	}
	if l.KeyAttribute == "" {
		v.errorf("lease.key-attribute", "required")
	}
	switch {
	case l.Duration < 2*MinControllerInterval:
		v.errorf("lease.duration", "%s is shorter than the minimum %s", l.Duration, 2*MinControllerInterval)
	case l.Renew <= 0 || l.Renew >= l.Duration:
		v.errorf("lease.renew", "renew %s must be positive and shorter than the lease duration %s", l.Renew, l.Duration)
	case l.Renew > l.Duration/2:
		v.errorf("lease.renew", "renew %s is more than half the lease duration %s; one slow renewal would lose the lease", l.Renew, l.Duration)
	}
	if c.Reconcile.Interval < MinReconcileInterval {
		v.errorf("reconcile.interval", "%s is shorter than the minimum %s", c.Reconcile.Interval, MinReconcileInterval)
	}
	v.notify(&Config{Notify: c.Notify})
	tmp := &Config{API: c.API, Log: c.Log, Reconcile: c.Reconcile, Shutdown: Shutdown{Timeout: time.Second}, AWS: c.AWS}
	v.rest(tmp)
	switch lm := c.Lambda; {
	case lm.RunTime <= 0 || lm.RunTime > 15*time.Minute:
		v.errorf("lambda.run-time", "%s is not between 0 and Lambda's 15m limit", lm.RunTime)
	case lm.StopBefore <= 0:
		v.errorf("lambda.stop-before", "%s is not a positive duration", lm.StopBefore)
	}
	return errors.Join(v.errs...)
}

// controllerCluster checks one cluster's part of a controller
// configuration: the whole of a single-cluster file, or one entry of
// clusters (the validator's prefix places it). needHealth is false for an
// entry that inherits the top level's health.
func (v *validator) controllerCluster(c ControllerCluster, needHealth bool) {
	v.name("cluster", c.Cluster)
	v.candidates(c.Candidates)
	if len(c.Health) == 0 && needHealth {
		v.errorf("health", "required: at least one check run against each candidate, e.g. {tcp: \"%s:5432\"}", AddressPlaceholder)
	}
	v.controllerHealth(c.Health)
	if len(c.Resources) == 0 {
		v.errorf("resources", "required: at least one of overlay-route, secondary-ip, elastic-ip, route53")
	}
	v.resources(&Config{Resources: c.Resources})
	for i, r := range c.Resources {
		switch k := r.Kind(); k {
		case KindENI, KindEBSVolume:
			v.errorf(indexPath("resources", i)+"."+k, "%s changes the host and needs an agent (vipd run) on each candidate; a controller moves overlay-route, secondary-ip, elastic-ip and route53", k)
		}
	}
	switch p := c.OwnerParameter; {
	case p.Name == "":
		v.errorf("owner-parameter.name", "required: the SSM parameter that records the owner, e.g. MasterDB_VIP")
	case len(p.Name) > 2048 || !ssmNameRE.MatchString(p.Name) || strings.Contains(p.Name, "/") && !strings.HasPrefix(p.Name, "/"):
		v.errorf("owner-parameter.name", "%q is not an SSM parameter name (letters, digits, . - _ and /, a path starting with /)", p.Name)
	}
	if c.OwnerParameter.Type != "" {
		v.enum("owner-parameter.type", c.OwnerParameter.Type, []string{ParameterString, ParameterSecureString})
	}
}

func (v *validator) controllerHealth(checks []Check) {
	names := map[string]string{}
	for i := range checks {
		path := indexPath("health", i)
		h := ExpandCheck(checks[i], sampleAddress)
		if checks[i].TCP != "" && !strings.Contains(checks[i].TCP, ":") {
			// "{address}" alone becomes host:port through check-address.
			h.TCP = sampleAddress + ":1"
		}
		v.check(path, &h, names)
	}
}

// fleet checks a file with clusters: the per-cluster fields live in each
// entry, not at the top; names, owner records and candidates' lease keys
// are each the one cluster's.
func (v *validator) fleet(c *Controller) {
	for _, f := range []struct {
		path string
		set  bool
	}{{"cluster", c.Cluster != ""}, {"candidates", len(c.Candidates.Instances)+len(c.Candidates.Tags) > 0},
		{"resources", len(c.Resources) > 0}, {"owner-parameter.name", c.OwnerParameter.Name != ""},
		{"preempt", c.Preempt}, {"lease.key", c.Lease.Key != ""}} {
		if f.set {
			v.errorf(f.path, "set in each entry of clusters, not at the top, when clusters is used")
		}
	}
	v.controllerHealth(c.Health)
	clusters, params := map[string]string{}, map[string]string{}
	for i, cc := range c.Clusters {
		path := indexPath("clusters", i)
		sub := &validator{idx: v.idx, prefix: v.prefix + path + "."}
		sub.controllerCluster(cc, len(c.Health) == 0)
		v.errs = append(v.errs, sub.errs...)
		if prev, ok := clusters[cc.Cluster]; ok && cc.Cluster != "" {
			v.errorf(path+".cluster", "%q is already the cluster at %s", cc.Cluster, prev)
		}
		clusters[cc.Cluster] = path
		if prev, ok := params[cc.OwnerParameter.Name]; ok && cc.OwnerParameter.Name != "" {
			v.errorf(path+".owner-parameter.name", "%q is already the owner record of %s", cc.OwnerParameter.Name, prev)
		}
		params[cc.OwnerParameter.Name] = path
	}
}

func (v *validator) candidates(cs Candidates) {
	switch {
	case len(cs.Instances) == 0 && len(cs.Tags) == 0:
		v.errorf("candidates", "required: instances (in preference order) or tags")
		return
	case len(cs.Instances) > 0 && len(cs.Tags) > 0:
		v.errorf("candidates", "both instances and tags; use one")
	}
	seen := map[string]string{}
	for i, in := range cs.Instances {
		path := indexPath("candidates.instances", i)
		switch {
		case !instanceRE.MatchString(in.ID):
			v.errorf(path+".id", "%q is not an instance id (i- and 8 or 17 hex digits)", in.ID)
		case seen[in.ID] != "":
			v.errorf(path+".id", "%q is already listed at %s", in.ID, seen[in.ID])
		default:
			seen[in.ID] = path
		}
		if strings.ContainsAny(in.CheckAddress, " /") {
			v.errorf(path+".check-address", "%q is not a host or host:port", in.CheckAddress)
		}
	}
	if len(cs.Instances) == 1 {
		v.errorf("candidates.instances", "one candidate cannot fail over; list at least two")
	}
	for i, t := range cs.Tags {
		if t.Key == "" {
			v.errorf(indexPath("candidates.tags", i)+".key", "required")
		}
	}
}
