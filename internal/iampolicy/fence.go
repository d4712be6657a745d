package iampolicy

import "github.com/vipd/vipd/internal/config"

// fence adds what STONITH needs (fence.stop-instance, internal/stonith):
// StopInstances on the nodes' instances, the only ones a previous owner
// can be (scoped to the --instance ARNs when given), and DescribeInstances
// to wait for stopped. Nothing without the fence.
func (b *Builder) fence(cfg *config.Config) {
	if !cfg.Fence.StopInstance {
		return
	}
	b.Describe("ec2:DescribeInstances")
	b.Allow("VipdFence", []string{"ec2:StopInstances"}, b.o.InstanceARNs()...)
}
