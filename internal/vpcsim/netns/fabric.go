package netns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	vns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/vipd/vipd/internal/vpcsim"
)

// Addresses every instance namespace serves on its loopback interface.
const (
	// IMDSAddr is the instance metadata service, at its usual address.
	IMDSAddr = "169.254.169.254:80"
	// APIAddr is the EC2 API endpoint (vpcsim) as seen from an instance.
	APIAddr = "169.254.169.250:80"
)

// Rule priorities in a router namespace: partitions come before the
// per-subnet table lookups.
const (
	prioPartition = 100
	prioSubnet    = 1000
	prioDrop      = 2000
	firstTable    = 100
)

var runs atomic.Int64

// Options tunes a Fabric. The zero value is usable.
type Options struct {
	// Log receives what the fabric changes; default discards.
	Log *slog.Logger
	// Resync bounds how long a missed change can go unprogrammed; the
	// fabric re-reads the state this often even without a change signal.
	// Default 2s.
	Resync time.Duration
}

// Fabric is the netns data plane of one vpcsim server. Its methods are
// safe for concurrent use.
type Fabric struct {
	srv    *vpcsim.Server
	log    *slog.Logger
	resync time.Duration
	prefix string

	mu      sync.Mutex
	closed  bool
	nsOrder []string // every namespace created, for cleanup
	nsh     map[string]vns.NsHandle
	nlh     map[string]*netlink.Handle
	routers map[string]*router // by VPC ID
	insts   map[string]*inst   // by instance ID
	enis    map[string]*eniLink
	parts   map[[2]string][]netlink.Rule // partition rules by instance pair
	procs   []*exec.Cmd
	apiAddr string // vpcsim's EC2 endpoint, host:port
	// v6 is whether the kernel has IPv6 (/proc/sys/net/ipv6); without it
	// the fabric carries IPv4 only and reports an interface with IPv6
	// addresses as an error rather than failing every namespace.
	v6 bool
}

type router struct {
	vpc     string
	ns      string
	subnets map[string]*subnetPort  // by subnet ID
	tables  map[string]int          // route table ID → kernel table
	rules   map[string]netlink.Rule // installed source-check rules by key
	nextEth int
}

type subnetPort struct {
	cidr netip.Prefix
	gw   netip.Addr
}

type inst struct {
	id   string
	ns   string
	imds *proxy
	api  *proxy
	// apiCut is CutAPI's setting; the API path is also cut while the
	// instance is not running.
	apiCut  bool
	running bool
}

type eniLink struct {
	id     string
	vpc    string
	mac    net.HardwareAddr
	rEnd   string // router end, holding the subnet router's address
	parked string // name of the other end while in the router namespace
	where  string // instance ID holding the other end; "" while parked
	name   string // its name there (eth<index>)
}

// New builds the namespaces for srv's current state and starts the
// in-namespace proxies. srv must have started. Call Run to follow later
// changes, or Close to remove everything.
func New(srv *vpcsim.Server, opts Options) (_ *Fabric, err error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Resync <= 0 {
		opts.Resync = 2 * time.Second
	}
	u, err := url.Parse(srv.URL())
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("new netns fabric: vpcsim has no endpoint (not started?)")
	}
	f := &Fabric{
		srv:     srv,
		log:     opts.Log.With("component", "netns"),
		resync:  opts.Resync,
		prefix:  namePrefix(int(runs.Add(1))),
		nsh:     map[string]vns.NsHandle{},
		nlh:     map[string]*netlink.Handle{},
		routers: map[string]*router{},
		insts:   map[string]*inst{},
		enis:    map[string]*eniLink{},
		parts:   map[[2]string][]netlink.Rule{},
		apiAddr: u.Host,
		v6:      kernelHasIPv6(),
	}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	if err := f.Sync(context.Background()); err != nil {
		return nil, fmt.Errorf("new netns fabric: %w", err)
	}
	return f, nil
}

// Prefix returns the prefix of every namespace name of this fabric.
func (f *Fabric) Prefix() string { return f.prefix }

// Run programs the fabric on every state change until ctx is done, then
// removes everything (Close) and returns.
func (f *Fabric) Run(ctx context.Context) error {
	defer f.Close()
	t := time.NewTicker(f.resync)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-f.srv.Changes():
		case <-t.C:
		}
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		if err := f.Sync(sctx); err != nil && ctx.Err() == nil {
			f.log.Warn("program fabric", "err", err)
		}
		cancel()
	}
}

// Sync programs the fabric from the simulator's current state once. Run
// calls it on every change; tests call it to not wait for the next one.
func (f *Fabric) Sync(ctx context.Context) error {
	st := f.srv.Snapshot()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return errors.New("fabric closed")
	}
	return f.syncLocked(ctx, st)
}

