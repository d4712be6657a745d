// Package config is vipd's configuration: the YAML schema, its defaults (in
// one place: Default), strict decoding with file:line:column errors, and
// validation that reports every problem at once.
//
// config imports nothing of vipd; everything else may import it.
package config

import (
	"net/netip"
	"strings"
	"time"
)

// Config is one vipd process's configuration: an agent node, or a witness
// (Node.Witness) that votes in the election but never owns anything.
type Config struct {
	// Cluster names the cluster; every member must use the same name.
	Cluster string `yaml:"cluster"`
	// Node describes this process.
	Node Node `yaml:"node"`
	// Peers lists the other members (nodes and witnesses).
	Peers []Peer `yaml:"peers"`
	// Election selects and tunes the election backend.
	Election Election `yaml:"election"`
	// Health lists the checks that decide whether this node may own the address.
	Health []Check `yaml:"health"`
	// Resources are acquired in the listed order (after the fixed kind order of
	// design.md) and released in reverse.
	Resources []Resource `yaml:"resources"`
	// LocalAddress binds the service address on this host.
	LocalAddress LocalAddress `yaml:"local-address"`
	// Notify runs keepalived-compatible scripts on transitions.
	Notify Notify `yaml:"notify"`
	// ClusterTLS secures the cluster port with mutual TLS (tls.go).
	ClusterTLS ClusterTLS `yaml:"cluster-tls"`
	// Reconcile tunes drift repair.
	Reconcile Reconcile `yaml:"reconcile"`
	// InstanceNotices moves the address before the instance goes: vipd
	// reads this instance's announcements of its end from IMDS (Spot
	// interruption, rebalance recommendation, scheduled maintenance, Auto
	// Scaling termination), each set to move, report or ignore. move: a
	// primary hands the address to an eligible peer as a planned
	// switchover (and keeps it when no other node can take it); the node
	// stays out while the notice lasts. report: a log line, the
	// vipd_instance_notice metric and vipd status say so; nothing moves.
	// In follow mode every signal is only reported. See
	// docs/instance-notices.md.
	InstanceNotices InstanceNotices `yaml:"instance-notices"`
	// API configures the admin socket and metrics listener.
	API API `yaml:"api"`
	// AWS configures region and endpoints.
	AWS AWS `yaml:"aws"`
	// Log configures logging.
	Log Log `yaml:"log"`
	// Shutdown says what a clean stop (SIGTERM) does with owned resources.
	Shutdown Shutdown `yaml:"shutdown"`
	// Fence is STONITH: stopping a previous owner that did not let go of
	// a volume or interface, or that cannot be reached, before taking
	// over from it (docs/stonith.md).
	Fence Fence `yaml:"fence"`

	// Source is the file the config was read from ("" when not from a file).
	Source string `yaml:"-"`
	// Places says where each value was written (Parse, Load).
	Places Places `yaml:"-"`
}

// Node is this process.
type Node struct {
	// Name is unique in the cluster.
	Name string `yaml:"name"`
	// Advertise is host:port where peers reach this node's cluster traffic
	// (raft and peer RPC share it).
	Advertise string `yaml:"advertise"`
	// Listen is host:port to bind. Default: Advertise (filled by
	// DeriveDefaults, since it depends on another field).
	Listen string `yaml:"listen"`
	// Witness makes this process a voter that never owns resources.
	Witness bool `yaml:"witness"`
	// Priority orders eligible nodes; higher wins. 1 to 255 as in keepalived.
	// Default 100.
	Priority int `yaml:"priority"`
	// DataDir holds the raft log and snapshots, and, with the other
	// election backends, this node's standby (vipd standby). Default
	// /var/lib/vipd/<cluster> (filled by DeriveDefaults).
	DataDir string `yaml:"data-dir"`
}

// Peer is another cluster member.
type Peer struct {
	// Name is the peer's node.name; unique in the cluster.
	Name string `yaml:"name"`
	// Address is the peer's node.advertise (host:port).
	Address string `yaml:"address"`
	// Witness marks a peer that votes but never owns resources.
	Witness bool `yaml:"witness"`
}

