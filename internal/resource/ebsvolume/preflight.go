package ebsvolume

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/preflight/probe"
)

// preflight checks that each volume exists in this instance's zone (EBS
// volumes attach only within their zone) and that attaching it here, and
// detaching it from where it is attached now, is allowed.
func preflight(ctx context.Context, p *probe.Probe, rs []probe.Entry) {
	for _, e := range rs {
		check1(ctx, p, e)
	}
}

func check1(ctx context.Context, p *probe.Probe, e probe.Entry) {
	c, id := e.Config.EBSVolume, p.Identity
	check := "ebs-volume " + c.VolumeID
	var vol *types.Volume
	err := p.Call(ctx, func(ctx context.Context) error {
		out, err := p.EC2.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{c.VolumeID}})
		if err == nil && len(out.Volumes) > 0 {
			vol = &out.Volumes[0]
		}
		return err
	})
	switch {
	case awsapi.IsCode(err, "InvalidVolume.NotFound") || (err == nil && vol == nil):
		p.Fail(check, "does not exist in "+id.Region, "correct "+e.Where+".volume-id")
		return
	case err != nil:
		p.DescribeFailed(check, "ec2:DescribeVolumes", err)
		return
	case aws.ToString(vol.AvailabilityZone) != id.AZ:
		p.Fail(check, fmt.Sprintf("is in %s, but this instance is in %s: EBS volumes attach only within their zone", aws.ToString(vol.AvailabilityZone), id.AZ),
			"run the nodes of an ebs-volume resource in the volume's zone")
		return
	}
	state := "not attached"
	if len(vol.Attachments) > 0 {
		state = "attached to " + aws.ToString(vol.Attachments[0].InstanceId)
	}
	p.Add(probe.Result{Check: check, Status: probe.Pass, Detail: "exists in " + id.AZ + ", " + state})
	device := c.Device
	if device == "" {
		device = "/dev/sdf"
	}
	p.DryRun(ctx, "ec2:AttachVolume", "volume", c.VolumeID, func(ctx context.Context) error {
		_, err := p.EC2.AttachVolume(ctx, &ec2.AttachVolumeInput{DryRun: aws.Bool(true),
			VolumeId: aws.String(c.VolumeID), InstanceId: aws.String(id.InstanceID), Device: aws.String(device)})
		return err
	})
	if len(vol.Attachments) > 0 {
		p.DryRun(ctx, "ec2:DetachVolume", "volume", c.VolumeID, func(ctx context.Context) error {
			_, err := p.EC2.DetachVolume(ctx, &ec2.DetachVolumeInput{DryRun: aws.Bool(true), VolumeId: aws.String(c.VolumeID), Force: aws.Bool(true)})
			return err
		})
	}
}