func (f *Fabric) syncLocked(ctx context.Context, st vpcsim.State) error {
	var errs []error
	subnets := map[string]vpcsim.SubnetState{}
	for _, s := range st.Subnets {
		subnets[s.ID] = s
	}
	for _, v := range st.VPCs {
		if err := f.ensureRouter(ctx, v.ID); err != nil {
			return err // nothing else works without it
		}
	}
	for _, s := range st.Subnets {
		if err := f.ensureSubnet(s); err != nil {
			errs = append(errs, err)
		}
	}
	for _, in := range st.Instances {
		if err := f.ensureInstance(ctx, in); err != nil {
			errs = append(errs, err)
			continue
		}
		// A stopped instance runs nothing: nothing in its namespace
		// reaches the API (IMDS already drops its connections) and,
		// below, no packet leaves or reaches it.
		x := f.insts[in.ID]
		x.running = in.State == "running"
		x.api.setCut(x.apiCut || !x.running)
	}
	for _, e := range st.NetworkInterfaces {
		if err := f.ensureENI(e, st, subnets); err != nil {
			errs = append(errs, err)
		}
	}
	for _, r := range f.routers {
		if err := f.programRouter(r, st); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// addNamespace creates a namespace and opens handles on it.
func (f *Fabric) addNamespace(ctx context.Context, role string) (string, error) {
	name := f.prefix + "-" + role
	if err := ipCmd(ctx, "netns", "add", name); err != nil {
		return "", err
	}
	f.nsOrder = append(f.nsOrder, name)
	h, err := vns.GetFromName(name)
	if err != nil {
		return "", fmt.Errorf("open namespace %s: %w", name, err)
	}
	f.nsh[name] = h
	nl, err := netlink.NewHandleAt(h)
	if err != nil {
		return "", fmt.Errorf("netlink in %s: %w", name, err)
	}
	f.nlh[name] = nl
	lo, err := nl.LinkByName("lo")
	if err == nil {
		err = nl.LinkSetUp(lo)
	}
	if err != nil {
		return "", fmt.Errorf("bring lo up in %s: %w", name, err)
	}
	// Interfaces created in or moved into the namespace take their IPv6
	// settings from "default": without duplicate address detection their
	// addresses are usable at once instead of tentative for a second. The
	// fabric hands out every address itself, so DAD has nothing to find.
	for _, k := range []string{"net.ipv6.conf.default.accept_dad", "net.ipv6.conf.all.accept_dad"} {
		if !f.v6 {
			break
		}
		if err := sysctlIn(name, k, "0"); err != nil {
			return "", err
		}
	}
	return name, nil
}

func (f *Fabric) ensureRouter(ctx context.Context, vpcID string) error {
	if _, ok := f.routers[vpcID]; ok {
		return nil
	}
	ns, err := f.addNamespace(ctx, fmt.Sprintf("r%d", len(f.routers)))
	if err != nil {
		return err
	}
	if err := sysctlIn(ns, "net.ipv4.ip_forward", "1"); err != nil {
		return err
	}
	if f.v6 {
		if err := sysctlIn(ns, "net.ipv6.conf.all.forwarding", "1"); err != nil {
			return err
		}
	}
	f.routers[vpcID] = &router{vpc: vpcID, ns: ns, subnets: map[string]*subnetPort{}, tables: map[string]int{}, rules: map[string]netlink.Rule{}}
	f.log.Info("router namespace created", "vpc", vpcID, "netns", ns)
	return nil
}

func (f *Fabric) ensureSubnet(s vpcsim.SubnetState) error {
	r := f.routers[s.VPC]
	if r == nil {
		return fmt.Errorf("subnet %s: vpc %s has no router", s.ID, s.VPC)
	}
	if _, ok := r.subnets[s.ID]; ok {
		return nil
	}
	p, err := netip.ParsePrefix(s.CIDR)
	if err != nil {
		return fmt.Errorf("subnet %s: %w", s.ID, err)
	}
	r.subnets[s.ID] = &subnetPort{cidr: p, gw: p.Addr().Next()}
	return nil
}

func (f *Fabric) ensureInstance(ctx context.Context, in vpcsim.InstanceState) error {
	if _, ok := f.insts[in.ID]; ok {
		return nil
	}
	ns, err := f.addNamespace(ctx, fmt.Sprintf("i%d", len(f.insts)))
	if err != nil {
		return err
	}
	x := &inst{id: in.ID, ns: ns}
	f.insts[in.ID] = x
	nl := f.nlh[ns]
	lo, err := nl.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("find lo in %s: %w", ns, err)
	}
	for _, a := range []string{IMDSAddr, APIAddr} {
		ap := netip.MustParseAddrPort(a)
		if err := nl.AddrAdd(lo, &netlink.Addr{IPNet: ipNet(netip.PrefixFrom(ap.Addr(), 32))}); err != nil {
			return fmt.Errorf("add %s to lo in %s: %w", ap.Addr(), ns, err)
		}
	}
	imds := strings.TrimPrefix(in.IMDSURL, "http://")
	if imds == "" {
		imds = strings.TrimPrefix(f.srv.IMDSURL(in.ID), "http://")
	}
	ln, err := listenIn(ns, IMDSAddr)
	if err != nil {
		return err
	}
	x.imds = newProxy(ln, imds)
	ln, err = listenIn(ns, APIAddr)
	if err != nil {
		return err
	}
	x.api = newProxy(ln, f.apiAddr)
	f.log.Info("instance namespace created", "instance_id", in.ID, "netns", ns)
	return nil
}

// ensureENI creates the ENI's veth pair once and puts its instance end
// where the attachment says.
func (f *Fabric) ensureENI(e vpcsim.NetworkInterfaceState, st vpcsim.State, subnets map[string]vpcsim.SubnetState) error {
	r := f.routers[e.VPC]
	if r == nil {
		return fmt.Errorf("eni %s: vpc %s has no router", e.ID, e.VPC)
	}
	sp := r.subnets[e.Subnet]
	if sp == nil {
		return fmt.Errorf("eni %s: subnet %s is unknown", e.ID, e.Subnet)
	}
	rnl := f.nlh[r.ns]
	x := f.enis[e.ID]
	if x == nil {
		mac, err := net.ParseMAC(e.MAC)
		if err != nil {
			return fmt.Errorf("eni %s: mac: %w", e.ID, err)
		}
		k := r.nextEth
		r.nextEth++
		x = &eniLink{id: e.ID, vpc: e.VPC, mac: mac, rEnd: fmt.Sprintf("e%d", k), parked: fmt.Sprintf("p%d", k)}
		v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: x.rEnd}, PeerName: x.parked, PeerHardwareAddr: mac}
		if err := rnl.LinkAdd(v); err != nil {
			return fmt.Errorf("eni %s: add veth: %w", e.ID, err)
		}
		// The router end answers ARP for the subnet router and, by proxy
		// ARP, for every other address of the subnet, as the VPC does.
		// Without a delay: Linux holds proxied answers up to 0.8 s by default.
		if err := sysctlIn(r.ns, "net.ipv4.conf."+x.rEnd+".proxy_arp", "1"); err != nil {
			return err
		}
		if err := sysctlIn(r.ns, "net.ipv4.neigh."+x.rEnd+".proxy_delay", "0"); err != nil {
			return err
		}
		re, err := rnl.LinkByName(x.rEnd)
		if err == nil {
			err = rnl.AddrAdd(re, &netlink.Addr{IPNet: ipNet(netip.PrefixFrom(sp.gw, 32))})
		}
		if err == nil && f.v6 {
			// The VPC router's IPv6 address on every link: instances send
			// IPv6 to it (default route via fe80::1), as an EC2 instance
			// sends to the router's link-local address.
			err = rnl.AddrAdd(re, &netlink.Addr{IPNet: ipNet(netip.PrefixFrom(routerLL, 64)), Flags: unix.IFA_F_NODAD})
		}
		if err == nil {
			err = rnl.LinkSetUp(re)
		}
		if err != nil {
			return fmt.Errorf("eni %s: set up %s: %w", e.ID, x.rEnd, err)
		}
		f.enis[e.ID] = x
	}
	want := ""
	if e.AttachmentStatus == "attached" && f.insts[e.Instance] != nil {
		want = e.Instance
	}
	if want == x.where {
		if want != "" {
			return f.configureENI(x, e, sp) // idempotent: restores a flushed address
		}
		return nil
	}
	if err := f.moveENI(x, r, want, e.DeviceIndex); err != nil {
		return err
	}
	if want == "" {
		f.log.Info("eni parked", "eni_id", e.ID)
		return nil
	}
	f.log.Info("eni moved", "eni_id", e.ID, "instance_id", want, "op", x.name)
	return f.configureENI(x, e, sp)
}