// Election backends.
const (
	BackendRaft     = "raft"
	BackendDynamoDB = "dynamodb"
	BackendEtcd     = "etcd"
	BackendFollow   = "follow"
)

// Follow-mode conflict policies (Election.OnConflict).
const (
	ConflictYield  = "yield"
	ConflictRepair = "repair"
)

// Election tunes the election.
type Election struct {
	// Backend is one of raft, dynamodb, etcd, follow. Default raft.
	Backend string `yaml:"backend"`
	// Etcd is the etcd cluster the etcd backend campaigns in. Required
	// with backend etcd, refused otherwise.
	Etcd *EtcdElection `yaml:"etcd"`
	// DynamoDB is the item the dynamodb backend keeps the lease in: two
	// nodes and no third host, DynamoDB is the witness. Required with
	// backend dynamodb, refused otherwise.
	DynamoDB *DynamoDBElection `yaml:"dynamodb"`
	// PrimaryCheck decides the owner in follow mode (a database that elects
	// itself, such as a mirror or Patroni): the
	// node whose check passes (e.g. "is this database the primary") owns
	// the address; no election among vipd nodes. Required with follow,
	// refused otherwise. Its omitted fields take the health check defaults.
	PrimaryCheck *Check `yaml:"primary-check"`
	// Patroni makes follow mode follow Patroni's leader key in etcd
	// (<namespace>/<scope>/leader names the leader's member): this node
	// owns the address while the key names it. Follow mode takes either
	// this or primary-check (e.g. Patroni's REST GET /primary).
	Patroni *Patroni `yaml:"patroni"`
	// OnConflict says what a follow-mode primary does when another node
	// claims the address too (a route or IP points at it; two databases
	// both believing they are primary): yield (default) leaves the other
	// claim alone, logs an error and counts vipd_contested_total; repair
	// re-asserts on every reconcile. Follow mode only.
	OnConflict string `yaml:"on-conflict"`
	// Lease is how long a grant stays valid without renewal; failure
	// detection takes about this long. Default 2s.
	Lease time.Duration `yaml:"lease"`
	// Preempt lets a higher-priority node take over from a healthy holder
	// (keepalived's default); false is keepalived's nopreempt. Default false.
	Preempt bool `yaml:"preempt"`
}

// DynamoDBElection names the DynamoDB item that holds a cluster's lease.
type DynamoDBElection struct {
	// Table is the DynamoDB table; its hash key is a string attribute
	// named KeyAttribute. Required.
	Table string `yaml:"table"`
	// AssumeRole, when set, makes the lease's calls with this role's
	// temporary credentials (a lease table in another account). By
	// default they use the instance's own credentials, even with
	// aws.assume-role: the lease decides who may act, so it should not
	// depend on STS answering.
	AssumeRole *AssumeRole `yaml:"assume-role"`
	// KeyAttribute is the table's hash key attribute. Default id.
	KeyAttribute string `yaml:"key-attribute"`
	// Key is the lease item's key value; one item per cluster. Default: the
	// cluster name.
	Key string `yaml:"key"`
}

// Patroni is where Patroni keeps its leader key.
type Patroni struct {
	// Scope is Patroni's scope (the cluster's name in patroni.yml).
	// Required.
	Scope string `yaml:"scope"`
	// Namespace is Patroni's namespace. Default /service.
	Namespace string `yaml:"namespace"`
	// Member is this node's Patroni name. Default: node.name.
	Member string `yaml:"member"`
	// Grace is how long the last answer stands while etcd cannot be read:
	// at most Patroni's retry_timeout, during which Patroni keeps a leader
	// running without its DCS. Default 10s.
	Grace time.Duration `yaml:"grace"`
	// Etcd is how to reach Patroni's etcd (its prefix is unused).
	Etcd EtcdElection `yaml:"etcd"`
}

// LeaderKey is Patroni's leader key.
func (p *Patroni) LeaderKey() string {
	return strings.TrimSuffix(p.Namespace, "/") + "/" + p.Scope + "/leader"
}

