package preflight

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/config"
)

// KindsEC2 is the part of the EC2 API the checks of the resource kinds
// other than overlay-route call; *ec2.Client fits. The mutating calls are
// only ever sent with DryRun set.
type KindsEC2 interface {
	DescribeNetworkInterfaces(ctx context.Context, in *ec2.DescribeNetworkInterfacesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeNetworkInterfacesOutput, error)
	DescribeVolumes(ctx context.Context, in *ec2.DescribeVolumesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeVolumesOutput, error)
	DescribeAddresses(ctx context.Context, in *ec2.DescribeAddressesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeAddressesOutput, error)
	AssignPrivateIpAddresses(ctx context.Context, in *ec2.AssignPrivateIpAddressesInput, optFns ...func(*ec2.Options)) (*ec2.AssignPrivateIpAddressesOutput, error)
	UnassignPrivateIpAddresses(ctx context.Context, in *ec2.UnassignPrivateIpAddressesInput, optFns ...func(*ec2.Options)) (*ec2.UnassignPrivateIpAddressesOutput, error)
	AssociateAddress(ctx context.Context, in *ec2.AssociateAddressInput, optFns ...func(*ec2.Options)) (*ec2.AssociateAddressOutput, error)
	DisassociateAddress(ctx context.Context, in *ec2.DisassociateAddressInput, optFns ...func(*ec2.Options)) (*ec2.DisassociateAddressOutput, error)
	AttachNetworkInterface(ctx context.Context, in *ec2.AttachNetworkInterfaceInput, optFns ...func(*ec2.Options)) (*ec2.AttachNetworkInterfaceOutput, error)
	DetachNetworkInterface(ctx context.Context, in *ec2.DetachNetworkInterfaceInput, optFns ...func(*ec2.Options)) (*ec2.DetachNetworkInterfaceOutput, error)
	AttachVolume(ctx context.Context, in *ec2.AttachVolumeInput, optFns ...func(*ec2.Options)) (*ec2.AttachVolumeOutput, error)
	DetachVolume(ctx context.Context, in *ec2.DetachVolumeInput, optFns ...func(*ec2.Options)) (*ec2.DetachVolumeOutput, error)
}

// kinds checks the resources other than overlay-route: the object each
// names exists where the instance can take it, and every write on it is
// allowed (DryRun). A release-only write (detach, unassign, disassociate)
// is proven only when the object is attached somewhere now, because its
// DryRun needs the attachment.
func (r *runner) kinds(ctx context.Context) {
	for i, res := range r.cfg.Resources {
		where := fmt.Sprintf("resources[%d].%s", i, res.Kind())
		switch {
		case res.SecondaryIP != nil:
			r.secondaryIP(ctx, where, res.SecondaryIP)
		case res.ElasticIP != nil:
			r.elasticIP(ctx, where, res.ElasticIP)
		case res.ENI != nil:
			r.eni(ctx, where, res.ENI)
		case res.EBSVolume != nil:
			r.ebsVolume(ctx, where, res.EBSVolume)
		case res.Route53 != nil:
			r.route53(ctx, where, res.Route53)
		}
	}
}

func (r *runner) secondaryIP(ctx context.Context, where string, s *config.SecondaryIP) {
	check := "secondary-ip"
	addrs := s.Addrs()
	if s.DeviceIndex == 0 && r.id.SubnetCIDR.IsValid() {
		for _, a := range addrs {
			if !r.id.SubnetCIDR.Contains(a) {
				r.fail(check+" "+a.String(), fmt.Sprintf("is outside this instance's subnet %s (%s)", r.id.SubnetCIDR, r.id.SubnetID),
					"secondary addresses move only within one subnet: put both nodes in one subnet, or use overlay-route ("+where+")")
				return
			}
		}
	}
	if len(addrs) == 0 || s.DeviceIndex != 0 {
		// The interface at another index is found at acquire time.
		return
	}
	ips := make([]string, len(addrs))
	for i, a := range addrs {
		ips[i] = a.String()
	}
	r.add(Result{Check: check, Status: Pass, Detail: fmt.Sprintf("%v in this instance's subnet %s", ips, r.id.SubnetCIDR)})
	// EC2 has no DryRun for these two: proving them would move the
	// address.
	actions := "ec2:AssignPrivateIpAddresses"
	if !s.KeepOnRelease {
		actions += " and ec2:UnassignPrivateIpAddresses"
	}
	r.add(Result{Check: "permission " + actions + " " + r.id.ENIID, Status: Skip,
		Detail: "not provable: EC2 offers no DryRun for them; the policy from `vipd iam-policy` allows them"})
}

