package ebsvolume

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/preflight/probe"
	"github.com/vipd/vipd/internal/resource"
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
	in := &ec2.DescribeVolumesInput{VolumeIds: []string{c.VolumeID}}
	if c.Tags != nil {
		check = "ebs-volume tags " + config.TagsString(c.Tags)
		in = &ec2.DescribeVolumesInput{Filters: resource.TagFilters(c.Tags)}
	}
	var vol *types.Volume
	var found []string
	err := p.Call(ctx, func(ctx context.Context) error {
		out, err := p.EC2.DescribeVolumes(ctx, in)
		if err == nil && len(out.Volumes) > 0 {
			vol = &out.Volumes[0]
		}
		if err != nil {
			return err
		}
		for _, v := range out.Volumes {
			found = append(found, aws.ToString(v.VolumeId))
		}
		return err
	})
	if err == nil && c.Tags != nil {
		if err := resource.OneTagged("volume", c.Tags, found); err != nil {
			p.Fail(check, err.Error()+" in "+id.Region, "tag the one volume, or correct "+e.Where+".tags")
			return
		}
		check += " (" + found[0] + ")"
	}
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
	vid := aws.ToString(vol.VolumeId)
	p.DryRun(ctx, "ec2:AttachVolume", "volume", vid, func(ctx context.Context) error {
		_, err := p.EC2.AttachVolume(ctx, &ec2.AttachVolumeInput{DryRun: aws.Bool(true),
			VolumeId: aws.String(vid), InstanceId: aws.String(id.InstanceID), Device: aws.String(device)})
		return err
	})
	if len(vol.Attachments) > 0 {
		// The takeover's forced detach, from the instance that holds it:
		// EC2 authorizes it against the volume and that instance.
		holder := vol.Attachments[0].InstanceId
		p.DryRun(ctx, "ec2:DetachVolume", "volume", vid, func(ctx context.Context) error {
			_, err := p.EC2.DetachVolume(ctx, &ec2.DetachVolumeInput{DryRun: aws.Bool(true), VolumeId: aws.String(vid), InstanceId: holder, Force: aws.Bool(true)})
			return err
		})
	}
}
