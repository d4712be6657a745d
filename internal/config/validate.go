package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Validate checks c and returns every problem found, joined with
// errors.Join, each an *Error. Parse calls it; a config built in code (or
// changed after Parse) calls DeriveDefaults first. Errors of a config that
// was not parsed carry a path but no line.
func (c *Config) Validate() error { return c.validate(nil) }

// validator collects problems, placing each through the index.
type validator struct {
	idx  *index
	errs []error
	// prefix places the paths of a part checked on its own (an entry of
	// a controller's clusters) in the file: "clusters[2].".
	prefix string
}

func (v *validator) errorf(path, format string, args ...any) {
	v.errs = append(v.errs, v.idx.errorf(v.prefix+path, format, args...))
}

func (c *Config) validate(idx *index) error {
	v := &validator{idx: idx}
	v.identity(c)
	v.members(c)
	v.election(c)
	v.health(c)
	v.resources(c)
	v.localAddress(c)
	v.notify(c)
	v.clusterTLS(c)
	v.instanceNotices(c)
	v.fence(c)
	v.rest(c)
	return errors.Join(v.errs...)
}

// nameRE is what cluster, node and peer names may be: they become raft
// server ids, a directory name (data-dir) and a notify script argument.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

func (v *validator) name(path, s string) {
	switch {
	case s == "":
		v.errorf(path, "required")
	case !nameRE.MatchString(s):
		v.errorf(path, "%q is not a valid name: want letters, digits, '.', '_' or '-', starting with a letter or digit, at most 63 characters", s)
	}
}

// hostPort checks a host:port. needHost refuses an empty or unspecified
// host: an address others dial (advertise, peers) must name one machine.
func (v *validator) hostPort(path, s string, needHost bool) {
	if s == "" {
		v.errorf(path, "required")
		return
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		v.errorf(path, "%q is not host:port", s)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		v.errorf(path, "%q: port %q is not a number from 1 to 65535", s, port)
		return
	}
	if needHost {
		if host == "" {
			v.errorf(path, "%q has no host; peers must be able to dial it", s)
		} else if a, err := netip.ParseAddr(host); err == nil && a.IsUnspecified() {
			v.errorf(path, "%q is not one address; peers must be able to dial it", s)
		}
	}
}

func (v *validator) identity(c *Config) {
	v.name("cluster", c.Cluster)
	v.name("node.name", c.Node.Name)
	v.hostPort("node.advertise", c.Node.Advertise, true)
	if c.Node.Listen != c.Node.Advertise {
		v.hostPort("node.listen", c.Node.Listen, false)
	}
	if c.Node.Priority < 1 || c.Node.Priority > 255 {
		v.errorf("node.priority", "%d is out of range 1 to 255", c.Node.Priority)
	}
	if c.Node.DataDir != "" && !filepath.IsAbs(c.Node.DataDir) {
		v.errorf("node.data-dir", "%q is not an absolute path", c.Node.DataDir)
	}
}

func (v *validator) members(c *Config) {
	names := map[string]string{} // name → path that used it first
	addrs := map[string]string{}
	if c.Node.Name != "" {
		names[c.Node.Name] = "node.name"
	}
	if c.Node.Advertise != "" {
		addrs[c.Node.Advertise] = "node.advertise"
	}
	for i, p := range c.Peers {
		path := indexPath("peers", i)
		v.name(path+".name", p.Name)
		if first, dup := names[p.Name]; dup && p.Name != "" {
			v.errorf(path+".name", "%q is already the name of %s", p.Name, first)
		} else if p.Name != "" {
			names[p.Name] = path + ".name"
		}
		v.hostPort(path+".address", p.Address, true)
		if first, dup := addrs[p.Address]; dup && p.Address != "" {
			v.errorf(path+".address", "%q is already the address of %s", p.Address, first)
		} else if p.Address != "" {
			addrs[p.Address] = path + ".address"
		}
	}
}

// backends is the closed set of election.backend values.
var backends = []string{BackendRaft, BackendDynamoDB, BackendEtcd, BackendFollow}

