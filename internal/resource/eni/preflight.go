package eni

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
	in := &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{c.ID}}
	switch {
	case c.Tags != nil:
		check = "eni tags " + config.TagsString(c.Tags)
		in = &ec2.DescribeNetworkInterfacesInput{Filters: resource.TagFilters(c.Tags)}
	case c.ID == "":
		// Found by its primary private address, as the resource finds it.
		check = "eni " + c.PrivateIP
		in = &ec2.DescribeNetworkInterfacesInput{Filters: []types.Filter{{Name: aws.String("addresses.private-ip-address"), Values: []string{c.PrivateIP}}}}
	}
	var ni *types.NetworkInterface
	var found []string
	err := p.Call(ctx, func(ctx context.Context) error {
		out, err := p.EC2.DescribeNetworkInterfaces(ctx, in)
		if err == nil && len(out.NetworkInterfaces) > 0 {
			ni = &out.NetworkInterfaces[0]
		}
		if err != nil {
			return err
		}
		for _, n := range out.NetworkInterfaces {
			found = append(found, aws.ToString(n.NetworkInterfaceId))
		}
		return err
	})
	if err == nil && c.Tags != nil {
		if err := resource.OneTagged("network interface", c.Tags, found); err != nil {
			p.Fail(check, err.Error()+" in "+id.Region, "tag the one interface, or correct "+e.Where+".tags")
			return
		}
		check += " (" + found[0] + ")"
	}
	field := e.Where + ".id"
	if c.ID == "" && c.Tags == nil {
		field = e.Where + ".private-ip"
		if len(found) > 0 {
			check += " (" + found[0] + ")"
		}
	}
	switch {
	case awsapi.IsCode(err, awsapi.CodeNetworkInterfaceNotFound) || (err == nil && ni == nil):
		p.Fail(check, "does not exist in "+id.Region, "correct "+field)
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
	eni := aws.ToString(ni.NetworkInterfaceId)
	p.DryRun(ctx, "ec2:AttachNetworkInterface", "network-interface", eni, func(ctx context.Context) error {
		_, err := p.EC2.AttachNetworkInterface(ctx, &ec2.AttachNetworkInterfaceInput{DryRun: aws.Bool(true),
			NetworkInterfaceId: aws.String(eni), InstanceId: aws.String(id.InstanceID), DeviceIndex: aws.Int32(index)})
		return err
	})
	if ni.Attachment != nil && ni.Attachment.AttachmentId != nil {
		p.DryRun(ctx, "ec2:DetachNetworkInterface", "network-interface", eni, func(ctx context.Context) error {
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
