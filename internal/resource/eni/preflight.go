package eni

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/preflight/probe"
)

// preflight checks that each interface exists in this instance's zone
// (EC2 attaches an interface only within its zone) and that attaching it
// here, and detaching it from where it is attached now, is allowed.
func preflight(ctx context.Context, p *probe.Probe, rs []probe.Entry) {
	for _, e := range rs {
		check1(ctx, p, e)
	}
}

func check1(ctx context.Context, p *probe.Probe, e probe.Entry) {
	c, id := e.Config.ENI, p.Identity
	check := "eni " + c.ID
	var ni *types.NetworkInterface
	err := p.Call(ctx, func(ctx context.Context) error {
		out, err := p.EC2.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{c.ID}})
		if err == nil && len(out.NetworkInterfaces) > 0 {
			ni = &out.NetworkInterfaces[0]
		}
		return err
	})
	switch {
	case awsapi.IsCode(err, awsapi.CodeNetworkInterfaceNotFound) || (err == nil && ni == nil):
		p.Fail(check, "does not exist in "+id.Region, "correct "+e.Where+".id")
		return
	case err != nil:
		p.DescribeFailed(check, "ec2:DescribeNetworkInterfaces", err)
		return
	case aws.ToString(ni.AvailabilityZone) != id.AZ:
		p.Fail(check, fmt.Sprintf("is in %s, but this instance is in %s: EC2 attaches an interface only within its zone", aws.ToString(ni.AvailabilityZone), id.AZ),
			"run the nodes of an eni resource in the interface's zone, or use secondary-ip or overlay-route across zones")
		return
	}
	p.Add(probe.Result{Check: check, Status: probe.Pass, Detail: "exists in " + id.AZ + ", " + attachedTo(ni.Attachment)})
	index := int32(max(c.DeviceIndex, 1))
	p.DryRun(ctx, "ec2:AttachNetworkInterface", "network-interface", c.ID, func(ctx context.Context) error {
		_, err := p.EC2.AttachNetworkInterface(ctx, &ec2.AttachNetworkInterfaceInput{DryRun: aws.Bool(true),
			NetworkInterfaceId: aws.String(c.ID), InstanceId: aws.String(id.InstanceID), DeviceIndex: aws.Int32(index)})
		return err
	})
	if ni.Attachment != nil && ni.Attachment.AttachmentId != nil {
		p.DryRun(ctx, "ec2:DetachNetworkInterface", "network-interface", c.ID, func(ctx context.Context) error {
			_, err := p.EC2.DetachNetworkInterface(ctx, &ec2.DetachNetworkInterfaceInput{DryRun: aws.Bool(true),
				AttachmentId: ni.Attachment.AttachmentId, Force: aws.Bool(true)})
			return err
		})
	}
}

func attachedTo(a *types.NetworkInterfaceAttachment) string {
	if a == nil || a.InstanceId == nil {
		return "not attached"
	}
	return "attached to " + aws.ToString(a.InstanceId)
}
