package vpcsim_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
)

// apiMessage returns the EC2 error message of err.
func apiMessage(t *testing.T, err error) string {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error is not an API error: %v", err)
	}
	return ae.ErrorMessage()
}

// TestAWSRequestParameterChecks: checks EC2 makes of a request's
// parameters before acting on it.
//
// Sources:
//   - RunInstances, NetworkInterface.N: "If you specify a network
//     interface, you must specify any security groups and subnets as part
//     of the network interface instead of using the SecurityGroupIds and
//     SubnetId parameters." (InvalidParameterCombination, "Network
//     interfaces and an instance-level subnet ID may not be specified on
//     the same request")
//     https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_RunInstances.html
//   - DescribeInstances names its IDs by their set: "The parameter
//     instancesSet cannot be used with the parameter maxResults" (AWS's
//     answer as an AmazonServiceException with its request ID, quoted in
//     the jaws Clojure EC2 library).
//   - A TagSpecification without tags: "Tag specification must have at
//     least one tag" (EC2's answer, which operators strip empty
//     specifications to avoid).
//   - DetachVolume naming an instance that does not exist:
//     InvalidInstanceID.NotFound, "The specified instance does not exist"
//     (API reference, error codes).
//     https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
func TestAWSRequestParameterChecks(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()

	_, err := e.ec2.RunInstances(ctx, &awsec2.RunInstancesInput{
		ImageId: aws.String("ami-12345678"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		SubnetId:          aws.String(subnetA),
		NetworkInterfaces: []types.InstanceNetworkInterfaceSpecification{{DeviceIndex: aws.Int32(0)}},
	})
	if c := code(t, err); c != "InvalidParameterCombination" || !strings.Contains(apiMessage(t, err), "instance-level subnet ID") {
		t.Errorf("RunInstances with SubnetId and NetworkInterfaces: %v", err)
	}

	_, err = e.ec2.DescribeInstances(ctx, &awsec2.DescribeInstancesInput{InstanceIds: []string{nodeA}, MaxResults: aws.Int32(5)})
	if want := "The parameter instancesSet cannot be used with the parameter maxResults"; code(t, err) != "InvalidParameterCombination" || apiMessage(t, err) != want {
		t.Errorf("DescribeInstances with IDs and MaxResults: %v, want %q", err, want)
	}

	_, err = e.ec2.CreateVolume(ctx, &awsec2.CreateVolumeInput{
		AvailabilityZone: aws.String("us-east-1a"), Size: aws.Int32(1),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeVolume}},
	})
	if code(t, err) != "InvalidParameterValue" || apiMessage(t, err) != "Tag specification must have at least one tag" {
		t.Errorf("CreateVolume with an empty tag specification: %v", err)
	}

	_, err = e.ec2.DetachVolume(ctx, &awsec2.DetachVolumeInput{VolumeId: aws.String("vol-0a0000000000000a1"), InstanceId: aws.String("i-1234abcd")})
	if c := code(t, err); c != "InvalidInstanceID.NotFound" {
		t.Errorf("DetachVolume naming an unknown instance: %s, want InvalidInstanceID.NotFound", c)
	}
}

