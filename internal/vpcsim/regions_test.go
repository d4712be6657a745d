package vpcsim_test

import (
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vipd/vipd/internal/vpcsim"
	"github.com/vipd/vipd/internal/vpcsim/vpcsimtest"
)

func regionClient(t *testing.T, srv *vpcsim.Server, region string) *awsec2.Client {
	t.Helper()
	return awsec2.NewFromConfig(vpcsimtest.AdminConfig(t, srv, config.WithRegion(region), config.WithRetryMaxAttempts(1)))
}

// DescribeRegions "describes the Regions that are enabled for your
// account, or all Regions" (AllRegions); RegionName.N may name "any
// Regions, whether they are enabled and disabled for your account", and
// regions launched after March 2019 are disabled until the account opts
// in (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeRegions.html).
func TestDescribeRegions(t *testing.T) {
	srv := vpcsimtest.NewServer(t, &vpcsim.World{DefaultVPC: true})
	c := regionClient(t, srv, "us-east-1")
	regions := func(in *awsec2.DescribeRegionsInput) map[string]string {
		t.Helper()
		out, err := c.DescribeRegions(t.Context(), in)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, r := range out.Regions {
			if want := "ec2." + aws.ToString(r.RegionName) + ".amazonaws.com"; aws.ToString(r.Endpoint) != want {
				t.Errorf("endpoint of %s = %q, want %q", aws.ToString(r.RegionName), aws.ToString(r.Endpoint), want)
			}
			m[aws.ToString(r.RegionName)] = aws.ToString(r.OptInStatus)
		}
		return m
	}
	enabled := regions(&awsec2.DescribeRegionsInput{})
	if enabled["eu-west-1"] != "opt-in-not-required" || enabled["us-west-2"] != "opt-in-not-required" {
		t.Errorf("enabled regions = %v, want eu-west-1 and us-west-2 among them", enabled)
	}
	if _, ok := enabled["ap-east-1"]; ok {
		t.Errorf("enabled regions list ap-east-1, an opt-in region the account has not enabled")
	}
	if _, ok := enabled["us-gov-west-1"]; ok {
		t.Errorf("a commercial account's regions list GovCloud's us-gov-west-1")
	}
	all := regions(&awsec2.DescribeRegionsInput{AllRegions: aws.Bool(true)})
	if all["ap-east-1"] != "not-opted-in" || len(all) <= len(enabled) {
		t.Errorf("all regions = %v, want ap-east-1 not-opted-in and more than the %d enabled", all, len(enabled))
	}
	if got := regions(&awsec2.DescribeRegionsInput{RegionNames: []string{"ap-east-1"}}); got["ap-east-1"] != "not-opted-in" || len(got) != 1 {
		t.Errorf("RegionNames ap-east-1 = %v, want just it, not-opted-in", got)
	}
}

// Each region is separate: its own zones (us-west-1 offers an account two,
// https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/using-regions-availability-zones.html),
// its own default VPC with a default subnet per zone
// (https://docs.aws.amazon.com/vpc/latest/userguide/default-vpc.html: "a
// default VPC in each AWS Region"), and objects made in one region are not
// found from another. The region is the one the request was signed for.
func TestRegionsAreSeparate(t *testing.T) {
	srv := vpcsimtest.NewServer(t, &vpcsim.World{DefaultVPC: true})
	east, west := regionClient(t, srv, "us-east-1"), regionClient(t, srv, "us-west-1")

	zones, err := west.DescribeAvailabilityZones(t.Context(), &awsec2.DescribeAvailabilityZonesInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, z := range zones.AvailabilityZones {
		names = append(names, aws.ToString(z.ZoneName))
		if aws.ToString(z.RegionName) != "us-west-1" || len(aws.ToString(z.ZoneId)) < len("usw1-az1") || aws.ToString(z.ZoneId)[:7] != "usw1-az" {
			t.Errorf("zone %+v is not a us-west-1 zone", z)
		}
	}
	if !slices.Equal(names, []string{"us-west-1a", "us-west-1b"}) {
		t.Errorf("us-west-1 zones = %v, want [us-west-1a us-west-1b]", names)
	}

	vpcs, err := west.DescribeVpcs(t.Context(), &awsec2.DescribeVpcsInput{Filters: []types.Filter{filter("is-default", "true")}})
	if err != nil || len(vpcs.Vpcs) != 1 {
		t.Fatalf("default VPC of us-west-1: %v, %v", vpcs, err)
	}
	westVPC := aws.ToString(vpcs.Vpcs[0].VpcId)
	subnets, err := west.DescribeSubnets(t.Context(), &awsec2.DescribeSubnetsInput{})
	if err != nil || len(subnets.Subnets) != 2 {
		t.Fatalf("default subnets of us-west-1: %v, %v; want one per zone", subnets, err)
	}

	sn, err := west.CreateSubnet(t.Context(), &awsec2.CreateSubnetInput{VpcId: aws.String(westVPC), CidrBlock: aws.String("172.31.200.0/24"), AvailabilityZone: aws.String("us-west-1b")})
	if err != nil {
		t.Fatalf("create subnet in us-west-1b: %v", err)
	}
	if got := aws.ToString(sn.Subnet.AvailabilityZoneId); got != "usw1-az1" {
		t.Errorf("zone ID of us-west-1b = %q, want usw1-az1", got)
	}
	_, err = west.CreateSubnet(t.Context(), &awsec2.CreateSubnetInput{VpcId: aws.String(westVPC), CidrBlock: aws.String("172.31.201.0/24"), AvailabilityZone: aws.String("us-east-1a")})
	if code(t, err) != "InvalidParameterValue" {
		t.Errorf("create subnet in us-east-1a from us-west-1: %v, want InvalidParameterValue", err)
	}
	_, err = east.DescribeVpcs(t.Context(), &awsec2.DescribeVpcsInput{VpcIds: []string{westVPC}})
	if code(t, err) != "InvalidVpcID.NotFound" {
		t.Errorf("describe us-west-1's VPC from us-east-1: %v, want InvalidVpcID.NotFound", err)
	}
}
