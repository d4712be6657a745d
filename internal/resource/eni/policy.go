package eni

import (
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/iampolicy"
)

// policy adds what an eni needs: attaching and detaching the interface on
// the nodes' instances (EC2 authorizes both against the interface and the
// instance). An interface found by its private address may be any. An interface selected by tags is any interface
// that carries them (the ec2:ResourceTag condition, in a statement of its
// own since a condition applies to every resource of its statement).
func policy(b *iampolicy.Builder, r config.Resource) {
	o := b.Options()
	actions := []string{"ec2:AttachNetworkInterface", "ec2:DetachNetworkInterface"}
	b.Describe("ec2:DescribeNetworkInterfaces", "ec2:DescribeInstances")
	if r.ENI.Tags != nil {
		b.Allow(b.Tagged("VipdENI", r.ENI.Tags), actions, o.ARN("network-interface", "*"))
		b.Allow("VipdENI", actions, o.InstanceARNs()...)
		return
	}
	id := r.ENI.ID
	if id == "" {
		// Found by its private address: its id is known only once found,
		// so any interface.
		id = "*"
	}
	b.Allow("VipdENI", actions, append([]string{o.ARN("network-interface", id)}, o.InstanceARNs()...)...)
}
