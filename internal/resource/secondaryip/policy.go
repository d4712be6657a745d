package secondaryip

import (
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/iampolicy"
)

// policy adds what a secondary-ip needs: assigning (and, unless
// keep-on-release, unassigning) IPv4 addresses, assigning and unassigning
// IPv6 ones, on any interface, because the
// addresses move between the nodes' interfaces, whose ids the
// configuration does not name.
func policy(b *iampolicy.Builder, r config.Resource) {
	b.Describe("ec2:DescribeNetworkInterfaces")
	var v4, v6 bool
	for _, a := range r.SecondaryIP.Addrs() {
		v4, v6 = v4 || a.Is4(), v6 || a.Is6()
	}
	var actions []string
	if v4 {
		actions = append(actions, "ec2:AssignPrivateIpAddresses")
		if !r.SecondaryIP.KeepOnRelease {
			actions = append(actions, "ec2:UnassignPrivateIpAddresses")
		}
	}
	if v6 {
		// Unassign even with keep-on-release: an IPv6 address is taken
		// from its previous holder before it is assigned (no
		// AllowReassignment for IPv6).
		actions = append(actions, "ec2:AssignIpv6Addresses", "ec2:UnassignIpv6Addresses")
	}
	b.Allow("VipdSecondaryIP", actions, b.Options().ARN("network-interface", "*"))
}