func (v *validator) enum(path, s string, set []string) bool {
	for _, x := range set {
		if s == x {
			return true
		}
	}
	v.errorf(path, "unknown value %q%s; want one of %s", s, didYouMean(s, set), oneOf(set))
	return false
}

func (v *validator) election(c *Config) {
	e := c.Election
	v.enum("election.backend", e.Backend, backends)
	if e.Lease < MinLease {
		v.errorf("election.lease", "%s is shorter than the minimum %s", e.Lease, MinLease)
	}
	switch {
	case e.Backend == BackendFollow && e.PrimaryCheck == nil && e.Patroni == nil:
		v.errorf("election.backend", "follow needs election.primary-check (the check that says whether this node's service is the primary) or election.patroni (Patroni's leader key)")
	case e.Backend == BackendFollow && e.PrimaryCheck != nil && e.Patroni != nil:
		v.errorf("election.patroni", "follow takes either primary-check or patroni, not both")
	case e.Backend == BackendFollow && e.PrimaryCheck != nil:
		v.check("election.primary-check", e.PrimaryCheck, map[string]string{})
	case e.Backend == BackendFollow:
		v.patroni(e.Patroni)
	case e.PrimaryCheck != nil:
		v.errorf("election.primary-check", "only the follow backend uses a primary check; backend is %q", e.Backend)
	case e.Patroni != nil:
		v.errorf("election.patroni", "only the follow backend follows Patroni; backend is %q", e.Backend)
	}
	if e.OnConflict != "" {
		if e.Backend != BackendFollow {
			v.errorf("election.on-conflict", "only the follow backend has conflicts to settle; with %q the lease decides", e.Backend)
		} else {
			v.enum("election.on-conflict", e.OnConflict, []string{ConflictYield, ConflictRepair})
		}
	}
	v.dynamoDBElection(c)
	v.etcdElection(c)
	if e.Backend != BackendRaft {
		return
	}
	voters := 1 + len(c.Peers)
	if voters < 3 {
		v.errorf("peers", "raft needs at least 3 voters to keep a quorum when one is lost, this cluster has %d; add a witness peer (a vipd with node.witness: true on a third host)", voters)
	}
	owners := 0
	if !c.Node.Witness {
		owners++
	}
	for _, p := range c.Peers {
		if !p.Witness {
			owners++
		}
	}
	if owners == 0 {
		v.errorf("peers", "every member is a witness; at least one must be a node that can own the address")
	}
}

// dynamoDBElection checks election.dynamodb: present exactly with the
// dynamodb backend, which has no witness (DynamoDB is the third party).
func (v *validator) dynamoDBElection(c *Config) {
	d := c.Election.DynamoDB
	if c.Election.Backend != BackendDynamoDB {
		if d != nil {
			v.errorf("election.dynamodb", "only the dynamodb backend uses a DynamoDB table; backend is %q", c.Election.Backend)
		}
		return
	}
	if d == nil {
		v.errorf("election.dynamodb", "required with backend dynamodb: table (and optionally key, key-attribute) of the lease item")
		return
	}
	switch {
	case d.Table == "":
		v.errorf("election.dynamodb.table", "required: the DynamoDB table that holds the lease item")
	case !tableRE.MatchString(d.Table):
		v.errorf("election.dynamodb.table", "%q is not a DynamoDB table name (3 to 255 of a-z A-Z 0-9 _ . -)", d.Table)
	}
	if d.AssumeRole != nil {
		v.assumeRole("election.dynamodb.assume-role", d.AssumeRole)
	}
	v.noWitness(c, "DynamoDB", "the first eligible node to find the lease free takes it")
}

// noWitness refuses witnesses and preempt with a backend whose third party
// (named by who) is outside vipd and which elects in its own order.
func (v *validator) noWitness(c *Config, who, order string) {
	b := c.Election.Backend
	if c.Election.Preempt {
		v.errorf("election.preempt", "the %s backend has no priority order to preempt by: %s", b, order)
	}
	if c.Node.Witness {
		v.errorf("node.witness", "the %s backend has no witnesses: %s is the third party; run vipd only on the nodes that can own the address", b, who)
	}
	for i, p := range c.Peers {
		if p.Witness {
			v.errorf(indexPath("peers", i)+".witness", "the %s backend has no witnesses: %s is the third party", b, who)
		}
	}
}

