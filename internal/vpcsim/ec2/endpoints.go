package ec2

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// vpcEndpoint is a VPC endpoint to an AWS service (AWS PrivateLink
// guide): a gateway endpoint (S3, DynamoDB) adds a route to the service's
// AWS-managed prefix list, with the endpoint as its gateway, to each of
// its route tables; an interface endpoint has a network interface in each
// of its subnets and security groups. Gateway Load Balancer endpoints need
// an endpoint service of the account's, which vpcsim does not model.
type vpcEndpoint struct {
	id, vpc, service, kind string // kind: Gateway or Interface
	policy                 string
	privateDNS             bool
	tables                 []string // Gateway
	subnets, enis, groups  []string // Interface
	// state is pending, available, deleting or deleted, in lowercase as
	// EC2 answers it (the API reference's DescribeVpcEndpoints example:
	// "State": "available"), though its State enum is capitalized.
	state   string
	created time.Time
	tags    map[string]string
}

func (e *vpcEndpoint) tagging() (map[string]string, string) { return e.tags, "vpc-endpoint" }

// interfaceServices are the AWS services vpcsim offers interface
// endpoints for, as com.amazonaws.REGION.NAME; the gateway services
// (gatewayServices) have interface endpoints too.
var interfaceServices = []string{"ec2", "ec2messages", "ssm", "ssmmessages", "sts", "logs", "monitoring", "kms",
	"secretsmanager", "sqs", "sns", "ecr.api", "ecr.dkr", "elasticloadbalancing", "autoscaling"}

// endpointService is one service of the region: its types.
type endpointService struct {
	name    string
	gateway bool
}

func (st *state) endpointServices() []endpointService {
	var out []endpointService
	for _, g := range gatewayServices {
		out = append(out, endpointService{name: "com.amazonaws." + st.region + "." + g.service, gateway: true})
	}
	for _, n := range interfaceServices {
		out = append(out, endpointService{name: "com.amazonaws." + st.region + "." + n})
	}
	slices.SortFunc(out, func(a, b endpointService) int { return strings.Compare(a.name, b.name) })
	return out
}

func (st *state) endpointService(name string) (endpointService, bool) {
	i := slices.IndexFunc(st.endpointServices(), func(s endpointService) bool { return s.name == name })
	if i < 0 {
		return endpointService{}, false
	}
	return st.endpointServices()[i], true
}

// servicePrefixList is the AWS-managed list of a gateway service.
func (st *state) servicePrefixList(service string) *prefixList {
	for _, p := range st.awsPrefixLists() {
		if p.name == service {
			return p
		}
	}
	return nil
}

// defaultEndpointPolicy is the policy of an endpoint created without one:
// full access ("If you don't specify a policy, we attach a default policy
// that allows full access to the service", API reference,
// CreateVpcEndpoint, PolicyDocument).
const defaultEndpointPolicy = `{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`

type xDNSEntry struct {
	DNSName      string `xml:"dnsName"`
	HostedZoneID string `xml:"hostedZoneId"`
}

type xGroupID struct {
	GroupID   string `xml:"groupId"`
	GroupName string `xml:"groupName"`
}

type xVpcEndpoint struct {
	ID                  string            `xml:"vpcEndpointId"`
	Type                string            `xml:"vpcEndpointType"`
	VpcID               string            `xml:"vpcId"`
	ServiceName         string            `xml:"serviceName"`
	State               string            `xml:"state"`
	PolicyDocument      string            `xml:"policyDocument,omitempty"`
	RouteTableIDs       set[stringMember] `xml:"routeTableIdSet"`
	SubnetIDs           set[stringMember] `xml:"subnetIdSet"`
	Groups              set[xGroupID]     `xml:"groupSet"`
	IPAddressType       string            `xml:"ipAddressType"`
	PrivateDNSEnabled   bool              `xml:"privateDnsEnabled"`
	RequesterManaged    bool              `xml:"requesterManaged"`
	NetworkInterfaceIDs set[stringMember] `xml:"networkInterfaceIdSet"`
	DNSEntries          set[xDNSEntry]    `xml:"dnsEntrySet"`
	CreationTimestamp   string            `xml:"creationTimestamp"`
	Tags                set[xTag]         `xml:"tagSet"`
	OwnerID             string            `xml:"ownerId"`
}

