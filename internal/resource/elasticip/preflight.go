package elasticip

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/preflight/probe"
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
	var addr *types.Address
	err := p.Call(ctx, func(ctx context.Context) error {
		out, err := p.EC2.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{AllocationIds: []string{c.AllocationID}})
		if err == nil && len(out.Addresses) > 0 {
			addr = &out.Addresses[0]
		}
		return err
	})
	switch {
	case awsapi.IsCode(err, "InvalidAllocationID.NotFound") || (err == nil && addr == nil):
		p.Fail(check, "does not exist in "+id.Region, "correct "+e.Where+".allocation-id (aws ec2 describe-addresses lists them)")
		return
	case err != nil:
		p.DescribeFailed(check, "ec2:DescribeAddresses", err)
		return
	}
	p.Add(probe.Result{Check: check, Status: probe.Pass, Detail: fmt.Sprintf("%s exists", aws.ToString(addr.PublicIp))})
	in := &ec2.AssociateAddressInput{DryRun: aws.Bool(true), AllocationId: aws.String(c.AllocationID), AllowReassociation: aws.Bool(true)}
	if c.DeviceIndex == 0 {
		in.NetworkInterfaceId = aws.String(id.ENIID)
		if a := c.PrivateAddr(); a.IsValid() {
			in.PrivateIpAddress = aws.String(a.String())
		}
	} else {
		in.InstanceId = aws.String(id.InstanceID)
	}
	p.DryRun(ctx, "ec2:AssociateAddress", "elastic-ip", c.AllocationID, func(ctx context.Context) error {
		_, err := p.EC2.AssociateAddress(ctx, in)
		return err
	})
	if !c.KeepOnRelease && addr.AssociationId != nil {
		p.DryRun(ctx, "ec2:DisassociateAddress", "elastic-ip", c.AllocationID, func(ctx context.Context) error {
			_, err := p.EC2.DisassociateAddress(ctx, &ec2.DisassociateAddressInput{DryRun: aws.Bool(true), AssociationId: addr.AssociationId})
			return err
		})
	}
}
