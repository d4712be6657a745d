package ec2

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// state is the simulated account. It is owned by Account and only touched
// with Account.mu held; nothing here does I/O.
type state struct {
	region  string
	account string
	imdsV1  bool

	vpcs    []*vpc
	subnets []*subnet
	tables  []*routeTable
	insts   []*instance
	enis    []*eni
	eips    []*eip
	vols    []*volume
	igws    []*igw
	sgs     []*secGroup
	snaps   []*snapshot // ebssnapshot.go
	// templates and keys: launchtemplates.go, keypairs.go
	templates []*launchTemplate
	keys      []*keyPair
	images    []*image // images.go
	roles     map[string]*role
	net       netState       // NAT gateways, peerings, endpoints... (netobjects.go)
	byID      map[string]any // every object above by its ID
	launched  time.Time

	pending []transition // asynchronous transitions, in no particular order
}

// transition is a state change that completes at a time, such as an
// attachment going from attaching to attached. apply re-checks that the
// object is still in the state the transition started from.
type transition struct {
	at    time.Time
	apply func(st *state)
}

// schedule adds a transition due after d.
func (st *state) schedule(d time.Duration, apply func(st *state)) {
	st.pending = append(st.pending, transition{at: time.Now().Add(d), apply: apply})
}

// advance applies every transition due by now and reports whether any was.
func (st *state) advance(now time.Time) bool {
	if len(st.pending) == 0 {
		return false
	}
	var due []transition
	st.pending = slices.DeleteFunc(st.pending, func(t transition) bool {
		if t.at.After(now) {
			return false
		}
		due = append(due, t)
		return true
	})
	slices.SortFunc(due, func(a, b transition) int { return a.at.Compare(b.at) })
	for _, t := range due {
		t.apply(st)
	}
	return len(due) > 0
}

// nextTransition returns when the next transition is due (zero if none).
func (st *state) nextTransition() time.Time {
	var next time.Time
	for _, t := range st.pending {
		if next.IsZero() || t.at.Before(next) {
			next = t.at
		}
	}
	return next
}

type vpc struct {
	id           string
	owner        string // another account's VPC, shared with this one; "" = this account's
	cidr         netip.Prefix
	tags         map[string]string
	dnsSupport   bool // enableDnsSupport, on by default
	dnsHostnames bool // enableDnsHostnames, off by default outside default VPCs
	nauMetrics   bool // enableNetworkAddressUsageMetrics, off by default
	isDefault    bool
	// ipv6 is the VPC's Amazon-provided /56 (AssociateVpcCidrBlock,
	// ipv6.go); zero without one. AWS allows one such block per network
	// border group, and a simulated region has one.
	ipv6 v6Block
	// secondary are the IPv4 blocks added with AssociateVpcCidrBlock
	// (vpccidr.go), in the order they were added; cidr is the primary.
	secondary []v4Block
	tenancy   string // instance tenancy: "default" or "dedicated"
}

// v4Block is a secondary IPv4 CIDR block of a VPC.
type v4Block struct {
	assoc string // vpc-cidr-assoc-...
	cidr  netip.Prefix
}

// v6Block is an IPv6 CIDR block associated with a VPC or a subnet.
type v6Block struct {
	assoc string // vpc-cidr-assoc-... or subnet-cidr-assoc-...
	cidr  netip.Prefix
}

type subnet struct {
	id        string
	vpc       string
	cidr      netip.Prefix
	az        string
	tags      map[string]string
	defaultAZ bool // the default subnet of its zone (default VPC)
	// ipv6 is the subnet's IPv6 block (AssociateSubnetCidrBlock); zero
	// without one. A subnet has at most one IPv6 block.
	ipv6 v6Block
	// ipv6Native marks an IPv6-only subnet (cidr is then zero).
	ipv6Native bool
	attrs      subnetAttrs // ModifySubnetAttribute (subnetattrs.go)
}

type routeTable struct {
	id     string
	vpc    string
	main   bool
	mainID string // association ID of the main association
	assocs []assoc
	routes []*route // routes[0] is the local route
	tags   map[string]string

	// stale is what DescribeRouteTables shows until staleUntil, after a
	// route change under Timing.StaleRoutes.
	stale      []*route
	staleUntil time.Time
}

// changeRoutes applies a route change to t, first keeping the routes as
// they were for stale reads during d (when d > 0). During a window the
// oldest version stays visible; the window ends at the latest change's.
func (t *routeTable) changeRoutes(d time.Duration, apply func()) {
	if d > 0 {
		now := time.Now()
		if !now.Before(t.staleUntil) {
			t.stale = make([]*route, len(t.routes))
			for i, r := range t.routes {
				c := *r
				t.stale[i] = &c
			}
		}
		if until := now.Add(d); until.After(t.staleUntil) {
			t.staleUntil = until
		}
	}
	apply()
}

// visibleRoutes are the routes DescribeRouteTables reports now.
func (t *routeTable) visibleRoutes(now time.Time) []*route {
	if now.Before(t.staleUntil) {
		return t.stale
	}
	return t.routes
}

type assoc struct {
	id      string
	subnet  string
	gateway string // instead of subnet: an edge association (gatewaytables.go)
}

