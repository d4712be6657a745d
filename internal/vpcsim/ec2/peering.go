package ec2

import (
	"net/http"
	"time"
)

// peering is a VPC peering connection between two VPCs of the account and
// region (vpcsim models no other). Its lifecycle is the VPC Peering
// guide's ("VPC peering connection lifecycle"): pending-acceptance until
// the accepter accepts (active) or rejects (rejected) it; failed at once
// when the VPCs' IPv4 blocks overlap ("You cannot create a VPC peering
// connection between VPCs that have matching or overlapping IPv4 or IPv6
// CIDR blocks", "VPC peering limitations"); deleted by either side.
type peering struct {
	id                  string
	requester, accepter string // VPC IDs
	status, message     string
	expires             time.Time
	tags                map[string]string
}

func (p *peering) tagging() (map[string]string, string) { return p.tags, "vpc-peering-connection" }

type xPeeringVpcInfo struct {
	CidrBlock    string          `xml:"cidrBlock,omitempty"`
	CidrBlockSet set[xCidrBlock] `xml:"cidrBlockSet"`
	OwnerID      string          `xml:"ownerId"`
	VpcID        string          `xml:"vpcId"`
	Region       string          `xml:"region"`
}

type xCidrBlock struct {
	CidrBlock string `xml:"cidrBlock"`
}

type xPeeringStatus struct {
	Code    string `xml:"code"`
	Message string `xml:"message"`
}

type xPeering struct {
	AccepterVpcInfo  xPeeringVpcInfo `xml:"accepterVpcInfo"`
	RequesterVpcInfo xPeeringVpcInfo `xml:"requesterVpcInfo"`
	ExpirationTime   string          `xml:"expirationTime,omitempty"`
	Status           xPeeringStatus  `xml:"status"`
	Tags             set[xTag]       `xml:"tagSet"`
	ID               string          `xml:"vpcPeeringConnectionId"`
}

// vpcInfo describes one side; the accepter's blocks show once active, as
// the requester's always do.
func (st *state) peeringVpcInfo(id string, blocks bool) xPeeringVpcInfo {
	x := xPeeringVpcInfo{OwnerID: st.account, VpcID: id, Region: st.region, CidrBlockSet: set[xCidrBlock]{Items: []xCidrBlock{}}}
	v := st.vpc(id)
	if v == nil || !blocks {
		return x
	}
	x.CidrBlock = v.cidr.String()
	for _, b := range v.v4Blocks() {
		x.CidrBlockSet.Items = append(x.CidrBlockSet.Items, xCidrBlock{b.cidr.String()})
	}
	return x
}

func (st *state) xPeering(p *peering) xPeering {
	x := xPeering{ID: p.id, Status: xPeeringStatus{p.status, p.message}, Tags: tagSet(p.tags),
		RequesterVpcInfo: st.peeringVpcInfo(p.requester, true), AccepterVpcInfo: st.peeringVpcInfo(p.accepter, p.status == "active")}
	if p.status == "pending-acceptance" {
		x.ExpirationTime = p.expires.UTC().Format(time.RFC3339)
	}
	return x
}

type peeringResp struct {
	ec2Resp
	Peering xPeering `xml:"vpcPeeringConnection"`
}

// pendingPeeringLife: "The VPC peering connection request expires after 7
// days" (VPC Peering guide, "Create a VPC peering connection").
const pendingPeeringLife = 7 * 24 * time.Hour

