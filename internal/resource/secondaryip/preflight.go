package secondaryip

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/vipd/vipd/internal/preflight/probe"
)

// preflight checks that the addresses lie in this instance's subnet:
// secondary addresses move only within one subnet.
func preflight(_ context.Context, p *probe.Probe, rs []probe.Entry) {
	for _, e := range rs {
		check1(p, e)
	}
}

func check1(p *probe.Probe, e probe.Entry) {
	s, id := e.Config.SecondaryIP, p.Identity
	check := "secondary-ip"
	addrs := s.Addrs()
	if s.DeviceIndex == 0 && id.SubnetCIDR.IsValid() {
		for _, a := range addrs {
			block := id.SubnetCIDR
			if a.Is6() {
				block = id.SubnetIPv6CIDR
			}
			if !block.IsValid() {
				p.Fail(check+" "+a.String(), fmt.Sprintf("is an IPv6 address, but this instance's subnet %s has no IPv6 CIDR block", id.SubnetID),
					"associate an IPv6 block with the VPC and a /64 of it with the subnet (aws ec2 associate-vpc-cidr-block --amazon-provided-ipv6-cidr-block, associate-subnet-cidr-block), or use an IPv4 address ("+e.Where+")")
				return
			}
			if !block.Contains(a) {
				p.Fail(check+" "+a.String(), fmt.Sprintf("is outside this instance's subnet %s (%s)", block, id.SubnetID),
					"secondary addresses move only within one subnet: put both nodes in one subnet, or use overlay-route ("+e.Where+")")
				return
			}
		}
	}
	if len(addrs) == 0 || s.DeviceIndex != 0 {
		// The interface at another index is found at acquire time.
		return
	}
	ips := make([]string, len(addrs))
	for i, a := range addrs {
		ips[i] = a.String()
	}
	p.Add(probe.Result{Check: check, Status: probe.Pass, Detail: fmt.Sprintf("%v in this instance's subnet %s", ips, id.SubnetCIDR)})
	// EC2 has no DryRun for these: proving them would move the address.
	var acts []string
	for _, a := range addrs {
		if a.Is4() && !slices.Contains(acts, "ec2:AssignPrivateIpAddresses") {
			acts = append(acts, "ec2:AssignPrivateIpAddresses")
			if !s.KeepOnRelease {
				acts = append(acts, "ec2:UnassignPrivateIpAddresses")
			}
		}
		if a.Is6() && !slices.Contains(acts, "ec2:AssignIpv6Addresses") {
			acts = append(acts, "ec2:AssignIpv6Addresses", "ec2:UnassignIpv6Addresses")
		}
	}
	actions := strings.Join(acts, " and ")
	p.Add(probe.Result{Check: "permission " + actions + " " + id.ENIID, Status: probe.Skip,
		Detail: "not provable: EC2 offers no DryRun for them; the policy from `vipd iam-policy` allows them"})
}
