package ec2

import (
	"net/http"
	"slices"
)

// This file holds the networking objects beside VPCs and subnets that
// route tables point at or VPCs use (issue 23): NAT gateways
// (natgw.go), VPC peering connections (peering.go), egress-only internet
// gateways (eigw.go), DHCP options sets (dhcp.go), prefix lists
// (prefixlists.go) and VPC endpoints (endpoints.go). Their actions are
// registered here, apart from the table in query.go.

// netState is the part of state these objects live in; each is also in
// state.byID under its ID.
type netState struct {
	nats      []*natGateway
	peerings  []*peering
	eigws     []*eigw
	dhcp      []*dhcpOptions
	lists     []*prefixList // customer-managed; AWS-managed lists are awsPrefixLists
	endpoints []*vpcEndpoint
	// reservations are subnet CIDR reservations (subnetcidr.go).
	reservations []*cidrReservation
	// vpcDhcp is the DHCP options set of a VPC when it is not the
	// region's default set: a dopt- ID or "default" (none).
	vpcDhcp map[string]string
	// noDefaultDhcp: the region's default set was deleted.
	noDefaultDhcp bool
}

// netObject is an object of this file's kinds, tagged with CreateTags.
type netObject interface {
	tagging() (tags map[string]string, resourceType string)
}

func init() {
	for name, spec := range netActions {
		if _, dup := actions[name]; dup {
			panic("ec2: action " + name + " registered twice")
		}
		actions[name] = spec
	}
}

var netActions = map[string]actionSpec{
	"CreateNatGateway":    {run: (*Account).createNatGateway, resources: one(paramARN("subnet", "SubnetId"))},
	"DeleteNatGateway":    {run: (*Account).deleteNatGateway, resources: one(paramARN("natgateway", "NatGatewayId"))},
	"DescribeNatGateways": {run: (*Account).describeNatGateways},

	"CreateVpcPeeringConnection":    {run: (*Account).createVpcPeeringConnection, resources: one(paramARN("vpc", "VpcId"))},
	"AcceptVpcPeeringConnection":    {run: (*Account).acceptVpcPeeringConnection, resources: one(paramARN("vpc-peering-connection", "VpcPeeringConnectionId"))},
	"RejectVpcPeeringConnection":    {run: (*Account).rejectVpcPeeringConnection, resources: one(paramARN("vpc-peering-connection", "VpcPeeringConnectionId"))},
	"DeleteVpcPeeringConnection":    {run: (*Account).deleteVpcPeeringConnection, resources: one(paramARN("vpc-peering-connection", "VpcPeeringConnectionId"))},
	"DescribeVpcPeeringConnections": {run: (*Account).describeVpcPeeringConnections},

	"CreateEgressOnlyInternetGateway":    {run: (*Account).createEgressOnlyInternetGateway, resources: one(paramARN("vpc", "VpcId"))},
	"DeleteEgressOnlyInternetGateway":    {run: (*Account).deleteEgressOnlyInternetGateway, resources: one(paramARN("egress-only-internet-gateway", "EgressOnlyInternetGatewayId"))},
	"DescribeEgressOnlyInternetGateways": {run: (*Account).describeEgressOnlyInternetGateways},

	"CreateDhcpOptions":    {run: (*Account).createDhcpOptions},
	"AssociateDhcpOptions": {run: (*Account).associateDhcpOptions, resources: one(paramARN("vpc", "VpcId"))},
	"DeleteDhcpOptions":    {run: (*Account).deleteDhcpOptions, resources: one(paramARN("dhcp-options", "DhcpOptionsId"))},
	"DescribeDhcpOptions":  {run: (*Account).describeDhcpOptions},

	"DescribePrefixLists":              {run: (*Account).describePrefixLists},
	"DescribeManagedPrefixLists":       {run: (*Account).describeManagedPrefixLists},
	"GetManagedPrefixListEntries":      {run: (*Account).getManagedPrefixListEntries},
	"CreateManagedPrefixList":          {run: (*Account).createManagedPrefixList},
	"ModifyManagedPrefixList":          {run: (*Account).modifyManagedPrefixList, resources: one(paramARN("prefix-list", "PrefixListId"))},
	"DeleteManagedPrefixList":          {run: (*Account).deleteManagedPrefixList, resources: one(paramARN("prefix-list", "PrefixListId"))},
	"CreateVpcEndpoint":                {run: (*Account).createVpcEndpoint, resources: one(paramARN("vpc", "VpcId"))},
	"ModifyVpcEndpoint":                {run: (*Account).modifyVpcEndpoint, resources: one(paramARN("vpc-endpoint", "VpcEndpointId"))},
	"DeleteVpcEndpoints":               {run: (*Account).deleteVpcEndpoints},
	"DescribeVpcEndpoints":             {run: (*Account).describeVpcEndpoints},
	"DescribeVpcEndpointServices":      {run: (*Account).describeVpcEndpointServices},
	"EnableVpcClassicLink":             {run: classicLinkRetired},
	"DisableVpcClassicLink":            {run: classicLinkRetired},
	"DescribeVpcClassicLink":           {run: classicLinkRetired},
	"EnableVpcClassicLinkDnsSupport":   {run: classicLinkRetired},
	"DisableVpcClassicLinkDnsSupport":  {run: classicLinkRetired},
	"DescribeVpcClassicLinkDnsSupport": {run: classicLinkRetired},
	"AttachClassicLinkVpc":             {run: classicLinkRetired},
	"DetachClassicLinkVpc":             {run: classicLinkRetired},
	"DescribeClassicLinkInstances":     {run: classicLinkRetired},
}

