package ec2

import (
	"net/http"
	"net/netip"
	"slices"
	"time"
)

// natGateway is a NAT gateway (API reference, NatGateway): it sits in a
// subnet on an interface of its own holding a private address of the
// subnet and, when public, an Elastic IP. A route sends traffic to it with
// NatGatewayId.
type natGateway struct {
	id, subnet, vpc string
	private         bool // ConnectivityType private: no Elastic IP
	alloc           string
	eni             string // its interface, "" once deleted or failed
	ip              string // private address
	publicIP        string
	state           string // pending, failed, available, deleting, deleted
	failCode        string
	failMsg         string
	created         time.Time
	deleted         time.Time
	tags            map[string]string
}

func (g *natGateway) tagging() (map[string]string, string) { return g.tags, "natgateway" }

type xNatAddress struct {
	AllocationID       string `xml:"allocationId,omitempty"`
	NetworkInterfaceID string `xml:"networkInterfaceId,omitempty"`
	PrivateIP          string `xml:"privateIp,omitempty"`
	PublicIP           string `xml:"publicIp,omitempty"`
	AssociationID      string `xml:"associationId,omitempty"`
	IsPrimary          bool   `xml:"isPrimary"`
	Status             string `xml:"status"`
}

type xNatGateway struct {
	CreateTime       string           `xml:"createTime"`
	DeleteTime       string           `xml:"deleteTime,omitempty"`
	FailureCode      string           `xml:"failureCode,omitempty"`
	FailureMessage   string           `xml:"failureMessage,omitempty"`
	Addresses        set[xNatAddress] `xml:"natGatewayAddressSet"`
	NatGatewayID     string           `xml:"natGatewayId"`
	State            string           `xml:"state"`
	SubnetID         string           `xml:"subnetId"`
	VpcID            string           `xml:"vpcId"`
	ConnectivityType string           `xml:"connectivityType"`
	Tags             set[xTag]        `xml:"tagSet"`
}

func (st *state) xNatGateway(g *natGateway) xNatGateway {
	x := xNatGateway{CreateTime: g.created.UTC().Format(time.RFC3339), NatGatewayID: g.id, State: g.state, SubnetID: g.subnet,
		VpcID: g.vpc, ConnectivityType: "public", FailureCode: g.failCode, FailureMessage: g.failMsg,
		Addresses: set[xNatAddress]{Items: []xNatAddress{}}, Tags: tagSet(g.tags)}
	if g.private {
		x.ConnectivityType = "private"
	}
	if !g.deleted.IsZero() {
		x.DeleteTime = g.deleted.UTC().Format(time.RFC3339)
	}
	if g.state == "failed" {
		return x
	}
	a := xNatAddress{AllocationID: g.alloc, NetworkInterfaceID: g.eni, PrivateIP: g.ip, PublicIP: g.publicIP, IsPrimary: true, Status: "succeeded"}
	switch g.state {
	case "pending":
		a.Status = "associating"
	case "deleting":
		a.Status = "disassociating"
	case "deleted":
		a.Status = "disassociated"
	}
	if x := st.eip(g.alloc); x != nil && x.eni == g.eni && g.eni != "" {
		a.AssociationID = x.assocID
	}
	x.Addresses.Items = append(x.Addresses.Items, a)
	return x
}

type createNatGatewayResp struct {
	ec2Resp
	ClientToken string      `xml:"clientToken,omitempty"`
	NatGateway  xNatGateway `xml:"natGateway"`
}

