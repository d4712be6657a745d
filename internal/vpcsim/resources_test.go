package vpcsim_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/vipd/vipd/internal/vpcsim/vpcsimtest"
)

// everyResourceWorld has two callers whose roles allow the same actions:
// one only on the resource each call is about (the volume, the
// interface, the Elastic IP), the other also on the instances and
// interfaces the calls name; a third instance holds an attached volume
// and an attached interface.
const everyResourceWorld = `
vpcs: [{id: vpc-0e000000000000001, cidr: 10.0.0.0/16}]
subnets: [{id: subnet-0e000000000000001, vpc: vpc-0e000000000000001, cidr: 10.0.1.0/24, az: a}]
instances:
  - {id: i-0e000000000000001, subnet: subnet-0e000000000000001, role: one-resource}
  - {id: i-0e000000000000002, subnet: subnet-0e000000000000001, role: every-resource}
  - {id: i-0e000000000000003, subnet: subnet-0e000000000000001}
network-interfaces:
  - {id: eni-0e000000000000001, subnet: subnet-0e000000000000001}
  - {id: eni-0e000000000000002, subnet: subnet-0e000000000000001, instance: i-0e000000000000003, device-index: 1}
volumes:
  - {id: vol-0e000000000000001, az: a}
  - {id: vol-0e000000000000002, az: a, instance: i-0e000000000000003, device: /dev/sdf}
elastic-ips:
  - {id: eipalloc-0e000000000000001, public-ip: 198.51.100.10}
roles:
  - name: one-resource
    statements:
      - {actions: [ec2:AttachVolume, ec2:DetachVolume], resources: ["arn:aws:ec2:*:*:volume/*"]}
      - {actions: [ec2:AttachNetworkInterface, ec2:DetachNetworkInterface], resources: ["arn:aws:ec2:*:*:network-interface/*"]}
      - {actions: [ec2:AssociateAddress], resources: ["arn:aws:ec2:*:*:elastic-ip/*"]}
  - name: every-resource
    statements:
      - {actions: [ec2:AttachVolume, ec2:DetachVolume], resources: ["arn:aws:ec2:*:*:volume/*", "arn:aws:ec2:*:*:instance/*"]}
      - {actions: [ec2:AttachNetworkInterface, ec2:DetachNetworkInterface], resources: ["arn:aws:ec2:*:*:network-interface/*", "arn:aws:ec2:*:*:instance/*"]}
      - {actions: [ec2:AssociateAddress], resources: ["arn:aws:ec2:*:*:elastic-ip/*", "arn:aws:ec2:*:*:instance/*", "arn:aws:ec2:*:*:network-interface/*"]}
`

// TestIAMEvaluatesEveryResource follows the resource types column of
// "Actions defined by Amazon EC2" (Service Authorization Reference):
// AttachVolume and DetachVolume act on instance* and volume*,
// AttachNetworkInterface and DetachNetworkInterface on instance* and
// network-interface*, AssociateAddress on elastic-ip, instance and
// network-interface as the request names them. IAM allows a call only
// when the policy allows the action on every one of them, so a role
// scoped to the volume, interface or address alone is refused, and the
// denial names the resource it lacks; the same calls pass (DryRun) once
// the role also covers the instance or interface.
func TestIAMEvaluatesEveryResource(t *testing.T) {
	s := vpcsimtest.NewServer(t, vpcsimtest.ParseWorld(t, everyResourceWorld))
	ctx := t.Context()
	const (
		oneRes, everyRes, holder = "i-0e000000000000001", "i-0e000000000000002", "i-0e000000000000003"
		freeENI, heldENI         = "eni-0e000000000000001", "eni-0e000000000000002"
		freeVol, heldVol         = "vol-0e000000000000001", "vol-0e000000000000002"
		eip                      = "eipalloc-0e000000000000001"
	)
	arn := func(kind, id string) string { return "arn:aws:ec2:us-east-1:123456789012:" + kind + "/" + id }
	admin := awsec2.NewFromConfig(vpcsimtest.AdminConfig(t, s))
	nis, err := admin.DescribeNetworkInterfaces(ctx, &awsec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{heldENI}})
	if err != nil || len(nis.NetworkInterfaces) != 1 || nis.NetworkInterfaces[0].Attachment == nil {
		t.Fatalf("the held interface's attachment: %v, %v", nis, err)
	}
	attachment := nis.NetworkInterfaces[0].Attachment.AttachmentId

	dry := aws.Bool(true)
	calls := []struct {
		name string
		call func(ctx context.Context, c *awsec2.Client, self string) error
		// missing is what the one-resource role lacks.
		missing func(self string) string
	}{
		{"AttachVolume", func(ctx context.Context, c *awsec2.Client, self string) error {
			_, err := c.AttachVolume(ctx, &awsec2.AttachVolumeInput{DryRun: dry, VolumeId: aws.String(freeVol), InstanceId: aws.String(self), Device: aws.String("/dev/sdg")})
			return err
		}, func(self string) string { return arn("instance", self) }},
		{"DetachVolume of the instance it is attached to", func(ctx context.Context, c *awsec2.Client, _ string) error {
			_, err := c.DetachVolume(ctx, &awsec2.DetachVolumeInput{DryRun: dry, VolumeId: aws.String(heldVol), Force: aws.Bool(true)})
			return err
		}, func(string) string { return arn("instance", holder) }},
		{"AttachNetworkInterface", func(ctx context.Context, c *awsec2.Client, self string) error {
			_, err := c.AttachNetworkInterface(ctx, &awsec2.AttachNetworkInterfaceInput{DryRun: dry, NetworkInterfaceId: aws.String(freeENI), InstanceId: aws.String(self), DeviceIndex: aws.Int32(1)})
			return err
		}, func(self string) string { return arn("instance", self) }},
		{"DetachNetworkInterface of the instance it is attached to", func(ctx context.Context, c *awsec2.Client, _ string) error {
			_, err := c.DetachNetworkInterface(ctx, &awsec2.DetachNetworkInterfaceInput{DryRun: dry, AttachmentId: attachment, Force: aws.Bool(true)})
			return err
		}, func(string) string { return arn("instance", holder) }},
		{"AssociateAddress with an instance", func(ctx context.Context, c *awsec2.Client, self string) error {
			_, err := c.AssociateAddress(ctx, &awsec2.AssociateAddressInput{DryRun: dry, AllocationId: aws.String(eip), InstanceId: aws.String(self)})
			return err
		}, func(self string) string { return arn("instance", self) }},
		{"AssociateAddress with an interface", func(ctx context.Context, c *awsec2.Client, _ string) error {
			_, err := c.AssociateAddress(ctx, &awsec2.AssociateAddressInput{DryRun: dry, AllocationId: aws.String(eip), NetworkInterfaceId: aws.String(freeENI)})
			return err
		}, func(string) string { return arn("network-interface", freeENI) }},
	}
	for _, tc := range calls {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(ctx, instanceClient(t, s, oneRes), oneRes)
			if got := code(t, err); got != "UnauthorizedOperation" || !strings.Contains(err.Error(), "on resource: "+tc.missing(oneRes)+" ") {
				t.Errorf("role scoped to one resource: %v, want UnauthorizedOperation naming %s", err, tc.missing(oneRes))
			}
			if got := code(t, tc.call(ctx, instanceClient(t, s, everyRes), everyRes)); got != "DryRunOperation" {
				t.Errorf("role allowing every resource: code %q, want DryRunOperation", got)
			}
		})
	}
}