func members(vs []string) set[stringMember] {
	out := set[stringMember]{Items: []stringMember{}}
	for _, v := range vs {
		out.Items = append(out.Items, stringMember{v})
	}
	return out
}

// endpointZoneID is the hosted zone of the regional endpoint DNS names;
// vpcsim derives one per region (AWS publishes one per region).
func (st *state) endpointZoneID() string {
	return fmt.Sprintf("Z%013X", fnv64("vpce."+st.region)&0xfffffffffffff)
}

func (st *state) xVpcEndpoint(e *vpcEndpoint) xVpcEndpoint {
	x := xVpcEndpoint{ID: e.id, Type: e.kind, VpcID: e.vpc, ServiceName: e.service, State: e.state, PolicyDocument: e.policy,
		RouteTableIDs: members(e.tables), SubnetIDs: members(e.subnets), Groups: set[xGroupID]{Items: []xGroupID{}},
		IPAddressType: "ipv4", PrivateDNSEnabled: e.privateDNS, NetworkInterfaceIDs: members(e.enis),
		DNSEntries: set[xDNSEntry]{Items: []xDNSEntry{}}, CreationTimestamp: e.created.UTC().Format(time.RFC3339),
		Tags: tagSet(e.tags), OwnerID: st.account}
	for _, g := range e.groups {
		name := ""
		if sg := st.secGroup(g); sg != nil {
			name = sg.name
		}
		x.Groups.Items = append(x.Groups.Items, xGroupID{g, name})
	}
	if e.kind == "Interface" && e.state != "deleted" {
		// DnsEntries: the regional name, then one per zone (AWS
		// PrivateLink guide, "DNS hostnames": vpce-ID-SUFFIX.SERVICE.
		// REGION.vpce.amazonaws.com and the zonal ones).
		svc := strings.TrimPrefix(e.service, "com.amazonaws."+st.region+".")
		base := fmt.Sprintf("%s-%08x", e.id, uint32(fnv64(e.id)))
		zone := st.endpointZoneID()
		x.DNSEntries.Items = append(x.DNSEntries.Items, xDNSEntry{fmt.Sprintf("%s.%s.%s.vpce.amazonaws.com", base, svc, st.region), zone})
		for _, sid := range e.subnets {
			if sn := st.subnet(sid); sn != nil {
				x.DNSEntries.Items = append(x.DNSEntries.Items, xDNSEntry{fmt.Sprintf("%s-%s.%s.%s.vpce.amazonaws.com", base, sn.az, svc, st.region), zone})
			}
		}
		if e.privateDNS {
			x.DNSEntries.Items = append(x.DNSEntries.Items, xDNSEntry{fmt.Sprintf("%s.%s.amazonaws.com", svc, st.region), zone})
		}
	}
	return x
}

// endpointErr is EC2's InvalidParameter, the code of its VPC endpoint
// checks (e.g. "Route table IDs are only supported for Gateway type VPC
// Endpoint.", quoted in ansible-collections/amazon.aws#576).
func endpointErr(format string, args ...any) error {
	return errorf(http.StatusBadRequest, "InvalidParameter", format, args...)
}

// endpointType normalizes VpcEndpointType (Interface | Gateway |
// GatewayLoadBalancer, API reference; default Gateway). vpcsim accepts any
// letter case, which is not confirmed for EC2.
func endpointType(v string) (string, error) {
	switch strings.ToLower(v) {
	case "", "gateway":
		return "Gateway", nil
	case "interface":
		return "Interface", nil
	case "gatewayloadbalancer":
		return "", invalidParam("vpcsim models Gateway and Interface endpoints only (VpcEndpointType %s)", v)
	}
	return "", invalidParam("Value (%s) for parameter vpcEndpointType is invalid. Valid values: Interface, Gateway, GatewayLoadBalancer", v)
}