// moveENI moves the instance end of x to instance to ("" parks it in the
// router), renaming it on the way.
func (f *Fabric) moveENI(x *eniLink, r *router, to string, index int) error {
	fromNS, fromName := r.ns, x.parked
	if x.where != "" {
		fromNS, fromName = f.insts[x.where].ns, x.name
	}
	nl := f.nlh[fromNS]
	l, err := nl.LinkByName(fromName)
	if err != nil {
		return fmt.Errorf("eni %s: find %s in %s: %w", x.id, fromName, fromNS, err)
	}
	if err := nl.LinkSetDown(l); err != nil {
		return fmt.Errorf("eni %s: set down: %w", x.id, err)
	}
	if fromName != x.parked {
		if err := nl.LinkSetName(l, x.parked); err != nil {
			return fmt.Errorf("eni %s: rename: %w", x.id, err)
		}
	}
	toNS, toName := r.ns, x.parked
	if to != "" {
		toNS, toName = f.insts[to].ns, fmt.Sprintf("eth%d", index)
	}
	if toNS != fromNS {
		if err := nl.LinkSetNsFd(l, int(f.nsh[toNS])); err != nil {
			return fmt.Errorf("eni %s: move to %s: %w", x.id, toNS, err)
		}
	}
	x.where, x.name = to, toName
	if to == "" {
		return nil
	}
	tnl := f.nlh[toNS]
	l, err = tnl.LinkByName(x.parked)
	if err != nil {
		return fmt.Errorf("eni %s: find in %s: %w", x.id, toNS, err)
	}
	if err := tnl.LinkSetName(l, toName); err != nil {
		return fmt.Errorf("eni %s: name %s in %s: %w", x.id, toName, toNS, err)
	}
	return nil
}

