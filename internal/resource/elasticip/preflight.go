package elasticip

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

// preflight checks that each allocation exists and that associating it
// with this instance (and disassociating it, when it is associated now)
// is allowed.
func preflight(ctx context.Context, p *probe.Probe, rs []probe.Entry) {
	for _, e := range rs {
		check1(ctx, p, e)
	}
}

func check1(ctx context.Context, p *probe.Probe, e probe.Entry) {
	c, id := e.Config.ElasticIP, p.Identity
	check := "elastic-ip " + c.AllocationID
	in := &ec2.DescribeAddressesInput{AllocationIds: []string{c.AllocationID}}
	if c.Tags != nil {
		check = "elastic-ip tags " + config.TagsString(c.Tags)
		in = &ec2.DescribeAddressesInput{Filters: resource.TagFilters(c.Tags)}
	}
	var addr *types.Address
	var found []string
	err := p.Call(ctx, func(ctx context.Context) error {
		out, err := p.EC2.DescribeAddresses(ctx, in)
		if err == nil && len(out.Addresses) > 0 {
			addr = &out.Addresses[0]
		}
		if err != nil {
			return err
		}
		for _, a := range out.Addresses {
			found = append(found, aws.ToString(a.AllocationId))
		}
		return err
	})
	if err == nil && c.Tags != nil {
		if err := resource.OneTagged("Elastic IP", c.Tags, found); err != nil {
			p.Fail(check, err.Error()+" in "+id.Region, "tag the one address, or correct "+e.Where+".tags")
			return
		}
		check += " (" + found[0] + ")"
	}
	switch {
	case awsapi.IsCode(err, "InvalidAllocationID.NotFound") || (err == nil && addr == nil):
		p.Fail(check, "does not exist in "+id.Region, "correct "+e.Where+".allocation-id (aws ec2 describe-addresses lists them)")
		return
	case err != nil:
		p.DescribeFailed(check, "ec2:DescribeAddresses", err)
		return
	}
	p.Add(probe.Result{Check: check, Status: probe.Pass, Detail: fmt.Sprintf("%s exists", aws.ToString(addr.PublicIp))})
	alloc := aws.ToString(addr.AllocationId)
	assoc := &ec2.AssociateAddressInput{DryRun: aws.Bool(true), AllocationId: aws.String(alloc), AllowReassociation: aws.Bool(true)}
	if c.DeviceIndex == 0 {
		assoc.NetworkInterfaceId = aws.String(id.ENIID)
		if a := c.PrivateAddr(); a.IsValid() {
			assoc.PrivateIpAddress = aws.String(a.String())
		}
	} else {
		assoc.InstanceId = aws.String(id.InstanceID)
	}
	p.DryRun(ctx, "ec2:AssociateAddress", "elastic-ip", alloc, func(ctx context.Context) error {
		_, err := p.EC2.AssociateAddress(ctx, assoc)
		return err
	})
	if !c.KeepOnRelease && addr.AssociationId != nil {
		p.DryRun(ctx, "ec2:DisassociateAddress", "elastic-ip", alloc, func(ctx context.Context) error {
			_, err := p.EC2.DisassociateAddress(ctx, &ec2.DisassociateAddressInput{DryRun: aws.Bool(true), AssociationId: addr.AssociationId})
			return err
		})
	}
}
