package ec2

import (
	"net/http"
	"net/netip"
	"slices"
)

// cidrReservation is a subnet CIDR reservation (VPC user guide, "Subnet
// CIDR reservations"): a block of the subnet's IPv4 or IPv6 range set
// aside for prefix delegation (prefix) or for addresses assigned by hand
// (explicit). Either way EC2 does not pick its addresses for a new
// interface.
type cidrReservation struct {
	id, subnet, kind, desc string
	cidr                   netip.Prefix
	tags                   map[string]string
}

func (c *cidrReservation) tagging() (map[string]string, string) {
	return c.tags, "subnet-cidr-reservation"
}

func init() {
	for name, spec := range map[string]actionSpec{
		"CreateSubnetCidrReservation": {run: (*Account).createSubnetCidrReservation, resources: one(paramARN("subnet", "SubnetId"))},
		"GetSubnetCidrReservations":   {run: (*Account).getSubnetCidrReservations},
		"DeleteSubnetCidrReservation": {run: (*Account).deleteSubnetCidrReservation},
	} {
		if _, dup := actions[name]; dup {
			panic("ec2: action " + name + " registered twice")
		}
		actions[name] = spec
	}
}

// cidrReserved reports whether a reservation of subnet s holds a.
func (st *state) cidrReserved(s *subnet, a netip.Addr) bool {
	return slices.ContainsFunc(st.net.reservations, func(c *cidrReservation) bool { return c.subnet == s.id && c.cidr.Contains(a) })
}

type xCidrReservation struct {
	ID          string    `xml:"subnetCidrReservationId"`
	SubnetID    string    `xml:"subnetId"`
	Cidr        string    `xml:"cidr"`
	Type        string    `xml:"reservationType"`
	OwnerID     string    `xml:"ownerId"`
	Description string    `xml:"description,omitempty"`
	Tags        set[xTag] `xml:"tagSet"`
}

func (st *state) xCidrReservation(c *cidrReservation) xCidrReservation {
	return xCidrReservation{ID: c.id, SubnetID: c.subnet, Cidr: c.cidr.String(), Type: c.kind, OwnerID: st.account, Description: c.desc, Tags: tagSet(c.tags)}
}

type createCidrReservationResp struct {
	ec2Resp
	Reservation xCidrReservation `xml:"subnetCidrReservation"`
}

// createSubnetCidrReservation reserves a block of the subnet's IPv4 or
// IPv6 range (API reference, CreateSubnetCidrReservation: ReservationType
// prefix | explicit); a block outside the subnet or overlapping another
// reservation is InvalidParameterValue.
func (s *Account) createSubnetCidrReservation(r *request) (any, error) {
	sid, err := r.required("SubnetId", "subnetId")
	if err != nil {
		return nil, err
	}
	kind, err := r.required("ReservationType", "reservationType")
	if err != nil {
		return nil, err
	}
	if kind != "prefix" && kind != "explicit" {
		return nil, invalidParam("Value (%s) for parameter reservationType is invalid. Valid values: prefix, explicit", kind)
	}
	v, err := r.required("Cidr", "cidr")
	if err != nil {
		return nil, err
	}
	p, perr := netip.ParsePrefix(v)
	if perr != nil || p != p.Masked() {
		return nil, invalidParam("Value (%s) for parameter cidr is invalid. This is not a valid CIDR block.", v)
	}
	out := &createCidrReservationResp{}
	err = s.mutateIn(r, func(st *state) error {
		sn := st.subnet(sid)
		if sn == nil {
			return notFound("InvalidSubnetID.NotFound", "subnet", sid)
		}
		block := sn.cidr
		if p.Addr().Is6() {
			block = sn.ipv6.cidr
		}
		if !block.IsValid() || !block.Contains(p.Addr()) || p.Bits() < block.Bits() {
			return invalidParam("Reservation CIDR should be within subnet CIDR block (%s)", block)
		}
		if slices.ContainsFunc(st.net.reservations, func(c *cidrReservation) bool { return c.subnet == sn.id && c.cidr.Overlaps(p) }) {
			return invalidParam("Reservation CIDR %s has overlap with existing reserved CIDR block", p)
		}
		c := &cidrReservation{id: s.ids.next("scr"), subnet: sn.id, kind: kind, desc: r.get("Description"), cidr: p, tags: tagSpecs(r, "subnet-cidr-reservation")}
		st.net.reservations = append(st.net.reservations, c)
		st.add(c.id, c)
		out.Reservation = st.xCidrReservation(c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

type getCidrReservationsResp struct {
	ec2Resp
	IPv4      set[xCidrReservation] `xml:"subnetIpv4CidrReservationSet"`
	IPv6      set[xCidrReservation] `xml:"subnetIpv6CidrReservationSet"`
	NextToken string                `xml:"nextToken,omitempty"`
}

func (s *Account) getSubnetCidrReservations(r *request) (any, error) {
	sid, err := r.required("SubnetId", "subnetId")
	if err != nil {
		return nil, err
	}
	fs, err := r.filters("reservationType", "subnet-id", "owner-id")
	if err != nil {
		return nil, err
	}
	st := s.lockIn(r)
	defer s.unlockState()
	if st.subnet(sid) == nil {
		return nil, notFound("InvalidSubnetID.NotFound", "subnet", sid)
	}
	out := &getCidrReservationsResp{IPv4: set[xCidrReservation]{Items: []xCidrReservation{}}, IPv6: set[xCidrReservation]{Items: []xCidrReservation{}}}
	for _, c := range st.net.reservations {
		if c.subnet != sid {
			continue
		}
		ok := match(fs, c.tags, func(name string) []string {
			switch name {
			case "reservationType":
				return []string{c.kind}
			case "subnet-id":
				return []string{c.subnet}
			case "owner-id":
				return []string{st.account}
			}
			return nil
		})
		if !ok {
			continue
		}
		if c.cidr.Addr().Is6() {
			out.IPv6.Items = append(out.IPv6.Items, st.xCidrReservation(c))
		} else {
			out.IPv4.Items = append(out.IPv4.Items, st.xCidrReservation(c))
		}
	}
	return out, nil
}

type deleteCidrReservationResp struct {
	ec2Resp
	Deleted xCidrReservation `xml:"deletedSubnetCidrReservation"`
}

func (s *Account) deleteSubnetCidrReservation(r *request) (any, error) {
	id, err := r.required("SubnetCidrReservationId", "subnetCidrReservationId")
	if err != nil {
		return nil, err
	}
	out := &deleteCidrReservationResp{}
	err = s.mutateIn(r, func(st *state) error {
		c, _ := st.byID[id].(*cidrReservation)
		if c == nil {
			return errorf(http.StatusBadRequest, "InvalidSubnetCidrReservationID.NotFound", "The subnet-cidr-reservation ID '%s' does not exist", id)
		}
		st.net.reservations = slices.DeleteFunc(st.net.reservations, func(x *cidrReservation) bool { return x == c })
		delete(st.byID, id)
		out.Deleted = st.xCidrReservation(c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