type route struct {
	dst     netip.Prefix
	pl      string // destination prefix list (pl-...) instead of dst
	local   bool
	eni     string // target network interface
	gateway string // igw-, vpce- (an endpoint), or an opaque gateway (vgw-...)
	// nat, pcx and eigw are the other targets that leave the VPC: a NAT
	// gateway, a peering connection, an egress-only internet gateway.
	nat, pcx, eigw string
	origin         string
}

// exit is the target of a route that leaves the VPC's interfaces: a
// gateway of any kind or a peering connection; "" for a local route or
// one to an interface.
func (r *route) exit() string {
	return cmp.Or(r.gateway, r.nat, r.pcx, r.eigw)
}

// dest is the route's destination as DescribeRouteTables names it.
func (r *route) dest() routeDest { return routeDest{cidr: r.dst, pl: r.pl} }

type instance struct {
	id           string
	state        string
	role         string
	instanceType string
	subnet       string
	enis         []string // attached interfaces; enis[0] is the primary one
	tags         map[string]string
	launch       time.Time
	imdsDown     bool
	// notices are what the instance's metadata announces (notices.go).
	notices instanceNotices
	// reservation is the ID of the RunInstances call that launched the
	// instance, shared by all it launched ("" for a world's instances:
	// each is its own reservation); image and launchIndex are what it
	// was launched with.
	reservation string
	image       string
	launchIndex int
	// noTerminate and noStop are disableApiTermination and disableApiStop.
	noTerminate, noStop bool
	// What RunInstances and ModifyInstanceAttribute set and
	// DescribeInstances and DescribeInstanceAttribute report: userData
	// (base64, as sent), the key pair's name, EBS optimization, detailed
	// monitoring, hibernation, the shutdown behaviour ("" = stop), the
	// metadata options and the dedicated host.
	userData         string
	keyName          string
	ebsOptimized     bool
	monitoring       bool
	hibernate        bool
	shutdownBehavior string
	metadata         metadataOptions
	hostID           string
	// stateReason is the code of the last user-initiated stop or
	// termination (Client.UserInitiatedShutdown), "" otherwise.
	stateReason string
}

type eni struct {
	id          string
	subnet      string
	vpc         string
	az          string
	mac         string
	ip          netip.Addr
	secondary   []netip.Addr
	ipv6        []netip.Addr // IPv6 addresses of its subnet's /64
	sdc         bool         // source/dest check
	description string
	attach      *attachment
	tags        map[string]string
	groups      []string // security group IDs
	// publicIP is the public IPv4 address EC2 assigned the primary private
	// address at launch (zero while none); autoPublic says the interface
	// was launched with one, so it gets a new one whenever it lacks one
	// and its instance runs without an Elastic IP there (EC2 user guide,
	// "Public IPv4 addresses": "We release your instance's public IP
	// address when it is stopped, hibernated, or terminated. Your stopped
	// instance receives a new public IP address when it is started",
	// and "when you associate an Elastic IP address with your instance",
	// "we release its public IP address"; "If you disassociate the
	// Elastic IP address, the instance receives a new public IP address").
	publicIP   netip.Addr
	autoPublic bool
}

type attachment struct {
	id       string
	instance string
	index    int
	status   string
	time     time.Time
	primary  bool // the instance's own ENI, created with it
	// keep is set on the instance's own ENI launched with
	// NetworkInterface.N.DeleteOnTermination=false: termination detaches
	// it instead of deleting it.
	keep bool
}

// deleteOnTermination is the attachment's DeleteOnTermination: true for
// an interface created with its instance unless launched otherwise, false
// for one attached later ("DeleteOnTermination: ... By default, this is
// true for the primary network interface of instances launched by
// RunInstances ... false for network interfaces attached", API reference
// NetworkInterfaceAttachment / InstanceNetworkInterfaceSpecification).
func (a *attachment) deleteOnTermination() bool { return a.primary && !a.keep }

// igw is an internet gateway: a route target that leaves the simulated
// network. Routes may also name gateways vpcsim does not model (vgw-...),
// which it keeps as opaque targets.
type igw struct {
	id   string
	vpc  string // attached VPC, "" when detached
	tags map[string]string
}

type eip struct {
	id        string // eipalloc-...
	ip        netip.Addr
	assocID   string // eipassoc-... while associated
	eni       string
	privateIP netip.Addr
	tags      map[string]string
}

type volume struct {
	id string
	az string
	volumeSpec
	state   string // creating, available, in-use
	created time.Time
	attach  *volAttach
	tags    map[string]string
	// mod is the latest ModifyVolume, modTimes when each began (volmods.go).
	mod      *volumeMod
	modTimes []time.Time
}

type volAttach struct {
	instance string
	device   string
	status   string // attaching, attached, detaching
	time     time.Time
	// deleteOnTermination: the volume goes with the instance (launch
	// volumes unless their mapping said otherwise; AttachVolume's never).
	deleteOnTermination bool
}

type role struct {
	name     string
	stmts    []Statement
	account  string // "" = this account
	trust    *Trust
	lifetime time.Duration
}

// idGen makes AWS-shaped IDs: a prefix and 17 lowercase hex digits.
type idGen struct{}

