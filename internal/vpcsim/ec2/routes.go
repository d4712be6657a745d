package ec2

import (
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"
)

type xRouteTable struct {
	RouteTableID    string      `xml:"routeTableId"`
	Associations    set[xAssoc] `xml:"associationSet"`
	PropagatingVgws set[xVgw]   `xml:"propagatingVgwSet"`
	Routes          set[xRoute] `xml:"routeSet"`
	Tags            set[xTag]   `xml:"tagSet"`
	VpcID           string      `xml:"vpcId"`
	OwnerID         string      `xml:"ownerId"`
}

type xVgw struct {
	GatewayID string `xml:"gatewayId"`
}

type xAssoc struct {
	Main          bool        `xml:"main"`
	AssociationID string      `xml:"routeTableAssociationId"`
	RouteTableID  string      `xml:"routeTableId"`
	SubnetID      string      `xml:"subnetId,omitempty"`
	GatewayID     string      `xml:"gatewayId,omitempty"`
	State         xAssocState `xml:"associationState"`
}

type xAssocState struct {
	State string `xml:"state"`
}

type xRoute struct {
	DestinationCidrBlock        string `xml:"destinationCidrBlock,omitempty"`
	DestinationIpv6CidrBlock    string `xml:"destinationIpv6CidrBlock,omitempty"`
	DestinationPrefixListID     string `xml:"destinationPrefixListId,omitempty"`
	EgressOnlyInternetGatewayID string `xml:"egressOnlyInternetGatewayId,omitempty"`
	GatewayID                   string `xml:"gatewayId,omitempty"`
	InstanceID                  string `xml:"instanceId,omitempty"`
	InstanceOwnerID             string `xml:"instanceOwnerId,omitempty"`
	NatGatewayID                string `xml:"natGatewayId,omitempty"`
	NetworkInterfaceID          string `xml:"networkInterfaceId,omitempty"`
	VpcPeeringConnectionID      string `xml:"vpcPeeringConnectionId,omitempty"`
	Origin                      string `xml:"origin"`
	State                       string `xml:"state"`
}

type describeRouteTablesResp struct {
	ec2Resp
	RouteTables set[xRouteTable] `xml:"routeTableSet"`
	NextToken   string           `xml:"nextToken,omitempty"`
}

var routeTableFilters = []string{
	"vpc-id", "route-table-id", "owner-id",
	"association.subnet-id", "association.gateway-id", "association.main", "association.route-table-association-id", "association.route-table-id",
	"route.destination-cidr-block", "route.destination-ipv6-cidr-block", "route.network-interface-id", "route.instance-id", "route.gateway-id",
	"route.state", "route.origin", "route.destination-prefix-list-id", "route.nat-gateway-id", "route.vpc-peering-connection-id",
	"route.egress-only-internet-gateway-id",
}

func (s *Account) describeRouteTables(r *request) (any, error) {
	ids := r.list("RouteTableId")
	fs, err := r.filters(routeTableFilters...)
	if err != nil {
		return nil, err
	}
	st := s.lockIn(r)
	defer s.unlockState()
	if _, err := lookupAll(ids, st.table, "InvalidRouteTableID.NotFound", "routeTable"); err != nil {
		return nil, err
	}
	out := &describeRouteTablesResp{RouteTables: set[xRouteTable]{Items: []xRouteTable{}}}
	account := st.callerAccount(r.caller)
	for _, t := range st.tables {
		if !named(ids, t.id) {
			continue
		}
		if !r.caller.Admin && st.tableOwner(t.id) != account {
			// A participant does not see the owner's tables (see
			// World.VPCs' OwnerID).
			if len(ids) > 0 {
				return nil, notFound("InvalidRouteTableID.NotFound", "routeTable", t.id)
			}
			continue
		}
		x := st.xRouteTable(t)
		if !match(fs, t.tags, func(name string) []string { return routeTableAttr(x, name) }) {
			continue
		}
		out.RouteTables.Items = append(out.RouteTables.Items, x)
	}
	var perr error
	if out.RouteTables.Items, out.NextToken, perr = paginate(r, out.RouteTables.Items, ""); perr != nil {
		return nil, perr
	}
	return out, nil
}

