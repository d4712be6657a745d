package ec2

import (
	"fmt"
	"net/http"
	"net/netip"
	"slices"
)

// This file models a VPC's secondary IPv4 CIDR blocks
// (AssociateVpcCidrBlock with CidrBlock, DisassociateVpcCidrBlock) and its
// instance tenancy (ModifyVpcTenancy). A secondary block works as the
// primary does: subnets may lie in it, and every route table of the VPC
// gets a local route for it ("When you associate a CIDR block with your
// VPC, a route is automatically added to your VPC route tables to enable
// routing within the VPC", VPC user guide, "Add or remove a CIDR block
// from your VPC"). Not modelled: AWS's restrictions on mixing RFC 1918
// ranges with the primary block, IPAM pools.

// maxVpcV4Blocks is EC2's default quota "IPv4 CIDR blocks per VPC" (5),
// which counts the primary block (Amazon VPC quotas).
const maxVpcV4Blocks = 5

// primaryAssoc is the association ID of the VPC's primary IPv4 block.
func (v *vpc) primaryAssoc() string { return "vpc-cidr-assoc-" + v.id[4:] }

// v4Blocks are the VPC's IPv4 blocks, the primary first.
func (v *vpc) v4Blocks() []v4Block {
	return append([]v4Block{{assoc: v.primaryAssoc(), cidr: v.cidr}}, v.secondary...)
}

// blockOf returns the IPv4 block of v that holds all of p.
func (v *vpc) blockOf(p netip.Prefix) (netip.Prefix, bool) {
	for _, b := range v.v4Blocks() {
		if b.cidr.Contains(p.Addr()) && p.Bits() >= b.cidr.Bits() {
			return b.cidr, true
		}
	}
	return netip.Prefix{}, false
}

func (v *vpc) instanceTenancy() string {
	if v.tenancy == "" {
		return "default"
	}
	return v.tenancy
}

type xCidrState struct {
	State string `xml:"state"`
}

type vpcV4AssocResp struct {
	ec2Resp
	Assoc xCidrAssoc `xml:"cidrBlockAssociation"`
	VpcID string     `xml:"vpcId"`
}

