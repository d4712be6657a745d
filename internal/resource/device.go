package resource

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// NetworkInterfaceDescriber is the one EC2 call DeviceENI makes.
type NetworkInterfaceDescriber interface {
	DescribeNetworkInterfaces(ctx context.Context, in *ec2.DescribeNetworkInterfacesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeNetworkInterfacesOutput, error)
}

// DeviceENI returns the ID of self's network interface at device index:
// the primary one from IMDS for 0, otherwise the one EC2 lists as attached
// there, described within timeout. The kinds that put an address on one of
// self's interfaces (secondary-ip, elastic-ip) name it by device index in
// their configuration.
func DeviceENI(ctx context.Context, c NetworkInterfaceDescriber, timeout time.Duration, self Self, index int) (string, error) {
	if index == 0 {
		return self.ENIID, nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{
		Filters: []types.Filter{
			{Name: aws.String("attachment.instance-id"), Values: []string{self.InstanceID}},
			{Name: aws.String("attachment.device-index"), Values: []string{strconv.Itoa(index)}},
		},
	})
	if err != nil {
		return "", fmt.Errorf("describe network interface at device %d of %s: %w", index, self.InstanceID, err)
	}
	if len(out.NetworkInterfaces) == 0 {
		return "", fmt.Errorf("find network interface at device %d of %s: none attached", index, self.InstanceID)
	}
	return aws.ToString(out.NetworkInterfaces[0].NetworkInterfaceId), nil
}

// InstanceDescriber is the one EC2 call OwnerRunning makes.
type InstanceDescriber interface {
	DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
}

// OwnerRunning reports whether instance, the previous owner of something
// attached (a volume, an interface), is running, described within
// timeout. One that cannot be described counts as not running, logged, so
// that the kinds force the detach rather than wait on a lost node.
func OwnerRunning(ctx context.Context, c InstanceDescriber, timeout time.Duration, instance string, log *slog.Logger) bool {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{instance}})
	if err != nil {
		log.Warn("previous owner not described, forcing detach", "instance_id", instance, "err", err)
		return false
	}
	for _, res := range out.Reservations {
		for _, in := range res.Instances {
			if in.State != nil && in.State.Name == types.InstanceStateNameRunning {
				return true
			}
		}
	}
	return false
}
