package ec2

import (
	"net/http"
	"slices"
	"strings"
)

// Gateway route tables (VPC user guide, "Gateway route tables"): a route
// table associated with an internet gateway (an edge association) routes
// the traffic entering the VPC through it. Its routes may target only the
// local route or a network interface (or a Gateway Load Balancer
// endpoint, which vpcsim does not model), for the whole block of a subnet
// of the VPC; "You cannot add routes to any CIDR blocks outside of the
// range in your VPC", nor a prefix list; a table with other routes cannot
// be associated with a gateway ("Rules and considerations"). vpcsim keeps
// the association and these rules; its fabric does not route traffic
// that enters from outside. Virtual private gateways are not modelled.

// edgeTable reports whether t is associated with a gateway.
func (t *routeTable) edgeTable() bool {
	return slices.ContainsFunc(t.assocs, func(a assoc) bool { return a.gateway != "" })
}

// edgeRouteOK checks a route of a gateway route table of VPC v's; s.mu
// held.
func (st *state) edgeRouteOK(t *routeTable, rt *route) error {
	switch {
	case rt.local:
		return nil
	case rt.pl != "":
		return invalidParam("A gateway route table cannot have a prefix list (%s) as a destination", rt.pl)
	case rt.eni == "":
		return invalidParam("A gateway route table's routes can target only local, a network interface or a Gateway Load Balancer endpoint, not %s", rt.exit())
	}
	if !slices.ContainsFunc(st.subnets, func(sn *subnet) bool { return sn.vpc == t.vpc && (sn.cidr == rt.dst || sn.ipv6.cidr == rt.dst) }) {
		return invalidParam("The destination %s of a gateway route table's route must be the entire CIDR block of a subnet of %s", rt.dst, t.vpc)
	}
	return nil
}

// associateGateway makes the edge association of table t with gateway id.
func (s *Account) associateGateway(st *state, t *routeTable, id string) (string, error) {
	if !strings.HasPrefix(id, "igw-") {
		return "", invalidParam("vpcsim models gateway route tables for internet gateways only (GatewayId %s)", id)
	}
	g := st.igw(id)
	if g == nil {
		return "", errorf(http.StatusBadRequest, "InvalidGatewayID.NotFound", "The gateway ID '%s' does not exist", id)
	}
	if g.vpc != t.vpc {
		return "", invalidParam("route table %s and network gateway %s belong to different networks", t.id, id)
	}
	for _, o := range st.tables {
		if slices.ContainsFunc(o.assocs, func(a assoc) bool { return a.gateway == id }) {
			return "", errorf(http.StatusBadRequest, "Resource.AlreadyAssociated", "the specified association for route table %s conflicts with an existing association", t.id)
		}
	}
	for _, rt := range t.routes {
		if err := st.edgeRouteOK(t, rt); err != nil {
			return "", err
		}
	}
	a := assoc{id: s.ids.next("rtbassoc"), gateway: id}
	t.assocs = append(t.assocs, a)
	return a.id, nil
}