// EtcdElection is where and how the etcd backend campaigns.
type EtcdElection struct {
	// Endpoints are the etcd client URLs (http:// or https://). Required.
	Endpoints []string `yaml:"endpoints"`
	// Prefix is the election's key prefix; the members' keys live under
	// it. Default /vipd/<cluster>.
	Prefix string `yaml:"prefix"`
	// Username authenticates with etcd's auth (etcdctl user add);
	// PasswordFile is the absolute path of a file holding its password
	// (read at start; keep it readable by vipd only). Both or neither.
	Username     string `yaml:"username"`
	PasswordFile string `yaml:"password-file"`
	// CA is the PEM file of the CA that signed the etcd servers'
	// certificates (https endpoints; default: the system's roots). Cert and
	// Key are a client certificate for etcd's --client-cert-auth.
	CA   string `yaml:"ca"`
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// Check is one health check. Exactly one of TCP, HTTP, Exec is set. The
// defaults of a check's fields come from DefaultCheck, applied to every
// element of the health list before it is decoded.
type Check struct {
	// Name identifies the check in logs, status and metrics; unique among the
	// checks. Default: derived from the probe ("tcp 127.0.0.1:5432",
	// "http http://...", "exec /path") by DeriveDefaults.
	Name string     `yaml:"name"`
	TCP  string     `yaml:"tcp"`  // host:port that must accept a connection
	HTTP *HTTPCheck `yaml:"http"` // GET whose status must be in range
	Exec *ExecCheck `yaml:"exec"` // command that must exit 0
	// Interval between the starts of two probes. Default 1s.
	Interval time.Duration `yaml:"interval"`
	// Timeout bounds one probe; at most Interval. Default 1s.
	Timeout time.Duration `yaml:"timeout"`
	// Rise consecutive successes make a failing check pass; Fall consecutive
	// failures make a passing check fail. A check starts failing, so a node
	// is eligible only after Rise successes. Defaults 2 and 2.
	// Fall × Interval must stay within FailoverBudget.
	Rise int `yaml:"rise"`
	Fall int `yaml:"fall"`
}

// HTTPCheck is an HTTP GET health check.
type HTTPCheck struct {
	URL string `yaml:"url"`
	// Status is the accepted status range, e.g. "200-299" (default) or "200".
	// Redirects are not followed: a 3xx is judged as it is.
	Status string `yaml:"status"`
}

// ExecCheck runs a command; exit status 0 is healthy.
type ExecCheck struct {
	// Command is the argv; Command[0] is looked up in PATH when it has no
	// slash. No shell is involved: write [/bin/sh, -c, "..."] for one.
	Command []string `yaml:"command"`
}

// Resource is one owned thing; exactly one field is set. Each field is a
// resource kind, named by its yaml key (Kinds lists them in this order);
// adding a kind here adds it to the schema, and internal/resource/kinds
// must then register it.
type Resource struct {
	EBSVolume    *EBSVolume    `yaml:"ebs-volume"`
	ENI          *ENI          `yaml:"eni"`
	SecondaryIP  *SecondaryIP  `yaml:"secondary-ip"`
	ElasticIP    *ElasticIP    `yaml:"elastic-ip"`
	OverlayRoute *OverlayRoute `yaml:"overlay-route"`
	Route53      *Route53      `yaml:"route53"`

	// AssumeRole, beside the kind, makes this resource's AWS calls with
	// the temporary credentials of a role, such as one of the account that
	// owns a shared VPC's route tables; it overrides aws.assume-role. See docs/cross-account.md. (Not a kind:
	// Kinds leaves it out.)
	AssumeRole *AssumeRole `yaml:"assume-role" kind:"-"`
}

// OverlayRoute routes CIDRs to the owner's ENI in route tables (the
// overlay-IP failover: an address outside the VPC routed to the owner).
type OverlayRoute struct {
	// CIDRs are the routed prefixes; `cidr:` takes one, `cidrs:` a list.
	CIDR  netip.Prefix   `yaml:"cidr"`
	CIDRs []netip.Prefix `yaml:"cidrs"`
	// RouteTables is "all" (every table of the owner's VPC), a list of ids,
	// or {tags: [...]}: the tables of the owner's VPC that carry every tag,
	// found again on each reconcile (docs/tags.md).
	RouteTables RouteTables `yaml:"route-tables"`
	// DisableSourceDestCheck turns the owner's source/dest check off on acquire.
	DisableSourceDestCheck bool `yaml:"disable-source-dest-check"`
	// DeleteOnRelease deletes the routes on release. Default false: the next
	// owner replaces them, so a release never leaves the CIDR unrouted.
	DeleteOnRelease bool `yaml:"delete-on-release"`
}

// Prefixes returns CIDR and CIDRs together.
func (o *OverlayRoute) Prefixes() []netip.Prefix {
	var out []netip.Prefix
	if o.CIDR.IsValid() {
		out = append(out, o.CIDR)
	}
	return append(out, o.CIDRs...)
}

// RouteTables is all tables of the VPC, a list of ids, or the tables of
// the VPC that carry every one of Tags. In YAML it is the scalar `all`, a
// list of `rtb-` ids, or a mapping `{tags: [{key: K, value: V}]}`; it has
// no default, so every overlay-route says which tables it owns.
type RouteTables struct {
	All  bool
	IDs  []string
	Tags []Tag
}

// routeTableTags is the mapping form of RouteTables.
type routeTableTags struct {
	Tags []Tag `yaml:"tags"`
}

// LocalAddress modes.
const (
	InterfaceAuto = "auto" // the interface holding the instance's primary private IP
	InterfaceNone = "none" // do not bind locally (another tool does, or the rootless demo)
)

// LocalAddress binds the service address on the owner.
type LocalAddress struct {
	// Interface is auto, none, or an interface name. Default auto.
	Interface string `yaml:"interface"`
	// CIDR is the address and prefix length to add (`ip addr add`); its
	// address must be routed by one of the overlay-route resources. Required
	// unless Interface is none or there are no overlay-route resources.
	CIDR netip.Prefix `yaml:"cidr"`
}

// Notify holds keepalived-compatible notify scripts. Each is a program's
// absolute path followed by its arguments, split as keepalived splits
// notify_master's string (see SplitScript); "" runs nothing.
type Notify struct {
	// Master, Backup, Fault and Stop run on entering that state with
	// exactly the arguments written, like keepalived's notify_master,
	// notify_backup, notify_fault and notify_stop.
	Master string `yaml:"master"`
	Backup string `yaml:"backup"`
	Fault  string `yaml:"fault"`
	Stop   string `yaml:"stop"`
	// Any runs after the state's own script on every transition, like
	// keepalived's generic notify: the arguments written, then INSTANCE,
	// the cluster name, the state (MASTER, BACKUP, FAULT or STOP) and the
	// node's priority.
	Any string `yaml:"any"`
	// Timeout bounds each script run; its process group is killed after it.
	// Default 10s, at most MaxNotifyTimeout (30s).
	Timeout time.Duration `yaml:"timeout"`
}

// Reconcile tunes drift repair.
type Reconcile struct {
	// Interval between checks while primary (and stale-address cleanup while
	// backup). At least 1s. Default 5s.
	Interval time.Duration `yaml:"interval"`
}

// API configures local interfaces of the daemon.
type API struct {
	// Socket is the admin unix socket path (mode 0600). Default
	// /run/vipd/vipd.sock.
	Socket string `yaml:"socket"`
	// Metrics is host:port for Prometheus metrics; "" (the default) disables.
	Metrics string `yaml:"metrics"`
}

// AWS configures the AWS clients.
type AWS struct {
	// Region is "auto" (from IMDS) or a region name. Default auto.
	Region string `yaml:"region"`
	// Endpoint overrides every AWS service endpoint (vpcsim). Default "":
	// the SDK's endpoints.
	Endpoint string `yaml:"endpoint"`
	// Endpoints override one service's endpoint each (VPC interface
	// endpoints, for subnets without a route to the internet). Precedence,
	// highest first: aws.endpoints.<service>, aws.endpoint, then the
	// environment (AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL), then the
	// SDK's regional endpoint. See docs/vpc-endpoints.md.
	Endpoints Endpoints `yaml:"endpoints"`
	// AssumeRole makes every resource's AWS calls with the temporary
	// credentials of this role (a resource's own assume-role overrides
	// it); the election's calls (the DynamoDB lease) stay on the instance's
	// credentials unless election.dynamodb.assume-role says otherwise. See
	// docs/cross-account.md.
	AssumeRole *AssumeRole `yaml:"assume-role"`
	// IMDSEndpoint overrides the instance metadata endpoint (vpcsim).
	// Default "": the SDK's.
	IMDSEndpoint string `yaml:"imds-endpoint"`
	// CallTimeout bounds each attempt of an AWS call: the time AWS has to
	// answer. A write EC2 throttles is retried, after a random pause,
	// until it goes through or the step's budget or the lease ends.
	// Default 2s.
	CallTimeout time.Duration `yaml:"call-timeout"`
}

// Endpoints are per-service endpoint URLs; "" leaves a service to the
// environment and aws.endpoint.
type Endpoints struct {
	// EC2 is the EC2 endpoint, such as an interface endpoint's
	// https://vpce-0a1b…-abcd.ec2.eu-west-1.vpce.amazonaws.com.
	EC2 string `yaml:"ec2"`
	// STS is the endpoint of the STS calls that assume-role makes
	// (regional STS; an interface endpoint is regional).
	STS string `yaml:"sts"`
	// Route53 is the Route 53 endpoint (route53 resources).
	Route53 string `yaml:"route53"`
	// DynamoDB is the DynamoDB endpoint (election.backend dynamodb).
	DynamoDB string `yaml:"dynamodb"`
	// SSM is the SSM endpoint.
	SSM string `yaml:"ssm"`
}

// AssumeRole is a role whose temporary credentials (sts:AssumeRole,
// refreshed before they expire) make some of vipd's calls.
type AssumeRole struct {
	// RoleARN is the role to assume: arn:aws:iam::<account>:role/<name>.
	// Required.
	RoleARN string `yaml:"role-arn"`
	// ExternalID is passed as AssumeRole's ExternalId, when the role's
	// trust policy requires one (sts:ExternalId).
	ExternalID string `yaml:"external-id"`
	// SessionName names the role session in the owner account's
	// CloudTrail; default vipd-<node.name> (in a controller,
	// vipd-<controller name>).
	SessionName string `yaml:"session-name"`
}

// SessionNameFor is a's session name, or vipd-<node> cut to STS's
// limits (2 to 64 characters of [A-Za-z0-9_+=,.@-]).
func (a *AssumeRole) SessionNameFor(node string) string {
	if a.SessionName != "" {
		return a.SessionName
	}
	b := []byte("vipd-" + node)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_+=,.@-", c) >= 0) {
			b[i] = '-'
		}
	}
	return string(b[:min(len(b), 64)])
}

// Log configures logging.
type Log struct {
	Format string `yaml:"format"` // text (default) or json
	Level  string `yaml:"level"`  // debug, info (default), warn, error
}

// Log formats and levels.
const (
	LogText  = "text"
	LogJSON  = "json"
	LogDebug = "debug"
	LogInfo  = "info"
	LogWarn  = "warn"
	LogError = "error"
)

// Shutdown says what SIGTERM does.
type Shutdown struct {
	// Release resources on a clean stop (default true); false keeps them.
	// A pointer so that an explicit false differs from unset in hand-built
	// configs; read it with ReleaseOnStop.
	Release *bool `yaml:"release"`
	// Timeout bounds the release at shutdown. Default 10s.
	Timeout time.Duration `yaml:"timeout"`
}

// ReleaseOnStop reports whether a clean stop releases resources: Release,
// or true when it is unset.
func (s Shutdown) ReleaseOnStop() bool { return s.Release == nil || *s.Release }
