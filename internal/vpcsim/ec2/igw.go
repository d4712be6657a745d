package ec2

import (
	"net/http"
	"slices"
)

type xIGWAttachment struct {
	VpcID string `xml:"vpcId"`
	State string `xml:"state"`
}

type xIGW struct {
	InternetGatewayID string              `xml:"internetGatewayId"`
	OwnerID           string              `xml:"ownerId"`
	Attachments       set[xIGWAttachment] `xml:"attachmentSet"`
	Tags              set[xTag]           `xml:"tagSet"`
}

func (st *state) xIGW(g *igw) xIGW {
	x := xIGW{InternetGatewayID: g.id, OwnerID: st.account, Attachments: set[xIGWAttachment]{Items: []xIGWAttachment{}}, Tags: tagSet(g.tags)}
	if g.vpc != "" {
		// AWS reports an attached internet gateway's state as "available".
		x.Attachments.Items = append(x.Attachments.Items, xIGWAttachment{VpcID: g.vpc, State: "available"})
	}
	return x
}

type createIGWResp struct {
	ec2Resp
	InternetGateway xIGW `xml:"internetGateway"`
}

func (s *Account) createInternetGateway(r *request) (any, error) {
	out := &createIGWResp{}
	err := s.mutateIn(r, func(st *state) error {
		g := &igw{id: s.ids.next("igw"), tags: tagSpecs(r, "internet-gateway")}
		st.igws = append(st.igws, g)
		st.byID[g.id] = g
		out.InternetGateway = st.xIGW(g)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (st *state) lookupIGW(r *request) (*igw, error) {
	return lookupParam(r, "InternetGatewayId", "internetGatewayId", igwIDs, st.igw)
}

// attachInternetGateway attaches a gateway to a VPC; a VPC has at most one
// (Resource.AlreadyAssociated) and a gateway one VPC.
func (s *Account) attachInternetGateway(r *request) (any, error) {
	err := s.mutateIn(r, func(st *state) error {
		g, err := st.lookupIGW(r)
		if err != nil {
			return err
		}
		v, err := st.lookupVpc(r)
		if err != nil {
			return err
		}
		if g.vpc != "" {
			return errorf(http.StatusBadRequest, "Resource.AlreadyAssociated", "resource %s is already attached to network %s", g.id, g.vpc)
		}
		if slices.ContainsFunc(st.igws, func(o *igw) bool { return o.vpc == v.id }) {
			return errorf(http.StatusBadRequest, "Resource.AlreadyAssociated", "resource %s is already attached to network %s", v.id, v.id)
		}
		g.vpc = v.id
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &returnResp{Return: true}, nil
}

func (s *Account) detachInternetGateway(r *request) (any, error) {
	err := s.mutateIn(r, func(st *state) error {
		g, err := st.lookupIGW(r)
		if err != nil {
			return err
		}
		v, err := st.lookupVpc(r)
		if err != nil {
			return err
		}
		if g.vpc != v.id {
			return errorf(http.StatusBadRequest, "Gateway.NotAttached", "resource %s is not attached to network %s", g.id, v.id)
		}
		g.vpc = ""
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &returnResp{Return: true}, nil
}

func (s *Account) deleteInternetGateway(r *request) (any, error) {
	err := s.mutateIn(r, func(st *state) error {
		g, err := st.lookupIGW(r)
		if err != nil {
			return err
		}
		if g.vpc != "" {
			return errorf(http.StatusBadRequest, "DependencyViolation", "The internetGateway '%s' has dependencies and cannot be deleted.", g.id)
		}
		st.igws = slices.DeleteFunc(st.igws, func(x *igw) bool { return x == g })
		delete(st.byID, g.id)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &returnResp{Return: true}, nil
}

type describeIGWsResp struct {
	ec2Resp
	InternetGateways set[xIGW] `xml:"internetGatewaySet"`
	NextToken        string    `xml:"nextToken,omitempty"`
}

func (s *Account) describeInternetGateways(r *request) (any, error) {
	ids := r.list("InternetGatewayId")
	fs, err := r.filters("internet-gateway-id", "attachment.vpc-id", "attachment.state", "owner-id")
	if err != nil {
		return nil, err
	}
	st := s.lockIn(r)
	defer s.unlockState()
	for _, id := range ids {
		if st.igw(id) == nil {
			return nil, notFound("InvalidInternetGatewayID.NotFound", "internetGateway", id)
		}
	}
	out := &describeIGWsResp{InternetGateways: set[xIGW]{Items: []xIGW{}}}
	for _, g := range st.igws {
		if !named(ids, g.id) {
			continue
		}
		x := st.xIGW(g)
		ok := match(fs, g.tags, func(name string) []string {
			switch name {
			case "internet-gateway-id":
				return []string{x.InternetGatewayID}
			case "owner-id":
				return []string{x.OwnerID}
			case "attachment.vpc-id":
				if g.vpc != "" {
					return []string{g.vpc}
				}
			case "attachment.state":
				if g.vpc != "" {
					return []string{"available"}
				}
			}
			return nil
		})
		if ok {
			out.InternetGateways.Items = append(out.InternetGateways.Items, x)
		}
	}
	var perr error
	if out.InternetGateways.Items, out.NextToken, perr = paginate(r, out.InternetGateways.Items, ""); perr != nil {
		return nil, perr
	}
	return out, nil
}

type describeENIAttributeResp struct {
	ec2Resp
	NetworkInterfaceID string       `xml:"networkInterfaceId"`
	SourceDestCheck    *xBoolValue  `xml:"sourceDestCheck,omitempty"`
	Description        *xValue      `xml:"description,omitempty"`
	Attachment         *xAttachment `xml:"attachment,omitempty"`
	Groups             *set[xGroup] `xml:"groupSet,omitempty"`
}

// describeNetworkInterfaceAttribute answers one attribute (the IAM policy
// of the usual ENI-move failover script grants it): sourceDestCheck,
// description, attachment or groupSet.
func (s *Account) describeNetworkInterfaceAttribute(r *request) (any, error) {
	attr, err := r.required("Attribute", "attribute")
	if err != nil {
		return nil, err
	}
	st := s.lockIn(r)
	defer s.unlockState()
	e, err := st.lookupENI(r)
	if err != nil {
		return nil, err
	}
	out := &describeENIAttributeResp{NetworkInterfaceID: e.id}
	switch attr {
	case "sourceDestCheck":
		out.SourceDestCheck = &xBoolValue{e.sdc}
	case "description":
		out.Description = &xValue{e.description}
	case "attachment":
		if e.attach != nil {
			a := st.xAttachment(e, true)
			out.Attachment = &a
		}
	case "groupSet":
		g := st.xGroups(e.groups)
		out.Groups = &g
	default:
		return nil, invalidParam("Value (%s) for parameter attribute is invalid. Unknown attribute.", attr)
	}
	return out, nil
}