// etcdElection checks election.etcd: present exactly with the etcd
// backend; endpoints are URLs; credentials and TLS files go together and
// are absolute paths (vipd runs from / under systemd).
func (v *validator) etcdElection(c *Config) {
	e := c.Election.Etcd
	if c.Election.Backend != BackendEtcd {
		if e != nil {
			v.errorf("election.etcd", "only the etcd backend uses an etcd cluster; backend is %q", c.Election.Backend)
		}
		return
	}
	if e == nil {
		v.errorf("election.etcd", "required with backend etcd: endpoints (and optionally prefix, username, password-file, ca, cert, key)")
		return
	}
	if !strings.HasPrefix(e.Prefix, "/") {
		v.errorf("election.etcd.prefix", "%q does not start with /", e.Prefix)
	}
	v.etcdAccess("election.etcd", e)
	v.noWitness(c, "etcd", "etcd elects in the order the nodes campaigned")
}

// etcdAccess checks how etcd is reached: endpoints are URLs; credentials
// and TLS files go together and are absolute paths (vipd runs from /).
func (v *validator) etcdAccess(path string, e *EtcdElection) {
	if len(e.Endpoints) == 0 {
		v.errorf(path+".endpoints", "required: the etcd client URLs, e.g. [https://10.0.3.10:2379]")
	}
	for i, ep := range e.Endpoints {
		u, err := url.Parse(ep)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.errorf(indexPath(path+".endpoints", i), "%q is not an http:// or https:// URL with a host", ep)
		}
	}
	if (e.Username == "") != (e.PasswordFile == "") {
		v.errorf(path+".username", "username and password-file go together")
	}
	if (e.Cert == "") != (e.Key == "") {
		v.errorf(path+".cert", "cert and key go together (a client certificate and its key)")
	}
	for _, f := range []struct{ key, path string }{{"password-file", e.PasswordFile}, {"ca", e.CA}, {"cert", e.Cert}, {"key", e.Key}} {
		if f.path != "" && !filepath.IsAbs(f.path) {
			v.errorf(path+"."+f.key, "%q is not an absolute path", f.path)
		}
	}
}

// patroni checks election.patroni.
func (v *validator) patroni(p *Patroni) {
	if p.Scope == "" || strings.Contains(p.Scope, "/") {
		v.errorf("election.patroni.scope", "%q: want Patroni's scope, the cluster name of patroni.yml (no /)", p.Scope)
	}
	if !strings.HasPrefix(p.Namespace, "/") {
		v.errorf("election.patroni.namespace", "%q does not start with / (Patroni's default is /service)", p.Namespace)
	}
	if p.Grace <= 0 {
		v.errorf("election.patroni.grace", "%s is not a positive duration", p.Grace)
	}
	if p.Etcd.Prefix != "" {
		v.errorf("election.patroni.etcd.prefix", "unused: Patroni's key is namespace/scope/leader")
	}
	v.etcdAccess("election.patroni.etcd", &p.Etcd)
}

func (v *validator) health(c *Config) {
	if c.Node.Witness && len(c.Health) > 0 {
		v.errorf("health", "a witness has no health checks; it never owns the address")
	}
	names := map[string]string{}
	for i := range c.Health {
		v.check(indexPath("health", i), &c.Health[i], names)
	}
}