// associateVpcIPv4 adds a secondary IPv4 block to a VPC: a /16 to /28
// (as CreateVpc) that overlaps none of its blocks, up to maxVpcV4Blocks
// ("This network vpc-… has met its maximum number of allowed CIDRs: 5",
// EC2's answer that moto's aws_verified test_associate_vpc_ipv4_cidr_block
// records; EC2 counts before it checks the block, so a sixth block is
// refused even when malformed). As for IPv6, the answer says associating
// and DescribeVpcs already shows the block associated.
func (s *Account) associateVpcIPv4(r *request, c string) (any, error) {
	out := &vpcV4AssocResp{}
	err := s.mutateIn(r, func(st *state) error {
		v, err := st.lookupVpc(r)
		if err != nil {
			return err
		}
		if len(v.v4Blocks()) >= maxVpcV4Blocks {
			return errorf(http.StatusBadRequest, "CidrLimitExceeded", "This network %s has met its maximum number of allowed CIDRs: %d", v.id, maxVpcV4Blocks)
		}
		p, err := parseBlock(c, "cidrBlock")
		if err != nil {
			return err
		}
		if p.Bits() < 16 || p.Bits() > 28 {
			return errorf(http.StatusBadRequest, "InvalidVpc.Range", "The CIDR '%s' is invalid.", c)
		}
		for _, b := range v.v4Blocks() {
			if b.cidr.Overlaps(p) {
				return errorf(http.StatusBadRequest, "InvalidVpc.Range", "The CIDR '%s' conflicts with the CIDR block %s of %s.", c, b.cidr, v.id)
			}
		}
		b := v4Block{assoc: s.ids.next("vpc-cidr-assoc"), cidr: p}
		v.secondary = append(v.secondary, b)
		for _, t := range st.tables {
			if t.vpc == v.id && t.find(routeDest{cidr: p}) < 0 {
				t.routes = append(t.routes, &route{dst: p, local: true, origin: "CreateRouteTable"})
			}
		}
		out.Assoc = xCidrAssoc{AssociationID: b.assoc, CidrBlock: p.String(), State: xAssocState{"associating"}}
		out.VpcID = v.id
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// vpcOfV4Assoc finds the VPC and index (0 the primary) of an IPv4 block
// association.
func (st *state) vpcOfV4Assoc(id string) (*vpc, int) {
	for _, v := range st.vpcs {
		for i, b := range v.v4Blocks() {
			if b.assoc == id {
				return v, i
			}
		}
	}
	return nil, -1
}

// disassociateVpcIPv4 removes a secondary IPv4 block and its local
// routes. The primary block cannot be removed (OperationNotPermitted), nor
// a block that holds a subnet (InvalidCidrBlock.InUse: "You cannot
// disassociate a CIDR block if it contains subnets", as the IPv6 block).
func (s *Account) disassociateVpcIPv4(st *state, v *vpc, i int, out *vpcCidrAssocResp) error {
	b := v.v4Blocks()[i]
	if i == 0 {
		return errorf(http.StatusBadRequest, "OperationNotPermitted",
			"The vpc CIDR block with association ID %s may not be disassociated. It is the primary IPv4 CIDR block of the VPC", b.assoc)
	}
	for _, sn := range st.subnets {
		if sn.vpc == v.id && b.cidr.Contains(sn.cidr.Addr()) {
			return errorf(http.StatusBadRequest, "InvalidCidrBlock.InUse",
				"The vpc CIDR block %s is in use by subnet %s; delete the subnet first.", b.cidr, sn.id)
		}
	}
	for _, t := range st.tables {
		if t.vpc == v.id {
			t.routes = slices.DeleteFunc(t.routes, func(x *route) bool { return x.local && x.dst == b.cidr })
		}
	}
	v.secondary = slices.Delete(v.secondary, i-1, i)
	out.V4 = &xCidrAssoc{AssociationID: b.assoc, CidrBlock: b.cidr.String(), State: xAssocState{"disassociating"}}
	out.VpcID = v.id
	return nil
}

// modifyVpcTenancy changes a VPC's instance tenancy to default, the only
// value it takes ("You can change the instance tenancy attribute of a VPC
// to default only. You cannot change the instance tenancy attribute to
// dedicated", API reference, ModifyVpcTenancy); any other value is
// UnsupportedTenancy, a code of EC2's error list.
func (s *Account) modifyVpcTenancy(r *request) (any, error) {
	t, err := r.required("InstanceTenancy", "instanceTenancy")
	if err != nil {
		return nil, err
	}
	if t != "default" {
		return nil, errorf(http.StatusBadRequest, "UnsupportedTenancy", "The tenancy value %s is not supported.", t)
	}
	err = s.mutateIn(r, func(st *state) error {
		v, err := st.lookupVpc(r)
		if err != nil {
			return err
		}
		v.tenancy = t
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &returnResp{Return: true}, nil
}

// vpcSecondary gives a world's VPC its secondary IPv4 blocks, checked as
// AssociateVpcCidrBlock checks them.
func (b *builder) vpcSecondary(path string, v *vpc, cidrs []string) {
	for i, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil || p != p.Masked() || !p.Addr().Is4() || p.Bits() < 16 || p.Bits() > 28 {
			b.errf(fmt.Sprintf("%s[%d]", path, i), "cidr %q is not an IPv4 block between /16 and /28", c)
			continue
		}
		if len(v.v4Blocks()) >= maxVpcV4Blocks {
			b.errf(fmt.Sprintf("%s[%d]", path, i), "a vpc has at most %d IPv4 blocks", maxVpcV4Blocks)
			return
		}
		if slices.ContainsFunc(v.v4Blocks(), func(x v4Block) bool { return x.cidr.Overlaps(p) }) {
			b.errf(fmt.Sprintf("%s[%d]", path, i), "cidr %s overlaps another block of the vpc", p)
			continue
		}
		v.secondary = append(v.secondary, v4Block{assoc: b.ids.next("vpc-cidr-assoc"), cidr: p})
	}
}
