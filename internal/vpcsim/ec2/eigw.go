package ec2

import (
	"net/http"
	"slices"
)

// eigw is an egress-only internet gateway: attached to one VPC from its
// creation until deleted, a route target for IPv6 traffic only ("An
// egress-only internet gateway is for use with IPv6 traffic only", VPC
// user guide, "Enable outbound IPv6 traffic using an egress-only internet
// gateway").
type eigw struct {
	id, vpc string
	tags    map[string]string
}

func (g *eigw) tagging() (map[string]string, string) { return g.tags, "egress-only-internet-gateway" }

type xEIGW struct {
	ID          string              `xml:"egressOnlyInternetGatewayId"`
	Attachments set[xIGWAttachment] `xml:"attachmentSet"`
	Tags        set[xTag]           `xml:"tagSet"`
}

func xEgressOnly(g *eigw) xEIGW {
	return xEIGW{ID: g.id, Attachments: itemsOf(xIGWAttachment{VpcID: g.vpc, State: "attached"}), Tags: tagSet(g.tags)}
}

type createEIGWResp struct {
	ec2Resp
	ClientToken string `xml:"clientToken,omitempty"`
	Gateway     xEIGW  `xml:"egressOnlyInternetGateway"`
}

func (s *Account) createEgressOnlyInternetGateway(r *request) (any, error) {
	out := &createEIGWResp{ClientToken: r.get("ClientToken")}
	err := s.mutateIn(r, func(st *state) error {
		v, err := st.lookupVpc(r)
		if err != nil {
			return err
		}
		g := &eigw{id: s.ids.next("eigw"), vpc: v.id, tags: tagSpecs(r, "egress-only-internet-gateway")}
		st.net.eigws = append(st.net.eigws, g)
		st.add(g.id, g)
		out.Gateway = xEgressOnly(g)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func eigwNotFound(id string) error {
	return errorf(http.StatusBadRequest, "InvalidGatewayID.NotFound", "The eigw ID '%s' does not exist", id)
}

type deleteEIGWResp struct {
	ec2Resp
	Return bool `xml:"returnCode"`
}

func (s *Account) deleteEgressOnlyInternetGateway(r *request) (any, error) {
	id, err := r.required("EgressOnlyInternetGatewayId", "egressOnlyInternetGatewayId")
	if err != nil {
		return nil, err
	}
	err = s.mutateIn(r, func(st *state) error {
		g := st.eigw(id)
		if g == nil {
			return eigwNotFound(id)
		}
		st.net.eigws = slices.DeleteFunc(st.net.eigws, func(x *eigw) bool { return x == g })
		delete(st.byID, id)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &deleteEIGWResp{Return: true}, nil
}

type describeEIGWsResp struct {
	ec2Resp
	Gateways  set[xEIGW] `xml:"egressOnlyInternetGatewaySet"`
	NextToken string     `xml:"nextToken,omitempty"`
}

// describeEgressOnlyInternetGateways takes only tag filters (API
// reference, DescribeEgressOnlyInternetGateways).
func (s *Account) describeEgressOnlyInternetGateways(r *request) (any, error) {
	ids := r.list("EgressOnlyInternetGatewayId")
	fs, err := r.filters()
	if err != nil {
		return nil, err
	}
	st := s.lockIn(r)
	defer s.unlockState()
	for _, id := range ids {
		if st.eigw(id) == nil {
			return nil, eigwNotFound(id)
		}
	}
	out := &describeEIGWsResp{Gateways: set[xEIGW]{Items: []xEIGW{}}}
	for _, g := range st.net.eigws {
		if named(ids, g.id) && match(fs, g.tags, func(string) []string { return nil }) {
			out.Gateways.Items = append(out.Gateways.Items, xEgressOnly(g))
		}
	}
	var perr error
	if out.Gateways.Items, out.NextToken, perr = paginate(r, out.Gateways.Items, ""); perr != nil {
		return nil, perr
	}
	return out, nil
}
