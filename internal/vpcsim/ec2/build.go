package ec2

import (
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file builds a world over the API, as the seeds provision one with
// the AWS CLI (issue 13): VPCs, subnets, instances.

type createVpcResp struct {
	ec2Resp
	Vpc xVpc `xml:"vpc"`
}

func (st *state) xVpc(v *vpc) xVpc {
	x := xVpc{
		VpcID:           v.id,
		OwnerID:         st.account,
		State:           "available",
		CidrBlock:       v.cidr.String(),
		CidrAssocs:      set[xCidrAssoc]{Items: []xCidrAssoc{}},
		DhcpOptionsID:   st.vpcDhcpOptions(v),
		InstanceTenancy: v.instanceTenancy(),
		IsDefault:       v.isDefault,
		Tags:            tagSet(v.tags),
		Ipv6Assocs:      set[xVpcIPv6Assoc]{Items: []xVpcIPv6Assoc{}},
	}
	for _, b := range v.v4Blocks() {
		x.CidrAssocs.Items = append(x.CidrAssocs.Items, xCidrAssoc{AssociationID: b.assoc, CidrBlock: b.cidr.String(), State: xAssocState{"associated"}})
	}
	if v.ipv6.cidr.IsValid() {
		x.Ipv6Assocs.Items = append(x.Ipv6Assocs.Items, st.xVpcIPv6(v, "associated"))
	}
	return x
}

// createVpc creates a VPC with its main route table (holding the local
// route), as AWS does. The block must be /16 to /28 (InvalidVpc.Range).
// InstanceTenancy is default or dedicated: "The host value cannot be
// used with this parameter" (API reference, CreateVpc).
func (s *Account) createVpc(r *request) (any, error) {
	tenancy := r.get("InstanceTenancy")
	switch tenancy {
	case "", "default", "dedicated":
	default:
		return nil, errorf(http.StatusBadRequest, "UnsupportedTenancy", "The tenancy value %s is not supported.", tenancy)
	}
	c, err := r.required("CidrBlock", "cidrBlock")
	if err != nil {
		return nil, err
	}
	p, err := parseBlock(c, "cidrBlock")
	if err != nil {
		return nil, err
	}
	if p.Bits() < 16 || p.Bits() > 28 {
		return nil, errorf(http.StatusBadRequest, "InvalidVpc.Range", "The CIDR '%s' is invalid.", c)
	}
	amazonV6, _, err := r.boolean("AmazonProvidedIpv6CidrBlock")
	if err != nil {
		return nil, err
	}
	// An IPv6 block of one's own comes from a BYOIP pool: "You must also
	// specify Ipv6Pool in the request" (API reference, CreateVpc,
	// Ipv6CidrBlock). Pools are not modelled.
	switch {
	case r.get("Ipv6CidrBlock") != "" && r.get("Ipv6Pool") == "":
		return nil, missingParam("ipv6Pool")
	case r.get("Ipv6Pool") != "" || r.get("Ipv6IpamPoolId") != "":
		return nil, invalidParam("vpcsim does not model IPv6 address pools (Ipv6Pool, Ipv6IpamPoolId); use AmazonProvidedIpv6CidrBlock")
	}
	out := &createVpcResp{}
	err = s.mutateIn(r, func(st *state) error {
		v := &vpc{id: s.ids.next("vpc"), cidr: p, tags: tagSpecs(r, "vpc"), dnsSupport: true, tenancy: tenancy}
		st.vpcs = append(st.vpcs, v)
		st.byID[v.id] = v
		t := &routeTable{id: s.ids.next("rtb"), vpc: v.id, main: true, mainID: s.ids.next("rtbassoc"), tags: map[string]string{},
			routes: []*route{{dst: p, local: true, origin: "CreateRouteTable"}}}
		st.tables = append(st.tables, t)
		st.byID[t.id] = t
		st.addDefaultGroup(s.ids, v.id)
		if amazonV6 {
			b, ok := st.nextIPv6Block()
			if !ok {
				return errorf(http.StatusBadRequest, "InsufficientCidrBlocks", "No Amazon-provided IPv6 CIDR block is left.")
			}
			st.associateIPv6(s.ids, v, b)
		}
		out.Vpc = st.xVpc(v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (st *state) lookupVpc(r *request) (*vpc, error) {
	return lookupParam(r, "VpcId", "vpcId", vpcIDs, st.vpc)
}

// deleteVpc removes an empty VPC and its main route table; subnets, other
// route tables or interfaces are DependencyViolation.
func (s *Account) deleteVpc(r *request) (any, error) {
	err := s.mutateIn(r, func(st *state) error {
		v, err := st.lookupVpc(r)
		if err != nil {
			return err
		}
		busy := slices.ContainsFunc(st.subnets, func(x *subnet) bool { return x.vpc == v.id }) ||
			slices.ContainsFunc(st.tables, func(t *routeTable) bool { return t.vpc == v.id && !t.main }) ||
			slices.ContainsFunc(st.enis, func(e *eni) bool { return e.vpc == v.id }) ||
			slices.ContainsFunc(st.igws, func(g *igw) bool { return g.vpc == v.id }) ||
			slices.ContainsFunc(st.sgs, func(g *secGroup) bool { return g.vpc == v.id && g.name != "default" }) ||
			st.netDependsOn(v.id)
		if busy {
			return errorf(http.StatusBadRequest, "DependencyViolation", "The vpc '%s' has dependencies and cannot be deleted.", v.id)
		}
		st.tables = slices.DeleteFunc(st.tables, func(t *routeTable) bool {
			if t.vpc == v.id {
				delete(st.byID, t.id)
				return true
			}
			return false
		})
		st.sgs = slices.DeleteFunc(st.sgs, func(g *secGroup) bool {
			if g.vpc == v.id {
				delete(st.byID, g.id)
				return true
			}
			return false
		})
		st.vpcs = slices.DeleteFunc(st.vpcs, func(x *vpc) bool { return x == v })
		delete(st.byID, v.id)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &returnResp{Return: true}, nil
}

type xBoolValue struct {
	Value bool `xml:"value"`
}

type vpcAttributeResp struct {
	ec2Resp
	VpcID              string      `xml:"vpcId"`
	EnableDNSSupport   *xBoolValue `xml:"enableDnsSupport,omitempty"`
	EnableDNSHostnames *xBoolValue `xml:"enableDnsHostnames,omitempty"`
	EnableNAUMetrics   *xBoolValue `xml:"enableNetworkAddressUsageMetrics,omitempty"`
}

// modifyVpcAttribute sets enableDnsSupport, enableDnsHostnames or
// enableNetworkAddressUsageMetrics (off by default), one per call as EC2
// requires (the Route 53 private-zone failover recipe calls it twice).
func (s *Account) modifyVpcAttribute(r *request) (any, error) {
	sup, supSet, err := r.boolean("EnableDnsSupport.Value")
	if err != nil {
		return nil, err
	}
	host, hostSet, err := r.boolean("EnableDnsHostnames.Value")
	if err != nil {
		return nil, err
	}
	nau, nauSet, err := r.boolean("EnableNetworkAddressUsageMetrics.Value")
	if err != nil {
		return nil, err
	}
	if n := btoi(supSet) + btoi(hostSet) + btoi(nauSet); n != 1 {
		return nil, errorf(http.StatusBadRequest, "InvalidParameterCombination", "Exactly one of enableDnsSupport, enableDnsHostnames and enableNetworkAddressUsageMetrics must be specified.")
	}
	err = s.mutateIn(r, func(st *state) error {
		v, err := st.lookupVpc(r)
		if err != nil {
			return err
		}
		switch {
		case supSet:
			v.dnsSupport = sup
		case hostSet:
			v.dnsHostnames = host
		default:
			v.nauMetrics = nau
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &returnResp{Return: true}, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (s *Account) describeVpcAttribute(r *request) (any, error) {
	attr, err := r.required("Attribute", "attribute")
	if err != nil {
		return nil, err
	}
	st := s.lockIn(r)
	defer s.unlockState()
	v, err := st.lookupVpc(r)
	if err != nil {
		return nil, err
	}
	out := &vpcAttributeResp{VpcID: v.id}
	switch attr {
	case "enableDnsSupport":
		out.EnableDNSSupport = &xBoolValue{v.dnsSupport}
	case "enableDnsHostnames":
		out.EnableDNSHostnames = &xBoolValue{v.dnsHostnames}
	case "enableNetworkAddressUsageMetrics":
		out.EnableNAUMetrics = &xBoolValue{v.nauMetrics}
	default:
		return nil, invalidParam("Value (%s) for parameter attribute is invalid. vpcsim models enableDnsSupport, enableDnsHostnames and enableNetworkAddressUsageMetrics.", attr)
	}
	return out, nil
}

type createSubnetResp struct {
	ec2Resp
	Subnet xSubnet `xml:"subnet"`
}

func (st *state) xSubnet(sn *subnet) xSubnet {
	used := 0
	for _, e := range st.enis {
		if e.subnet == sn.id {
			used += 1 + len(e.secondary)
		}
	}
	x := xSubnet{
		SubnetID:                sn.id,
		SubnetArn:               st.arn("subnet", sn.id),
		State:                   "available",
		VpcID:                   sn.vpc,
		OwnerID:                 st.account,
		AvailableIPAddressCount: 0,
		AvailabilityZone:        sn.az,
		AvailabilityZoneID:      azID(sn.az),
		DefaultForAz:            sn.defaultAZ,
		MapPublicIPOnLaunch:     sn.attrs.mapPublicIP,
		Tags:                    tagSet(sn.tags),
		Ipv6Assocs:              set[xSubnetIPv6Assoc]{Items: []xSubnetIPv6Assoc{}},
		AssignIpv6OnCreation:    sn.attrs.assignIPv6,
		Ipv6Native:              sn.ipv6Native,
		EnableDns64:             sn.attrs.dns64,
		PrivateDNSNameOptions:   sn.attrs.xPrivateDNS(),
	}
	if sn.cidr.IsValid() {
		x.CidrBlock = sn.cidr.String()
		x.AvailableIPAddressCount = 1<<(32-sn.cidr.Bits()) - 5 - used
	}
	if sn.ipv6.cidr.IsValid() {
		x.Ipv6Assocs.Items = append(x.Ipv6Assocs.Items, xSubnetIPv6Assoc{AssociationID: sn.ipv6.assoc, Ipv6CidrBlock: sn.ipv6.cidr.String(), State: xIPv6State{"associated"}})
	}
	return x
}

// createSubnet adds a subnet inside one of its VPC's IPv4 blocks (InvalidSubnet.Range)
// that overlaps no other (InvalidSubnet.Conflict), in AvailabilityZone or
// the region's first zone. With Ipv6CidrBlock it is dual stack; with
// Ipv6Native it is IPv6-only ("For an IPv6 only subnet, specify an IPv6
// CIDR block", API reference, CreateSubnet), assigns IPv6 addresses on
// creation, and takes no IPv4 block: the errors are EC2's, as moto's
// aws_verified test_create_ipv6native_subnet_* record them.
func (s *Account) createSubnet(r *request) (any, error) {
	native, _, err := r.boolean("Ipv6Native")
	if err != nil {
		return nil, err
	}
	c, c6 := r.get("CidrBlock"), r.get("Ipv6CidrBlock")
	var p netip.Prefix
	switch {
	case native && c6 == "":
		return nil, missingParamMsg("Either 'ipv6CidrBlock' or 'ipv6IpamPoolId' should be provided.")
	case native && c != "":
		return nil, errorf(http.StatusBadRequest, "InvalidParameterCombination", "When specifying ipv4 parameters, cidrBlock or ipv4IpamPoolId, you cannot set ipv6Native to true.")
	case !native && c == "":
		return nil, missingParam("cidrBlock")
	case !native:
		if p, err = parseBlock(c, "cidrBlock"); err != nil {
			return nil, err
		}
	}
	out := &createSubnetResp{}
	err = s.mutateIn(r, func(st *state) error {
		v, err := st.lookupVpc(r)
		if err != nil {
			return err
		}
		if p.IsValid() {
			if _, ok := v.blockOf(p); !ok || p.Bits() > 28 {
				return errorf(http.StatusBadRequest, "InvalidSubnet.Range", "The CIDR '%s' is invalid.", c)
			}
			for _, o := range st.subnets {
				if o.vpc == v.id && o.cidr.IsValid() && o.cidr.Overlaps(p) {
					return errorf(http.StatusBadRequest, "InvalidSubnet.Conflict", "The CIDR '%s' conflicts with another subnet", c)
				}
			}
		}
		var p6 netip.Prefix
		if c6 != "" {
			if p6, err = st.subnetV6Block(v, nil, c6); err != nil {
				return err
			}
		}
		zones := zonesOf(st.region)
		az := r.get("AvailabilityZone")
		if az == "" {
			if id := r.get("AvailabilityZoneId"); id != "" {
				for _, z := range zones {
					if z.id == id {
						az = z.name
					}
				}
				if az == "" {
					return invalidParam("Value (%s) for parameter availabilityZoneId is invalid. Subnets can currently only be created in the following availability zones: %s.", id, zoneList(zones, func(z zoneID) string { return z.id }))
				}
			} else if len(zones) > 0 {
				// AWS picks a zone for the caller; vpcsim the first.
				az = zones[0].name
			}
		}
		if !isZoneOf(st.region, az) {
			return invalidParam("Value (%s) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: %s.", az, zoneList(zones, func(z zoneID) string { return z.name }))
		}
		sn := &subnet{id: s.ids.next("subnet"), vpc: v.id, cidr: p, az: az, tags: tagSpecs(r, "subnet"), ipv6Native: native}
		if p6.IsValid() {
			sn.ipv6 = v6Block{assoc: s.ids.next("subnet-cidr-assoc"), cidr: p6}
		}
		if native {
			// An IPv6-only subnet's instances are named by resource
			// name (EC2 user guide, "EC2 instance hostname types").
			sn.attrs = subnetAttrs{assignIPv6: true, hostnameType: "resource-name"}
		}
		st.subnets = append(st.subnets, sn)
		st.byID[sn.id] = sn
		out.Subnet = st.xSubnet(sn)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Account) deleteSubnet(r *request) (any, error) {
	id, err := r.required("SubnetId", "subnetId")
	if err != nil {
		return nil, err
	}
	err = s.mutateIn(r, func(st *state) error {
		sn := st.subnet(id)
		if sn == nil {
			return notFound("InvalidSubnetID.NotFound", "subnet", id)
		}
		if slices.ContainsFunc(st.enis, func(e *eni) bool { return e.subnet == id }) {
			return errorf(http.StatusBadRequest, "DependencyViolation", "The subnet '%s' has dependencies and cannot be deleted.", id)
		}
		for _, t := range st.tables {
			t.assocs = slices.DeleteFunc(t.assocs, func(a assoc) bool { return a.subnet == id })
		}
		st.subnets = slices.DeleteFunc(st.subnets, func(x *subnet) bool { return x == sn })
		delete(st.byID, id)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &returnResp{Return: true}, nil
}

type runInstancesResp struct {
	ec2Resp
	ReservationID string         `xml:"reservationId"`
	OwnerID       string         `xml:"ownerId"`
	Groups        set[xGroup]    `xml:"groupSet"`
	Instances     set[xInstance] `xml:"instancesSet"`
}

// runInstances launches MaxCount instances (at least MinCount, else
// InsufficientFreeAddressesInSubnet) in SubnetId or in
// NetworkInterface.1.SubnetId, each with a primary interface, the role of
// IamInstanceProfile.Name (or .Arn) and its own IMDS endpoint; they pass
// through pending to running after Timing.InstanceStart. Any ami- image is
// accepted. Without a subnet the default VPC's subnet of
// Placement.AvailabilityZone (or of the first zone) is used; without a
// default VPC the call fails as AWS's does (VPCIdNotSpecified).
func (s *Account) runInstances(r *request) (any, error) {
	if err := s.applyLaunchTemplate(r); err != nil {
		return nil, err
	}
	if img := r.get("ImageId"); img == "" {
		return nil, missingParam("imageId")
	} else if !strings.HasPrefix(img, "ami-") {
		return nil, errorf(http.StatusBadRequest, "InvalidAMIID.Malformed", "Invalid id: \"%s\" (expecting \"ami-...\")", img)
	}
	minN, err1 := strconv.Atoi(r.get("MinCount"))
	maxN, err2 := strconv.Atoi(r.get("MaxCount"))
	if err1 != nil || err2 != nil || minN < 1 || maxN < minN {
		return nil, invalidParam("MinCount and MaxCount must be positive and MinCount <= MaxCount")
	}
	subnetID := r.get("SubnetId")
	ip := r.get("PrivateIpAddress")
	secondary, _ := strconv.Atoi(r.get("SecondaryPrivateIpAddressCount"))
	// Ipv6AddressCount (or NetworkInterface.1.Ipv6AddressCount): IPv6
	// addresses of the subnet's /64 for the primary interface (API
	// reference RunInstances, Ipv6AddressCount: "The number of IPv6
	// addresses to associate with the primary network interface").
	v6Count := 0
	for _, name := range []string{"Ipv6AddressCount", "NetworkInterface.1.Ipv6AddressCount"} {
		if v := r.get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, invalidParam("Value (%s) for parameter ipv6AddressCount is invalid. Expected a non-negative integer.", v)
			}
			v6Count = n
		}
	}
	eniID := ""
	var fixedSecondary []string
	if subnetID != "" && r.form.Has("NetworkInterface.1.DeviceIndex") {
		// API reference RunInstances, NetworkInterface.N: "If you specify
		// a network interface, you must specify any security groups and
		// subnets as part of the network interface instead of using the
		// SecurityGroupIds and SubnetId parameters."
		return nil, errorf(http.StatusBadRequest, "InvalidParameterCombination", "Network interfaces and an instance-level subnet ID may not be specified on the same request")
	}
	if r.form.Has("NetworkInterface.1.DeviceIndex") {
		if v := r.get("NetworkInterface.1.SubnetId"); v != "" {
			subnetID = v
		}
		if v := r.get("NetworkInterface.1.PrivateIpAddress"); v != "" {
			ip = v
		}
		// PrivateIpAddresses.N: the one marked Primary is the interface's
		// primary address, the others its secondary ones (API reference
		// InstanceNetworkInterfaceSpecification, PrivateIpAddresses;
		// PrivateIpAddressSpecification, Primary).
		for i := 1; ; i++ {
			p := "NetworkInterface.1.PrivateIpAddresses." + strconv.Itoa(i) + "."
			a := r.get(p + "PrivateIpAddress")
			if a == "" {
				break
			}
			if primary, _, err := r.boolean(p + "Primary"); err != nil {
				return nil, err
			} else if primary {
				ip = a
			} else {
				fixedSecondary = append(fixedSecondary, a)
			}
		}
		if v := r.get("NetworkInterface.1.SecondaryPrivateIpAddressCount"); v != "" {
			secondary, _ = strconv.Atoi(v)
		}
		eniID = r.get("NetworkInterface.1.NetworkInterfaceId")
	}
	// NetworkInterface.1.AssociatePublicIpAddress, else the subnet's
	// MapPublicIpOnLaunch, decides whether the new interface gets a public
	// address (API reference InstanceNetworkInterfaceSpecification,
	// AssociatePublicIpAddress: "Indicates whether to assign a public IPv4
	// address to an instance you launch in a VPC ... overrides the subnet's
	// attribute").
	publicIP, setPublic, err := r.boolean("NetworkInterface.1.AssociatePublicIpAddress")
	if err != nil {
		return nil, err
	}
	deleteENI, setDelete, err := r.boolean("NetworkInterface.1.DeleteOnTermination")
	if err != nil {
		return nil, err
	}
	if !setDelete {
		deleteENI = true
	}
	noTerminate, _, err := r.boolean("DisableApiTermination")
	if err != nil {
		return nil, err
	}
	noStop, _, err := r.boolean("DisableApiStop")
	if err != nil {
		return nil, err
	}
	bdms, err := parseBlockDevices(r)
	if err != nil {
		return nil, err
	}
	opts, err := parseLaunchOptions(r)
	if err != nil {
		return nil, err
	}
	groupIDs, groupNames := r.list("SecurityGroupId"), r.list("SecurityGroup")
	if g := r.list("NetworkInterface.1.SecurityGroupId"); len(g) > 0 {
		groupIDs = g
	}
	if (ip != "" || len(fixedSecondary) > 0) && maxN > 1 {
		return nil, invalidParam("A private IP address can only be specified when launching one instance.")
	}
	role := r.get("IamInstanceProfile.Name")
	if arn := r.get("IamInstanceProfile.Arn"); role == "" && arn != "" {
		role = arn[strings.LastIndex(arn, "/")+1:]
	}
	itype := r.get("InstanceType")
	if itype == "" {
		itype = "m1.small" // EC2's default instance type
	}
	out := &runInstancesResp{Groups: set[xGroup]{Items: []xGroup{}}, Instances: set[xInstance]{Items: []xInstance{}}}
	err = s.mutateIn(r, func(st *state) error {
		if role != "" && st.roles[role] == nil {
			return invalidParam("Value (%s) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name", role)
		}
		for i := range bdms {
			if err := st.fromSnapshot(&bdms[i].spec); err != nil {
				return err
			}
		}
		// KeyName "must exist" (keypairs.go).
		if k := r.get("KeyName"); k != "" && st.keyPairNamed(k) == nil {
			return keyPairNotFound(k)
		}
		var given *eni
		if eniID != "" {
			if given = st.eni(eniID); given == nil {
				return notFound("InvalidNetworkInterfaceID.NotFound", "networkInterface", eniID)
			}
			if given.attach != nil {
				return errorf(http.StatusBadRequest, "InvalidNetworkInterface.InUse", "Interface: [%s] in use.", eniID)
			}
			subnetID = given.subnet
		}
		if az := r.get("Placement.AvailabilityZone"); az != "" && !isZoneOf(st.region, az) {
			// EC2's answer for a zone the region does not have, as
			// RunInstances callers quote it (e.g. cloudfoundry-community/
			// bosh-bootstrap's issues: "Invalid availability zone:
			// [us-east-1b] (AWS::EC2::Errors::InvalidParameterValue)").
			return invalidParam("Invalid availability zone: [%s]", az)
		}
		if subnetID == "" {
			sn := st.defaultSubnet(r.get("Placement.AvailabilityZone"))
			if sn == nil {
				return errorf(http.StatusBadRequest, "VPCIdNotSpecified", "No default VPC for this user. GroupName is only supported for EC2-Classic and default VPC.")
			}
			subnetID = sn.id
		}
		sn := st.subnet(subnetID)
		if sn == nil {
			return notFound("InvalidSubnetID.NotFound", "subnet", subnetID)
		}
		named, err := st.groupNamesToIDs(groupNames, sn.vpc)
		if err != nil {
			return err
		}
		groups, err := st.groupsFor(append(groupIDs, named...), sn.vpc)
		if err != nil {
			return err
		}
		var fixed netip.Addr
		if ip != "" {
			a, err := st.checkAddr(ip, sn)
			if err != nil {
				return err
			}
			if st.ownerOf(sn.vpc, a) != nil {
				return errorf(http.StatusBadRequest, "InvalidIPAddress.InUse", "Address %s is in use.", a)
			}
			fixed = a
		}
		var fixedAddrs []netip.Addr
		for _, v := range fixedSecondary {
			a, err := st.checkAddr(v, sn)
			if err != nil {
				return err
			}
			if a == fixed || slices.Contains(fixedAddrs, a) || st.ownerOf(sn.vpc, a) != nil {
				return errorf(http.StatusBadRequest, "InvalidIPAddress.InUse", "Address %s is in use.", a)
			}
			fixedAddrs = append(fixedAddrs, a)
		}
		free := 0
		for a := sn.cidr.Addr(); sn.cidr.Contains(a) && free < maxN*(1+secondary); a = a.Next() {
			if reservedOrOutside(a, sn) == nil && st.ownerOf(sn.vpc, a) == nil {
				free++
			}
		}
		n := min(maxN, free/(1+secondary))
		if given != nil {
			n = 1
		}
		if n < minN {
			return errorf(http.StatusBadRequest, "InsufficientFreeAddressesInSubnet", "There are not enough free addresses in subnet '%s' to satisfy the requested number of instances.", sn.id)
		}
		now := time.Now().UTC().Truncate(time.Second)
		rid := s.ids.next("r")
		for i := range n {
			in := &instance{id: s.ids.next("i"), state: "pending", role: role, instanceType: itype, subnet: sn.id,
				tags: tagSpecs(r, "instance"), launch: now, reservation: rid, image: r.get("ImageId"), launchIndex: i,
				noTerminate: noTerminate, noStop: noStop}
			e := given
			if e == nil {
				e = &eni{id: s.ids.next("eni"), subnet: sn.id, vpc: sn.vpc, az: sn.az, sdc: true, description: "", tags: tagSpecs(r, "network-interface"), groups: groups}
				e.mac = macFor(e.id)
				// The named secondary addresses are the interface's before
				// a free primary address is picked, so it is not one of them.
				e.secondary = slices.Clone(fixedAddrs)
				st.enis = append(st.enis, e)
				st.byID[e.id] = e
				if fixed.IsValid() {
					e.ip = fixed
				} else {
					e.ip, _ = st.freeIP(sn)
				}
				if err := st.assignCount(e, sn, secondary); err != nil {
					return err
				}
				e.autoPublic = publicIP || !setPublic && sn.attrs.mapPublicIP
				for range v6Count {
					a, ok := st.freeIPv6(sn)
					if !ok {
						if !sn.ipv6.cidr.IsValid() {
							return invalidParam("Subnet %s has no IPv6 CIDR block; associate one (AssociateSubnetCidrBlock) first", sn.id)
						}
						return errorf(http.StatusBadRequest, "InsufficientFreeAddressesInSubnet", "The specified subnet does not have enough free addresses to satisfy the request.")
					}
					e.ipv6 = append(e.ipv6, a)
				}
			}
			e.attach = &attachment{id: s.ids.next("eni-attach"), instance: in.id, index: 0, status: "attached", time: now, primary: given == nil, keep: !deleteENI}
			in.enis = []string{e.id}
			st.insts = append(st.insts, in)
			st.byID[in.id] = in
			st.refreshPublicIP(e)
			opts.apply(in)
			s.attachLaunchVolumes(st, in, sn.az, bdms, tagSpecs(r, "volume"))
			st.schedule(s.opts.Timing.InstanceStart.Sample(), func(*state) {
				if in.state == "pending" {
					in.state = "running"
				}
			})
			x := st.xInstance(in)
			out.Instances.Items = append(out.Instances.Items, x)
		}
		out.ReservationID, out.OwnerID = rid, st.account
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// terminateInstances moves instances to shutting-down, then terminated
// after Timing.InstanceStop; on termination their primary interfaces are
// deleted (with their Elastic IP associations), other interfaces and
// volumes are detached. Terminated instances stay visible, as in AWS.
func (s *Account) terminateInstances(r *request) (any, error) {
	return s.changeInstances(r, "", "", func(st *state, in *instance) {
		if in.state != "terminated" && in.state != "shutting-down" {
			in.state, in.stateReason = "shutting-down", userShutdown
			st.schedule(s.opts.Timing.InstanceStop.Sample(), func(st *state) { st.terminate(in) })
		}
	})
}

func (st *state) terminate(in *instance) {
	if in.state != "shutting-down" {
		return
	}
	in.state = "terminated"
	for _, id := range in.enis {
		e := st.eni(id)
		if e == nil {
			continue
		}
		if e.attach != nil && e.attach.deleteOnTermination() {
			for _, x := range st.eips {
				if x.eni == e.id {
					x.eni, x.assocID, x.privateIP = "", "", netip.Addr{}
				}
			}
			st.enis = slices.DeleteFunc(st.enis, func(x *eni) bool { return x == e })
			delete(st.byID, e.id)
			continue
		}
		e.attach = nil
		st.refreshPublicIP(e)
	}
	in.enis = nil
	st.vols = slices.DeleteFunc(st.vols, func(v *volume) bool {
		if v.attach == nil || v.attach.instance != in.id {
			return false
		}
		if v.attach.deleteOnTermination {
			delete(st.byID, v.id)
			return true
		}
		v.attach, v.state = nil, "available"
		return false
	})
}

type xStatus struct {
	Status  string       `xml:"status"`
	Details set[xDetail] `xml:"details"`
}

type xDetail struct {
	Name   string `xml:"name"`
	Status string `xml:"status"`
}

type xInstanceStatus struct {
	InstanceID       string         `xml:"instanceId"`
	AvailabilityZone string         `xml:"availabilityZone"`
	InstanceState    xInstanceState `xml:"instanceState"`
	SystemStatus     xStatus        `xml:"systemStatus"`
	InstanceStatus   xStatus        `xml:"instanceStatus"`
}

type describeInstanceStatusResp struct {
	ec2Resp
	Statuses  set[xInstanceStatus] `xml:"instanceStatusSet"`
	NextToken string               `xml:"nextToken,omitempty"`
}

// describeInstanceStatus reports running instances (every instance with
// IncludeAllInstances); checks of a running instance pass, as vpcsim does
// not model impaired hosts.
func (s *Account) describeInstanceStatus(r *request) (any, error) {
	if err := checkPaging(r, idsParam(r, "InstanceId", "instanceId")); err != nil {
		return nil, err
	}
	ids := r.list("InstanceId")
	all, _, err := r.boolean("IncludeAllInstances")
	if err != nil {
		return nil, err
	}
	fs, err := r.filters("instance-state-name", "instance-state-code", "availability-zone", "instance-status.status", "system-status.status")
	if err != nil {
		return nil, err
	}
	st := s.lockIn(r)
	defer s.unlockState()
	for _, id := range ids {
		if st.instance(id) == nil {
			return nil, notFound("InvalidInstanceID.NotFound", "instance", id)
		}
	}
	out := &describeInstanceStatusResp{Statuses: set[xInstanceStatus]{Items: []xInstanceStatus{}}}
	for _, in := range st.insts {
		if !named(ids, in.id) || !all && in.state != "running" {
			continue
		}
		check := "not-applicable"
		if in.state == "running" {
			check = "ok"
		}
		x := xInstanceStatus{InstanceID: in.id, InstanceState: stateOf(in.state),
			SystemStatus:   xStatus{Status: check, Details: itemsOf(xDetail{"reachability", "passed"})},
			InstanceStatus: xStatus{Status: check, Details: itemsOf(xDetail{"reachability", "passed"})}}
		if p := st.primaryENI(in); p != nil {
			x.AvailabilityZone = p.az
		}
		ok := match(fs, nil, func(name string) []string {
			return []string{map[string]string{"instance-state-name": x.InstanceState.Name, "instance-state-code": strconv.Itoa(x.InstanceState.Code), "availability-zone": x.AvailabilityZone,
				"instance-status.status": x.InstanceStatus.Status, "system-status.status": x.SystemStatus.Status}[name]}
		})
		if ok {
			out.Statuses.Items = append(out.Statuses.Items, x)
		}
	}
	var perr error
	if out.Statuses.Items, out.NextToken, perr = paginate(r, out.Statuses.Items, idsParam(r, "InstanceId", "instanceId")); perr != nil {
		return nil, perr
	}
	return out, nil
}

type xImage struct {
	ImageID            string     `xml:"imageId"`
	ImageLocation      string     `xml:"imageLocation"`
	ImageState         string     `xml:"imageState"`
	ImageOwnerID       string     `xml:"imageOwnerId"`
	IsPublic           bool       `xml:"isPublic"`
	Architecture       string     `xml:"architecture"`
	ImageType          string     `xml:"imageType"`
	Name               string     `xml:"name"`
	Description        string     `xml:"description"`
	RootDeviceType     string     `xml:"rootDeviceType"`
	RootDeviceName     string     `xml:"rootDeviceName"`
	VirtualizationType string     `xml:"virtualizationType"`
	Hypervisor         string     `xml:"hypervisor"`
	EnaSupport         bool       `xml:"enaSupport"`
	CreationDate       string     `xml:"creationDate"`
	Tags               *set[xTag] `xml:"tagSet,omitempty"`
}

type describeImagesResp struct {
	ec2Resp
	Images set[xImage] `xml:"imagesSet"`
}

// builtinImages is the small list DescribeImages answers; RunInstances
// accepts any ami- ID regardless.
var builtinImages = []xImage{
	{ImageID: "ami-0a1b2c3d4e5f60718", Name: "al2023-ami-2023.6-x86_64", Description: "Amazon Linux 2023 AMI (vpcsim)", Architecture: "x86_64"},
	{ImageID: "ami-0b1c2d3e4f5a60719", Name: "ubuntu-noble-24.04-amd64-server", Description: "Ubuntu 24.04 (vpcsim)", Architecture: "x86_64"},
	{ImageID: "ami-0c1d2e3f4a5b6071a", Name: "al2023-ami-2023.6-arm64", Description: "Amazon Linux 2023 AMI arm64 (vpcsim)", Architecture: "arm64"},
}

func (s *Account) describeImages(r *request) (any, error) {
	ids := r.list("ImageId")
	fs, err := r.filters("image-id", "name", "architecture", "owner-id", "state", "is-public", "root-device-type", "virtualization-type")
	if err != nil {
		return nil, err
	}
	out := &describeImagesResp{Images: set[xImage]{Items: []xImage{}}}
	all, tags := s.ownImages(r) // images.go
	for _, x := range builtinImages {
		x.ImageLocation, x.ImageState, x.ImageOwnerID, x.IsPublic = "amazon/"+x.Name, "available", "137112412989", true
		x.ImageType, x.RootDeviceType, x.RootDeviceName, x.VirtualizationType, x.Hypervisor, x.EnaSupport = "machine", "ebs", rootDevice, "hvm", "xen", true
		x.CreationDate = "2025-01-01T00:00:00.000Z"
		all = append(all, x)
	}
	for _, id := range ids {
		if !slices.ContainsFunc(all, func(x xImage) bool { return x.ImageID == id }) {
			return nil, errorf(http.StatusBadRequest, "InvalidAMIID.NotFound", "The image id '[%s]' does not exist", id)
		}
	}
	for _, x := range all {
		if !named(ids, x.ImageID) {
			continue
		}
		ok := match(fs, tags[x.ImageID], func(name string) []string {
			return []string{map[string]string{"image-id": x.ImageID, "name": x.Name, "architecture": x.Architecture,
				"owner-id": x.ImageOwnerID, "state": x.ImageState, "is-public": boolStr(x.IsPublic), "root-device-type": x.RootDeviceType,
				"virtualization-type": x.VirtualizationType}[name]}
		})
		if ok {
			out.Images.Items = append(out.Images.Items, x)
		}
	}
	return out, nil
}