// addEndpointTables adds the gateway endpoint's route to each table: one
// endpoint per service and table (a second is RouteAlreadyExists, as the
// route to the service's prefix list exists). It changes nothing when it
// fails.
func (st *state) addEndpointTables(e *vpcEndpoint, ids []string) error {
	if err := st.checkEndpointTables(e, ids); err != nil {
		return err
	}
	pl := st.servicePrefixList(e.service)
	for _, id := range ids {
		t := st.table(id)
		t.routes = append(t.routes, &route{pl: pl.id, gateway: e.id, origin: "CreateRoute"})
		e.tables = append(e.tables, id)
	}
	return nil
}

func (st *state) checkEndpointTables(e *vpcEndpoint, ids []string) error {
	pl := st.servicePrefixList(e.service)
	for _, id := range ids {
		t := st.table(id)
		if t == nil {
			return notFound("InvalidRouteTableID.NotFound", "routeTable", id)
		}
		if t.vpc != e.vpc {
			return endpointErr("The route table %s is not in %s", id, e.vpc)
		}
		if t.find(routeDest{pl: pl.id}) >= 0 {
			return errorf(http.StatusBadRequest, "RouteAlreadyExists", "route table %s already has a route with destination-prefix-list-id %s", id, pl.id)
		}
	}
	return nil
}

// removeEndpointTables removes the endpoint's route from each table.
func (st *state) removeEndpointTables(e *vpcEndpoint, ids []string) {
	for _, id := range ids {
		if t := st.table(id); t != nil {
			t.routes = slices.DeleteFunc(t.routes, func(rt *route) bool { return rt.gateway == e.id })
		}
	}
	e.tables = without(e.tables, ids)
}

// addEndpointSubnets creates the endpoint's interface in each subnet: at
// most one subnet per zone ("You can specify only one subnet per
// Availability Zone", API reference, CreateVpcEndpoint SubnetId).
func (s *Account) addEndpointSubnets(st *state, e *vpcEndpoint, ids []string) error {
	zones := map[string]bool{}
	for _, id := range e.subnets {
		if sn := st.subnet(id); sn != nil {
			zones[sn.az] = true
		}
	}
	for _, id := range ids {
		sn := st.subnet(id)
		if sn == nil {
			return notFound("InvalidSubnetID.NotFound", "subnet", id)
		}
		if sn.vpc != e.vpc {
			return endpointErr("The subnet %s is not in %s", id, e.vpc)
		}
		if zones[sn.az] {
			return endpointErr("Found another VPC endpoint subnet in the availability zone of %s. VPC endpoint subnets should be in different availability zones supported by the VPC endpoint service.", id)
		}
		zones[sn.az] = true
		if _, ok := st.freeIP(sn); !ok {
			return errorf(http.StatusBadRequest, "InsufficientFreeAddressesInSubnet", "The subnet %s has no free address for the endpoint's interface.", id)
		}
	}
	for _, id := range ids {
		sn := st.subnet(id)
		a, _ := st.freeIP(sn)
		x := &eni{id: s.ids.next("eni"), subnet: sn.id, vpc: sn.vpc, az: sn.az, ip: a, sdc: true, groups: slices.Clone(e.groups),
			description: "VPC Endpoint Interface " + e.id, tags: map[string]string{}}
		x.mac = macFor(x.id)
		st.enis = append(st.enis, x)
		st.add(x.id, x)
		e.subnets = append(e.subnets, id)
		e.enis = append(e.enis, x.id)
	}
	return nil
}

// removeEndpointSubnets deletes the endpoint's interfaces in the subnets.
func (st *state) removeEndpointSubnets(e *vpcEndpoint, ids []string) {
	var keepSubnets, keepENIs []string
	for i, sid := range e.subnets {
		if slices.Contains(ids, sid) {
			st.enis = slices.DeleteFunc(st.enis, func(x *eni) bool { return x.id == e.enis[i] })
			delete(st.byID, e.enis[i])
			continue
		}
		keepSubnets, keepENIs = append(keepSubnets, sid), append(keepENIs, e.enis[i])
	}
	e.subnets, e.enis = keepSubnets, keepENIs
}