func (v *validator) check(path string, h *Check, names map[string]string) {
	if h.Name != "" {
		if first, dup := names[h.Name]; dup {
			v.errorf(path+".name", "%q is already the name of %s", h.Name, first)
		} else {
			names[h.Name] = path
		}
	}
	probes := 0
	if h.TCP != "" {
		probes++
		v.hostPort(path+".tcp", h.TCP, true)
	}
	if h.HTTP != nil {
		probes++
		v.httpCheck(path+".http", h.HTTP)
	}
	if h.Exec != nil {
		probes++
		switch {
		case len(h.Exec.Command) == 0:
			v.errorf(path+".exec.command", "required: the argv to run, e.g. [/usr/bin/pg_isready, -q]")
		case h.Exec.Command[0] == "":
			v.errorf(path+".exec.command[0]", "empty program name")
		}
	}
	if probes != 1 {
		v.errorf(path, "want exactly one of tcp, http, exec; got %d", probes)
	}
	if h.Interval <= 0 {
		v.errorf(path+".interval", "%s is not a positive duration", h.Interval)
	}
	switch {
	case h.Timeout <= 0:
		v.errorf(path+".timeout", "%s is not a positive duration", h.Timeout)
	case h.Interval > 0 && h.Timeout > h.Interval:
		v.errorf(path+".timeout", "timeout %s is longer than interval %s; probes would overlap", h.Timeout, h.Interval)
	}
	if h.Rise < 1 {
		v.errorf(path+".rise", "%d is less than 1", h.Rise)
	}
	if h.Fall < 1 {
		v.errorf(path+".fall", "%d is less than 1", h.Fall)
	}
	if h.Fall >= 1 && h.Interval > 0 {
		if detect := time.Duration(h.Fall) * h.Interval; detect > FailoverBudget || detect/h.Interval != time.Duration(h.Fall) {
			v.errorf(path+".fall", "fall %d × interval %s = %s exceeds the failover budget of %s; lower fall or interval", h.Fall, h.Interval, detect, FailoverBudget)
		}
	}
}

func (v *validator) httpCheck(path string, h *HTTPCheck) {
	u, err := url.Parse(h.URL)
	switch {
	case h.URL == "":
		v.errorf(path+".url", "required")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		v.errorf(path+".url", "%q is not an http:// or https:// URL with a host", h.URL)
	}
	if _, _, err := h.StatusRange(); err != nil {
		v.errorf(path+".status", "%v", err)
	}
}

// StatusRange returns the accepted status codes lo..hi of Status ("200",
// "200-299"; "" is the default 200-299).
func (h *HTTPCheck) StatusRange() (lo, hi int, err error) {
	s := h.Status
	if s == "" {
		s = defaultHTTPStatus
	}
	a, b, isRange := strings.Cut(s, "-")
	if !isRange {
		b = a
	}
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil || lo < 100 || hi > 599 || lo > hi {
		return 0, 0, fmt.Errorf("%q is not a status or range of statuses from 100 to 599, like 200 or 200-299", h.Status)
	}
	return lo, hi, nil
}

// rtbRE is an EC2 route table id: rtb- and 8 or 17 hex digits.
var rtbRE = regexp.MustCompile(`^rtb-([0-9a-f]{8}|[0-9a-f]{17})$`)

func (v *validator) resources(c *Config) {
	if c.Node.Witness && len(c.Resources) > 0 {
		v.errorf("resources", "a witness has no resources; it never owns the address")
	}
	cidrs := map[netip.Prefix]string{}
	for i, r := range c.Resources {
		path := indexPath("resources", i)
		v.resource(path, &r)
		if r.OverlayRoute == nil {
			continue
		}
		v.overlayRoute(path+".overlay-route", r.OverlayRoute, cidrs)
	}
	v.duplicateResources(c)
}