func (s *Account) createVpcPeeringConnection(r *request) (any, error) {
	if o := r.get("PeerOwnerId"); o != "" && o != s.AccountID() {
		return nil, invalidParam("vpcsim models peering connections within one account and region only (PeerOwnerId %s)", o)
	}
	out := &peeringResp{}
	err := s.mutateIn(r, func(st *state) error {
		if reg := r.get("PeerRegion"); reg != "" && reg != st.region {
			return invalidParam("vpcsim models peering connections within one account and region only (PeerRegion %s)", reg)
		}
		v, err := st.lookupVpc(r)
		if err != nil {
			return err
		}
		pid, err := r.required("PeerVpcId", "peerVpcId")
		if err != nil {
			return err
		}
		peer := st.vpc(pid)
		if peer == nil {
			return notFound("InvalidVpcID.NotFound", "vpc", pid)
		}
		if peer.id == v.id {
			return invalidParam("A VPC cannot be peered with itself (%s)", v.id)
		}
		p := &peering{id: s.ids.next("pcx"), requester: v.id, accepter: peer.id, status: "pending-acceptance",
			message: "Pending Acceptance by " + st.account, expires: time.Now().Add(pendingPeeringLife), tags: tagSpecs(r, "vpc-peering-connection")}
		if overlaps(v, peer) {
			p.status, p.message = "failed", "Overlapping CIDR range"
		}
		st.net.peerings = append(st.net.peerings, p)
		st.add(p.id, p)
		out.Peering = st.xPeering(p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// overlaps reports whether two VPCs have overlapping IPv4 blocks.
func overlaps(a, b *vpc) bool {
	for _, x := range a.v4Blocks() {
		for _, y := range b.v4Blocks() {
			if x.cidr.Overlaps(y.cidr) {
				return true
			}
		}
	}
	return false
}

func (st *state) lookupPeering(r *request) (*peering, error) {
	id, err := r.required("VpcPeeringConnectionId", "vpcPeeringConnectionId")
	if err != nil {
		return nil, err
	}
	if err := malformed("InvalidVpcPeeringConnectionId.Malformed", "pcx", id); err != nil {
		return nil, err
	}
	p := st.peering(id)
	if p == nil || p.status == "deleted" {
		return nil, notFound("InvalidVpcPeeringConnectionID.NotFound", "vpcPeeringConnection", id)
	}
	return p, nil
}

// settlePeering moves a connection from pending-acceptance to code,
// refusing any other state (InvalidStateTransition, EC2 error codes).
func (s *Account) settlePeering(r *request, code, message string, resp bool) (any, error) {
	out := &peeringResp{}
	err := s.mutateIn(r, func(st *state) error {
		p, err := st.lookupPeering(r)
		if err != nil {
			return err
		}
		if p.status != "pending-acceptance" {
			return errorf(http.StatusBadRequest, "InvalidStateTransition", "Invalid state transition for pcx %s, attempted to transition from %s to %s", p.id, p.status, code)
		}
		p.status, p.message = code, message+st.account
		out.Peering = st.xPeering(p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !resp {
		return &returnResp{Return: true}, nil
	}
	return out, nil
}

func (s *Account) acceptVpcPeeringConnection(r *request) (any, error) {
	out, err := s.settlePeering(r, "active", "", true)
	if p, ok := out.(*peeringResp); ok {
		p.Peering.Status.Message = "Active"
	}
	return out, err
}

func (s *Account) rejectVpcPeeringConnection(r *request) (any, error) {
	return s.settlePeering(r, "rejected", "Rejected by ", false)
}

// deleteVpcPeeringConnection deletes an active or pending connection;
// routes to it become blackholes.
func (s *Account) deleteVpcPeeringConnection(r *request) (any, error) {
	err := s.mutateIn(r, func(st *state) error {
		p, err := st.lookupPeering(r)
		if err != nil {
			return err
		}
		if p.status != "active" && p.status != "pending-acceptance" {
			return errorf(http.StatusBadRequest, "InvalidStateTransition", "Invalid state transition for pcx %s, attempted to transition from %s to deleted", p.id, p.status)
		}
		p.status, p.message = "deleted", "Deleted by "+st.account
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &returnResp{Return: true}, nil
}

type describePeeringsResp struct {
	ec2Resp
	Peerings  set[xPeering] `xml:"vpcPeeringConnectionSet"`
	NextToken string        `xml:"nextToken,omitempty"`
}

func (s *Account) describeVpcPeeringConnections(r *request) (any, error) {
	ids := r.list("VpcPeeringConnectionId")
	fs, err := r.filters("vpc-peering-connection-id", "status-code", "status-message", "expiration-time",
		"accepter-vpc-info.vpc-id", "accepter-vpc-info.owner-id", "accepter-vpc-info.cidr-block",
		"requester-vpc-info.vpc-id", "requester-vpc-info.owner-id", "requester-vpc-info.cidr-block")
	if err != nil {
		return nil, err
	}
	st := s.lockIn(r)
	defer s.unlockState()
	for _, id := range ids {
		if st.peering(id) == nil {
			return nil, notFound("InvalidVpcPeeringConnectionID.NotFound", "vpcPeeringConnection", id)
		}
	}
	out := &describePeeringsResp{Peerings: set[xPeering]{Items: []xPeering{}}}
	for _, p := range st.net.peerings {
		if !named(ids, p.id) {
			continue
		}
		x := st.xPeering(p)
		ok := match(fs, p.tags, func(name string) []string {
			switch name {
			case "vpc-peering-connection-id":
				return []string{p.id}
			case "status-code":
				return []string{p.status}
			case "status-message":
				return []string{x.Status.Message}
			case "expiration-time":
				return []string{x.ExpirationTime}
			case "accepter-vpc-info.vpc-id":
				return []string{p.accepter}
			case "requester-vpc-info.vpc-id":
				return []string{p.requester}
			case "accepter-vpc-info.owner-id", "requester-vpc-info.owner-id":
				return []string{st.account}
			case "accepter-vpc-info.cidr-block":
				return []string{x.AccepterVpcInfo.CidrBlock}
			case "requester-vpc-info.cidr-block":
				return []string{x.RequesterVpcInfo.CidrBlock}
			}
			return nil
		})
		if ok {
			out.Peerings.Items = append(out.Peerings.Items, x)
		}
	}
	var perr error
	if out.Peerings.Items, out.NextToken, perr = paginate(r, out.Peerings.Items, ""); perr != nil {
		return nil, perr
	}
	return out, nil
}

// peeringRouteState: "You can add a route for a VPC peering connection
// that's in the pending-acceptance state. However, the route has a state
// of blackhole, and has no effect until the VPC peering connection is in
// the active state" (VPC Peering guide, "Update your route tables for a
// VPC peering connection"); so is a route to a deleted one.
func (st *state) peeringRouteState(id string) string {
	if p := st.peering(id); p != nil && p.status == "active" {
		return "active"
	}
	return "blackhole"
}
