package ec2

import (
	"net/http"
	"net/netip"
	"slices"
	"strconv"
)

// This file models IPv6 as EC2 does: an Amazon-provided /56 per VPC
// (AssociateVpcCidrBlock), a /64 of it per subnet
// (AssociateSubnetCidrBlock), IPv6 addresses of the subnet's /64 on
// network interfaces (AssignIpv6Addresses), and routes to IPv6
// destinations (routes.go). Amazon's pool is global unicast space; vpcsim
// hands out /56 blocks of the documentation prefix 2001:db8::/32
// (RFC 3849), which no real network routes, so a simulated address never
// collides with a real one.

// ipv6Pool is where vpcsim's Amazon-provided blocks come from.
var ipv6Pool = netip.MustParsePrefix("2001:db8::/32")

// nextIPv6Block returns the lowest /56 of ipv6Pool no VPC holds.
func (st *state) nextIPv6Block() (netip.Prefix, bool) {
	base := ipv6Pool.Addr().As16()
	for n := 1; n < 1<<16; n++ {
		b := base
		b[4], b[5] = byte(n>>8), byte(n) // 2001:db8:n::/56
		p := netip.PrefixFrom(netip.AddrFrom16(b), 56)
		if !slices.ContainsFunc(st.vpcs, func(v *vpc) bool { return v.ipv6.cidr.IsValid() && v.ipv6.cidr.Overlaps(p) }) {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

// localRoutes are the local routes of every table of v: its IPv4 blocks,
// and its IPv6 block when it has one (AWS adds such a route to every table
// of the VPC on association and removes it on disassociation).
func (v *vpc) localRoutes() []*route {
	var out []*route
	for _, b := range v.v4Blocks() {
		out = append(out, &route{dst: b.cidr, local: true, origin: "CreateRouteTable"})
	}
	if v.ipv6.cidr.IsValid() {
		out = append(out, &route{dst: v.ipv6.cidr, local: true, origin: "CreateRouteTable"})
	}
	return out
}

// associateIPv6 gives v the block p and its local route in every table.
func (st *state) associateIPv6(ids idGen, v *vpc, p netip.Prefix) {
	v.ipv6 = v6Block{assoc: ids.next("vpc-cidr-assoc"), cidr: p}
	for _, t := range st.tables {
		if t.vpc == v.id && t.find(routeDest{cidr: p}) < 0 {
			t.routes = append(t.routes, &route{dst: p, local: true, origin: "CreateRouteTable"})
		}
	}
}

// reservedV6 applies AWS's rule that the first four and the last address
// of a subnet's IPv6 block are reserved, as in IPv4 (Amazon VPC User
// Guide, "Subnet CIDR blocks").
func reservedV6(a netip.Addr, p netip.Prefix) bool {
	first := p.Addr()
	for range 4 {
		if a == first {
			return true
		}
		first = first.Next()
	}
	b := p.Addr().As16()
	for i := p.Bits() / 8; i < 16; i++ {
		if i == p.Bits()/8 && p.Bits()%8 != 0 {
			b[i] |= byte(0xff >> (p.Bits() % 8))
		} else {
			b[i] = 0xff
		}
	}
	return a == netip.AddrFrom16(b)
}

// holds reports whether a is one of e's addresses, IPv4 or IPv6.
func (e *eni) holds(a netip.Addr) bool {
	return e.ip == a || slices.Contains(e.secondary, a) || slices.Contains(e.ipv6, a)
}

// freeIPv6 returns the lowest unreserved IPv6 address of sn no interface
// holds. AWS picks at random; vpcsim picks the lowest, so tests can
// predict it.
func (st *state) freeIPv6(sn *subnet) (netip.Addr, bool) {
	p := sn.ipv6.cidr
	if !p.IsValid() {
		return netip.Addr{}, false
	}
	a := p.Addr()
	for range 4 {
		a = a.Next()
	}
	for i := 0; i < 1<<16 && p.Contains(a); i, a = i+1, a.Next() {
		if !reservedV6(a, p) && st.ownerOf(sn.vpc, a) == nil {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// checkAddr6 validates a requested IPv6 address for subnet sn.
func checkAddr6(v string, sn *subnet) (netip.Addr, error) {
	a, err := netip.ParseAddr(v)
	if err != nil || !a.Is6() || a.Is4In6() || a.Zone() != "" {
		return netip.Addr{}, invalidParam("Value (%s) for parameter ipv6Addresses is invalid. This is not a valid IPv6 address.", v)
	}
	if !sn.ipv6.cidr.IsValid() {
		return netip.Addr{}, invalidParam("Subnet %s has no IPv6 CIDR block; associate one (AssociateSubnetCidrBlock) first", sn.id)
	}
	if !sn.ipv6.cidr.Contains(a) {
		return netip.Addr{}, invalidParam("Address %s does not fall within the subnet's IPv6 address range %s", a, sn.ipv6.cidr)
	}
	if reservedV6(a, sn.ipv6.cidr) {
		return netip.Addr{}, invalidParam("Address %s is reserved by AWS in subnet %s", a, sn.id)
	}
	return a, nil
}

type xIPv6State struct {
	State string `xml:"state"`
}

type xVpcIPv6Assoc struct {
	AssociationID      string     `xml:"associationId"`
	Ipv6CidrBlock      string     `xml:"ipv6CidrBlock"`
	State              xIPv6State `xml:"ipv6CidrBlockState"`
	NetworkBorderGroup string     `xml:"networkBorderGroup"`
	Ipv6Pool           string     `xml:"ipv6Pool"`
}

type xSubnetIPv6Assoc struct {
	AssociationID string     `xml:"associationId"`
	Ipv6CidrBlock string     `xml:"ipv6CidrBlock"`
	State         xIPv6State `xml:"ipv6CidrBlockState"`
}

type xIPv6Addr struct {
	Ipv6Address   string `xml:"ipv6Address"`
	IsPrimaryIpv6 bool   `xml:"isPrimaryIpv6"`
}

func (st *state) xVpcIPv6(v *vpc, state string) xVpcIPv6Assoc {
	return xVpcIPv6Assoc{AssociationID: v.ipv6.assoc, Ipv6CidrBlock: v.ipv6.cidr.String(), State: xIPv6State{state},
		NetworkBorderGroup: st.region, Ipv6Pool: "Amazon"}
}

func xIPv6Addrs(e *eni) set[xIPv6Addr] {
	out := set[xIPv6Addr]{Items: []xIPv6Addr{}}
	for _, a := range e.ipv6 {
		out.Items = append(out.Items, xIPv6Addr{Ipv6Address: a.String()})
	}
	return out
}

type vpcCidrAssocResp struct {
	ec2Resp
	V4    *xCidrAssoc    `xml:"cidrBlockAssociation,omitempty"`
	Ipv6  *xVpcIPv6Assoc `xml:"ipv6CidrBlockAssociation,omitempty"`
	VpcID string         `xml:"vpcId"`
}

// associateVpcCidrBlock gives a VPC a secondary IPv4 block (CidrBlock,
// vpccidr.go) or an Amazon-provided /56 (AmazonProvidedIpv6CidrBlock).
// BYOIP pools and IPAM are not modelled. The answer says associating, as
// EC2's does; in vpcsim the association completes within the call, so
// DescribeVpcs already shows it associated.
func (s *Account) associateVpcCidrBlock(r *request) (any, error) {
	amazon, _, err := r.boolean("AmazonProvidedIpv6CidrBlock")
	if err != nil {
		return nil, err
	}
	c := r.get("CidrBlock")
	switch {
	case c != "" && amazon:
		return nil, errorf(http.StatusBadRequest, "InvalidParameterCombination", "Only one of cidrBlock and amazonProvidedIpv6CidrBlock may be specified.")
	case c != "":
		return s.associateVpcIPv4(r, c)
	case !amazon:
		return nil, invalidParam("vpcsim models secondary IPv4 blocks (CidrBlock) and Amazon-provided IPv6 blocks (AmazonProvidedIpv6CidrBlock=true) only; IPv6 pools and IPAM are not modelled")
	}
	out := &vpcCidrAssocResp{}
	err = s.mutateIn(r, func(st *state) error {
		v, err := st.lookupVpc(r)
		if err != nil {
			return err
		}
		if v.ipv6.cidr.IsValid() {
			// "You can have one IPv6 CIDR block association per network
			// border group" (AssociateVpcCidrBlock), and the simulated
			// region is one group.
			return errorf(http.StatusBadRequest, "CidrLimitExceeded", "This network %s has met its maximum number of allowed CIDRs: 1", v.id)
		}
		p, ok := st.nextIPv6Block()
		if !ok {
			return errorf(http.StatusBadRequest, "InsufficientCidrBlocks", "No Amazon-provided IPv6 CIDR block is left.")
		}
		st.associateIPv6(s.ids, v, p)
		x := st.xVpcIPv6(v, "associating")
		out.Ipv6, out.VpcID = &x, v.id
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// vpcOfAssoc finds the VPC holding an IPv6 block association.
func (st *state) vpcOfAssoc(id string) *vpc {
	for _, v := range st.vpcs {
		if v.ipv6.assoc == id && id != "" {
			return v
		}
	}
	return nil
}

// disassociateVpcCidrBlock removes a VPC's IPv6 block with its local
// routes. As in AWS, subnets must give up their IPv6 blocks first
// (InvalidCidrBlock.InUse). Other routes whose destination lies in the
// block are kept: vpcsim does not model what AWS does with them.
func (s *Account) disassociateVpcCidrBlock(r *request) (any, error) {
	id, err := r.required("AssociationId", "associationId")
	if err != nil {
		return nil, err
	}
	out := &vpcCidrAssocResp{}
	err = s.mutateIn(r, func(st *state) error {
		v := st.vpcOfAssoc(id)
		if v == nil {
			if v, i := st.vpcOfV4Assoc(id); v != nil {
				return s.disassociateVpcIPv4(st, v, i, out)
			}
			return errorf(http.StatusBadRequest, "InvalidVpcCidrBlockAssociationID.NotFound", "The vpc CIDR block association ID '%s' does not exist", id)
		}
		for _, sn := range st.subnets {
			if sn.vpc == v.id && sn.ipv6.cidr.IsValid() {
				return errorf(http.StatusBadRequest, "InvalidCidrBlock.InUse",
					"The vpc CIDR block %s is in use by subnet %s; disassociate the subnet's IPv6 CIDR block first.", v.ipv6.cidr, sn.id)
			}
		}
		x := st.xVpcIPv6(v, "disassociating")
		out.Ipv6, out.VpcID = &x, v.id
		block := v.ipv6.cidr
		for _, t := range st.tables {
			if t.vpc == v.id {
				t.routes = slices.DeleteFunc(t.routes, func(x *route) bool { return x.local && x.dst == block })
			}
		}
		v.ipv6 = v6Block{}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

type subnetCidrAssocResp struct {
	ec2Resp
	Ipv6     xSubnetIPv6Assoc `xml:"ipv6CidrBlockAssociation"`
	SubnetID string           `xml:"subnetId"`
}

// associateSubnetCidrBlock gives a subnet a /64 of its VPC's /56. A
// subnet holds one IPv6 block ("You can associate a single IPv6 CIDR
// block with your subnet", AssociateSubnetCidrBlock), and two subnets of
// a VPC never overlap (InvalidSubnet.Conflict, as for IPv4).
func (s *Account) associateSubnetCidrBlock(r *request) (any, error) {
	sid, err := r.required("SubnetId", "subnetId")
	if err != nil {
		return nil, err
	}
	c, err := r.required("Ipv6CidrBlock", "ipv6CidrBlock")
	if err != nil {
		return nil, err
	}
	out := &subnetCidrAssocResp{}
	err = s.mutateIn(r, func(st *state) error {
		sn := st.subnet(sid)
		if sn == nil {
			return notFound("InvalidSubnetID.NotFound", "subnet", sid)
		}
		if sn.ipv6.cidr.IsValid() {
			return errorf(http.StatusBadRequest, "InvalidParameterValue", "The subnet '%s' already has an IPv6 CIDR block %s.", sn.id, sn.ipv6.cidr)
		}
		p, err := st.subnetV6Block(st.vpc(sn.vpc), sn, c)
		if err != nil {
			return err
		}
		sn.ipv6 = v6Block{assoc: s.ids.next("subnet-cidr-assoc"), cidr: p}
		out.Ipv6 = xSubnetIPv6Assoc{AssociationID: sn.ipv6.assoc, Ipv6CidrBlock: p.String(), State: xIPv6State{"associating"}}
		out.SubnetID = sn.id
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// subnetV6Block checks c as an IPv6 block for a subnet (other than
// except) of v: a /44 to /64 ("The allowed size for an IPv6 subnet is
// between a /44 netmask and a /64 netmask", API reference, CreateSubnet;
// moto's aws_verified test_create_ipv6native_subnet gives a subnet the
// VPC's whole /56) inside v's IPv6 block, overlapping no other subnet's
// (InvalidSubnet.Conflict, as for IPv4).
func (st *state) subnetV6Block(v *vpc, except *subnet, c string) (netip.Prefix, error) {
	p, perr := netip.ParsePrefix(c)
	if perr != nil || !p.Addr().Is6() || p.Addr().Is4In6() || p != p.Masked() {
		return netip.Prefix{}, invalidParam("Value (%s) for parameter ipv6CidrBlock is invalid. This is not a valid IPv6 CIDR block.", c)
	}
	switch {
	case p.Bits() < 44 || p.Bits() > 64:
		return netip.Prefix{}, errorf(http.StatusBadRequest, "InvalidSubnet.Range", "The IPv6 CIDR '%s' is invalid: a subnet's IPv6 block is a /44 to a /64.", c)
	case v == nil || !v.ipv6.cidr.IsValid():
		return netip.Prefix{}, errorf(http.StatusBadRequest, "InvalidSubnet.Range", "The IPv6 CIDR '%s' is invalid: the vpc has no IPv6 CIDR block.", c)
	case !v.ipv6.cidr.Contains(p.Addr()) || p.Bits() < v.ipv6.cidr.Bits():
		return netip.Prefix{}, errorf(http.StatusBadRequest, "InvalidSubnet.Range", "The IPv6 CIDR '%s' is not within the vpc's IPv6 CIDR block %s.", c, v.ipv6.cidr)
	}
	for _, o := range st.subnets {
		if o != except && o.vpc == v.id && o.ipv6.cidr.IsValid() && o.ipv6.cidr.Overlaps(p) {
			return netip.Prefix{}, errorf(http.StatusBadRequest, "InvalidSubnet.Conflict", "The IPv6 CIDR '%s' conflicts with subnet %s", c, o.id)
		}
	}
	return p, nil
}

// subnetOfAssoc finds the subnet holding an IPv6 block association.
func (st *state) subnetOfAssoc(id string) *subnet {
	for _, sn := range st.subnets {
		if sn.ipv6.assoc == id && id != "" {
			return sn
		}
	}
	return nil
}

// disassociateSubnetCidrBlock removes a subnet's /64; interfaces in the
// subnet must give up their IPv6 addresses first, as in AWS.
func (s *Account) disassociateSubnetCidrBlock(r *request) (any, error) {
	id, err := r.required("AssociationId", "associationId")
	if err != nil {
		return nil, err
	}
	out := &subnetCidrAssocResp{}
	err = s.mutateIn(r, func(st *state) error {
		sn := st.subnetOfAssoc(id)
		if sn == nil {
			return notFound("InvalidSubnetCidrBlockAssociationID.NotFound", "subnetCidrBlockAssociation", id)
		}
		for _, e := range st.enis {
			if e.subnet == sn.id && len(e.ipv6) > 0 {
				return errorf(http.StatusBadRequest, "InvalidCidrBlock.InUse",
					"The subnet CIDR block %s is in use: network interface %s holds IPv6 addresses of it; unassign them first.", sn.ipv6.cidr, e.id)
			}
		}
		out.Ipv6 = xSubnetIPv6Assoc{AssociationID: id, Ipv6CidrBlock: sn.ipv6.cidr.String(), State: xIPv6State{"disassociating"}}
		out.SubnetID = sn.id
		sn.ipv6 = v6Block{}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

type assignIPv6Resp struct {
	ec2Resp
	Assigned           set[string] `xml:"assignedIpv6Addresses"`
	NetworkInterfaceID string      `xml:"networkInterfaceId"`
}

// assignIpv6Addresses adds IPv6 addresses of the subnet's /64 to an
// interface, named (Ipv6Addresses.N) or counted (Ipv6AddressCount), not
// both. Unlike AssignPrivateIpAddresses it has no AllowReassignment (the
// API reference lists none): an address another interface holds is
// refused, so moving one takes UnassignIpv6Addresses on the old interface
// first, as failover tools do for IPv6 (F5's Cloud Failover Extension
// disassociates, then associates). The answer lists only the addresses
// the call added.
func (s *Account) assignIpv6Addresses(r *request) (any, error) {
	addrs := r.list("Ipv6Addresses")
	count := 0
	if v := r.get("Ipv6AddressCount"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, invalidParam("Value (%s) for parameter ipv6AddressCount is invalid. Expected a positive integer.", v)
		}
		count = n
	}
	if r.get("Ipv6PrefixCount") != "" || len(r.list("Ipv6Prefix")) > 0 {
		return nil, invalidParam("vpcsim does not model IPv6 prefix delegation (Ipv6Prefixes, Ipv6PrefixCount)")
	}
	switch {
	case len(addrs) == 0 && count == 0:
		return nil, missingParam("ipv6Addresses or ipv6AddressCount")
	case len(addrs) > 0 && count > 0:
		return nil, errorf(http.StatusBadRequest, "InvalidParameterCombination", "Specify either ipv6Addresses or ipv6AddressCount, not both.")
	}
	out := &assignIPv6Resp{Assigned: set[string]{Items: []string{}}}
	err := s.mutateIn(r, func(st *state) error {
		e, err := st.lookupENI(r)
		if err != nil {
			return err
		}
		sn := st.subnet(e.subnet)
		out.NetworkInterfaceID = e.id
		var want []netip.Addr
		before := len(e.ipv6)
		for range count {
			a, ok := st.freeIPv6(sn)
			if !ok {
				e.ipv6 = e.ipv6[:before]
				if !sn.ipv6.cidr.IsValid() {
					return invalidParam("Subnet %s has no IPv6 CIDR block; associate one (AssociateSubnetCidrBlock) first", sn.id)
				}
				return errorf(http.StatusBadRequest, "InsufficientFreeAddressesInSubnet", "The specified subnet does not have enough free addresses to satisfy the request.")
			}
			e.ipv6 = append(e.ipv6, a) // so the next free one differs
			want = append(want, a)
		}
		e.ipv6 = e.ipv6[:before]
		for _, v := range addrs {
			a, err := checkAddr6(v, sn)
			if err != nil {
				return err
			}
			switch owner := st.ownerOf(e.vpc, a); {
			case owner == e || slices.Contains(want, a):
				continue // already assigned here: the answer leaves it out
			case owner != nil:
				return errorf(http.StatusBadRequest, "InvalidIPAddress.InUse",
					"The address %s is already assigned to network interface %s; unassign it there first (AssignIpv6Addresses does not reassign).", a, owner.id)
			}
			want = append(want, a)
		}
		e.ipv6 = append(e.ipv6, want...)
		for _, a := range want {
			out.Assigned.Items = append(out.Assigned.Items, a.String())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

type unassignIPv6Resp struct {
	ec2Resp
	NetworkInterfaceID string      `xml:"networkInterfaceId"`
	Unassigned         set[string] `xml:"unassignedIpv6Addresses"`
}

// unassignIpv6Addresses removes IPv6 addresses from an interface; one it
// does not hold fails the whole call, with EC2's wording ("The address
// ... is not mapped to interface ID ...").
func (s *Account) unassignIpv6Addresses(r *request) (any, error) {
	addrs := r.list("Ipv6Addresses")
	if len(r.list("Ipv6Prefix")) > 0 {
		return nil, invalidParam("vpcsim does not model IPv6 prefix delegation (Ipv6Prefixes)")
	}
	if len(addrs) == 0 {
		return nil, missingParam("ipv6Addresses")
	}
	out := &unassignIPv6Resp{Unassigned: set[string]{Items: []string{}}}
	err := s.mutateIn(r, func(st *state) error {
		e, err := st.lookupENI(r)
		if err != nil {
			return err
		}
		out.NetworkInterfaceID = e.id
		var drop []netip.Addr
		for _, v := range addrs {
			a, perr := netip.ParseAddr(v)
			if perr != nil || !slices.Contains(e.ipv6, a) {
				return errorf(http.StatusBadRequest, "InvalidParameterValue", "The address '%s' is not mapped to interface ID '%s'", v, e.id)
			}
			if !slices.Contains(drop, a) {
				drop = append(drop, a)
			}
		}
		e.ipv6 = slices.DeleteFunc(e.ipv6, func(x netip.Addr) bool { return slices.Contains(drop, x) })
		for _, a := range drop {
			out.Unassigned.Items = append(out.Unassigned.Items, a.String())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// vpcAssocARN and subnetAssocARN name the VPC or subnet an association
// belongs to, the resource IAM evaluates for Disassociate*CidrBlock.
func vpcAssocARN(st *state, r *request) string {
	if v := st.vpcOfAssoc(r.get("AssociationId")); v != nil {
		return st.arn("vpc", v.id)
	}
	return "*"
}

func subnetAssocARN(st *state, r *request) string {
	if sn := st.subnetOfAssoc(r.get("AssociationId")); sn != nil {
		return st.arn("subnet", sn.id)
	}
	return "*"
}

// vpcIPv6 gives a world's VPC its IPv6 block: "amazon" for the next of
// the pool, or a /56 given.
func (b *builder) vpcIPv6(path string, v *vpc, c string) {
	var p netip.Prefix
	switch {
	case c == "":
		return
	case c == "amazon":
		var ok bool
		if p, ok = b.st.nextIPv6Block(); !ok {
			b.errf(path, "no Amazon-provided IPv6 block is left")
			return
		}
	default:
		var err error
		p, err = netip.ParsePrefix(c)
		if err != nil || !p.Addr().Is6() || p.Addr().Is4In6() || p != p.Masked() || p.Bits() != 56 {
			b.errf(path, "%q is not amazon or an IPv6 /56 without host bits (Amazon-provided blocks are /56)", c)
			return
		}
		for _, o := range b.st.vpcs {
			if o != v && o.ipv6.cidr.IsValid() && o.ipv6.cidr.Overlaps(p) {
				b.errf(path, "%s is already the IPv6 block of %s", p, o.id)
				return
			}
		}
	}
	v.ipv6 = v6Block{assoc: b.ids.next("vpc-cidr-assoc"), cidr: p}
}

// subnetIPv6 gives a world's subnet its /64 of the VPC's block.
func (b *builder) subnetIPv6(path string, sn *subnet, c string) {
	if c == "" {
		return
	}
	p, err := netip.ParsePrefix(c)
	if err != nil || !p.Addr().Is6() || p != p.Masked() || p.Bits() != 64 {
		b.errf(path, "%q is not an IPv6 /64 without host bits", c)
		return
	}
	v := b.st.vpc(sn.vpc)
	if v == nil {
		return // the reference's own error is reported
	}
	if !v.ipv6.cidr.IsValid() || !v.ipv6.cidr.Contains(p.Addr()) {
		b.errf(path, "%s is not inside the IPv6 block of vpc %s (%s)", p, v.id, v.ipv6.cidr)
		return
	}
	for _, o := range b.st.subnets {
		if o.vpc == sn.vpc && o.ipv6.cidr == p {
			b.errf(path, "%s is already the IPv6 block of subnet %s", p, o.id)
			return
		}
	}
	sn.ipv6 = v6Block{assoc: b.ids.next("subnet-cidr-assoc"), cidr: p}
}

// eniIPv6 gives a world's interface its IPv6 addresses.
func (b *builder) eniIPv6(path string, e *eni, addrs []string) {
	sn := b.st.subnet(e.subnet)
	for i, v := range addrs {
		at := path + "[" + strconv.Itoa(i) + "]"
		a, err := checkAddr6(v, sn)
		if err != nil {
			b.errf(at, "%v", err.(*apiError).Message)
			continue
		}
		if o := b.st.ownerOf(e.vpc, a); o != nil {
			b.errf(at, "address %s is already used by %s", a, o.id)
			continue
		}
		e.ipv6 = append(e.ipv6, a)
	}
}