func newIDGen() idGen { return idGen{} }

func (idGen) next(prefix string) string {
	var b [9]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("vpcsim: read random: %v", err)) // crypto/rand never fails on Linux
	}
	return prefix + "-" + hex.EncodeToString(b[:])[:17]
}

func randomHex(n int) string {
	b := make([]byte, (n+1)/2)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("vpcsim: read random: %v", err))
	}
	return hex.EncodeToString(b)[:n]
}

// macFor derives a locally administered unicast MAC from an ENI ID, so a
// world reloaded without MACs keeps them stable.
func macFor(id string) string {
	h := fnv64(id)
	return fmt.Sprintf("02:%02x:%02x:%02x:%02x:%02x", byte(h>>32), byte(h>>24), byte(h>>16), byte(h>>8), byte(h))
}

func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// buildState checks w and turns it into a state. All problems are reported.
func buildState(w *World, ids idGen) (*state, error) {
	b := &builder{w: w, ids: ids, names: map[string]map[string]string{}}
	st := b.build()
	if len(b.errs) > 0 {
		return nil, errors.Join(b.errs...)
	}
	// Every VPC has its default security group, which interfaces get when
	// none is named (VPC User Guide, "Default security groups").
	for _, v := range st.vpcs {
		st.addDefaultGroup(ids, v.id)
	}
	for _, e := range st.enis {
		if len(e.groups) == 0 {
			e.groups, _ = st.groupsFor(nil, e.vpc)
		}
	}
	return st, nil
}

type builder struct {
	w     *World
	ids   idGen
	st    *state
	names map[string]map[string]string // kind → name → id
	errs  []error
}

func (b *builder) errf(path, format string, args ...any) {
	b.errs = append(b.errs, fmt.Errorf("%s: %s", b.w.where(path), fmt.Sprintf(format, args...)))
}

// id validates a given ID or generates one.
func (b *builder) id(path, given, prefix string) string {
	if given == "" {
		return b.ids.next(prefix)
	}
	if !strings.HasPrefix(given, prefix+"-") || len(given) <= len(prefix)+1 {
		b.errf(path+".id", "id %q must start with %q", given, prefix+"-")
	}
	if _, dup := b.st.byID[given]; dup {
		b.errf(path+".id", "duplicate id %q", given)
	}
	return given
}

func (b *builder) name(kind, path, name, id string) {
	if name == "" {
		return
	}
	if b.names[kind] == nil {
		b.names[kind] = map[string]string{}
	}
	if _, dup := b.names[kind][name]; dup {
		b.errf(path+".name", "duplicate %s name %q", kind, name)
		return
	}
	b.names[kind][name] = id
}

// ref resolves a reference by ID or name; "" when unknown (error recorded).
func (b *builder) ref(kind, path, ref string) string {
	if ref == "" {
		b.errf(path, "missing %s", kind)
		return ""
	}
	if _, ok := b.st.byID[ref]; ok {
		return ref
	}
	if id, ok := b.names[kind][ref]; ok {
		return id
	}
	b.errf(path, "unknown %s %q", kind, ref)
	return ""
}

func withName(tags map[string]string, name string) map[string]string {
	out := maps.Clone(tags)
	if out == nil {
		out = map[string]string{}
	}
	if name != "" {
		if _, set := out["Name"]; !set {
			out["Name"] = name
		}
	}
	return out
}