// configureENI gives an attached ENI its MAC, address and (for the primary
// interface) the default route, as the instance's network scripts would.
func (f *Fabric) configureENI(x *eniLink, e vpcsim.NetworkInterfaceState, sp *subnetPort) error {
	ns := f.insts[x.where].ns
	nl := f.nlh[ns]
	l, err := nl.LinkByName(x.name)
	if err != nil {
		return fmt.Errorf("eni %s: find %s in %s: %w", x.id, x.name, ns, err)
	}
	if l.Attrs().HardwareAddr.String() != x.mac.String() {
		if err := nl.LinkSetHardwareAddr(l, x.mac); err != nil {
			return fmt.Errorf("eni %s: set mac: %w", x.id, err)
		}
	}
	ip, err := netip.ParseAddr(e.PrivateIP)
	if err != nil {
		return fmt.Errorf("eni %s: private ip: %w", x.id, err)
	}
	if err := nl.AddrReplace(l, &netlink.Addr{IPNet: ipNet(netip.PrefixFrom(ip, sp.cidr.Bits()))}); err != nil {
		return fmt.Errorf("eni %s: add %s: %w", x.id, ip, err)
	}
	if l.Attrs().OperState != netlink.OperUp && l.Attrs().Flags&net.FlagUp == 0 {
		if err := nl.LinkSetUp(l); err != nil {
			return fmt.Errorf("eni %s: set up: %w", x.id, err)
		}
	}
	if e.DeviceIndex == 0 {
		def := &netlink.Route{LinkIndex: l.Attrs().Index, Gw: sp.gw.AsSlice(), Dst: nil}
		if err := nl.RouteReplace(def); err != nil {
			return fmt.Errorf("eni %s: default route via %s: %w", x.id, sp.gw, err)
		}
	}
	return f.configureENI6(nl, l, x, e)
}

// routerLL is the VPC router's IPv6 address on every link of the fabric.
var routerLL = netip.MustParseAddr("fe80::1")

// configureENI6 gives an attached ENI its IPv6 side: its link-local
// address (derived from its MAC, which the router uses as the next hop,
// so that traffic reaches the interface whatever global addresses it
// has), the first of its IPv6 addresses as a /128 (DHCPv6 hands an EC2
// instance its addresses one by one; the others are for their owner to
// bind, as secondary IPv4 addresses are), and, on the primary
// interface, the default route via the router. Every packet goes through
// the router, which forwards by the route tables, as for IPv4.
func (f *Fabric) configureENI6(nl *netlink.Handle, l netlink.Link, x *eniLink, e vpcsim.NetworkInterfaceState) error {
	if !f.v6 {
		if len(e.IPv6Addresses) > 0 {
			return fmt.Errorf("eni %s: cannot carry its IPv6 addresses: this kernel has no IPv6 (/proc/sys/net/ipv6 is missing)", x.id)
		}
		return nil
	}
	if err := nl.AddrReplace(l, &netlink.Addr{IPNet: ipNet(netip.PrefixFrom(linkLocal(x.mac), 64)), Flags: unix.IFA_F_NODAD}); err != nil {
		return fmt.Errorf("eni %s: add link-local address: %w", x.id, err)
	}
	if len(e.IPv6Addresses) == 0 {
		return nil
	}
	a, err := netip.ParseAddr(e.IPv6Addresses[0])
	if err != nil {
		return fmt.Errorf("eni %s: ipv6 address: %w", x.id, err)
	}
	if err := nl.AddrReplace(l, &netlink.Addr{IPNet: ipNet(netip.PrefixFrom(a, 128)), Flags: unix.IFA_F_NODAD}); err != nil {
		return fmt.Errorf("eni %s: add %s: %w", x.id, a, err)
	}
	if e.DeviceIndex == 0 {
		def := &netlink.Route{LinkIndex: l.Attrs().Index, Gw: routerLL.AsSlice(), Dst: ipNet(netip.MustParsePrefix("::/0")), Family: unix.AF_INET6}
		if err := nl.RouteReplace(def); err != nil {
			return fmt.Errorf("eni %s: default route via %s: %w", x.id, routerLL, err)
		}
	}
	return nil
}

