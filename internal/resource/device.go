package resource

import (
	"context"
	"fmt"
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
