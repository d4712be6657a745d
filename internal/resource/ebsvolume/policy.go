package ebsvolume

import (
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/iampolicy"
)

// policy adds what an ebs-volume needs: attaching and detaching the volume
// on the nodes' instances. A volume selected by tags is any volume that
// carries them (the ec2:ResourceTag condition, in a statement of its own
// since a condition applies to every resource of its statement).
func policy(b *iampolicy.Builder, r config.Resource) {
	o := b.Options()
	actions := []string{"ec2:AttachVolume", "ec2:DetachVolume"}
	b.Describe("ec2:DescribeVolumes", "ec2:DescribeInstances")
	if r.EBSVolume.Tags != nil {
		b.Allow(b.Tagged("VipdEBSVolume", r.EBSVolume.Tags), actions, o.ARN("volume", "*"))
		b.Allow("VipdEBSVolume", actions, o.InstanceARNs()...)
		return
	}
	b.Allow("VipdEBSVolume", actions, append([]string{o.ARN("volume", r.EBSVolume.VolumeID)}, o.InstanceARNs()...)...)
}