// linkLocal is the modified EUI-64 link-local address of a MAC (RFC 4291,
// appendix A), which Linux gives an interface by default.
func linkLocal(mac net.HardwareAddr) netip.Addr {
	var b [16]byte
	b[0], b[1] = 0xfe, 0x80
	if len(mac) == 6 {
		b[8], b[9], b[10] = mac[0]^0x02, mac[1], mac[2]
		b[11], b[12] = 0xff, 0xfe
		b[13], b[14], b[15] = mac[3], mac[4], mac[5]
	}
	return netip.AddrFrom16(b)
}

// want is one desired route in a router table.
type want struct {
	dst       netip.Prefix
	link      string     // router end of the ENI; "" for a blackhole
	via       netip.Addr // the ENI's primary address, the next hop
	blackhole bool
}

func (f *Fabric) programRouter(r *router, st vpcsim.State) error {
	nl := f.nlh[r.ns]
	enis := map[string]vpcsim.NetworkInterfaceState{}
	for _, e := range st.NetworkInterfaces {
		enis[e.ID] = e
	}
	running := map[string]bool{}
	for _, in := range st.Instances {
		running[in.ID] = in.State == "running"
	}
	// target returns the route to an ENI's primary address, or a
	// blackhole when the ENI cannot take traffic now.
	target := func(dst netip.Prefix, eniID string, checkSDC bool) want {
		e, ok := enis[eniID]
		x := f.enis[eniID]
		if !ok || x == nil || x.where == "" || e.AttachmentStatus != "attached" || !running[e.Instance] {
			return want{dst: dst, blackhole: true}
		}
		ip, err := netip.ParseAddr(e.PrivateIP)
		if err != nil {
			return want{dst: dst, blackhole: true}
		}
		if dst.Addr().Is6() {
			ip = linkLocal(x.mac)
		}
		if checkSDC && e.SourceDestCheck && !holds(e, dst) {
			return want{dst: dst, blackhole: true}
		}
		return want{dst: dst, link: x.rEnd, via: ip}
	}
	// The VPC's local route: every address an ENI holds, delivered to it.
	var common []want
	for _, e := range st.NetworkInterfaces {
		if e.VPC != r.vpc {
			continue
		}
		for _, a := range f.carried(addrsHeld(e)) {
			common = append(common, target(netip.PrefixFrom(a, a.BitLen()), e.ID, false))
		}
	}
	for _, x := range st.ElasticIPs {
		if e, ok := enis[x.NetworkInterface]; ok && e.VPC == r.vpc {
			if a, err := netip.ParseAddr(x.PublicIP); err == nil {
				common = append(common, target(netip.PrefixFrom(a, 32), e.ID, false))
			}
		}
	}
	var errs []error
	mainTable := ""
	for _, t := range st.RouteTables {
		if t.VPC != r.vpc {
			continue
		}
		if t.Main {
			mainTable = t.ID
		}
		n, ok := r.tables[t.ID]
		if !ok {
			n = firstTable + len(r.tables)
			r.tables[t.ID] = n
		}
		routes := map[netip.Prefix]want{}
		for _, w := range common {
			routes[w.dst] = w
		}
		for _, rt := range t.Routes {
			dst, err := netip.ParsePrefix(rt.Destination)
			if err != nil || rt.Target == "local" || rt.NetworkInterfaceID == "" {
				continue // gateways lead out of the VPC, which the fabric has not
			}
			if dst.Addr().Is6() && !f.v6 {
				continue // nothing in the fabric sends IPv6 without it
			}
			if _, local := routes[dst]; local && dst.IsSingleIP() {
				continue // an address an ENI holds: the local route wins, as in AWS
			}
			routes[dst] = target(dst, rt.NetworkInterfaceID, true)
		}
		if err := f.programTable(nl, n, routes); err != nil {
			errs = append(errs, fmt.Errorf("route table %s: %w", t.ID, err))
		}
	}
	// Per ENI: packets it sends are routed by its subnet's table, if their
	// source passes its source/destination check; anything else vanishes.
	assoc := map[string]string{}
	for _, t := range st.RouteTables {
		for _, s := range t.Subnets {
			assoc[s] = t.ID
		}
	}
	wantRules := map[string]netlink.Rule{}
	for _, e := range st.NetworkInterfaces {
		x := f.enis[e.ID]
		if e.VPC != r.vpc || x == nil {
			continue
		}
		for _, fam := range f.families() {
			drop := sourceRule(x.rEnd, prioDrop, 0, fam)
			drop.Type = unix.FR_ACT_BLACKHOLE
			wantRules[ruleKey(drop)] = *drop
		}
		if e.Instance != "" && !running[e.Instance] {
			continue // a stopped instance sends nothing
		}
		tid := assoc[e.Subnet]
		if tid == "" {
			tid = mainTable
		}
		n, ok := r.tables[tid]
		if !ok {
			continue
		}
		if e.SourceDestCheck {
			for _, a := range f.carried(addrsHeld(e)) {
				rl := sourceRule(x.rEnd, prioSubnet, n, family(a))
				rl.Src = ipNet(netip.PrefixFrom(a, a.BitLen()))
				wantRules[ruleKey(rl)] = *rl
			}
		}
		if !e.SourceDestCheck {
			for _, fam := range f.families() {
				rl := sourceRule(x.rEnd, prioSubnet, n, fam)
				wantRules[ruleKey(rl)] = *rl
			}
		}
	}
	for k, rl := range r.rules {
		if _, ok := wantRules[k]; ok {
			continue
		}
		if err := nl.RuleDel(&rl); err != nil && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("delete rule %s: %w", k, err))
			continue
		}
		delete(r.rules, k)
	}
	for k, rl := range wantRules {
		if _, ok := r.rules[k]; ok {
			continue
		}
		if err := nl.RuleAdd(&rl); err != nil {
			errs = append(errs, fmt.Errorf("add rule %s: %w", k, err))
			continue
		}
		r.rules[k] = rl
	}
	return errors.Join(errs...)
}