func (b *builder) build() *state {
	w := b.w
	st := &state{
		region:   w.Region,
		account:  w.AccountID,
		imdsV1:   w.IMDSv1,
		roles:    map[string]*role{},
		byID:     map[string]any{},
		launched: time.Now().UTC().Truncate(time.Second),
	}
	b.st = st
	if st.region == "" {
		st.region = "us-east-1"
	}
	if st.account == "" {
		st.account = DefaultAccountID
	}
	if len(st.account) != 12 || strings.Trim(st.account, "0123456789") != "" {
		b.errf("account-id", "account id %q is not 12 digits", st.account)
	}

	for i, r := range w.Roles {
		path := fmt.Sprintf("roles[%d]", i)
		if r.Name == "" {
			b.errf(path, "missing name")
			continue
		}
		if _, dup := st.roles[r.Name]; dup {
			b.errf(path+".name", "duplicate role %q", r.Name)
			continue
		}
		stmts := slices.Clone(r.Statements)
		if len(r.Actions) > 0 {
			stmts = append(stmts, Statement{Actions: r.Actions, Resources: r.Resources})
		} else if len(r.Resources) > 0 {
			b.errf(path+".resources", "resources without actions")
		}
		for j, s := range stmts {
			if len(s.Actions) == 0 {
				b.errf(fmt.Sprintf("%s.statements[%d]", path, j), "statement without actions")
			}
			if err := s.Validate(); err != nil {
				b.errf(fmt.Sprintf("%s.statements[%d].condition", path, j), "%v", err)
			}
		}
		if r.Account != "" && (len(r.Account) != 12 || strings.Trim(r.Account, "0123456789") != "") {
			b.errf(path+".account", "account id %q is not 12 digits", r.Account)
		}
		if r.SessionLifetime < 0 {
			b.errf(path+".session-lifetime", "%s is negative", r.SessionLifetime)
		}
		acct := r.Account
		if acct == w.AccountID || (acct == DefaultAccountID && w.AccountID == "") {
			acct = ""
		}
		var trust *Trust
		if r.Trust != nil {
			t := *r.Trust
			t.Principals = slices.Clone(t.Principals)
			trust = &t
		}
		st.roles[r.Name] = &role{name: r.Name, stmts: stmts, account: acct, trust: trust, lifetime: r.SessionLifetime}
	}

	if w.DefaultVPC {
		b.defaultVPC()
	}
	for i, v := range w.VPCs {
		path := fmt.Sprintf("vpcs[%d]", i)
		id := b.id(path, v.ID, "vpc")
		p, err := netip.ParsePrefix(v.CIDR)
		if err != nil || p != p.Masked() || !p.Addr().Is4() || p.Bits() < 16 || p.Bits() > 28 {
			b.errf(path+".cidr", "cidr %q is not an IPv4 block between /16 and /28", v.CIDR)
		}
		if v.OwnerID != "" && (len(v.OwnerID) != 12 || strings.Trim(v.OwnerID, "0123456789") != "") {
			b.errf(path+".owner-id", "account id %q is not 12 digits", v.OwnerID)
		}
		owner := v.OwnerID
		if owner == st.account {
			owner = ""
		}
		x := &vpc{id: id, owner: owner, cidr: p, tags: withName(v.Tags, v.Name), dnsSupport: true}
		st.vpcs = append(st.vpcs, x)
		st.byID[id] = x
		b.name("vpc", path, v.Name, id)
		b.vpcIPv6(path+".ipv6-cidr", x, v.IPv6CIDR)
		b.vpcSecondary(path+".secondary-cidrs", x, v.SecondaryCIDRs)
	}

	for i, s := range w.Subnets {
		path := fmt.Sprintf("subnets[%d]", i)
		id := b.id(path, s.ID, "subnet")
		vid := b.ref("vpc", path+".vpc", s.VPC)
		p, err := netip.ParsePrefix(s.CIDR)
		if err != nil || p != p.Masked() || !p.Addr().Is4() || p.Bits() > 28 || p.Bits() < 16 {
			b.errf(path+".cidr", "cidr %q is not an IPv4 block between /16 and /28", s.CIDR)
			p = netip.Prefix{}
		} else if v, ok := st.byID[vid].(*vpc); ok {
			if _, ok := v.blockOf(p); !ok {
				var blocks []string
				for _, x := range v.v4Blocks() {
					blocks = append(blocks, x.cidr.String())
				}
				b.errf(path+".cidr", "cidr %s is not inside vpc cidr %s", p, strings.Join(blocks, " or "))
			}
			for _, o := range st.subnets {
				if o.vpc == vid && o.cidr.Overlaps(p) {
					b.errf(path+".cidr", "cidr %s overlaps subnet %s (%s)", p, o.id, o.cidr)
				}
			}
		}
		az := s.AZ
		if len(az) == 1 {
			az = st.region + az
		}
		if !isZoneOf(st.region, az) {
			b.errf(path+".az", "availability zone %q is not a zone of %s (give a letter or a full name)", s.AZ, st.region)
		}
		x := &subnet{id: id, vpc: vid, cidr: p, az: az, tags: withName(s.Tags, s.Name)}
		b.subnetIPv6(path+".ipv6-cidr", x, s.IPv6CIDR)
		st.subnets = append(st.subnets, x)
		st.byID[id] = x
		b.name("subnet", path, s.Name, id)
	}

	for i, in := range w.Instances {
		path := fmt.Sprintf("instances[%d]", i)
		id := b.id(path, in.ID, "i")
		x := &instance{
			id:           id,
			state:        in.State,
			role:         in.Role,
			instanceType: in.InstanceType,
			tags:         withName(in.Tags, in.Name),
			launch:       st.launched,
		}
		switch x.state {
		case "":
			x.state = "running"
		case "running", "stopped":
		default:
			b.errf(path+".state", "state %q is not running or stopped", in.State)
		}
		if x.instanceType == "" {
			x.instanceType = "t3.micro"
		}
		if x.role != "" && st.roles[x.role] == nil {
			b.errf(path+".role", "unknown role %q", x.role)
		}
		st.insts = append(st.insts, x)
		st.byID[id] = x
		b.name("instance", path, in.Name, id)
		e := b.eni(path, in.ENI, in.Subnet, in.PrivateIP, in.SecondaryIPs, in.SourceDestCheck, in.MAC, "Primary network interface", nil, path+".eni-id")
		if e == nil {
			continue
		}
		b.eniIPv6(path+".ipv6-addresses", e, in.IPv6Addresses)
		x.subnet = e.subnet
		e.attach = &attachment{id: b.ids.next("eni-attach"), instance: id, index: 0, status: "attached", time: st.launched, primary: true}
		x.enis = []string{e.id}
	}

	for i, n := range w.NetworkInterfaces {
		path := fmt.Sprintf("network-interfaces[%d]", i)
		e := b.eni(path, n.ID, n.Subnet, n.PrivateIP, n.SecondaryIPs, n.SourceDestCheck, n.MAC, n.Description, n.Tags, path+".id")
		if e == nil {
			continue
		}
		b.eniIPv6(path+".ipv6-addresses", e, n.IPv6Addresses)
		b.name("network-interface", path, n.Name, e.id)
		if n.Name != "" {
			e.tags = withName(e.tags, n.Name)
		}
		if n.Instance == "" {
			if n.DeviceIndex != 0 {
				b.errf(path+".device-index", "device-index without instance")
			}
			continue
		}
		iid := b.ref("instance", path+".instance", n.Instance)
		x, ok := st.byID[iid].(*instance)
		if !ok {
			continue
		}
		if n.DeviceIndex < 1 {
			b.errf(path+".device-index", "device-index must be at least 1 (0 is the instance's primary interface)")
		}
		for _, other := range x.enis {
			if o := st.byID[other].(*eni); o.attach.index == n.DeviceIndex {
				b.errf(path+".device-index", "instance %s already has an interface at device index %d", iid, n.DeviceIndex)
			}
		}
		if len(x.enis) > 0 {
			if p := st.byID[x.enis[0]].(*eni); p.az != e.az {
				b.errf(path+".subnet", "interface in %s cannot attach to instance %s in %s", e.az, iid, p.az)
			}
		}
		e.attach = &attachment{id: b.ids.next("eni-attach"), instance: iid, index: n.DeviceIndex, status: "attached", time: st.launched}
		x.enis = append(x.enis, e.id)
	}

	attachedIGW := map[string]string{}
	for _, g := range st.igws {
		attachedIGW[g.vpc] = g.id // the default VPC's
	}
	for i, x := range w.InternetGateways {
		path := fmt.Sprintf("internet-gateways[%d]", i)
		g := &igw{id: b.id(path, x.ID, "igw"), tags: withName(x.Tags, x.Name)}
		if x.VPC != "" {
			g.vpc = b.ref("vpc", path+".vpc", x.VPC)
			if other, dup := attachedIGW[g.vpc]; dup && g.vpc != "" {
				b.errf(path+".vpc", "vpc %s already has internet gateway %s", g.vpc, other)
			}
			attachedIGW[g.vpc] = g.id
		}
		st.igws = append(st.igws, g)
		st.byID[g.id] = g
		b.name("internet-gateway", path, x.Name, g.id)
	}

	for i, x := range w.ElasticIPs {
		path := fmt.Sprintf("elastic-ips[%d]", i)
		id := b.id(path, x.ID, "eipalloc")
		e := &eip{id: id, tags: withName(x.Tags, x.Name)}
		if x.PublicIP == "" {
			e.ip = st.nextPublicIP()
		} else if a, err := netip.ParseAddr(x.PublicIP); err != nil || !a.Is4() {
			b.errf(path+".public-ip", "%q is not an IPv4 address", x.PublicIP)
		} else if st.eipByIP(a) != nil {
			b.errf(path+".public-ip", "public ip %s is allocated twice", a)
		} else {
			e.ip = a
		}
		st.eips = append(st.eips, e)
		st.byID[id] = e
		b.name("elastic-ip", path, x.Name, id)
		var target *eni
		switch {
		case x.NetworkInterface != "" && x.Instance != "":
			b.errf(path, "give network-interface or instance, not both")
		case x.NetworkInterface != "":
			target = st.eni(b.ref("network-interface", path+".network-interface", x.NetworkInterface))
		case x.Instance != "":
			if in := st.instance(b.ref("instance", path+".instance", x.Instance)); in != nil {
				if len(in.enis) != 1 {
					b.errf(path+".instance", "instance %s has %d network interfaces; name one", in.id, len(in.enis))
				} else {
					target = st.eni(in.enis[0])
				}
			}
		case x.PrivateIP != "":
			b.errf(path+".private-ip", "private-ip without network-interface or instance")
		}
		if target == nil {
			continue
		}
		priv := target.ip
		if x.PrivateIP != "" {
			a, err := netip.ParseAddr(x.PrivateIP)
			if err != nil || (a != target.ip && !slices.Contains(target.secondary, a)) {
				b.errf(path+".private-ip", "%q is not an address of %s", x.PrivateIP, target.id)
				continue
			}
			priv = a
		}
		if other := st.eipOn(target.id, priv); other != nil {
			b.errf(path, "%s of %s already has elastic ip %s", priv, target.id, other.id)
			continue
		}
		e.eni, e.privateIP, e.assocID = target.id, priv, b.ids.next("eipassoc")
	}

	for i, x := range w.Volumes {
		path := fmt.Sprintf("volumes[%d]", i)
		id := b.id(path, x.ID, "vol")
		v := &volume{id: id, volumeSpec: volumeSpec{size: x.Size, vtype: x.Type}, state: "available", created: st.launched, tags: withName(x.Tags, x.Name)}
		if v.size == 0 {
			v.size = 8
		}
		if v.vtype == "" {
			v.vtype = "gp3"
		}
		v.az = x.AZ
		if len(v.az) == 1 {
			v.az = st.region + v.az
		}
		if !isZoneOf(st.region, v.az) {
			b.errf(path+".az", "availability zone %q is not a zone of %s", x.AZ, st.region)
		}
		st.vols = append(st.vols, v)
		st.byID[id] = v
		b.name("volume", path, x.Name, id)
		if x.Instance == "" {
			if x.Device != "" {
				b.errf(path+".device", "device without instance")
			}
			continue
		}
		in := st.instance(b.ref("instance", path+".instance", x.Instance))
		if in == nil {
			continue
		}
		if p := st.primaryENI(in); p != nil && p.az != v.az {
			b.errf(path+".az", "volume in %s cannot attach to instance %s in %s", v.az, in.id, p.az)
		}
		dev := x.Device
		if dev == "" {
			b.errf(path+".device", "missing device (for example /dev/sdf)")
		}
		for _, o := range st.vols {
			if o != v && o.attach != nil && o.attach.instance == in.id && o.attach.device == dev {
				b.errf(path+".device", "instance %s already has %s at %s", in.id, o.id, dev)
			}
		}
		v.state = "in-use"
		v.attach = &volAttach{instance: in.id, device: dev, status: "attached", time: st.launched}
	}

	mains := map[string]string{} // vpc → main table
	associated := map[string]string{}
	for i, t := range w.RouteTables {
		path := fmt.Sprintf("route-tables[%d]", i)
		id := b.id(path, t.ID, "rtb")
		vid := b.ref("vpc", path+".vpc", t.VPC)
		x := &routeTable{id: id, vpc: vid, main: t.Main, tags: withName(t.Tags, t.Name)}
		st.tables = append(st.tables, x)
		st.byID[id] = x
		b.name("route-table", path, t.Name, id)
		v, ok := st.byID[vid].(*vpc)
		if !ok {
			continue
		}
		x.routes = v.localRoutes()
		if t.Main {
			if other, dup := mains[vid]; dup {
				b.errf(path+".main", "vpc %s already has main route table %s", vid, other)
			}
			mains[vid] = id
			x.mainID = b.ids.next("rtbassoc")
		}
		for j, sref := range t.Subnets {
			spath := fmt.Sprintf("%s.subnets[%d]", path, j)
			sid := b.ref("subnet", spath, sref)
			s, ok := st.byID[sid].(*subnet)
			if !ok {
				continue
			}
			if s.vpc != vid {
				b.errf(spath, "subnet %s is in %s, not in the table's vpc %s", sid, s.vpc, vid)
				continue
			}
			if other, dup := associated[sid]; dup {
				b.errf(spath, "subnet %s is already associated with %s", sid, other)
				continue
			}
			associated[sid] = id
			x.assocs = append(x.assocs, assoc{id: b.ids.next("rtbassoc"), subnet: sid})
		}
		for j, r := range t.Routes {
			rpath := fmt.Sprintf("%s.routes[%d]", path, j)
			p, err := netip.ParsePrefix(r.Destination)
			if err != nil || p != p.Masked() || p.Addr().Zone() != "" || p.Addr().Is4In6() {
				b.errf(rpath+".destination", "destination %q is not an IPv4 or IPv6 CIDR block without host bits", r.Destination)
				continue
			}
			if slices.ContainsFunc(x.routes, func(o *route) bool { return o.dst == p }) {
				b.errf(rpath+".destination", "duplicate route %s", p)
				continue
			}
			rt := &route{dst: p, origin: "CreateRoute"}
			targets := 0
			if r.Gateway != "" {
				targets++
				rt.gateway = r.Gateway
				if id, ok := b.names["internet-gateway"][r.Gateway]; ok {
					rt.gateway = id
				}
				if g := st.igw(rt.gateway); g != nil && g.vpc != vid {
					b.errf(rpath+".gateway", "internet gateway %s is not attached to the table's vpc %s", g.id, vid)
				}
			}
			if r.NetworkInterface != "" {
				targets++
				rt.eni = b.ref("network-interface", rpath+".network-interface", r.NetworkInterface)
			}
			if r.Instance != "" {
				targets++
				iid := b.ref("instance", rpath+".instance", r.Instance)
				if in, ok := st.byID[iid].(*instance); ok {
					if len(in.enis) != 1 {
						b.errf(rpath+".instance", "instance %s has %d network interfaces; name one", iid, len(in.enis))
					} else {
						rt.eni = in.enis[0]
					}
				}
			}
			if targets != 1 {
				b.errf(rpath, "route needs exactly one of network-interface, instance, gateway")
				continue
			}
			if e, ok := st.byID[rt.eni].(*eni); ok && e.vpc != vid {
				b.errf(rpath, "interface %s is in %s, not in the table's vpc %s", e.id, e.vpc, vid)
			}
			x.routes = append(x.routes, rt)
		}
	}
	for _, v := range st.vpcs {
		if _, ok := mains[v.id]; ok || v.isDefault {
			continue
		}
		id := b.ids.next("rtb")
		x := &routeTable{id: id, vpc: v.id, main: true, mainID: b.ids.next("rtbassoc"), tags: map[string]string{},
			routes: v.localRoutes()}
		st.tables = append(st.tables, x)
		st.byID[id] = x
	}
	return st
}

