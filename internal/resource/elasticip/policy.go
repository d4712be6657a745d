package elasticip

import (
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/iampolicy"
)

// policy adds what an elastic-ip needs: associating (and, unless
// keep-on-release, disassociating) the allocation with the owner's
// interfaces and instances.
func policy(b *iampolicy.Builder, r config.Resource) {
	e, o := r.ElasticIP, b.Options()
	b.Describe("ec2:DescribeAddresses")
	if e.DeviceIndex != 0 {
		b.Describe("ec2:DescribeNetworkInterfaces")
	}
	actions := []string{"ec2:AssociateAddress"}
	if !e.KeepOnRelease {
		actions = append(actions, "ec2:DisassociateAddress")
	}
	others := append([]string{o.ARN("network-interface", "*")}, o.InstanceARNs()...)
	if e.Tags != nil {
		// Any address that carries the tags (the ec2:ResourceTag
		// condition, in a statement of its own since a condition applies
		// to every resource of its statement).
		b.Allow(b.Tagged("VipdElasticIP", e.Tags), actions, o.ARN("elastic-ip", "*"))
		b.Allow("VipdElasticIP", actions, others...)
		return
	}
	b.Allow("VipdElasticIP", actions, append([]string{o.ARN("elastic-ip", e.AllocationID)}, others...)...)
}