// kernelHasIPv6 reports whether this kernel was built and booted with IPv6.
func kernelHasIPv6() bool {
	_, err := os.Stat("/proc/sys/net/ipv6")
	return err == nil
}

// families are the address families the fabric carries.
func (f *Fabric) families() []int {
	if f.v6 {
		return []int{unix.AF_INET, unix.AF_INET6}
	}
	return []int{unix.AF_INET}
}

// carried drops the IPv6 addresses when the fabric carries IPv4 only.
func (f *Fabric) carried(as []netip.Addr) []netip.Addr {
	if f.v6 {
		return as
	}
	return slices.DeleteFunc(as, netip.Addr.Is6)
}

func holds(e vpcsim.NetworkInterfaceState, dst netip.Prefix) bool {
	return dst.IsSingleIP() && slices.Contains(addrsHeld(e), dst.Addr())
}

// addrsHeld are every address an ENI holds: its private IPv4 addresses
// and its IPv6 addresses.
func addrsHeld(e vpcsim.NetworkInterfaceState) []netip.Addr {
	var out []netip.Addr
	for _, s := range append(append([]string{e.PrivateIP}, e.SecondaryIPs...), e.IPv6Addresses...) {
		if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, a)
		}
	}
	return out
}

func family(a netip.Addr) int {
	if a.Is6() {
		return unix.AF_INET6
	}
	return unix.AF_INET
}

func sourceRule(iif string, prio, table, fam int) *netlink.Rule {
	r := netlink.NewRule()
	r.IifName = iif
	r.Table = table
	r.Priority = prio
	r.Family = fam
	return r
}

func ruleKey(r *netlink.Rule) string {
	src := "all"
	if r.Src != nil {
		src = r.Src.String()
	}
	return fmt.Sprintf("%d family %d iif %s from %s table %d type %d", r.Priority, r.Family, r.IifName, src, r.Table, r.Type)
}

