package ebsvolume

import (
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/iampolicy"
)

// policy adds what an ebs-volume needs: attaching and detaching the volume
// on the nodes' instances.
func policy(b *iampolicy.Builder, r config.Resource) {
	o := b.Options()
	b.Describe("ec2:DescribeVolumes", "ec2:DescribeInstances")
	b.Allow("VipdEBSVolume", []string{"ec2:AttachVolume", "ec2:DetachVolume"},
		append([]string{o.ARN("volume", r.EBSVolume.VolumeID)}, o.InstanceARNs()...)...)
}
