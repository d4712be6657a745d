package secondaryip

import (
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/iampolicy"
)

// policy adds what a secondary-ip needs: assigning (and, unless
// keep-on-release, unassigning) addresses on any interface, because the
// addresses move between the nodes' interfaces, whose ids the
// configuration does not name.
func policy(b *iampolicy.Builder, r config.Resource) {
	b.Describe("ec2:DescribeNetworkInterfaces")
	actions := []string{"ec2:AssignPrivateIpAddresses"}
	if !r.SecondaryIP.KeepOnRelease {
		actions = append(actions, "ec2:UnassignPrivateIpAddresses")
	}
	b.Allow("VipdSecondaryIP", actions, b.Options().ARN("network-interface", "*"))
}