func (v *validator) overlayRoute(path string, o *OverlayRoute, seen map[netip.Prefix]string) {
	if !o.CIDR.IsValid() && len(o.CIDRs) == 0 {
		v.errorf(path, "no CIDR; set cidr or cidrs")
	}
	check := func(p netip.Prefix, at string) {
		if p != p.Masked() {
			v.errorf(at, "%s has host bits set; a route destination is a network (did you mean %s?)", p, p.Masked())
			return
		}
		if a := p.Addr(); a.Is4In6() || a.Zone() != "" || a.IsLinkLocalUnicast() || a.IsMulticast() || a.IsLoopback() || a.IsUnspecified() && p.Bits() > 0 {
			// EC2 routes unicast destinations; a link-local, multicast or
			// IPv4-mapped block never reaches a route table's target.
			v.errorf(at, "%s is not a unicast block a route table can route (use an IPv4 block, or an IPv6 global or unique local one such as fd00:ec2::10/128)", p)
			return
		}
		if first, dup := seen[p]; dup {
			v.errorf(at, "%s is already routed by %s", p, first)
			return
		}
		seen[p] = at
	}
	if o.CIDR.IsValid() {
		check(o.CIDR, path+".cidr")
	}
	for i, p := range o.CIDRs {
		check(p, indexPath(path+".cidrs", i))
	}
	rt := o.RouteTables
	switch {
	case rt.All && len(rt.IDs) > 0:
		v.errorf(path+".route-tables", "both all and a list of ids")
	case !rt.All && len(rt.IDs) == 0 && rt.Tags == nil:
		v.errorf(path+".route-tables", "required: %q, a list of route table ids, or {tags: [{key: K, value: V}]}", routeTablesAll)
	case rt.Tags != nil:
		v.tags(path+".route-tables.tags", rt.Tags)
	}
	ids := map[string]bool{}
	for i, id := range rt.IDs {
		at := indexPath(path+".route-tables", i)
		switch {
		case !rtbRE.MatchString(id):
			v.errorf(at, "%q is not a route table id (rtb- and 8 or 17 hex digits)", id)
		case ids[id]:
			v.errorf(at, "%q is listed twice", id)
		}
		ids[id] = true
	}
}

// interfaceModes are the Interface values that are not interface names.
var interfaceModes = []string{InterfaceAuto, InterfaceNone}

func (v *validator) localAddress(c *Config) {
	l := c.LocalAddress
	if c.Node.Witness {
		if l.CIDR.IsValid() {
			v.errorf("local-address.cidr", "a witness binds no address; it never owns it")
		}
		return
	}
	switch l.Interface {
	case InterfaceAuto, InterfaceNone:
	default:
		if hint := didYouMean(l.Interface, interfaceModes); hint != "" {
			// A Linux interface may be named "nnoe", but a typo of a mode
			// is far likelier, and binding on a missing interface would
			// only fail at the first failover.
			v.errorf("local-address.interface", "%q looks like a misspelt mode%s; want auto, none or an interface name", l.Interface, hint)
		} else if !validIfName(l.Interface) {
			v.errorf("local-address.interface", "%q is not an interface name (at most 15 characters, no '/', ':' or spaces); want auto, none or an interface name", l.Interface)
		}
	}
	if l.Interface == InterfaceNone {
		return
	}
	var overlays []netip.Prefix
	for _, r := range c.Resources {
		if r.OverlayRoute != nil {
			overlays = append(overlays, r.OverlayRoute.Prefixes()...)
		}
	}
	if !l.CIDR.IsValid() {
		if len(overlays) > 0 {
			v.errorf("local-address.cidr", "required: the owner must bind the routed address (e.g. cidr: %s), or set interface: none when another tool binds it", overlays[0])
		}
		return
	}
	for _, o := range overlays {
		if o.Contains(l.CIDR.Addr()) {
			return
		}
	}
	if secondaryIPHas(c, l.CIDR.Addr()) {
		return
	}
	v.errorf("local-address.cidr", "%s is not routed by any overlay-route resource (%s); traffic for it would not reach this node", l.CIDR, prefixList(overlays))
}

func prefixList(ps []netip.Prefix) string {
	if len(ps) == 0 {
		return "there are none"
	}
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return "routed: " + strings.Join(s, ", ")
}

// validIfName follows the kernel's dev_valid_name.
func validIfName(s string) bool {
	return s != "" && len(s) <= 15 && s != "." && s != ".." &&
		!strings.ContainsAny(s, "/: \t\n")
}

func (v *validator) notify(c *Config) {
	n := c.Notify
	for _, s := range n.scripts() {
		if s.script == "" {
			continue
		}
		words, err := SplitScript(s.script)
		switch {
		case err != nil:
			v.errorf("notify."+s.key, "%q: %v", s.script, err)
		case len(words) == 0:
			v.errorf("notify."+s.key, "%q names no program; leave the key out to run nothing", s.script)
		case !filepath.IsAbs(words[0]):
			v.errorf("notify."+s.key, "%q is not an absolute path", words[0])
		}
	}
	switch {
	case n.Timeout <= 0:
		v.errorf("notify.timeout", "%s is not a positive duration", n.Timeout)
	case n.Timeout > MaxNotifyTimeout:
		v.errorf("notify.timeout", "%s is longer than the maximum %s: scripts run one at a time; start long work in the background", n.Timeout, MaxNotifyTimeout)
	}
}