// createNatGateway creates a NAT gateway in a subnet, "pending" until the
// next call. A public one needs an Elastic IP (AllocationId); as the API
// reference's NatGateway failureCode and failureMessage list, a gateway
// that cannot be created is not refused but goes to "failed": in a VPC
// without an internet gateway ("Gateway.NotAttached": "Network vpc-... has
// no Internet gateway attached"), with an Elastic IP that is already
// associated ("Resource.AlreadyAssociated") or that does not exist
// ("InvalidAllocationID.NotFound"). Its interface is created with it
// ("Interface for NAT Gateway nat-...") and holds the Elastic IP.
func (s *Account) createNatGateway(r *request) (any, error) {
	sid, err := r.required("SubnetId", "subnetId")
	if err != nil {
		return nil, err
	}
	conn := r.get("ConnectivityType")
	switch conn {
	case "", "public", "private":
	default:
		return nil, invalidParam("Value (%s) for parameter connectivityType is invalid. Valid values: public, private", conn)
	}
	alloc := r.get("AllocationId")
	if conn != "private" && alloc == "" {
		return nil, missingParam("allocationId")
	}
	if conn == "private" && alloc != "" {
		return nil, errorf(http.StatusBadRequest, "InvalidParameterCombination", "A private NAT gateway cannot have an Elastic IP address (allocationId)")
	}
	out := &createNatGatewayResp{ClientToken: r.get("ClientToken")}
	err = s.mutateIn(r, func(st *state) error {
		sn := st.subnet(sid)
		if sn == nil {
			return notFound("InvalidSubnetID.NotFound", "subnet", sid)
		}
		g := &natGateway{id: s.ids.next("nat"), subnet: sn.id, vpc: sn.vpc, private: conn == "private", alloc: alloc,
			state: "pending", created: time.Now(), tags: tagSpecs(r, "natgateway")}
		x := st.eip(alloc)
		switch {
		case !g.private && !slices.ContainsFunc(st.igws, func(i *igw) bool { return i.vpc == sn.vpc }):
			g.failCode, g.failMsg = "Gateway.NotAttached", "Network "+sn.vpc+" has no Internet gateway attached"
		case !g.private && x == nil:
			g.failCode, g.failMsg = "InvalidAllocationID.NotFound", "Elastic IP address "+alloc+" could not be associated with this NAT gateway"
		case !g.private && x.eni != "":
			g.failCode, g.failMsg = "Resource.AlreadyAssociated", "Elastic IP address "+alloc+" is already associated"
		}
		if g.failCode == "" {
			a, ok := st.freeIP(sn)
			if !ok {
				g.failCode, g.failMsg = "InsufficientFreeAddressesInSubnet", "Subnet has insufficient free addresses to create this NAT gateway"
			} else {
				e := &eni{id: s.ids.next("eni"), subnet: sn.id, vpc: sn.vpc, az: sn.az, ip: a, description: "Interface for NAT Gateway " + g.id, tags: map[string]string{}}
				e.mac = macFor(e.id)
				st.enis = append(st.enis, e)
				st.add(e.id, e)
				g.eni, g.ip = e.id, a.String()
				if x != nil {
					x.eni, x.privateIP, x.assocID = e.id, a, s.ids.next("eipassoc")
					g.publicIP = x.ip.String()
				}
			}
		}
		st.net.nats = append(st.net.nats, g)
		st.add(g.id, g)
		out.NatGateway = st.xNatGateway(g)
		st.schedule(0, func(st *state) {
			if g.state != "pending" {
				return
			}
			if g.failCode != "" {
				g.state = "failed"
				return
			}
			g.state = "available"
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// releaseNat removes a gateway's interface and frees its Elastic IP.
func (st *state) releaseNat(g *natGateway) {
	if x := st.eip(g.alloc); x != nil && x.eni == g.eni && g.eni != "" {
		x.eni, x.privateIP, x.assocID = "", netip.Addr{}, ""
	}
	if g.eni != "" {
		st.enis = slices.DeleteFunc(st.enis, func(e *eni) bool { return e.id == g.eni })
		delete(st.byID, g.eni)
	}
}

type deleteNatGatewayResp struct {
	ec2Resp
	NatGatewayID string `xml:"natGatewayId"`
}

// deleteNatGateway deletes a gateway: "deleting", then "deleted" from the
// next call (NatGateway State: pending | failed | available | deleting |
// deleted), when its interface goes and its Elastic IP is free; a deleted
// gateway stays listed in that state and routes to it are blackholes.
func (s *Account) deleteNatGateway(r *request) (any, error) {
	id, err := r.required("NatGatewayId", "natGatewayId")
	if err != nil {
		return nil, err
	}
	err = s.mutateIn(r, func(st *state) error {
		g := st.natGateway(id)
		if g == nil || g.state == "deleted" {
			return natNotFound(id)
		}
		if g.state == "deleting" {
			return nil
		}
		g.state = "deleting"
		st.schedule(0, func(st *state) {
			if g.state == "deleting" {
				st.releaseNat(g)
				g.state, g.eni, g.deleted = "deleted", "", time.Now()
			}
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &deleteNatGatewayResp{NatGatewayID: id}, nil
}

func natNotFound(id string) error {
	return errorf(http.StatusBadRequest, "NatGatewayNotFound", "The Nat Gateway %s was not found", id)
}

type describeNatGatewaysResp struct {
	ec2Resp
	NatGateways set[xNatGateway] `xml:"natGatewaySet"`
	NextToken   string           `xml:"nextToken,omitempty"`
}

func (s *Account) describeNatGateways(r *request) (any, error) {
	ids := r.list("NatGatewayId")
	fs, err := r.filters("nat-gateway-id", "state", "subnet-id", "vpc-id")
	if err != nil {
		return nil, err
	}
	st := s.lockIn(r)
	defer s.unlockState()
	for _, id := range ids {
		if st.natGateway(id) == nil {
			return nil, natNotFound(id)
		}
	}
	out := &describeNatGatewaysResp{NatGateways: set[xNatGateway]{Items: []xNatGateway{}}}
	for _, g := range st.net.nats {
		if !named(ids, g.id) {
			continue
		}
		ok := match(fs, g.tags, func(name string) []string {
			switch name {
			case "nat-gateway-id":
				return []string{g.id}
			case "state":
				return []string{g.state}
			case "subnet-id":
				return []string{g.subnet}
			case "vpc-id":
				return []string{g.vpc}
			}
			return nil
		})
		if ok {
			out.NatGateways.Items = append(out.NatGateways.Items, st.xNatGateway(g))
		}
	}
	var perr error
	if out.NatGateways.Items, out.NextToken, perr = paginate(r, out.NatGateways.Items, ""); perr != nil {
		return nil, perr
	}
	return out, nil
}

// natRouteState: a route to a NAT gateway is a blackhole once the gateway
// failed or is deleted (VPC user guide, "Route table concepts": a
// blackhole route's target is unavailable).
func (st *state) natRouteState(id string) string {
	if g := st.natGateway(id); g != nil && (g.state == "pending" || g.state == "available") {
		return "active"
	}
	return "blackhole"
}
