package vpcsim_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/vipd/vipd/internal/vpcsim"
	"github.com/vipd/vipd/internal/vpcsim/vpcsimtest"
)

// TestBuildWorldOverAPI provisions a VPC the way the seeds do, on an
// empty simulator: create-vpc, create-subnet, modify-vpc-attribute (seed
// 004), run-instances --count 2 with an instance profile (seed 001), then
// tears it down.
func TestBuildWorldOverAPI(t *testing.T) {
	w := vpcsimtest.ParseWorld(t, "roles: [{name: ha, actions: [\"ec2:Describe*\"]}]\n")
	step := vpcsim.Dist{Median: 200 * time.Millisecond}
	srv := vpcsimtest.NewServerOptions(t, w, vpcsim.Options{Timing: vpcsim.Timing{InstanceStart: step, InstanceStop: step}})
	e := env{srv: srv, ec2: awsec2.NewFromConfig(vpcsimtest.AdminConfig(t, srv, config.WithRetryMaxAttempts(1)))}
	ctx := t.Context()

	if _, err := e.ec2.CreateVpc(ctx, &awsec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/8")}); code(t, err) != "InvalidVpc.Range" {
		t.Errorf("create /8 vpc: %v, want InvalidVpc.Range", err)
	}
	v, err := e.ec2.CreateVpc(ctx, &awsec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	vpcID := aws.ToString(v.Vpc.VpcId)
	mains, err := e.ec2.DescribeRouteTables(ctx, &awsec2.DescribeRouteTablesInput{Filters: []types.Filter{filter("vpc-id", vpcID), filter("association.main", "true")}})
	if err != nil || len(mains.RouteTables) != 1 || aws.ToString(mains.RouteTables[0].Routes[0].GatewayId) != "local" {
		t.Fatalf("main route table of the new vpc: %+v, %v", mains, err)
	}

	for _, attr := range []*awsec2.ModifyVpcAttributeInput{
		{VpcId: &vpcID, EnableDnsSupport: &types.AttributeBooleanValue{Value: aws.Bool(true)}},
		{VpcId: &vpcID, EnableDnsHostnames: &types.AttributeBooleanValue{Value: aws.Bool(true)}},
	} {
		if _, err := e.ec2.ModifyVpcAttribute(ctx, attr); err != nil {
			t.Fatal(err)
		}
	}
	da, err := e.ec2.DescribeVpcAttribute(ctx, &awsec2.DescribeVpcAttributeInput{VpcId: &vpcID, Attribute: types.VpcAttributeNameEnableDnsHostnames})
	if err != nil || !aws.ToBool(da.EnableDnsHostnames.Value) {
		t.Errorf("enableDnsHostnames after modify: %+v, %v", da, err)
	}
	_, err = e.ec2.ModifyVpcAttribute(ctx, &awsec2.ModifyVpcAttributeInput{VpcId: &vpcID,
		EnableDnsSupport: &types.AttributeBooleanValue{Value: aws.Bool(true)}, EnableDnsHostnames: &types.AttributeBooleanValue{Value: aws.Bool(true)}})
	if code(t, err) != "InvalidParameterCombination" {
		t.Errorf("two attributes at once: %v", err)
	}

	sub := func(cidr string) (string, error) {
		out, err := e.ec2.CreateSubnet(ctx, &awsec2.CreateSubnetInput{VpcId: &vpcID, CidrBlock: aws.String(cidr), AvailabilityZone: aws.String("us-east-1a")})
		if err != nil {
			return "", err
		}
		return aws.ToString(out.Subnet.SubnetId), nil
	}
	subnetID, err := sub("10.0.1.0/24")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sub("10.1.0.0/24"); code(t, err) != "InvalidSubnet.Range" {
		t.Errorf("subnet outside the vpc: %v", err)
	}
	if _, err := sub("10.0.1.128/25"); code(t, err) != "InvalidSubnet.Conflict" {
		t.Errorf("overlapping subnet: %v", err)
	}

	run := func(in *awsec2.RunInstancesInput) (*awsec2.RunInstancesOutput, error) {
		return e.ec2.RunInstances(ctx, in)
	}
	if _, err := run(&awsec2.RunInstancesInput{ImageId: aws.String("ami-164cd77e"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)}); code(t, err) != "VPCIdNotSpecified" {
		t.Errorf("run without subnet: %v, want VPCIdNotSpecified", err)
	}
	if _, err := run(&awsec2.RunInstancesInput{ImageId: aws.String("ami-164cd77e"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: &subnetID,
		IamInstanceProfile: &types.IamInstanceProfileSpecification{Name: aws.String("nope")}}); code(t, err) != "InvalidParameterValue" {
		t.Errorf("run with unknown profile: %v", err)
	}
	out, err := run(&awsec2.RunInstancesInput{ImageId: aws.String("ami-164cd77e"), MinCount: aws.Int32(2), MaxCount: aws.Int32(2), SubnetId: &subnetID,
		InstanceType: types.InstanceTypeT1Micro, IamInstanceProfile: &types.IamInstanceProfileSpecification{Name: aws.String("ha")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Instances) != 2 || out.Instances[0].State.Name != types.InstanceStateNamePending {
		t.Fatalf("run-instances answered %+v", out.Instances)
	}
	ids := []string{aws.ToString(out.Instances[0].InstanceId), aws.ToString(out.Instances[1].InstanceId)}
	for _, id := range ids {
		if srv.IMDSURL(id) == "" {
			t.Errorf("launched instance %s has no IMDS endpoint", id)
		}
	}
	waitFor(t, "instances running", func() bool {
		st, err := e.ec2.DescribeInstanceStatus(ctx, &awsec2.DescribeInstanceStatusInput{InstanceIds: ids})
		return err == nil && len(st.InstanceStatuses) == 2
	})
	if got := metadata(t, imdsClient(srv.IMDSURL(ids[1])), "instance-id"); got != ids[1] {
		t.Errorf("IMDS of %s says %s", ids[1], got)
	}
	// The launched instance's role credentials work.
	if _, err := instanceClient(t, srv, ids[0]).DescribeInstances(ctx, &awsec2.DescribeInstancesInput{}); err != nil {
		t.Errorf("call with the launched instance's credentials: %v", err)
	}

	images, err := e.ec2.DescribeImages(ctx, &awsec2.DescribeImagesInput{})
	if err != nil || len(images.Images) == 0 {
		t.Errorf("describe images: %+v, %v", images, err)
	}
	if _, err := e.ec2.DescribeImages(ctx, &awsec2.DescribeImagesInput{ImageIds: []string{"ami-164cd77e"}}); code(t, err) != "InvalidAMIID.NotFound" {
		t.Errorf("describe an image outside the built-in list: %v", err)
	}

	if _, err := e.ec2.DeleteSubnet(ctx, &awsec2.DeleteSubnetInput{SubnetId: &subnetID}); code(t, err) != "DependencyViolation" {
		t.Errorf("delete a subnet with instances: %v", err)
	}
	term, err := e.ec2.TerminateInstances(ctx, &awsec2.TerminateInstancesInput{InstanceIds: ids})
	if err != nil || term.TerminatingInstances[0].CurrentState.Name != types.InstanceStateNameShuttingDown {
		t.Fatalf("terminate: %+v, %v", term, err)
	}
	waitFor(t, "instances terminated", func() bool {
		return e.instanceState(t, ids[0]) == types.InstanceStateNameTerminated && e.instanceState(t, ids[1]) == types.InstanceStateNameTerminated
	})
	if _, err := e.ec2.DeleteSubnet(ctx, &awsec2.DeleteSubnetInput{SubnetId: &subnetID}); err != nil {
		t.Errorf("delete the emptied subnet: %v", err)
	}
	if _, err := e.ec2.DeleteVpc(ctx, &awsec2.DeleteVpcInput{VpcId: &vpcID}); err != nil {
		t.Errorf("delete the emptied vpc: %v", err)
	}
}

// TestMotoCompatibility checks what a suite written for moto_server needs:
// any access key, moto's reset endpoint, and the fresh account it gives (a
// default VPC with a default subnet per zone, used when RunInstances names
// no subnet).
func TestMotoCompatibility(t *testing.T) {
	srv := vpcsimtest.NewServerOptions(t, loadTestWorld(t), vpcsim.Options{AnyAccessKey: true})
	cfg := vpcsimtest.AdminConfig(t, srv, config.WithRetryMaxAttempts(1))
	cfg.Credentials = aws.NewCredentialsCache(staticCreds{"testing", "testing"})
	c := awsec2.NewFromConfig(cfg)
	ctx := t.Context()

	sm := ssm.NewFromConfig(cfg)
	if _, err := sm.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/x"), Value: aws.String("y"), Type: "String"}); err != nil {
		t.Fatalf("any access key: %v", err)
	}
	resp, err := http.Post(srv.URL()+"/moto-api/reset", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("reset: %s", resp.Status)
	}
	if _, err := sm.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/x")}); code(t, err) != "ParameterNotFound" {
		t.Errorf("parameter after reset: %v, want ParameterNotFound", err)
	}
	vpcs, err := c.DescribeVpcs(ctx, &awsec2.DescribeVpcsInput{Filters: []types.Filter{filter("is-default", "true")}})
	if err != nil || len(vpcs.Vpcs) != 1 || aws.ToString(vpcs.Vpcs[0].CidrBlock) != "172.31.0.0/16" {
		t.Fatalf("default vpc after reset: %+v, %v", vpcs, err)
	}
	// The filter's older name, as the EC2 API reference listed it
	// (DescribeVpcs: "isDefault - Indicates whether the VPC is the default VPC").
	if old, err := c.DescribeVpcs(ctx, &awsec2.DescribeVpcsInput{Filters: []types.Filter{filter("isDefault", "true")}}); err != nil || len(old.Vpcs) != 1 {
		t.Errorf("isDefault filter: %+v, %v; want the default VPC", old, err)
	}
	subs, err := c.DescribeSubnets(ctx, &awsec2.DescribeSubnetsInput{Filters: []types.Filter{filter("default-for-az", "true")}})
	if err != nil || len(subs.Subnets) != 6 {
		t.Fatalf("default subnets: %+v, %v", subs, err)
	}
	all, _ := c.DescribeVpcs(ctx, &awsec2.DescribeVpcsInput{})
	if len(all.Vpcs) != 1 {
		t.Errorf("vpcs after reset = %d, want only the default one", len(all.Vpcs))
	}
	run, err := c.RunInstances(ctx, &awsec2.RunInstancesInput{ImageId: aws.String("ami-12345678"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(run.Instances[0].Placement.AvailabilityZone); got != "us-east-1a" || !strings.HasPrefix(aws.ToString(run.Instances[0].PrivateIpAddress), "172.31.") {
		t.Errorf("instance without subnet landed in %s at %s, want the first zone's default subnet", got, aws.ToString(run.Instances[0].PrivateIpAddress))
	}
	rts, err := c.DescribeRouteTables(ctx, &awsec2.DescribeRouteTablesInput{Filters: []types.Filter{filter("route.destination-cidr-block", "0.0.0.0/0")}})
	if err != nil || len(rts.RouteTables) != 1 || !strings.HasPrefix(aws.ToString(rts.RouteTables[0].Routes[1].GatewayId), "igw-") {
		t.Errorf("default route to the internet gateway: %+v, %v", rts, err)
	}
}

func TestInternetGatewaysAndInterfaceAttributes(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	gw := func(table, igw string) error {
		_, err := e.ec2.CreateRoute(ctx, &awsec2.CreateRouteInput{RouteTableId: aws.String(table), DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: aws.String(igw)})
		return err
	}
	if err := gw(rtbA, "igw-00000000000000999"); code(t, err) != "InvalidGatewayID.NotFound" {
		t.Errorf("route to unknown gateway: %v", err)
	}
	g, err := e.ec2.CreateInternetGateway(ctx, &awsec2.CreateInternetGatewayInput{})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(g.InternetGateway.InternetGatewayId)
	if err := gw(rtbA, id); code(t, err) != "InvalidParameterValue" {
		t.Errorf("route to a detached gateway: %v", err)
	}
	if _, err := e.ec2.AttachInternetGateway(ctx, &awsec2.AttachInternetGatewayInput{InternetGatewayId: &id, VpcId: aws.String(vpcDemo)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.AttachInternetGateway(ctx, &awsec2.AttachInternetGatewayInput{InternetGatewayId: &id, VpcId: aws.String(vpcOther)}); code(t, err) != "Resource.AlreadyAssociated" {
		t.Errorf("attach twice: %v", err)
	}
	if err := gw(rtbA, id); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.DeleteInternetGateway(ctx, &awsec2.DeleteInternetGatewayInput{InternetGatewayId: &id}); code(t, err) != "DependencyViolation" {
		t.Errorf("delete attached gateway: %v", err)
	}
	out, err := e.ec2.DescribeInternetGateways(ctx, &awsec2.DescribeInternetGatewaysInput{Filters: []types.Filter{filter("attachment.vpc-id", vpcDemo)}})
	if err != nil || len(out.InternetGateways) != 1 || aws.ToString(out.InternetGateways[0].InternetGatewayId) != id {
		t.Errorf("describe gateways of the vpc: %+v, %v", out, err)
	}

	attr, err := e.ec2.DescribeNetworkInterfaceAttribute(ctx, &awsec2.DescribeNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String(eniA), Attribute: types.NetworkInterfaceAttributeSourceDestCheck})
	if err != nil || aws.ToBool(attr.SourceDestCheck.Value) {
		t.Errorf("source/dest check of node-a's interface: %+v, %v", attr, err)
	}
	att, err := e.ec2.DescribeNetworkInterfaceAttribute(ctx, &awsec2.DescribeNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String(eniMulti2), Attribute: types.NetworkInterfaceAttributeAttachment})
	if err != nil || aws.ToString(att.Attachment.InstanceId) != multi {
		t.Errorf("attachment attribute: %+v, %v", att, err)
	}
}