// programTable makes kernel table n hold exactly routes (plus an
// unreachable default).
func (f *Fabric) programTable(nl *netlink.Handle, n int, routes map[netip.Prefix]want) error {
	links := map[string]int{}
	index := func(name string) (int, error) {
		if i, ok := links[name]; ok {
			return i, nil
		}
		l, err := nl.LinkByName(name)
		if err != nil {
			return 0, err
		}
		links[name] = l.Attrs().Index
		return links[name], nil
	}
	var errs []error
	desired := map[string]bool{}
	defs := []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}[:len(f.families())]
	for _, def := range defs {
		if _, ok := routes[def]; !ok {
			routes[def] = want{dst: def, blackhole: true}
		}
	}
	for _, w := range routes {
		rt := &netlink.Route{Table: n, Dst: ipNet(w.dst), Family: family(w.dst.Addr())}
		switch {
		case w.blackhole && slices.Contains(defs, w.dst):
			rt.Type = unix.RTN_UNREACHABLE
		case w.blackhole:
			rt.Type = unix.RTN_BLACKHOLE
		default:
			i, err := index(w.link)
			if err != nil {
				errs = append(errs, fmt.Errorf("find %s: %w", w.link, err))
				continue
			}
			rt.LinkIndex = i
			rt.Gw = w.via.AsSlice()
			rt.Flags = int(netlink.FLAG_ONLINK)
		}
		desired[w.dst.String()] = true
		if err := nl.RouteReplace(rt); err != nil {
			errs = append(errs, fmt.Errorf("replace route %s: %w", w.dst, err))
		}
	}
	for i, fam := range f.families() {
		cur, err := nl.RouteListFiltered(fam, &netlink.Route{Table: n}, netlink.RT_FILTER_TABLE)
		if err != nil {
			errs = append(errs, fmt.Errorf("list table %d: %w", n, err))
			continue
		}
		for _, rt := range cur {
			dst := defs[i].String()
			if rt.Dst != nil {
				dst = rt.Dst.String() // the same text as netip's for both families
			}
			if desired[dst] {
				continue
			}
			if err := nl.RouteDel(&rt); err != nil && !errors.Is(err, unix.ESRCH) {
				errs = append(errs, fmt.Errorf("delete route %s: %w", dst, err))
			}
		}
	}
	return errors.Join(errs...)
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// Namespace returns the namespace of an instance ("" if unknown), for
// `ip netns exec`.
func (f *Fabric) Namespace(instanceID string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if x := f.insts[instanceID]; x != nil {
		return x.ns
	}
	return ""
}

// RouterNamespace returns the router namespace of a VPC ("" if unknown).
func (f *Fabric) RouterNamespace(vpcID string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r := f.routers[vpcID]; r != nil {
		return r.ns
	}
	return ""
}

func (f *Fabric) nsOf(instanceID string) (string, error) {
	ns := f.Namespace(instanceID)
	if ns == "" {
		return "", fmt.Errorf("instance %s has no namespace", instanceID)
	}
	return ns, nil
}

// Exec starts cmd inside an instance's namespace (through
// `ip netns exec`, which execs the command: cmd.Process is the command
// itself). The fabric kills it on Close if it is still running; the
// caller still Waits for it.
func (f *Fabric) Exec(instanceID string, cmd *exec.Cmd) error {
	ns, err := f.nsOf(instanceID)
	if err != nil {
		return err
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		return fmt.Errorf("exec in %s: %w", instanceID, err)
	}
	args := append([]string{"ip", "netns", "exec", ns}, cmd.Path)
	if len(cmd.Args) > 1 {
		args = append(args, cmd.Args[1:]...)
	}
	cmd.Path, cmd.Args = ip, args
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return errors.New("fabric closed")
	}
	f.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("exec in %s: %w", instanceID, err)
	}
	f.mu.Lock()
	f.procs = append(f.procs, cmd)
	f.mu.Unlock()
	return nil
}

// Dial connects from inside an instance's namespace.
func (f *Fabric) Dial(ctx context.Context, instanceID, network, addr string) (net.Conn, error) {
	ns, err := f.nsOf(instanceID)
	if err != nil {
		return nil, err
	}
	return dialIn(ctx, ns, network, addr)
}

// Listen opens a TCP listener inside an instance's namespace; the caller
// closes it (before Close, or the namespace outlives its name).
func (f *Fabric) Listen(instanceID, addr string) (net.Listener, error) {
	ns, err := f.nsOf(instanceID)
	if err != nil {
		return nil, err
	}
	return listenIn(ns, addr)
}

// Do runs fn on a thread inside an instance's namespace: netlink calls and
// sockets made by fn act there.
func (f *Fabric) Do(instanceID string, fn func() error) error {
	ns, err := f.nsOf(instanceID)
	if err != nil {
		return err
	}
	return inNamespace(ns, fn)
}

// CutAPI cuts (on) or restores an instance's path to the EC2 API.
func (f *Fabric) CutAPI(instanceID string, on bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	x := f.insts[instanceID]
	if x == nil {
		return fmt.Errorf("cut api of %s: no such instance", instanceID)
	}
	x.apiCut = on
	x.api.setCut(on || !x.running)
	f.log.Info("api path", "instance_id", instanceID, "cut", on)
	return nil
}