func routeTableAttr(x xRouteTable, name string) []string {
	var out []string
	switch name {
	case "vpc-id":
		return []string{x.VpcID}
	case "route-table-id":
		return []string{x.RouteTableID}
	case "owner-id":
		return []string{x.OwnerID}
	}
	if sub, ok := strings.CutPrefix(name, "association."); ok {
		for _, a := range x.Associations.Items {
			switch sub {
			case "subnet-id":
				if a.SubnetID != "" {
					out = append(out, a.SubnetID)
				}
			case "gateway-id":
				if a.GatewayID != "" {
					out = append(out, a.GatewayID)
				}
			case "main":
				out = append(out, boolStr(a.Main))
			case "route-table-association-id":
				out = append(out, a.AssociationID)
			case "route-table-id":
				out = append(out, a.RouteTableID)
			}
		}
		return out
	}
	if sub, ok := strings.CutPrefix(name, "route."); ok {
		for _, rt := range x.Routes.Items {
			v := ""
			switch sub {
			case "destination-cidr-block":
				v = rt.DestinationCidrBlock
			case "destination-ipv6-cidr-block":
				v = rt.DestinationIpv6CidrBlock
			case "network-interface-id":
				v = rt.NetworkInterfaceID
			case "instance-id":
				v = rt.InstanceID
			case "gateway-id":
				v = rt.GatewayID
			case "destination-prefix-list-id":
				v = rt.DestinationPrefixListID
			case "nat-gateway-id":
				v = rt.NatGatewayID
			case "vpc-peering-connection-id":
				v = rt.VpcPeeringConnectionID
			case "egress-only-internet-gateway-id":
				v = rt.EgressOnlyInternetGatewayID
			case "state":
				v = rt.State
			case "origin":
				v = rt.Origin
			}
			if v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

func (st *state) xRouteTable(t *routeTable) xRouteTable {
	x := xRouteTable{
		RouteTableID:    t.id,
		VpcID:           t.vpc,
		OwnerID:         st.tableOwner(t.id),
		Tags:            tagSet(t.tags),
		Associations:    set[xAssoc]{Items: []xAssoc{}},
		PropagatingVgws: set[xVgw]{Items: []xVgw{}},
	}
	if t.main {
		x.Associations.Items = append(x.Associations.Items, xAssoc{Main: true, AssociationID: t.mainID, RouteTableID: t.id, State: xAssocState{"associated"}})
	}
	for _, a := range t.assocs {
		x.Associations.Items = append(x.Associations.Items, xAssoc{AssociationID: a.id, RouteTableID: t.id, SubnetID: a.subnet, GatewayID: a.gateway, State: xAssocState{"associated"}})
	}
	for _, r := range t.visibleRoutes(time.Now()) {
		x.Routes.Items = append(x.Routes.Items, st.xRoute(r))
	}
	return x
}

// xRoute reports a route as EC2 does: a route to an interface attached to
// an instance also names the instance and its owner, whichever of
// InstanceId or NetworkInterfaceId created it.
func (st *state) xRoute(r *route) xRoute {
	x := xRoute{Origin: r.origin, State: st.routeState(r)}
	switch {
	case r.pl != "":
		x.DestinationPrefixListID = r.pl
	case r.dst.Addr().Is6():
		x.DestinationIpv6CidrBlock = r.dst.String()
	default:
		x.DestinationCidrBlock = r.dst.String()
	}
	switch {
	case r.local:
		x.GatewayID = "local"
	case r.gateway != "":
		x.GatewayID = r.gateway
	case r.nat != "":
		x.NatGatewayID = r.nat
	case r.pcx != "":
		x.VpcPeeringConnectionID = r.pcx
	case r.eigw != "":
		x.EgressOnlyInternetGatewayID = r.eigw
	default:
		x.NetworkInterfaceID = r.eni
		if e := st.eni(r.eni); e != nil && e.attach != nil {
			x.InstanceID = e.attach.instance
			x.InstanceOwnerID = st.account
		}
	}
	return x
}

// routeDest is a route's destination: a CIDR block or a prefix list.
type routeDest struct {
	cidr netip.Prefix
	pl   string
}

func (d routeDest) String() string {
	if d.pl != "" {
		return d.pl
	}
	return d.cidr.String()
}

// ipv6 reports whether the destination is IPv6 traffic.
func (d routeDest) ipv6(st *state) bool {
	if d.pl != "" {
		return st.prefixListFamily(d.pl) == "IPv6"
	}
	return d.cidr.Addr().Is6()
}

// parseDestination accepts an IPv4 (DestinationCidrBlock) or IPv6
// (DestinationIpv6CidrBlock) block without host bits, as EC2 does
// (10.0.0.5/24 is refused, not silently masked), or a prefix list
// (DestinationPrefixListId, checked against the account's lists by the
// caller); a route has one destination.
func parseDestination(r *request) (routeDest, error) {
	v4, v6, pl := r.get("DestinationCidrBlock"), r.get("DestinationIpv6CidrBlock"), r.get("DestinationPrefixListId")
	n := 0
	for _, v := range []string{v4, v6, pl} {
		if v != "" {
			n++
		}
	}
	switch {
	case n > 1:
		return routeDest{}, errorf(http.StatusBadRequest, "InvalidParameterCombination",
			"The parameters destinationCidrBlock, destinationIpv6CidrBlock and destinationPrefixListId cannot be specified together; a route has one destination")
	case v6 != "":
		p, err := netip.ParsePrefix(v6)
		if err != nil || !p.Addr().Is6() || p.Addr().Is4In6() || p.Addr().Zone() != "" || p != p.Masked() {
			return routeDest{}, invalidParam("Value (%s) for parameter destinationIpv6CidrBlock is invalid. This is not a valid IPv6 CIDR block.", v6)
		}
		return routeDest{cidr: p}, nil
	case pl != "":
		return routeDest{pl: pl}, nil
	case v4 == "":
		return routeDest{}, missingParam("destinationCidrBlock or destinationIpv6CidrBlock")
	}
	p, err := parseBlock(v4, "destinationCidrBlock")
	return routeDest{cidr: p}, err
}

// destParam names a destination the way EC2's messages do.
func destParam(d routeDest) string {
	switch {
	case d.pl != "":
		return "destination-prefix-list-id"
	case d.cidr.Addr().Is6():
		return "destination-ipv6-cidr-block"
	}
	return "destination-cidr-block"
}

// parseBlock parses v, the value of parameter wire, as an IPv4 CIDR block
// without host bits, as EC2 requires of every block it is given.
func parseBlock(v, wire string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(v)
	if err != nil || !p.Addr().Is4() || p != p.Masked() {
		return netip.Prefix{}, invalidParam("Value (%s) for parameter %s is invalid. This is not a valid CIDR block.", v, wire)
	}
	return p, nil
}

// unmodeledTargets are route targets vpcsim does not simulate.
var unmodeledTargets = []string{"TransitGatewayId", "LocalGatewayId", "CarrierGatewayId", "CoreNetworkArn", "OdbNetworkArn"}

// routeTarget resolves the request's single target into a route (without
// destination). Call with s.mu held.
func (st *state) routeTarget(r *request, t *routeTable, d routeDest) (*route, error) {
	var given []string
	for _, k := range append([]string{"GatewayId", "NetworkInterfaceId", "InstanceId", "NatGatewayId", "VpcPeeringConnectionId",
		"EgressOnlyInternetGatewayId", "VpcEndpointId"}, unmodeledTargets...) {
		if r.get(k) != "" {
			given = append(given, k)
		}
	}
	if len(given) == 0 {
		return nil, errorf(http.StatusBadRequest, "MissingParameter",
			"The request must contain exactly one of gatewayId, natGatewayId, networkInterfaceId, vpcPeeringConnectionId, instanceId, transitGatewayId, localGatewayId, carrierGatewayId, egressOnlyInternetGatewayId, vpcEndpointId or coreNetworkArn")
	}
	if len(given) > 1 {
		return nil, errorf(http.StatusBadRequest, "InvalidParameterCombination",
			"The parameters %s cannot be specified together; a route has exactly one target", strings.Join(given, ", "))
	}
	rt := &route{origin: "CreateRoute"}
	switch k := given[0]; k {
	case "GatewayId":
		rt.gateway = r.get(k)
		if rt.gateway == "local" {
			return nil, invalidParam("vpcsim does not model restoring a local target (LocalTarget)")
		}
		if strings.HasPrefix(rt.gateway, "igw-") {
			g := st.igw(rt.gateway)
			if g == nil {
				return nil, errorf(http.StatusBadRequest, "InvalidGatewayID.NotFound", "The gateway ID '%s' does not exist", rt.gateway)
			}
			if g.vpc != t.vpc {
				return nil, invalidParam("route table %s and network gateway %s belong to different networks", t.id, g.id)
			}
		}
	case "NetworkInterfaceId":
		id := r.get(k)
		if err := malformed("InvalidNetworkInterfaceID.Malformed", "eni", id); err != nil {
			return nil, err
		}
		e := st.eni(id)
		if e == nil {
			return nil, notFound("InvalidNetworkInterfaceID.NotFound", "networkInterface", id)
		}
		if e.vpc != t.vpc {
			return nil, invalidParam("route table %s and network interface %s belong to different networks", t.id, id)
		}
		rt.eni = id
	case "InstanceId":
		id := r.get(k)
		if err := malformed("InvalidInstanceID.Malformed", "i", id); err != nil {
			return nil, err
		}
		in := st.instance(id)
		if in == nil {
			return nil, notFound("InvalidInstanceID.NotFound", "instance", id)
		}
		// AWS resolves an instance target to its interface and refuses an
		// instance with several (NAT instances are single-homed).
		if len(in.enis) > 1 {
			return nil, errorf(http.StatusBadRequest, "InvalidInstanceID",
				"There are multiple interfaces attached to instance '%s'. Please specify an interface ID for the operation instead.", id)
		}
		e := st.primaryENI(in)
		if e == nil {
			return nil, errorf(http.StatusBadRequest, "InvalidInstanceID", "Instance '%s' has no network interface", id)
		}
		if e.vpc != t.vpc {
			return nil, invalidParam("route table %s and instance %s belong to different networks", t.id, id)
		}
		rt.eni = e.id
	case "NatGatewayId", "VpcPeeringConnectionId", "EgressOnlyInternetGatewayId", "VpcEndpointId":
		if err := st.netRouteTarget(rt, k, r.get(k), t, d); err != nil {
			return nil, err
		}
	default:
		return nil, invalidParam("vpcsim does not model %s route targets", k)
	}
	return rt, nil
}

// lookupTable validates RouteTableId and finds the table; s.mu held.
func (st *state) lookupTable(r *request) (*routeTable, error) {
	return lookupParam(r, "RouteTableId", "routeTableId", tableIDs, st.table)
}

func (t *routeTable) find(d routeDest) int {
	return slices.IndexFunc(t.routes, func(r *route) bool { return r.dest() == d })
}

// insideVPC applies AWS's rule for a destination inside the VPC's CIDR,
// that is more specific than a local route (Amazon VPC User Guide, "Subnet
// route tables", rules and considerations; "more specific routing", since
// August 2021): the destination must match the entire CIDR block of a
// subnet of the VPC, and the target must be a network interface (or an
// instance, resolved to its interface), a NAT gateway or a Gateway Load
// Balancer endpoint. So a /32 inside the VPC is refused whatever its
// target. The error texts are vpcsim's; the code, InvalidParameterValue,
// is EC2's. s.mu held.
func (st *state) insideVPC(t *routeTable, d routeDest, rt *route) error {
	if d.pl != "" {
		return nil
	}
	dst := d.cidr
	for _, l := range t.routes {
		if !l.local || !l.dst.Overlaps(dst) || dst.Bits() < l.dst.Bits() {
			continue
		}
		if rt.exit() != "" && rt.nat == "" && !strings.HasPrefix(rt.gateway, "vpce-") {
			return invalidParam("The destination CIDR block %s is equal to or more specific than one of this VPC's CIDR blocks. This route can target only an interface, an instance, a NAT gateway or a Gateway Load Balancer endpoint.", dst)
		}
		if !slices.ContainsFunc(st.subnets, func(sn *subnet) bool { return sn.vpc == t.vpc && (sn.cidr == dst || sn.ipv6.cidr == dst) }) {
			return invalidParam("The destination CIDR block %s is more specific than the local route %s but does not match the CIDR block of any subnet in %s. A route more specific than the local route must cover exactly one subnet.", dst, l.dst, t.vpc)
		}
	}
	return nil
}

func (s *Account) createRoute(r *request) (any, error) {
	return s.changeRoute(r, func(st *state, t *routeTable, dst routeDest) (func(), error) {
		rt, err := st.routeTarget(r, t, dst)
		if err != nil {
			return nil, err
		}
		if t.find(dst) >= 0 {
			return nil, errorf(http.StatusBadRequest, "RouteAlreadyExists", "The route identified by %s already exists.", dst)
		}
		if err := st.insideVPC(t, dst, rt); err != nil {
			return nil, err
		}
		rt.dst, rt.pl = dst.cidr, dst.pl
		if t.edgeTable() {
			if err := st.edgeRouteOK(t, rt); err != nil {
				return nil, err
			}
		}
		return func() { t.routes = append(t.routes, rt) }, nil
	})
}

func (s *Account) replaceRoute(r *request) (any, error) {
	return s.changeRoute(r, func(st *state, t *routeTable, dst routeDest) (func(), error) {
		rt, err := st.routeTarget(r, t, dst)
		if err != nil {
			return nil, err
		}
		i := t.find(dst)
		if i < 0 {
			return nil, invalidParam("There is no route defined for '%s' in the route table. Use CreateRoute instead.", dst)
		}
		if t.routes[i].local {
			return nil, invalidParam("cannot replace local route %s in route table %s", dst, t.id)
		}
		if err := st.insideVPC(t, dst, rt); err != nil {
			return nil, err
		}
		rt.dst, rt.pl = dst.cidr, dst.pl
		rt.origin = t.routes[i].origin
		if t.edgeTable() {
			if err := st.edgeRouteOK(t, rt); err != nil {
				return nil, err
			}
		}
		return func() { t.routes[i] = rt }, nil
	})
}

func (s *Account) deleteRoute(r *request) (any, error) {
	return s.changeRoute(r, func(_ *state, t *routeTable, dst routeDest) (func(), error) {
		i := t.find(dst)
		if i < 0 {
			return nil, errorf(http.StatusBadRequest, "InvalidRoute.NotFound", "no route with %s %s in route table %s", destParam(dst), dst, t.id)
		}
		if t.routes[i].local {
			return nil, invalidParam("cannot remove local route %s in route table %s", dst, t.id)
		}
		return func() { t.routes = slices.Delete(t.routes, i, i+1) }, nil
	})
}

// changeRoute runs one of Create, Replace and DeleteRoute: it parses the
// destination and finds the table, then edit checks the call with s.mu
// held and returns the change to the table's routes, which readers see
// after the sampled Timing.StaleRoutes as on AWS.
func (s *Account) changeRoute(r *request, edit func(st *state, t *routeTable, dst routeDest) (func(), error)) (any, error) {
	dst, err := parseDestination(r)
	if err != nil {
		return nil, err
	}
	if err := s.mutateIn(r, func(st *state) error {
		t, err := st.lookupTable(r)
		if err != nil {
			return err
		}
		if dst.pl != "" && st.prefixListFamily(dst.pl) == "" {
			return notFound("InvalidPrefixListID.NotFound", "prefix list", dst.pl)
		}
		change, err := edit(st, t, dst)
		if err != nil {
			return err
		}
		t.changeRoutes(s.opts.Timing.StaleRoutes.Sample(), change)
		return nil
	}); err != nil {
		return nil, err
	}
	return &returnResp{Return: true}, nil
}

// mutate runs fn on the state with the lock held and signals Changes when
// fn succeeds. fn must not block.
func (s *Account) mutate(fn func(st *state) error) error {
	st := s.lockState()
	err := fn(st)
	if err == nil {
		s.advanced = true // signal the change
	}
	s.unlockState()
	s.poke()
	return err
}

type createRouteTableResp struct {
	ec2Resp
	RouteTable xRouteTable `xml:"routeTable"`
}

func (s *Account) createRouteTable(r *request) (any, error) {
	vid, err := r.required("VpcId", "vpcId")
	if err != nil {
		return nil, err
	}
	out := &createRouteTableResp{}
	err = s.mutateIn(r, func(st *state) error {
		v := st.vpc(vid)
		if v == nil {
			return notFound("InvalidVpcID.NotFound", "vpc", vid)
		}
		t := &routeTable{id: s.ids.next("rtb"), vpc: vid, tags: tagSpecs(r, "route-table"), routes: v.localRoutes()}
		st.tables = append(st.tables, t)
		st.byID[t.id] = t
		out.RouteTable = st.xRouteTable(t)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Account) deleteRouteTable(r *request) (any, error) {
	err := s.mutateIn(r, func(st *state) error {
		t, err := st.lookupTable(r)
		if err != nil {
			return err
		}
		if t.main || len(t.assocs) > 0 {
			return errorf(http.StatusBadRequest, "DependencyViolation", "The routeTable '%s' has dependencies and cannot be deleted.", t.id)
		}
		st.tables = slices.DeleteFunc(st.tables, func(x *routeTable) bool { return x == t })
		delete(st.byID, t.id)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &returnResp{Return: true}, nil
}

type associateRouteTableResp struct {
	ec2Resp
	AssociationID string      `xml:"associationId"`
	State         xAssocState `xml:"associationState"`
}

// associateRouteTable associates a subnet explicitly, or a gateway
// (GatewayId: a gateway route table, gatewaytables.go). A subnet has at
// most one explicit association: another one is Resource.AlreadyAssociated
// (ReplaceRouteTableAssociation moves it).
func (s *Account) associateRouteTable(r *request) (any, error) {
	if gw := r.get("GatewayId"); gw != "" {
		if r.get("SubnetId") != "" {
			return nil, errorf(http.StatusBadRequest, "InvalidParameterCombination", "The parameters subnetId and gatewayId cannot be specified together")
		}
		out := &associateRouteTableResp{State: xAssocState{"associated"}}
		err := s.mutateIn(r, func(st *state) error {
			t, err := st.lookupTable(r)
			if err != nil {
				return err
			}
			out.AssociationID, err = s.associateGateway(st, t, gw)
			return err
		})
		if err != nil {
			return nil, err
		}
		return out, nil
	}
	sid, err := r.required("SubnetId", "subnetId")
	if err != nil {
		return nil, err
	}
	out := &associateRouteTableResp{State: xAssocState{"associated"}}
	err = s.mutateIn(r, func(st *state) error {
		t, err := st.lookupTable(r)
		if err != nil {
			return err
		}
		sn := st.subnet(sid)
		if sn == nil {
			return notFound("InvalidSubnetID.NotFound", "subnet", sid)
		}
		if sn.vpc != t.vpc {
			return invalidParam("route table %s and subnet %s belong to different networks", t.id, sid)
		}
		for _, o := range st.tables {
			for _, a := range o.assocs {
				if a.subnet == sid {
					return errorf(http.StatusBadRequest, "Resource.AlreadyAssociated", "the specified association for route table %s conflicts with an existing association", t.id)
				}
			}
		}
		a := assoc{id: s.ids.next("rtbassoc"), subnet: sid}
		t.assocs = append(t.assocs, a)
		out.AssociationID = a.id
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// findAssoc finds a table association (explicit or main) by ID.
func (st *state) findAssoc(id string) (t *routeTable, i int, main bool) {
	for _, t := range st.tables {
		if t.main && t.mainID == id {
			return t, -1, true
		}
		for i, a := range t.assocs {
			if a.id == id {
				return t, i, false
			}
		}
	}
	return nil, -1, false
}

func (s *Account) disassociateRouteTable(r *request) (any, error) {
	id, err := r.required("AssociationId", "associationId")
	if err != nil {
		return nil, err
	}
	err = s.mutateIn(r, func(st *state) error {
		t, i, main := st.findAssoc(id)
		switch {
		case t == nil:
			return notFound("InvalidAssociationID.NotFound", "association", id)
		case main:
			return invalidParam("cannot disassociate the main route table association %s", id)
		}
		t.assocs = slices.Delete(t.assocs, i, i+1)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &returnResp{Return: true}, nil
}

type replaceAssocResp struct {
	ec2Resp
	NewAssociationID string      `xml:"newAssociationId"`
	State            xAssocState `xml:"associationState"`
}

// replaceRouteTableAssociation points an association at another table of
// the same VPC; replacing the main association makes that table main.
func (s *Account) replaceRouteTableAssociation(r *request) (any, error) {
	id, err := r.required("AssociationId", "associationId")
	if err != nil {
		return nil, err
	}
	out := &replaceAssocResp{State: xAssocState{"associated"}}
	err = s.mutateIn(r, func(st *state) error {
		to, err := st.lookupTable(r)
		if err != nil {
			return err
		}
		from, i, main := st.findAssoc(id)
		if from == nil {
			return notFound("InvalidAssociationID.NotFound", "association", id)
		}
		if from.vpc != to.vpc {
			return invalidParam("route table %s and association %s belong to different networks", to.id, id)
		}
		newID := s.ids.next("rtbassoc")
		if main {
			from.main, from.mainID = false, ""
			to.main, to.mainID = true, newID
		} else {
			a := from.assocs[i]
			if a.gateway != "" {
				for _, rt := range to.routes {
					if err := st.edgeRouteOK(to, rt); err != nil {
						return err
					}
				}
			}
			from.assocs = slices.Delete(from.assocs, i, i+1)
			to.assocs = append(to.assocs, assoc{id: newID, subnet: a.subnet, gateway: a.gateway})
		}
		out.NewAssociationID = newID
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