// regionRE is an AWS region name such as eu-west-1 or us-gov-east-1.
var regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

func (v *validator) rest(c *Config) {
	if c.Reconcile.Interval < MinReconcileInterval {
		v.errorf("reconcile.interval", "%s is shorter than the minimum %s", c.Reconcile.Interval, MinReconcileInterval)
	}
	switch s := c.API.Socket; {
	case s == "":
		v.errorf("api.socket", "required")
	case !filepath.IsAbs(s):
		v.errorf("api.socket", "%q is not an absolute path", s)
	case len(s) > 107:
		// sun_path holds 108 bytes including the terminating NUL.
		v.errorf("api.socket", "path is %d bytes; a unix socket path holds at most 107", len(s))
	}
	if c.API.Metrics != "" {
		v.hostPort("api.metrics", c.API.Metrics, false)
	}
	if r := c.AWS.Region; r != "auto" && !regionRE.MatchString(r) {
		v.errorf("aws.region", "%q is not auto or a region name like eu-west-1%s", r, didYouMean(r, []string{"auto"}))
	}
	v.endpoint("aws.endpoint", c.AWS.Endpoint)
	v.endpoint("aws.imds-endpoint", c.AWS.IMDSEndpoint)
	e := c.AWS.Endpoints
	v.endpoint("aws.endpoints.ec2", e.EC2)
	v.endpoint("aws.endpoints.sts", e.STS)
	v.endpoint("aws.endpoints.route53", e.Route53)
	v.endpoint("aws.endpoints.dynamodb", e.DynamoDB)
	v.endpoint("aws.endpoints.ssm", e.SSM)
	if c.AWS.AssumeRole != nil {
		v.assumeRole("aws.assume-role", c.AWS.AssumeRole)
	}
	if c.AWS.CallTimeout <= 0 {
		v.errorf("aws.call-timeout", "%s is not a positive duration", c.AWS.CallTimeout)
	}
	v.enum("log.format", c.Log.Format, []string{LogText, LogJSON})
	v.enum("log.level", c.Log.Level, []string{LogDebug, LogInfo, LogWarn, LogError})
	if c.Shutdown.Timeout <= 0 {
		v.errorf("shutdown.timeout", "%s is not a positive duration", c.Shutdown.Timeout)
	}
}

// IAM and STS limits (IAM API reference, Role; STS API reference,
// AssumeRole: RoleSessionName, ExternalId).
var (
	roleARNRE     = regexp.MustCompile(`^arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:role/([\w+=,.@-]+/)*[\w+=,.@-]{1,64}$`)
	sessionNameRE = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	externalIDRE  = regexp.MustCompile(`^[\w+=,.@:/-]+$`)
)

func (v *validator) assumeRole(path string, a *AssumeRole) {
	switch {
	case a.RoleARN == "":
		v.errorf(path+".role-arn", "required: the role to assume, arn:aws:iam::<account>:role/<name>")
	case !roleARNRE.MatchString(a.RoleARN):
		v.errorf(path+".role-arn", "%q is not a role ARN like arn:aws:iam::210987654321:role/vipd-routes", a.RoleARN)
	}
	if x := a.ExternalID; x != "" && (len(x) < 2 || len(x) > 1224 || !externalIDRE.MatchString(x)) {
		v.errorf(path+".external-id", "%q is not an external ID (2 to 1224 of A-Z a-z 0-9 _ + = , . @ : / -)", x)
	}
	if s := a.SessionName; s != "" && !sessionNameRE.MatchString(s) {
		v.errorf(path+".session-name", "%q is not a session name (2 to 64 of A-Z a-z 0-9 _ + = , . @ -)", s)
	}
}

func (v *validator) endpoint(path, s string) {
	if s == "" {
		return
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.errorf(path, "%q is not an http:// or https:// URL with a host", s)
	}
}