// defaultVPC adds a new account's default VPC, as AWS creates it.
func (b *builder) defaultVPC() { b.st.addDefaultVPC(b.ids) }

// addDefaultVPC adds a default VPC (VPC user guide, "Default VPCs"): a /16
// IPv4 block (172.31.0.0/16), a default /20 subnet in each zone that maps
// public addresses, an attached internet gateway and a main route table
// routing 0.0.0.0/0 to it. Its default security group is the caller's to
// add. It returns the VPC.
func (st *state) addDefaultVPC(ids idGen) *vpc {
	v := &vpc{id: ids.next("vpc"), cidr: netip.MustParsePrefix("172.31.0.0/16"), tags: map[string]string{},
		dnsSupport: true, dnsHostnames: true, isDefault: true}
	st.vpcs = append(st.vpcs, v)
	st.byID[v.id] = v
	for i, z := range zonesOf(st.region) {
		sn := &subnet{id: ids.next("subnet"), vpc: v.id, az: z.name, tags: map[string]string{}, defaultAZ: true,
			attrs: subnetAttrs{mapPublicIP: true},
			cidr:  netip.PrefixFrom(netip.AddrFrom4([4]byte{172, 31, byte(16 * i), 0}), 20)}
		st.subnets = append(st.subnets, sn)
		st.byID[sn.id] = sn
	}
	g := &igw{id: ids.next("igw"), vpc: v.id, tags: map[string]string{}}
	st.igws = append(st.igws, g)
	st.byID[g.id] = g
	t := &routeTable{id: ids.next("rtb"), vpc: v.id, main: true, mainID: ids.next("rtbassoc"), tags: map[string]string{},
		routes: []*route{
			{dst: v.cidr, local: true, origin: "CreateRouteTable"},
			{dst: netip.MustParsePrefix("0.0.0.0/0"), gateway: g.id, origin: "CreateRoute"},
		}}
	st.tables = append(st.tables, t)
	st.byID[t.id] = t
	return v
}