func (st *state) natGateway(id string) *natGateway { x, _ := st.byID[id].(*natGateway); return x }
func (st *state) peering(id string) *peering       { x, _ := st.byID[id].(*peering); return x }
func (st *state) eigw(id string) *eigw             { x, _ := st.byID[id].(*eigw); return x }
func (st *state) dhcpOptions(id string) *dhcpOptions {
	x, _ := st.byID[id].(*dhcpOptions)
	return x
}
func (st *state) vpcEndpoint(id string) *vpcEndpoint { x, _ := st.byID[id].(*vpcEndpoint); return x }

// add records a new object under its ID.
func (st *state) add(id string, x any) { st.byID[id] = x }

// without returns s without the values in drop, keeping its order.
func without(s, drop []string) []string {
	return slices.DeleteFunc(slices.Clone(s), func(v string) bool { return slices.Contains(drop, v) })
}

// union appends the values of add not in s, in order, once each.
func union(s, add []string) []string {
	out := slices.Clone(s)
	for _, v := range add {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// netRouteTarget sets a route's target of kind k (the CreateRoute
// parameter) to id, for table t and destination d; s.mu held.
//   - NatGatewayId: a gateway of the table's VPC that is not deleted
//     (NatGatewayNotFound).
//   - VpcPeeringConnectionId: a connection of the table's VPC
//     (InvalidVpcPeeringConnectionID.NotFound); one not active makes a
//     blackhole (peeringRouteState).
//   - EgressOnlyInternetGatewayId: one of the table's VPC, for an IPv6
//     destination only (eigw).
//   - VpcEndpointId: "Supported for Gateway Load Balancer endpoints only"
//     (API reference, CreateRoute), which vpcsim does not model, so every
//     endpoint is refused.
func (st *state) netRouteTarget(rt *route, k, id string, t *routeTable, d routeDest) error {
	switch k {
	case "NatGatewayId":
		g := st.natGateway(id)
		if g == nil || g.state == "deleted" || g.state == "deleting" {
			return natNotFound(id)
		}
		if g.vpc != t.vpc {
			return invalidParam("route table %s and network gateway %s belong to different networks", t.id, id)
		}
		rt.nat = id
	case "VpcPeeringConnectionId":
		p := st.peering(id)
		if p == nil || p.status == "deleted" {
			return notFound("InvalidVpcPeeringConnectionID.NotFound", "vpcPeeringConnection", id)
		}
		if p.requester != t.vpc && p.accepter != t.vpc {
			return invalidParam("route table %s and VPC peering connection %s belong to different networks", t.id, id)
		}
		rt.pcx = id
	case "EgressOnlyInternetGatewayId":
		g := st.eigw(id)
		if g == nil {
			return eigwNotFound(id)
		}
		if g.vpc != t.vpc {
			return invalidParam("route table %s and network gateway %s belong to different networks", t.id, id)
		}
		if !d.ipv6(st) {
			return invalidParam("An egress-only internet gateway is a route target for IPv6 traffic only; %s is not an IPv6 destination", d)
		}
		rt.eigw = id
	case "VpcEndpointId":
		e := st.vpcEndpoint(id)
		if e == nil || e.state == "deleted" {
			return endpointNotFound(id)
		}
		return endpointErr("Route table targets of type VpcEndpointId are supported for Gateway Load Balancer endpoints only; %s is a %s endpoint", id, e.kind)
	}
	return nil
}

// netDependsOn reports whether a VPC still has objects of this file that
// keep DeleteVpc from deleting it (DependencyViolation): egress-only
// internet gateways and endpoints not deleted. (NAT gateways and
// interface endpoints also hold interfaces, which DeleteVpc checks.)
func (st *state) netDependsOn(vpcID string) bool {
	return slices.ContainsFunc(st.net.eigws, func(g *eigw) bool { return g.vpc == vpcID }) ||
		slices.ContainsFunc(st.net.endpoints, func(e *vpcEndpoint) bool { return e.vpc == vpcID && e.state != "deleted" })
}

// classicLinkRetired answers the ClassicLink actions. ClassicLink linked
// EC2-Classic instances to a VPC, and AWS shut EC2-Classic down: "On August
// 15, 2023, we shut down the last instance of Classic" (Werner Vogels,
// "Farewell EC2-Classic, it's been swell", All Things Distributed,
// September 2023); the API reference marks EnableVpcClassicLink,
// DisableVpcClassicLink, DescribeVpcClassicLink and the DNS-support and
// attach actions "This action is deprecated." So no VPC can be enabled
// for ClassicLink. vpcsim answers UnsupportedOperation (EC2 error codes:
// "The specified request includes an unsupported operation"), not
// InvalidAction, as the actions remain in the API; the exact code AWS
// answers today is not documented.
func classicLinkRetired(_ *Account, r *request) (any, error) {
	return nil, errorf(http.StatusBadRequest, "UnsupportedOperation",
		"%s: ClassicLink is not supported; EC2-Classic was retired on August 15, 2023.", r.action)
}