// CutIMDS cuts (on) or restores an instance's path to its metadata service.
func (f *Fabric) CutIMDS(instanceID string, on bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	x := f.insts[instanceID]
	if x == nil {
		return fmt.Errorf("cut imds of %s: no such instance", instanceID)
	}
	x.imds.setCut(on)
	f.log.Info("imds path", "instance_id", instanceID, "cut", on)
	return nil
}

// SlowIMDS delays every request an instance sends to its metadata
// service by d (at most 10 s; 0 restores it), as a busy or throttled IMDS
// would answer late. Requests already waiting keep their delay.
func (f *Fabric) SlowIMDS(instanceID string, d time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	x := f.insts[instanceID]
	if x == nil {
		return fmt.Errorf("slow imds of %s: no such instance", instanceID)
	}
	x.imds.setDelay(d)
	f.log.Info("imds path", "instance_id", instanceID, "duration", d)
	return nil
}

// Partition drops (on) or lets through again all routed traffic between
// the primary addresses of two instances' ENIs, both ways.
func (f *Fabric) Partition(a, b string, on bool) error {
	if a > b {
		a, b = b, a
	}
	st := f.srv.Snapshot()
	f.mu.Lock()
	defer f.mu.Unlock()
	key := [2]string{a, b}
	if !on {
		rules, ok := f.parts[key]
		if !ok {
			return nil
		}
		var errs []error
		for _, rl := range rules {
			nl := f.nlh[f.routerOfLocked(st, a)]
			if nl == nil {
				break
			}
			if err := nl.RuleDel(&rl); err != nil && !errors.Is(err, unix.ENOENT) {
				errs = append(errs, err)
			}
		}
		delete(f.parts, key)
		f.log.Info("partition healed", "from", a, "to", b)
		return errors.Join(errs...)
	}
	if _, ok := f.parts[key]; ok {
		return nil
	}
	ra, rb := f.routerOfLocked(st, a), f.routerOfLocked(st, b)
	if ra == "" || ra != rb {
		return fmt.Errorf("partition %s from %s: not in one VPC of the fabric", a, b)
	}
	addrsA := addrsOf(st, a)
	addrsB := addrsOf(st, b)
	nl := f.nlh[ra]
	var rules []netlink.Rule
	for _, x := range addrsA {
		for _, y := range addrsB {
			for _, pair := range [][2]netip.Addr{{x, y}, {y, x}} {
				rl := netlink.NewRule()
				rl.Priority = prioPartition
				rl.Family = unix.AF_INET
				rl.Src = ipNet(netip.PrefixFrom(pair[0], 32))
				rl.Dst = ipNet(netip.PrefixFrom(pair[1], 32))
				rl.Type = unix.FR_ACT_BLACKHOLE
				rl.Table = unix.RT_TABLE_UNSPEC
				if err := nl.RuleAdd(rl); err != nil {
					f.parts[key] = rules // so that healing removes what was added
					return fmt.Errorf("partition %s from %s: %w", a, b, err)
				}
				rules = append(rules, *rl)
			}
		}
	}
	f.parts[key] = rules
	f.log.Info("partitioned", "from", a, "to", b)
	return nil
}

func (f *Fabric) routerOfLocked(st vpcsim.State, instanceID string) string {
	for _, e := range st.NetworkInterfaces {
		if e.Instance == instanceID {
			if r := f.routers[e.VPC]; r != nil {
				return r.ns
			}
		}
	}
	return ""
}

func addrsOf(st vpcsim.State, instanceID string) []netip.Addr {
	var out []netip.Addr
	for _, e := range st.NetworkInterfaces {
		if e.Instance != instanceID {
			continue
		}
		if a, err := netip.ParseAddr(e.PrivateIP); err == nil {
			out = append(out, a)
		}
	}
	return out
}

// Close kills the processes Exec started, stops the proxies and deletes
// every namespace. It is idempotent.
func (f *Fabric) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	procs := f.procs
	f.mu.Unlock()
	for _, p := range procs {
		_ = p.Process.Signal(syscall.SIGKILL) // an exited one answers an error

	}
	var errs []error
	for _, x := range f.insts {
		if x.imds != nil {
			x.imds.close()
		}
		if x.api != nil {
			x.api.close()
		}
	}
	for _, h := range f.nlh {
		h.Close()
	}
	for _, h := range f.nsh {
		h.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, ns := range slices.Backward(f.nsOrder) {
		if err := ipCmd(ctx, "netns", "delete", ns); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close netns fabric: %w", err)
	}
	return nil
}