// defaultSubnet returns the default subnet of az, or of the first zone
// when az is "" (nil without a default VPC).
func (st *state) defaultSubnet(az string) *subnet {
	for _, sn := range st.subnets {
		if sn.defaultAZ && (az == "" || sn.az == az) {
			return sn
		}
	}
	return nil
}

// eni builds and registers a network interface.
func (b *builder) eni(path, id, subnetRef, ip string, secondary []string, sdc *bool, mac, desc string, tags map[string]string, idPath string) *eni {
	st := b.st
	if id == "" {
		id = b.ids.next("eni")
	} else if !strings.HasPrefix(id, "eni-") {
		b.errf(idPath, "id %q must start with \"eni-\"", id)
	} else if _, dup := st.byID[id]; dup {
		b.errf(idPath, "duplicate id %q", id)
	}
	sid := b.ref("subnet", path+".subnet", subnetRef)
	s, ok := st.byID[sid].(*subnet)
	if !ok || !s.cidr.IsValid() || s.cidr.Bits() < 16 {
		return nil // the subnet's own error is reported
	}
	e := &eni{id: id, subnet: sid, vpc: s.vpc, az: s.az, sdc: true, description: desc, tags: maps.Clone(tags)}
	if e.tags == nil {
		e.tags = map[string]string{}
	}
	if sdc != nil {
		e.sdc = *sdc
	}
	e.mac = strings.ToLower(mac)
	if e.mac == "" {
		e.mac = macFor(id)
	}
	if ip == "" {
		a, ok := st.freeIP(s)
		if !ok {
			b.errf(path+".subnet", "subnet %s has no free address", sid)
			return nil
		}
		e.ip = a
	} else if a, err := b.addr(path+".private-ip", ip, s); err == nil {
		e.ip = a
	}
	st.enis = append(st.enis, e) // registered before secondaries so owner checks see it
	st.byID[id] = e
	for j, sec := range secondary {
		if a, err := b.addr(fmt.Sprintf("%s.secondary-ips[%d]", path, j), sec, s); err == nil {
			e.secondary = append(e.secondary, a)
		}
	}
	return e
}