// endpointGroups checks security groups for an interface endpoint.
func (st *state) endpointGroups(e *vpcEndpoint, ids []string) error {
	for _, id := range ids {
		g := st.secGroup(id)
		if g == nil {
			return errorf(http.StatusBadRequest, "InvalidGroup.NotFound", "The security group '%s' does not exist", id)
		}
		if g.vpc != e.vpc {
			return endpointErr("The security group %s is not in %s", id, e.vpc)
		}
	}
	return nil
}

type createVpcEndpointResp struct {
	ec2Resp
	ClientToken string       `xml:"clientToken,omitempty"`
	VpcEndpoint xVpcEndpoint `xml:"vpcEndpoint"`
}

// createVpcEndpoint creates a Gateway (the default type) or Interface
// endpoint to a service of the region (InvalidServiceName otherwise, EC2
// error codes). RouteTableId is for gateway endpoints and SubnetId and
// SecurityGroupId for interface endpoints (InvalidParameter: "Route table
// IDs are only supported for Gateway type VPC Endpoint.", "Subnet IDs are
// only supported for Interface and GatewayLoadBalancer type VPC
// Endpoints.", EC2's answers quoted in ansible-collections/amazon.aws#576
// and nanlabs/terraform-aws-starter#18), and a type the service lacks is
// "Endpoint type (Gateway) does not match available service types
// ([Interface])." (hashicorp/terraform#24478). An interface endpoint
// without groups gets the VPC's default group, and PrivateDnsEnabled
// (default true for interface endpoints) needs the VPC's
// enableDnsSupport and enableDnsHostnames (API reference,
// CreateVpcEndpoint). A gateway endpoint is available at once; an
// interface endpoint is pending until the next call.
func (s *Account) createVpcEndpoint(r *request) (any, error) {
	kind, err := endpointType(r.get("VpcEndpointType"))
	if err != nil {
		return nil, err
	}
	svcName, err := r.required("ServiceName", "serviceName")
	if err != nil {
		return nil, err
	}
	tables, subnets, groups := r.list("RouteTableId"), r.list("SubnetId"), r.list("SecurityGroupId")
	switch {
	case kind == "Interface" && len(tables) > 0:
		return nil, endpointErr("Route table IDs are only supported for Gateway type VPC Endpoint.")
	case kind == "Gateway" && len(subnets) > 0:
		return nil, endpointErr("Subnet IDs are only supported for Interface and GatewayLoadBalancer type VPC Endpoints.")
	case kind == "Gateway" && len(groups) > 0:
		return nil, endpointErr("Security group IDs are only supported for Interface and GatewayLoadBalancer type VPC Endpoints.")
	}
	privateDNS, dnsGiven, err := r.boolean("PrivateDnsEnabled")
	if err != nil {
		return nil, err
	}
	if !dnsGiven {
		privateDNS = kind == "Interface"
	}
	if kind == "Gateway" && privateDNS {
		return nil, endpointErr("Private DNS can only be enabled for Interface type VPC Endpoints.")
	}
	out := &createVpcEndpointResp{ClientToken: r.get("ClientToken")}
	err = s.mutateIn(r, func(st *state) error {
		v, err := st.lookupVpc(r)
		if err != nil {
			return err
		}
		svc, ok := st.endpointService(svcName)
		if !ok {
			return errorf(http.StatusBadRequest, "InvalidServiceName", "The Vpc Endpoint Service '%s' does not exist", svcName)
		}
		if kind == "Gateway" && !svc.gateway {
			return endpointErr("Endpoint type (Gateway) does not match available service types ([Interface]).")
		}
		if privateDNS && (!v.dnsSupport || !v.dnsHostnames) {
			return endpointErr("Enabling private DNS requires both enableDnsSupport and enableDnsHostnames VPC attributes set to true for %s", v.id)
		}
		e := &vpcEndpoint{id: s.ids.next("vpce"), vpc: v.id, service: svcName, kind: kind, policy: r.get("PolicyDocument"),
			privateDNS: privateDNS, state: "available", created: time.Now(), tags: tagSpecs(r, "vpc-endpoint"),
			tables: []string{}, subnets: []string{}, enis: []string{}, groups: []string{}}
		if e.policy == "" {
			e.policy = defaultEndpointPolicy
		}
		if kind == "Gateway" {
			if err := st.addEndpointTables(e, tables); err != nil {
				return err
			}
		} else {
			if len(groups) == 0 {
				if g := st.defaultGroup(v.id); g != nil {
					groups = []string{g.id}
				}
			}
			if err := st.endpointGroups(e, groups); err != nil {
				return err
			}
			e.groups = union(nil, groups)
			if err := s.addEndpointSubnets(st, e, union(nil, subnets)); err != nil {
				return err
			}
			e.state = "pending"
			st.schedule(0, func(*state) {
				if e.state == "pending" {
					e.state = "available"
				}
			})
		}
		st.net.endpoints = append(st.net.endpoints, e)
		st.add(e.id, e)
		out.VpcEndpoint = st.xVpcEndpoint(e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func endpointNotFound(id string) error {
	return errorf(http.StatusBadRequest, "InvalidVpcEndpointId.NotFound", "The Vpc Endpoint Id '%s' does not exist", id)
}

// modifyVpcEndpoint adds and removes route tables (gateway), subnets and
// security groups (interface), and sets or resets the policy. Adding what
// the endpoint has already is no change.
func (s *Account) modifyVpcEndpoint(r *request) (any, error) {
	id, err := r.required("VpcEndpointId", "vpcEndpointId")
	if err != nil {
		return nil, err
	}
	reset, _, err := r.boolean("ResetPolicy")
	if err != nil {
		return nil, err
	}
	privateDNS, dnsGiven, err := r.boolean("PrivateDnsEnabled")
	if err != nil {
		return nil, err
	}
	err = s.mutateIn(r, func(st *state) error {
		e := st.vpcEndpoint(id)
		if e == nil || e.state == "deleted" || e.state == "deleting" {
			return endpointNotFound(id)
		}
		addT, rmT := r.list("AddRouteTableId"), r.list("RemoveRouteTableId")
		addS, rmS := r.list("AddSubnetId"), r.list("RemoveSubnetId")
		addG, rmG := r.list("AddSecurityGroupId"), r.list("RemoveSecurityGroupId")
		switch {
		case e.kind == "Interface" && len(addT)+len(rmT) > 0:
			return endpointErr("Route table IDs are only supported for Gateway type VPC Endpoint.")
		case e.kind == "Gateway" && len(addS)+len(rmS) > 0:
			return endpointErr("Subnet IDs are only supported for Interface and GatewayLoadBalancer type VPC Endpoints.")
		case e.kind == "Gateway" && len(addG)+len(rmG) > 0:
			return endpointErr("Security group IDs are only supported for Interface and GatewayLoadBalancer type VPC Endpoints.")
		case e.kind == "Gateway" && dnsGiven && privateDNS:
			return endpointErr("Private DNS can only be enabled for Interface type VPC Endpoints.")
		}
		if dnsGiven && privateDNS {
			if v := st.vpc(e.vpc); v != nil && (!v.dnsSupport || !v.dnsHostnames) {
				return endpointErr("Enabling private DNS requires both enableDnsSupport and enableDnsHostnames VPC attributes set to true for %s", v.id)
			}
		}
		if err := st.endpointGroups(e, addG); err != nil {
			return err
		}
		// Check what can fail before changing anything.
		newT := without(union(nil, addT), e.tables)
		newS := without(union(nil, addS), e.subnets)
		if e.kind == "Gateway" {
			if err := st.checkEndpointTables(e, newT); err != nil {
				return err
			}
			st.removeEndpointTables(e, rmT)
			if err := st.addEndpointTables(e, newT); err != nil {
				return err
			}
		} else {
			if err := s.addEndpointSubnets(st, e, newS); err != nil {
				return err
			}
			st.removeEndpointSubnets(e, rmS)
			e.groups = without(union(e.groups, addG), rmG)
			for _, eid := range e.enis {
				if x := st.eni(eid); x != nil {
					x.groups = slices.Clone(e.groups)
				}
			}
		}
		if p := r.get("PolicyDocument"); p != "" {
			e.policy = p
		}
		if reset {
			e.policy = defaultEndpointPolicy
		}
		if dnsGiven {
			e.privateDNS = privateDNS
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &returnResp{Return: true}, nil
}

type xUnsuccessful struct {
	Error      xUnsuccessfulError `xml:"error"`
	ResourceID string             `xml:"resourceId"`
}

type xUnsuccessfulError struct {
	Code    string `xml:"code"`
	Message string `xml:"message"`
}

type deleteVpcEndpointsResp struct {
	ec2Resp
	Unsuccessful set[xUnsuccessful] `xml:"unsuccessful"`
}

// deleteVpcEndpoints deletes endpoints: their routes and interfaces go,
// and each is "deleting", then "deleted" from the next call; an unknown
// ID is reported in Unsuccessful, not as the call's error (API reference,
// DeleteVpcEndpoints).
func (s *Account) deleteVpcEndpoints(r *request) (any, error) {
	ids := r.list("VpcEndpointId")
	if len(ids) == 0 {
		return nil, missingParam("vpcEndpointId")
	}
	out := &deleteVpcEndpointsResp{Unsuccessful: set[xUnsuccessful]{Items: []xUnsuccessful{}}}
	err := s.mutateIn(r, func(st *state) error {
		for _, id := range ids {
			e := st.vpcEndpoint(id)
			if e == nil || e.state == "deleted" || e.state == "deleting" {
				out.Unsuccessful.Items = append(out.Unsuccessful.Items, xUnsuccessful{
					Error:      xUnsuccessfulError{"InvalidVpcEndpoint.NotFound", fmt.Sprintf("The Vpc Endpoint Id '%s' does not exist", id)},
					ResourceID: id})
				continue
			}
			st.removeEndpointTables(e, slices.Clone(e.tables))
			st.removeEndpointSubnets(e, slices.Clone(e.subnets))
			e.state = "deleting"
			st.schedule(0, func(*state) {
				if e.state == "deleting" {
					e.state = "deleted"
				}
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

type describeVpcEndpointsResp struct {
	ec2Resp
	VpcEndpoints set[xVpcEndpoint] `xml:"vpcEndpointSet"`
	NextToken    string            `xml:"nextToken,omitempty"`
}

func (s *Account) describeVpcEndpoints(r *request) (any, error) {
	ids := r.list("VpcEndpointId")
	fs, err := r.filters("service-name", "vpc-id", "vpc-endpoint-id", "vpc-endpoint-state", "vpc-endpoint-type", "ip-address-type")
	if err != nil {
		return nil, err
	}
	st := s.lockIn(r)
	defer s.unlockState()
	for _, id := range ids {
		if st.vpcEndpoint(id) == nil {
			return nil, endpointNotFound(id)
		}
	}
	out := &describeVpcEndpointsResp{VpcEndpoints: set[xVpcEndpoint]{Items: []xVpcEndpoint{}}}
	for _, e := range st.net.endpoints {
		if !named(ids, e.id) {
			continue
		}
		ok := match(fs, e.tags, func(name string) []string {
			switch name {
			case "service-name":
				return []string{e.service}
			case "vpc-id":
				return []string{e.vpc}
			case "vpc-endpoint-id":
				return []string{e.id}
			case "vpc-endpoint-state":
				return []string{e.state}
			case "vpc-endpoint-type":
				return []string{e.kind}
			case "ip-address-type":
				return []string{"ipv4"}
			}
			return nil
		})
		if ok {
			out.VpcEndpoints.Items = append(out.VpcEndpoints.Items, st.xVpcEndpoint(e))
		}
	}
	var perr error
	if out.VpcEndpoints.Items, out.NextToken, perr = paginate(r, out.VpcEndpoints.Items, ""); perr != nil {
		return nil, perr
	}
	return out, nil
}

type xServiceType struct {
	ServiceType string `xml:"serviceType"`
}

type xServiceDetail struct {
	ServiceName                string            `xml:"serviceName"`
	ServiceID                  string            `xml:"serviceId"`
	ServiceType                set[xServiceType] `xml:"serviceType"`
	ServiceRegion              string            `xml:"serviceRegion"`
	AvailabilityZones          set[stringMember] `xml:"availabilityZoneSet"`
	Owner                      string            `xml:"owner"`
	BaseEndpointDNSNames       set[stringMember] `xml:"baseEndpointDnsNameSet"`
	PrivateDNSName             string            `xml:"privateDnsName,omitempty"`
	VpcEndpointPolicySupported bool              `xml:"vpcEndpointPolicySupported"`
	AcceptanceRequired         bool              `xml:"acceptanceRequired"`
	ManagesVpcEndpoints        bool              `xml:"managesVpcEndpoints"`
	SupportedIPAddressTypes    set[stringMember] `xml:"supportedIpAddressTypeSet"`
	Tags                       set[xTag]         `xml:"tagSet"`
}

type describeEndpointServicesResp struct {
	ec2Resp
	ServiceNames   set[stringMember]   `xml:"serviceNameSet"`
	ServiceDetails set[xServiceDetail] `xml:"serviceDetailSet"`
	NextToken      string              `xml:"nextToken,omitempty"`
}

// describeVpcEndpointServices lists the region's AWS services, a gateway
// service once per type (S3 and DynamoDB have gateway and interface
// endpoints), with filters service-name, service-type, service-region
// and owner (API reference, DescribeVpcEndpointServices).
func (s *Account) describeVpcEndpointServices(r *request) (any, error) {
	names := r.list("ServiceName")
	fs, err := r.filters("service-name", "service-type", "service-region", "owner")
	if err != nil {
		return nil, err
	}
	st := s.lockIn(r)
	defer s.unlockState()
	for _, n := range names {
		if _, ok := st.endpointService(n); !ok {
			return nil, errorf(http.StatusBadRequest, "InvalidServiceName", "The Vpc Endpoint Service '%s' does not exist", n)
		}
	}
	var zones []string
	for _, z := range zonesOf(st.region) {
		zones = append(zones, z.name)
	}
	out := &describeEndpointServicesResp{ServiceNames: members(nil), ServiceDetails: set[xServiceDetail]{Items: []xServiceDetail{}}}
	for _, svc := range st.endpointServices() {
		short := strings.TrimPrefix(svc.name, "com.amazonaws."+st.region+".")
		types := []string{"Interface"}
		if svc.gateway {
			types = []string{"Gateway", "Interface"}
		}
		for _, typ := range types {
			if !named(names, svc.name) {
				continue
			}
			ok := match(fs, nil, func(name string) []string {
				switch name {
				case "service-name":
					return []string{svc.name}
				case "service-type":
					return []string{typ}
				case "service-region":
					return []string{st.region}
				case "owner":
					return []string{"amazon"}
				}
				return nil
			})
			if !ok {
				continue
			}
			d := xServiceDetail{ServiceName: svc.name, ServiceID: fmt.Sprintf("vpce-svc-%017x", fnv64(svc.name+typ)&0xfffffffffffffff),
				ServiceType: itemsOf(xServiceType{typ}), ServiceRegion: st.region, AvailabilityZones: members(zones), Owner: "amazon",
				BaseEndpointDNSNames: members([]string{short + "." + st.region + ".amazonaws.com"}), VpcEndpointPolicySupported: true,
				SupportedIPAddressTypes: members([]string{"ipv4"}), Tags: tagSet(nil)}
			if typ == "Interface" {
				d.BaseEndpointDNSNames = members([]string{short + "." + st.region + ".vpce.amazonaws.com"})
				d.PrivateDNSName = short + "." + st.region + ".amazonaws.com"
			}
			out.ServiceDetails.Items = append(out.ServiceDetails.Items, d)
			if !slices.Contains(out.ServiceNames.Items, stringMember{svc.name}) {
				out.ServiceNames.Items = append(out.ServiceNames.Items, stringMember{svc.name})
			}
		}
	}
	return out, nil
}