func (r *runner) elasticIP(ctx context.Context, where string, e *config.ElasticIP) {
	check := "elastic-ip " + e.AllocationID
	var addr *types.Address
	err := r.call(ctx, func(ctx context.Context) error {
		out, err := r.ec2.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{AllocationIds: []string{e.AllocationID}})
		if err == nil && len(out.Addresses) > 0 {
			addr = &out.Addresses[0]
		}
		return err
	})
	switch {
	case awsapi.IsCode(err, "InvalidAllocationID.NotFound") || (err == nil && addr == nil):
		r.fail(check, "does not exist in "+r.id.Region, "correct "+where+".allocation-id (aws ec2 describe-addresses lists them)")
		return
	case err != nil:
		r.describeFailed(check, "ec2:DescribeAddresses", err)
		return
	}
	r.add(Result{Check: check, Status: Pass, Detail: fmt.Sprintf("%s exists", aws.ToString(addr.PublicIp))})
	in := &ec2.AssociateAddressInput{DryRun: aws.Bool(true), AllocationId: aws.String(e.AllocationID), AllowReassociation: aws.Bool(true)}
	if e.DeviceIndex == 0 {
		in.NetworkInterfaceId = aws.String(r.id.ENIID)
		if p := e.PrivateAddr(); p.IsValid() {
			in.PrivateIpAddress = aws.String(p.String())
		}
	} else {
		in.InstanceId = aws.String(r.id.InstanceID)
	}
	r.dryRun(ctx, "ec2:AssociateAddress", e.AllocationID, func(ctx context.Context) error {
		_, err := r.ec2.AssociateAddress(ctx, in)
		return err
	})
	if !e.KeepOnRelease && addr.AssociationId != nil {
		r.dryRun(ctx, "ec2:DisassociateAddress", e.AllocationID, func(ctx context.Context) error {
			_, err := r.ec2.DisassociateAddress(ctx, &ec2.DisassociateAddressInput{DryRun: aws.Bool(true), AssociationId: addr.AssociationId})
			return err
		})
	}
}