func (b *builder) addr(path, ip string, s *subnet) (netip.Addr, error) {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is4() {
		b.errf(path, "%q is not an IPv4 address", ip)
		return netip.Addr{}, errors.New("bad address")
	}
	if err := reservedOrOutside(a, s); err != nil {
		b.errf(path, "%v", err)
		return netip.Addr{}, err
	}
	if owner := b.st.ownerOf(s.vpc, a); owner != nil {
		b.errf(path, "address %s is already used by %s", a, owner.id)
		return netip.Addr{}, errors.New("in use")
	}
	return a, nil
}

// reservedOrOutside applies AWS's rule that the first four and the last
// address of every subnet are reserved.
func reservedOrOutside(a netip.Addr, s *subnet) error {
	if !s.cidr.Contains(a) {
		return fmt.Errorf("address %s is not in subnet %s (%s)", a, s.id, s.cidr)
	}
	first := s.cidr.Addr()
	off := a.As4()
	base := first.As4()
	n := (uint32(off[0])<<24 | uint32(off[1])<<16 | uint32(off[2])<<8 | uint32(off[3])) -
		(uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3]))
	size := uint32(1) << (32 - s.cidr.Bits())
	if n < 4 || n == size-1 {
		return fmt.Errorf("address %s is reserved by AWS in subnet %s (%s)", a, s.id, s.cidr)
	}
	return nil
}

