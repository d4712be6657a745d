package eni

import (
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/iampolicy"
)

// policy adds what an eni needs: attaching and detaching the interface on
// the nodes' instances.
func policy(b *iampolicy.Builder, r config.Resource) {
	o := b.Options()
	b.Describe("ec2:DescribeNetworkInterfaces", "ec2:DescribeInstances")
	b.Allow("VipdENI", []string{"ec2:AttachNetworkInterface", "ec2:DetachNetworkInterface"},
		append([]string{o.ARN("network-interface", r.ENI.ID)}, o.InstanceARNs()...)...)
}
