package config

import (
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Controller is the configuration of `vipd controller` and of the vipd
// Lambda function: the agentless mode (AWS's Lambda recipe for a private
// VIP across zones), in which one vipd outside
// the candidate instances checks them and moves the cloud-side resources to
// a healthy one. It is a separate top-level schema from Config (an agent's):
// a controller has no node identity, peers, local address or host-side
// resources, but candidates, an owner record and a DynamoDB lease.
type Controller struct {
	// Cluster names the group; it keys the lease item and appears in logs
	// and notify scripts.
	Cluster string `yaml:"cluster"`
	// Name is this controller's name in the lease ("" means the host name,
	// filled by the command; the Lambda function uses its own name).
	Name string `yaml:"name"`
	// Candidates are the instances the service address may live on.
	Candidates Candidates `yaml:"candidates"`
	// Preempt moves the address back to a more preferred candidate once it
	// is healthy again; false (the default) leaves it on a healthy owner.
	Preempt bool `yaml:"preempt"`
	// Interval is the period of a controller pass: instance states are read
	// (one DescribeInstanceStatus) and the owner decided. Health checks run
	// on their own intervals. Default 1s.
	Interval time.Duration `yaml:"interval"`
	// Health lists the checks run from the controller against each
	// candidate; "{address}" in tcp, http.url and exec.command is replaced
	// by the candidate's check address (its private IP unless the candidate
	// sets check-address). A candidate is healthy when all pass.
	Health []Check `yaml:"health"`
	// Resources are the cloud-side resources moved to the owner:
	// overlay-route, secondary-ip, elastic-ip, route53 (not eni or
	// ebs-volume, which need the host).
	Resources []Resource `yaml:"resources"`
	// OwnerParameter records the owner in SSM Parameter Store.
	OwnerParameter OwnerParameter `yaml:"owner-parameter"`
	// Lease is the DynamoDB lease the controllers share: only its holder acts.
	Lease ControllerLease `yaml:"lease"`
	// Reconcile tunes drift repair of the owner's resources.
	Reconcile Reconcile `yaml:"reconcile"`
	// Notify runs keepalived-compatible scripts when the owner changes.
	Notify Notify `yaml:"notify"`
	// API configures the admin socket and metrics listener.
	API API `yaml:"api"`
	// AWS configures region, endpoints and the role the resources' calls
	// are made with, as in a node's file; the Lambda function takes its
	// region from AWS_REGION.
	AWS AWS `yaml:"aws"`
	// Log configures logging.
	Log Log `yaml:"log"`
	// Lambda tunes the Lambda entry point.
	Lambda Lambda `yaml:"lambda"`
	// Clusters, when set, makes one controller serve many clusters (a
	// fleet): each entry holds one cluster's cluster, candidates,
	// preempt, health, resources and owner-parameter, which are then not
	// set at the top; everything else (name, interval, lease table and
	// timing, reconcile, notify, api, aws, log, lambda) is shared, and
	// the top's health is the default of an entry that sets none. Each
	// cluster keeps its own lease item (keyed by its name), owner record
	// and admin socket (api.socket with {cluster} replaced by its name,
	// or -<cluster> added before the extension).
	Clusters []ControllerCluster `yaml:"clusters"`
	// WriteConcurrency bounds the AWS writes in flight over all clusters
	// (the first route of every moving cluster goes before the other
	// tables of any). Default 0: 4.
	WriteConcurrency int `yaml:"write-concurrency"`
	// EC2Buckets are the account's EC2 throttling buckets, one per
	// action, which the controller keeps a copy of to send a call only
	// when the account has a token for it, in the order the clusters
	// asked, instead of having it refused with RequestLimitExceeded and
	// retried after a random pause. Set them to the account's limits when
	// AWS raised them.
	EC2Buckets EC2Buckets `yaml:"ec2-buckets"`

	// Source is the file the config was read from ("" when not from a file).
	Source string `yaml:"-"`
}

// EC2Buckets are the sizes of EC2's per-action throttling buckets.
type EC2Buckets struct {
	// Write is each mutating action's bucket (ReplaceRoute,
	// AssociateAddress, ...). Default 50 tokens refilled at 5 a second.
	Write Bucket `yaml:"write"`
	// Read is each Describe action's bucket (calls with filters or IDs, as
	// vipd makes them). Default 100 tokens refilled at 20 a second.
	Read Bucket `yaml:"read"`
	// Off sends every call at once and leaves throttling to the retries,
	// for an account whose calls mostly come from elsewhere.
	Off bool `yaml:"off"`
}

// Bucket is one EC2 throttling bucket.
type Bucket struct {
	// Size is the bucket's capacity, in calls. Default 0: EC2's.
	Size int `yaml:"size"`
	// Refill is the calls added a second. Default 0: EC2's.
	Refill int `yaml:"refill"`
}

// EC2's default buckets ("Request throttling for the Amazon EC2 API").
var (
	DefaultWriteBucket = Bucket{Size: 50, Refill: 5}
	DefaultReadBucket  = Bucket{Size: 100, Refill: 20}
)

// ControllerCluster is one cluster of a controller that serves many.
type ControllerCluster struct {
	// Cluster names the cluster: its lease item's key, logs, notify
	// scripts, its admin socket and metrics label.
	Cluster string `yaml:"cluster"`
	// Candidates, Preempt, Health, Resources and OwnerParameter are as in
	// a single-cluster file; Health defaults to the top level's.
	Candidates     Candidates     `yaml:"candidates"`
	Preempt        bool           `yaml:"preempt"`
	Health         []Check        `yaml:"health"`
	Resources      []Resource     `yaml:"resources"`
	OwnerParameter OwnerParameter `yaml:"owner-parameter"`
}

// ClusterPlaceholder is replaced by the cluster's name in api.socket
// when a controller serves many clusters.
const ClusterPlaceholder = "{cluster}"

// cluster returns a single-cluster file's cluster part.
func (c *Controller) cluster() ControllerCluster {
	return ControllerCluster{Cluster: c.Cluster, Candidates: c.Candidates, Preempt: c.Preempt, Health: c.Health,
		Resources: c.Resources, OwnerParameter: c.OwnerParameter}
}

// PerCluster returns one single-cluster configuration for each cluster
// c serves: c itself without clusters, else each entry with the shared
// fields, its own lease key and admin socket, and the top's health when
// it sets none. Each has its defaults derived.
func (c *Controller) PerCluster() []*Controller {
	if len(c.Clusters) == 0 {
		return []*Controller{c}
	}
	out := make([]*Controller, 0, len(c.Clusters))
	for _, cc := range c.Clusters {
		x := *c
		x.Clusters = nil
		x.Cluster, x.Candidates, x.Preempt, x.Resources = cc.Cluster, cc.Candidates, cc.Preempt, cc.Resources
		x.Health = slices.Clone(cc.Health)
		if len(x.Health) == 0 {
			x.Health = slices.Clone(c.Health)
		}
		x.OwnerParameter = cc.OwnerParameter
		if x.OwnerParameter.Type == "" {
			x.OwnerParameter.Type = c.OwnerParameter.Type
		}
		x.Lease.Key = cc.Cluster
		x.API.Socket = clusterSocket(c.API.Socket, cc.Cluster)
		x.DeriveDefaults()
		out = append(out, &x)
	}
	return out
}

// clusterSocket is cluster's admin socket under a fleet's api.socket:
// {cluster} replaced, or, without it, "-<cluster>" before the extension
// (/run/vipd/controller.sock → /run/vipd/controller-orders-db.sock).
func clusterSocket(socket, cluster string) string {
	if socket == "" {
		return ""
	}
	if strings.Contains(socket, ClusterPlaceholder) {
		return strings.ReplaceAll(socket, ClusterPlaceholder, cluster)
	}
	ext := filepath.Ext(socket)
	return strings.TrimSuffix(socket, ext) + "-" + cluster + ext
}

// Candidates is a list of instances (in preference order) or a tag filter.
type Candidates struct {
	// Instances are listed in preference order (the first is preferred).
	Instances []Candidate `yaml:"instances"`
	// Tags select running candidates with DescribeInstances (every tag must
	// match); they are preferred in instance id order.
	Tags []Tag `yaml:"tags"`
}

// Candidate is one instance.
type Candidate struct {
	// ID is the instance id (i-...).
	ID string `yaml:"id"`
	// CheckAddress replaces "{address}" in the health checks instead of the
	// instance's private IP: a host, or host:port, through which the
	// controller reaches the candidate (a NAT, a tunnel, a test fabric).
	CheckAddress string `yaml:"check-address"`
}

// Owner parameter types.
const (
	ParameterString       = "String"
	ParameterSecureString = "SecureString"
)

// OwnerParameter is the SSM parameter that names the owner (the Lambda
// recipe's MasterDB_VIP). Its value is "<instance-id> <token>"; each move writes a
// new version, conditional on the token it records not being lower than the
// one already there.
type OwnerParameter struct {
	// Name of the parameter; required.
	Name string `yaml:"name"`
	// Type is String (default) or SecureString.
	Type string `yaml:"type"`
}

// ControllerLease is the DynamoDB lease shared by the controllers.
type ControllerLease struct {
	// Table is the DynamoDB table (hash key a string attribute); required.
	Table string `yaml:"table"`
	// KeyAttribute is the table's hash key attribute. Default id.
	KeyAttribute string `yaml:"key-attribute"`
	// Key is the lease item's key. Default: the cluster name.
	Key string `yaml:"key"`
	// Duration is how long a grant lasts without renewal. Default 10s.
	Duration time.Duration `yaml:"duration"`
	// Renew is the renewal (and waiting read) period. Default Duration/4.
	Renew time.Duration `yaml:"renew"`
}

// Lambda tunes one invocation of the Lambda function.
type Lambda struct {
	// RunTime is how long one invocation keeps checking; keep it just
	// under the schedule period (EventBridge fires at most once a minute)
	// and under the function timeout. Default 50s.
	RunTime time.Duration `yaml:"run-time"`
	// StopBefore is how long before the invocation's deadline it stops
	// acting and releases the lease, whatever RunTime says. Default 5s.
	StopBefore time.Duration `yaml:"stop-before"`
}

// AddressPlaceholder is replaced in controller health checks by a
// candidate's check address.
const AddressPlaceholder = "{address}"

// DefaultController returns the controller configuration every file is
// decoded over: the one place its defaults are defined.
func DefaultController() *Controller {
	return &Controller{
		Interval:       time.Second,
		OwnerParameter: OwnerParameter{Type: ParameterString},
		Lease: ControllerLease{
			KeyAttribute: "id",
			Duration:     10 * time.Second,
		},
		Reconcile: Reconcile{Interval: 5 * time.Second},
		Notify:    Notify{Timeout: 10 * time.Second},
		API:       API{Socket: "/run/vipd/controller.sock"},
		AWS:       AWS{Region: "auto", CallTimeout: 2 * time.Second},
		Log:       Log{Format: LogText, Level: LogInfo},
		Lambda:    Lambda{RunTime: 50 * time.Second, StopBefore: 5 * time.Second},
	}
}

// DeriveDefaults fills the defaults that depend on other fields: the lease
// key (the cluster), its renewal period (a quarter of its duration), check
// names and HTTP status ranges. It never overwrites a field that is set.
func (c *Controller) DeriveDefaults() {
	if c.Lease.Key == "" && len(c.Clusters) == 0 {
		c.Lease.Key = c.Cluster
	}
	if c.Lease.Renew == 0 {
		c.Lease.Renew = c.Lease.Duration / 4
	}
	tmp := Config{Health: c.Health}
	tmp.DeriveDefaults()
	for i := range c.Clusters {
		tmp := Config{Health: c.Clusters[i].Health}
		tmp.DeriveDefaults()
	}
}

// LoadController reads and parses the controller configuration at path;
// see ParseController.
func LoadController(path string) (*Controller, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return ParseController(data, path)
}

// ParseController decodes one YAML document over DefaultController, fills
// derived defaults and validates the result, as strictly as Parse: every
// problem is an *Error with file:line:column and YAML path.
func ParseController(data []byte, source string) (*Controller, error) {
	c, _, err := parseController(data, source)
	return c, err
}

// LintController is Lint for a controller configuration.
func LintController(path string) (*Controller, []error, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, nil, err
	}
	c, idx, err := parseController(data, path)
	if err != nil {
		return nil, nil, err
	}
	return c, checkScripts(idx, c.Notify, ""), nil
}

func parseController(data []byte, source string) (*Controller, *index, error) {
	c := DefaultController()
	c.Source = source
	idx, err := decodeStrict(data, source, c)
	if err != nil {
		return nil, nil, err
	}
	c.DeriveDefaults()
	if err := c.validate(idx); err != nil {
		return nil, nil, err
	}
	return c, idx, nil
}

// ExpandCheck returns c with AddressPlaceholder replaced by address in its
// probe: tcp, http.url and each exec argument.
func ExpandCheck(c Check, address string) Check {
	r := strings.NewReplacer(AddressPlaceholder, address)
	out := c
	out.TCP = r.Replace(c.TCP)
	if c.HTTP != nil {
		h := *c.HTTP
		h.URL = r.Replace(h.URL)
		out.HTTP = &h
	}
	if c.Exec != nil {
		argv := make([]string, len(c.Exec.Command))
		for i, a := range c.Exec.Command {
			argv[i] = r.Replace(a)
		}
		out.Exec = &ExecCheck{Command: argv}
	}
	return out
}