// ownerOf returns the interface in vpcID holding a (primary or secondary
// IPv4, or IPv6).
func (st *state) ownerOf(vpcID string, a netip.Addr) *eni {
	for _, e := range st.enis {
		if e.vpc != vpcID {
			continue
		}
		if e.holds(a) {
			return e
		}
	}
	return nil
}

// freeIP returns the lowest unreserved, unused address of s.
func (st *state) freeIP(s *subnet) (netip.Addr, bool) {
	a := s.cidr.Addr()
	for range 4 {
		a = a.Next()
	}
	for ; s.cidr.Contains(a); a = a.Next() {
		if reservedOrOutside(a, s) != nil || st.cidrReserved(s, a) {
			continue
		}
		if st.ownerOf(s.vpc, a) == nil {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// nextPublicIP hands out addresses from the documentation ranges
// (RFC 5737), so a simulated Elastic IP never collides with a real one.
func (st *state) nextPublicIP() netip.Addr {
	for _, base := range []string{"203.0.113.10", "198.51.100.10"} {
		for a := netip.MustParseAddr(base); a.As4()[3] < 250; a = a.Next() {
			if st.eipByIP(a) == nil && !slices.ContainsFunc(st.enis, func(e *eni) bool { return e.publicIP == a }) {
				return a
			}
		}
	}
	return netip.Addr{}
}

func (st *state) eipByIP(a netip.Addr) *eip {
	for _, e := range st.eips {
		if e.ip == a {
			return e
		}
	}
	return nil
}

// eipOn returns the Elastic IP associated with a private address of an ENI.
func (st *state) eipOn(eniID string, priv netip.Addr) *eip {
	for _, e := range st.eips {
		if e.eni == eniID && e.privateIP == priv {
			return e
		}
	}
	return nil
}

func (st *state) vpc(id string) *vpc           { x, _ := st.byID[id].(*vpc); return x }
func (st *state) subnet(id string) *subnet     { x, _ := st.byID[id].(*subnet); return x }
func (st *state) table(id string) *routeTable  { x, _ := st.byID[id].(*routeTable); return x }
func (st *state) instance(id string) *instance { x, _ := st.byID[id].(*instance); return x }
func (st *state) igw(id string) *igw           { x, _ := st.byID[id].(*igw); return x }
func (st *state) eip(id string) *eip           { x, _ := st.byID[id].(*eip); return x }
func (st *state) volume(id string) *volume     { x, _ := st.byID[id].(*volume); return x }
func (st *state) eni(id string) *eni           { x, _ := st.byID[id].(*eni); return x }
func (st *state) primaryENI(in *instance) *eni { return st.eni(firstOr(in.enis, "")) }

// lookupAll finds each of ids with get, in request order. The IDs it does
// not find are answered together with code, since AWS names every missing
// ID of a call in one error rather than stopping at the first.
func lookupAll[T any](ids []string, get func(id string) *T, code, noun string) ([]*T, error) {
	var out []*T
	var missing []string
	for _, id := range ids {
		x := get(id)
		if x == nil {
			missing = append(missing, id)
			continue
		}
		out = append(out, x)
	}
	if len(missing) > 0 {
		return nil, notFound(code, noun, missing...)
	}
	return out, nil
}
func firstOr(s []string, def string) string {
	if len(s) == 0 {
		return def
	}
	return s[0]
}

// tableFor returns the route table governing a subnet: its explicit
// association, or else its VPC's main table.
func (st *state) tableFor(s *subnet) *routeTable {
	var main *routeTable
	for _, t := range st.tables {
		for _, a := range t.assocs {
			if a.subnet == s.id {
				return t
			}
		}
		if t.main && t.vpc == s.vpc {
			main = t
		}
	}
	return main
}

// routeState is "active" when the target can take traffic and "blackhole"
// when the target interface is detached or its instance is not running, as
// AWS reports routes to terminated or stopped NAT instances.
func (st *state) routeState(r *route) string {
	switch {
	case r.local || r.gateway != "" || r.eigw != "":
		return "active"
	case r.nat != "":
		return st.natRouteState(r.nat)
	case r.pcx != "":
		return st.peeringRouteState(r.pcx)
	}
	e := st.eni(r.eni)
	if e == nil || e.attach == nil || e.attach.status != "attached" {
		return "blackhole"
	}
	if in := st.instance(e.attach.instance); in == nil || in.state != "running" {
		return "blackhole"
	}
	return "active"
}

func (st *state) arn(kind, id string) string {
	return fmt.Sprintf("arn:aws:ec2:%s:%s:%s/%s", st.region, st.account, kind, id)
}

// callerAccount is the account c acts in: an assumed role's, or this
// account for its instances' roles and the admin.
func (st *state) callerAccount(c caller) string {
	if c.Session != "" && c.Account != "" {
		return c.Account
	}
	return st.account
}

// tableOwner is the account that owns route table id: its VPC's owner.
func (st *state) tableOwner(id string) string {
	if t := st.table(id); t != nil {
		if v, ok := st.byID[t.vpc].(*vpc); ok && v.owner != "" {
			return v.owner
		}
	}
	return st.account
}