func (r *runner) eni(ctx context.Context, where string, e *config.ENI) {
	check := "eni " + e.ID
	var ni *types.NetworkInterface
	err := r.call(ctx, func(ctx context.Context) error {
		out, err := r.ec2.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{e.ID}})
		if err == nil && len(out.NetworkInterfaces) > 0 {
			ni = &out.NetworkInterfaces[0]
		}
		return err
	})
	switch {
	case awsapi.IsCode(err, awsapi.CodeNetworkInterfaceNotFound) || (err == nil && ni == nil):
		r.fail(check, "does not exist in "+r.id.Region, "correct "+where+".id")
		return
	case err != nil:
		r.describeFailed(check, "ec2:DescribeNetworkInterfaces", err)
		return
	case aws.ToString(ni.AvailabilityZone) != r.id.AZ:
		r.fail(check, fmt.Sprintf("is in %s, but this instance is in %s: EC2 attaches an interface only within its zone", aws.ToString(ni.AvailabilityZone), r.id.AZ),
			"run the nodes of an eni resource in the interface's zone, or use secondary-ip or overlay-route across zones")
		return
	}
	r.add(Result{Check: check, Status: Pass, Detail: "exists in " + r.id.AZ + ", " + attachedTo(ni.Attachment)})
	index := int32(max(e.DeviceIndex, 1))
	r.dryRun(ctx, "ec2:AttachNetworkInterface", e.ID, func(ctx context.Context) error {
		_, err := r.ec2.AttachNetworkInterface(ctx, &ec2.AttachNetworkInterfaceInput{DryRun: aws.Bool(true),
			NetworkInterfaceId: aws.String(e.ID), InstanceId: aws.String(r.id.InstanceID), DeviceIndex: aws.Int32(index)})
		return err
	})
	if ni.Attachment != nil && ni.Attachment.AttachmentId != nil {
		r.dryRun(ctx, "ec2:DetachNetworkInterface", e.ID, func(ctx context.Context) error {
			_, err := r.ec2.DetachNetworkInterface(ctx, &ec2.DetachNetworkInterfaceInput{DryRun: aws.Bool(true),
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

func (r *runner) ebsVolume(ctx context.Context, where string, e *config.EBSVolume) {
	check := "ebs-volume " + e.VolumeID
	var vol *types.Volume
	err := r.call(ctx, func(ctx context.Context) error {
		out, err := r.ec2.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{e.VolumeID}})
		if err == nil && len(out.Volumes) > 0 {
			vol = &out.Volumes[0]
		}
		return err
	})
	switch {
	case awsapi.IsCode(err, "InvalidVolume.NotFound") || (err == nil && vol == nil):
		r.fail(check, "does not exist in "+r.id.Region, "correct "+where+".volume-id")
		return
	case err != nil:
		r.describeFailed(check, "ec2:DescribeVolumes", err)
		return
	case aws.ToString(vol.AvailabilityZone) != r.id.AZ:
		r.fail(check, fmt.Sprintf("is in %s, but this instance is in %s: EBS volumes attach only within their zone", aws.ToString(vol.AvailabilityZone), r.id.AZ),
			"run the nodes of an ebs-volume resource in the volume's zone")
		return
	}
	state := "not attached"
	if len(vol.Attachments) > 0 {
		state = "attached to " + aws.ToString(vol.Attachments[0].InstanceId)
	}
	r.add(Result{Check: check, Status: Pass, Detail: "exists in " + r.id.AZ + ", " + state})
	device := e.Device
	if device == "" {
		device = "/dev/sdf"
	}
	r.dryRun(ctx, "ec2:AttachVolume", e.VolumeID, func(ctx context.Context) error {
		_, err := r.ec2.AttachVolume(ctx, &ec2.AttachVolumeInput{DryRun: aws.Bool(true),
			VolumeId: aws.String(e.VolumeID), InstanceId: aws.String(r.id.InstanceID), Device: aws.String(device)})
		return err
	})
	if len(vol.Attachments) > 0 {
		r.dryRun(ctx, "ec2:DetachVolume", e.VolumeID, func(ctx context.Context) error {
			_, err := r.ec2.DetachVolume(ctx, &ec2.DetachVolumeInput{DryRun: aws.Bool(true), VolumeId: aws.String(e.VolumeID), Force: aws.Bool(true)})
			return err
		})
	}
}

// route53 checks that the hosted zone exists and that vipd may read the
// record (ListResourceRecordSets, which it calls to compare before it
// writes). Route 53 has no DryRun: ChangeResourceRecordSets is not provable
// without changing the record.
func (r *runner) route53(ctx context.Context, where string, c *config.Route53) {
	check := "route53 " + c.Name
	if r.r53 == nil {
		r.add(Result{Check: check, Status: Skip, Detail: "no Route 53 client"})
		return
	}
	var sets []r53types.ResourceRecordSet
	err := r.call(ctx, func(ctx context.Context) error {
		out, err := r.r53.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{
			HostedZoneId: aws.String(c.HostedZoneID), StartRecordName: aws.String(c.Name), MaxItems: aws.Int32(1)})
		if err == nil {
			sets = out.ResourceRecordSets
		}
		return err
	})
	switch {
	case awsapi.IsCode(err, "NoSuchHostedZone"):
		r.fail(check, "hosted zone "+c.HostedZoneID+" does not exist", "correct "+where+".hosted-zone-id (aws route53 list-hosted-zones lists them)")
		return
	case awsapi.IsCode(err, "AccessDenied"):
		r.fail(check, "not allowed: route53:ListResourceRecordSets on hostedzone/"+c.HostedZoneID+" is missing from the instance's role",
			"add it (see `vipd iam-policy`)")
		return
	case err != nil:
		r.fail(check, err.Error(), "check the Route 53 endpoint and network path to it")
		return
	}
	now := "no such record yet"
	for _, s := range sets {
		if strings.TrimSuffix(aws.ToString(s.Name), ".") == strings.TrimSuffix(c.Name, ".") {
			now = fmt.Sprintf("the record is %s now", s.Type)
			for _, v := range s.ResourceRecords {
				now += " " + aws.ToString(v.Value)
			}
		}
	}
	r.add(Result{Check: check, Status: Pass, Detail: fmt.Sprintf("hosted zone %s readable; %s", c.HostedZoneID, now)})
	r.add(Result{Check: "permission route53:ChangeResourceRecordSets " + c.HostedZoneID, Status: Skip,
		Detail: "not provable: Route 53 offers no DryRun; the policy from `vipd iam-policy` allows it"})
}
