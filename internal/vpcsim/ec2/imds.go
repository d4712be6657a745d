package ec2

import (
	"fmt"
	"strings"

	"github.com/vipd/vipd/internal/vpcsim/imds"
)

// Metadata is what an instance's metadata service reports, read from
// current state for each request (package imds serves it).
func (s *Account) Metadata(id string) (imds.Instance, bool) {
	st := s.lockState()
	defer s.unlockState()
	in := st.instance(id)
	if in == nil {
		return imds.Instance{}, false
	}
	// The metadata options decide whether the service answers at all and
	// whether it needs a session token (API reference,
	// InstanceMetadataOptionsRequest HttpEndpoint, HttpTokens).
	m := st.metadataOptions(in)
	out := imds.Instance{ID: in.id, Type: in.instanceType, Region: st.region, Account: st.account, Launch: in.launch,
		Up: !in.imdsDown && in.state == "running" && m.endpoint == "enabled", V1: m.tokens == "optional", Role: in.role}
	n := in.notices.clone()
	out.Spot, out.Rebalance, out.Maintenance, out.TargetLifecycleState = n.spot, n.rebalance, n.maintenance, n.autoscaling
	if in.role != "" {
		out.ProfileARN = st.profileARN(in.role)
		out.ProfileID = "AIPA" + strings.ToUpper(fmt.Sprintf("%016x", fnv64(in.role)))
		out.RoleUpdated = st.launched
	}
	if p := st.primaryENI(in); p != nil {
		out.AZ, out.AZID, out.MAC, out.PrivateIP, out.Hostname = p.az, azID(p.az), p.mac, p.ip.String(), st.privateDNS(p.ip)
	}
	for _, eid := range in.enis {
		e := st.eni(eid)
		if e == nil {
			continue
		}
		x := imds.Interface{Attached: e.attach != nil && e.attach.status == "attached", MAC: e.mac, ID: e.id,
			Hostname: st.privateDNS(e.ip), Owner: st.account, IPs: []string{e.ip.String()}, Subnet: e.subnet, VPC: e.vpc}
		if e.attach != nil {
			x.Device = e.attach.index
		}
		for _, a := range e.secondary {
			x.IPs = append(x.IPs, a.String())
		}
		for _, a := range e.ipv6 {
			x.IPv6s = append(x.IPv6s, a.String())
		}
		if sn := st.subnet(e.subnet); sn != nil {
			x.SubnetCIDR = sn.cidr.String()
			if sn.ipv6.cidr.IsValid() {
				x.SubnetIPv6CIDR = sn.ipv6.cidr.String()
			}
		}
		if v := st.vpc(e.vpc); v != nil {
			x.VPCCIDR = v.cidr.String()
			for _, b := range v.v4Blocks() {
				x.VPCCIDRs = append(x.VPCCIDRs, b.cidr.String())
			}
			if v.ipv6.cidr.IsValid() {
				x.VPCIPv6CIDR = v.ipv6.cidr.String()
			}
		}
		out.Interfaces = append(out.Interfaces, x)
	}
	return out, true
}