// TestAWSLaunchPublicAddress: an instance's primary interface gets an
// Amazon-owned public IPv4 address at launch when AssociatePublicIpAddress
// (or its subnet's MapPublicIpOnLaunch) says so; an Elastic IP replaces it
// and its disassociation brings a new one; the primary and secondary
// addresses named in PrivateIpAddresses, KeyName and Placement.HostId are
// what DescribeInstances reports; an interface launched with
// DeleteOnTermination=false outlives its instance; a zone the region does
// not have is refused.
//
// Sources:
//   - InstanceNetworkInterfaceSpecification, AssociatePublicIpAddress,
//     DeleteOnTermination and PrivateIpAddresses; PrivateIpAddressSpecification.
//     https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_InstanceNetworkInterfaceSpecification.html
//   - EC2 user guide, "Public IPv4 addresses": "We release your instance's
//     public IP address when it is stopped, hibernated, or terminated",
//     "when you associate an Elastic IP address with your instance ... we
//     release its public IP address", "If you disassociate the Elastic IP
//     address, the instance receives a new public IP address".
//     https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/using-instance-addressing.html
//   - NetworkInterfaceAssociation, IpOwnerId: an auto-assigned address is
//     owned by "amazon".
//   - RunInstances with a zone of another region: "Invalid availability
//     zone: [us-east-1b]" (InvalidParameterValue; AWS's answer quoted in
//     cloudfoundry-community/bosh-bootstrap's issues).
func TestAWSLaunchPublicAddress(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	run := func(in *awsec2.RunInstancesInput) types.Instance {
		t.Helper()
		in.ImageId, in.MinCount, in.MaxCount = aws.String("ami-12345678"), aws.Int32(1), aws.Int32(1)
		out, err := e.ec2.RunInstances(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return out.Instances[0]
	}
	describe := func(id string) types.Instance {
		t.Helper()
		out, err := e.ec2.DescribeInstances(ctx, &awsec2.DescribeInstancesInput{InstanceIds: []string{id}})
		if err != nil {
			t.Fatal(err)
		}
		return out.Reservations[0].Instances[0]
	}
	primaryAssoc := func(in types.Instance) *types.InstancePrivateIpAddress {
		t.Helper()
		for _, a := range in.NetworkInterfaces[0].PrivateIpAddresses {
			if aws.ToBool(a.Primary) {
				return &a
			}
		}
		t.Fatalf("instance %s has no primary address", aws.ToString(in.InstanceId))
		return nil
	}

	plain := run(&awsec2.RunInstancesInput{SubnetId: aws.String(subnetA)})
	if plain.PublicIpAddress != nil || primaryAssoc(plain).Association != nil {
		t.Errorf("instance in a subnet without MapPublicIpOnLaunch has public address %v", aws.ToString(plain.PublicIpAddress))
	}

	// KeyName must name a key pair of the account (keypairs_test.go).
	if _, err := e.ec2.CreateKeyPair(ctx, &awsec2.CreateKeyPairInput{KeyName: aws.String("deploy")}); err != nil {
		t.Fatal(err)
	}
	in := run(&awsec2.RunInstancesInput{
		KeyName:   aws.String("deploy"),
		Placement: &types.Placement{HostId: aws.String("h-0123456789abcdef0")},
		NetworkInterfaces: []types.InstanceNetworkInterfaceSpecification{{
			DeviceIndex: aws.Int32(0), SubnetId: aws.String(subnetA), AssociatePublicIpAddress: aws.Bool(true), DeleteOnTermination: aws.Bool(false),
			PrivateIpAddresses: []types.PrivateIpAddressSpecification{
				{PrivateIpAddress: aws.String("10.0.1.31"), Primary: aws.Bool(false)},
				{PrivateIpAddress: aws.String("10.0.1.30"), Primary: aws.Bool(true)},
			},
		}},
	})
	id := aws.ToString(in.InstanceId)
	got := describe(id)
	a := primaryAssoc(got).Association
	if a == nil || aws.ToString(a.IpOwnerId) != "amazon" || aws.ToString(got.PublicIpAddress) != aws.ToString(a.PublicIp) ||
		!strings.Contains(aws.ToString(got.PublicDnsName), strings.ReplaceAll(aws.ToString(a.PublicIp), ".", "-")) {
		t.Fatalf("launched with AssociatePublicIpAddress: association %+v, PublicIpAddress %q, PublicDnsName %q", a, aws.ToString(got.PublicIpAddress), aws.ToString(got.PublicDnsName))
	}
	launchIP := aws.ToString(a.PublicIp)
	if aws.ToString(got.PrivateIpAddress) != "10.0.1.30" || len(got.NetworkInterfaces[0].PrivateIpAddresses) != 2 {
		t.Errorf("PrivateIpAddresses: primary %s, addresses %d, want 10.0.1.30 and 2", aws.ToString(got.PrivateIpAddress), len(got.NetworkInterfaces[0].PrivateIpAddresses))
	}
	if aws.ToString(got.KeyName) != "deploy" || aws.ToString(got.Placement.HostId) != "h-0123456789abcdef0" {
		t.Errorf("KeyName %q, HostId %q", aws.ToString(got.KeyName), aws.ToString(got.Placement.HostId))
	}
	for name, value := range map[string]string{"key-name": "deploy", "dns-name": aws.ToString(got.PublicDnsName)} {
		found, err := e.ec2.DescribeInstances(ctx, &awsec2.DescribeInstancesInput{Filters: []types.Filter{{Name: aws.String(name), Values: []string{value}}}})
		if err != nil || len(found.Reservations) != 1 || aws.ToString(found.Reservations[0].Instances[0].InstanceId) != id {
			t.Errorf("%s filter %q: %v %v", name, value, found, err)
		}
	}

	alloc, err := e.ec2.AllocateAddress(ctx, &awsec2.AllocateAddressInput{Domain: types.DomainTypeVpc})
	if err != nil {
		t.Fatal(err)
	}
	assoc, err := e.ec2.AssociateAddress(ctx, &awsec2.AssociateAddressInput{AllocationId: alloc.AllocationId, InstanceId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	if a := primaryAssoc(describe(id)).Association; a == nil || aws.ToString(a.PublicIp) != aws.ToString(alloc.PublicIp) || aws.ToString(a.IpOwnerId) != accountID {
		t.Errorf("with an Elastic IP: %+v, want %s owned by %s", a, aws.ToString(alloc.PublicIp), accountID)
	}
	if _, err := e.ec2.DisassociateAddress(ctx, &awsec2.DisassociateAddressInput{AssociationId: assoc.AssociationId}); err != nil {
		t.Fatal(err)
	}
	a = primaryAssoc(describe(id)).Association
	if a == nil || aws.ToString(a.IpOwnerId) != "amazon" || aws.ToString(a.PublicIp) == aws.ToString(alloc.PublicIp) {
		t.Errorf("after the Elastic IP's disassociation: %+v, want a new Amazon-owned address (launch address was %s)", a, launchIP)
	}

	eni := aws.ToString(got.NetworkInterfaces[0].NetworkInterfaceId)
	if _, err := e.ec2.TerminateInstances(ctx, &awsec2.TerminateInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the instance to terminate", func() bool { return describe(id).State.Name == types.InstanceStateNameTerminated })
	enis, err := e.ec2.DescribeNetworkInterfaces(ctx, &awsec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{eni}})
	if err != nil {
		t.Fatalf("interface launched with DeleteOnTermination=false: %v", err)
	}
	if x := enis.NetworkInterfaces[0]; x.Attachment != nil || x.Association != nil {
		t.Errorf("kept interface still attached (%v) or public (%v)", x.Attachment, x.Association)
	}

	_, err = e.ec2.RunInstances(ctx, &awsec2.RunInstancesInput{ImageId: aws.String("ami-12345678"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		Placement: &types.Placement{AvailabilityZone: aws.String("us-west-1b")}})
	if code(t, err) != "InvalidParameterValue" || apiMessage(t, err) != "Invalid availability zone: [us-west-1b]" {
		t.Errorf("zone of another region: %v", err)
	}
}

// TestAWSLaunchIPv6Addresses: RunInstances' Ipv6AddressCount gives the
// primary interface that many addresses of its subnet's /64 (API reference
// RunInstances, Ipv6AddressCount: "The number of IPv6 addresses to
// associate with the primary network interface"); a subnet without an
// IPv6 block has none to give.
func TestAWSLaunchIPv6Addresses(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	run := func(subnet string) (*awsec2.RunInstancesOutput, error) {
		return e.ec2.RunInstances(ctx, &awsec2.RunInstancesInput{ImageId: aws.String("ami-12345678"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
			SubnetId: aws.String(subnet), Ipv6AddressCount: aws.Int32(2)})
	}
	if _, err := run(subnetB); code(t, err) != "InvalidParameterValue" {
		t.Errorf("Ipv6AddressCount in a subnet without an IPv6 block: %v", err)
	}
	vpc, err := e.ec2.AssociateVpcCidrBlock(ctx, &awsec2.AssociateVpcCidrBlockInput{VpcId: aws.String(vpcDemo), AmazonProvidedIpv6CidrBlock: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	block := aws.ToString(vpc.Ipv6CidrBlockAssociation.Ipv6CidrBlock)
	sub := strings.TrimSuffix(block, "/56") + "/64"
	if _, err := e.ec2.AssociateSubnetCidrBlock(ctx, &awsec2.AssociateSubnetCidrBlockInput{SubnetId: aws.String(subnetA), Ipv6CidrBlock: aws.String(sub)}); err != nil {
		t.Fatal(err)
	}
	out, err := run(subnetA)
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Instances[0].NetworkInterfaces[0].Ipv6Addresses; len(got) != 2 {
		t.Errorf("launched with Ipv6AddressCount=2: %d addresses", len(got))
	}
}
