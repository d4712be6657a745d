package vpcsim_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vipd/vipd/internal/vpcsim"
	"github.com/vipd/vipd/internal/vpcsim/vpcsimtest"
)

// TestInstanceTypes follows DescribeInstanceTypes (a type that does not
// exist is InvalidInstanceType) with the figures of the EC2 instance
// types guide (t3.micro: 2 vCPUs, 1 GiB, Nitro; "Maximum IP addresses per
// network interface": 2 interfaces of 2 IPv4 addresses), and
// DescribeInstanceTypeOfferings, whose LocationType is region (the
// default), availability-zone or availability-zone-id and whose location
// filter narrows to one.
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstanceTypeOfferings.html
func TestInstanceTypes(t *testing.T) {
	srv := vpcsimtest.NewServer(t, &vpcsim.World{DefaultVPC: true})
	c := regionClient(t, srv, "us-west-1")
	ctx := t.Context()
	out, err := c.DescribeInstanceTypes(ctx, &awsec2.DescribeInstanceTypesInput{InstanceTypes: []types.InstanceType{types.InstanceTypeT3Micro}})
	if err != nil {
		t.Fatal(err)
	}
	it := out.InstanceTypes[0]
	if len(out.InstanceTypes) != 1 || aws.ToInt32(it.VCpuInfo.DefaultVCpus) != 2 || aws.ToInt64(it.MemoryInfo.SizeInMiB) != 1024 ||
		it.Hypervisor != types.InstanceTypeHypervisorNitro || aws.ToInt32(it.NetworkInfo.MaximumNetworkInterfaces) != 2 ||
		aws.ToInt32(it.NetworkInfo.Ipv4AddressesPerInterface) != 2 {
		t.Errorf("t3.micro = %+v", it)
	}
	if _, err := c.DescribeInstanceTypes(ctx, &awsec2.DescribeInstanceTypesInput{InstanceTypes: []types.InstanceType{"x9.huge"}}); code(t, err) != "InvalidInstanceType" {
		t.Errorf("unknown type: %v, want InvalidInstanceType", err)
	}
	burst, err := c.DescribeInstanceTypes(ctx, &awsec2.DescribeInstanceTypesInput{Filters: []types.Filter{
		{Name: aws.String("burstable-performance-supported"), Values: []string{"true"}}, {Name: aws.String("instance-type"), Values: []string{"t3.*"}}}})
	if err != nil || len(burst.InstanceTypes) == 0 {
		t.Fatalf("burstable t3 types: %+v, %v", burst, err)
	}
	for _, it := range burst.InstanceTypes {
		if !aws.ToBool(it.BurstablePerformanceSupported) {
			t.Errorf("%s is not burstable", it.InstanceType)
		}
	}

	offerings := func(lt types.LocationType, loc string) []types.InstanceTypeOffering {
		t.Helper()
		in := &awsec2.DescribeInstanceTypeOfferingsInput{LocationType: lt, Filters: []types.Filter{{Name: aws.String("instance-type"), Values: []string{"t3.micro"}}}}
		if loc != "" {
			in.Filters = append(in.Filters, types.Filter{Name: aws.String("location"), Values: []string{loc}})
		}
		out, err := c.DescribeInstanceTypeOfferings(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return out.InstanceTypeOfferings
	}
	if o := offerings("", ""); len(o) != 1 || aws.ToString(o[0].Location) != "us-west-1" || o[0].LocationType != types.LocationTypeRegion {
		t.Errorf("region offerings %+v: want us-west-1 only", o)
	}
	if o := offerings(types.LocationTypeAvailabilityZone, ""); len(o) != 2 {
		t.Errorf("zone offerings %+v: want us-west-1a and us-west-1b", o)
	}
	if o := offerings(types.LocationTypeAvailabilityZoneId, "usw1-az3"); len(o) != 1 || aws.ToString(o[0].Location) != "usw1-az3" {
		t.Errorf("zone ID offerings %+v: want usw1-az3", o)
	}
}

// TestDescribeAddressesAttribute follows DescribeAddressesAttribute in the
// EC2 API reference: the domain-name attribute of an address without a
// PTR record lists its public IP and allocation ID; an unknown
// allocation ID is InvalidAllocationID.NotFound.
func TestDescribeAddressesAttribute(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	eip, err := e.ec2.AllocateAddress(ctx, &awsec2.AllocateAddressInput{Domain: types.DomainTypeVpc})
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.ec2.DescribeAddressesAttribute(ctx, &awsec2.DescribeAddressesAttributeInput{AllocationIds: []string{aws.ToString(eip.AllocationId)}, Attribute: types.AddressAttributeNameDomainName})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Addresses) != 1 || aws.ToString(out.Addresses[0].PublicIp) != aws.ToString(eip.PublicIp) || out.Addresses[0].PtrRecord != nil {
		t.Errorf("addresses %+v: want %s without a PTR record", out.Addresses, aws.ToString(eip.PublicIp))
	}
	if _, err := e.ec2.DescribeAddressesAttribute(ctx, &awsec2.DescribeAddressesAttributeInput{AllocationIds: []string{"eipalloc-0123456789abcdef0"}, Attribute: types.AddressAttributeNameDomainName}); code(t, err) != "InvalidAllocationID.NotFound" {
		t.Errorf("unknown allocation: %v, want InvalidAllocationID.NotFound", err)
	}
}
