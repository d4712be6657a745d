package vpcsim_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vipd/vipd/internal/vpcsim"
	"github.com/vipd/vipd/internal/vpcsim/vpcsimtest"
)

// TestLaunchVolumes follows the RunInstances and ModifyInstanceAttribute
// API references: an EBS-backed instance has its image's root volume
// (vpcsim's image: 8 GiB gp2 at /dev/sda1, deleted on termination),
// BlockDeviceMapping.N overrides it or adds volumes (an Ebs entry needs a
// VolumeSize or SnapshotId; NoDevice suppresses one and must be empty),
// the launch's "volume" tag specification tags them, a volume with
// DeleteOnTermination goes with the instance while the others become
// available, and ModifyInstanceAttribute BlockDeviceMapping.N changes
// DeleteOnTermination ("If no value is specified ... the default is
// true").
func TestLaunchVolumes(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	run := func(bdms ...types.BlockDeviceMapping) (types.Instance, error) {
		out, err := e.ec2.RunInstances(ctx, &awsec2.RunInstancesInput{ImageId: aws.String("ami-0a1b2c3d4e5f60718"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
			SubnetId: aws.String(subnetA), BlockDeviceMappings: bdms,
			TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeVolume, Tags: []types.Tag{{Key: aws.String("app"), Value: aws.String("db")}}}}})
		if err != nil {
			return types.Instance{}, err
		}
		return out.Instances[0], nil
	}
	in, err := run()
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(in.RootDeviceName) != "/dev/sda1" || len(in.BlockDeviceMappings) != 1 || aws.ToString(in.BlockDeviceMappings[0].DeviceName) != "/dev/sda1" ||
		!aws.ToBool(in.BlockDeviceMappings[0].Ebs.DeleteOnTermination) {
		t.Fatalf("root device %s, mappings %+v: want one volume at /dev/sda1 deleted on termination", aws.ToString(in.RootDeviceName), in.BlockDeviceMappings)
	}
	root := e.volume(t, aws.ToString(in.BlockDeviceMappings[0].Ebs.VolumeId))
	if aws.ToInt32(root.Size) != 8 || root.State != types.VolumeStateInUse || len(root.Tags) != 1 || aws.ToString(root.Tags[0].Value) != "db" {
		t.Errorf("root volume %+v: want 8 GiB, in-use, tagged app=db", root)
	}

	in2, err := run(types.BlockDeviceMapping{DeviceName: aws.String("/dev/sda1"), Ebs: &types.EbsBlockDevice{VolumeSize: aws.Int32(50)}},
		types.BlockDeviceMapping{DeviceName: aws.String("/dev/sdf"), Ebs: &types.EbsBlockDevice{VolumeSize: aws.Int32(20), DeleteOnTermination: aws.Bool(false)}})
	if err != nil {
		t.Fatal(err)
	}
	vols := map[string]types.InstanceBlockDeviceMapping{}
	for _, m := range in2.BlockDeviceMappings {
		vols[aws.ToString(m.DeviceName)] = m
	}
	if len(vols) != 2 || aws.ToInt32(e.volume(t, aws.ToString(vols["/dev/sda1"].Ebs.VolumeId)).Size) != 50 {
		t.Fatalf("mappings %+v: want a 50 GiB root and /dev/sdf", in2.BlockDeviceMappings)
	}
	kept := aws.ToString(vols["/dev/sdf"].Ebs.VolumeId)

	for _, c := range []struct {
		name string
		bdm  types.BlockDeviceMapping
		code string
	}{
		{"no Ebs", types.BlockDeviceMapping{DeviceName: aws.String("/dev/sdg")}, "MissingParameter"},
		{"no size", types.BlockDeviceMapping{DeviceName: aws.String("/dev/sdg"), Ebs: &types.EbsBlockDevice{VolumeType: types.VolumeTypeStandard}}, "MissingParameter"},
		{"NoDevice with a value", types.BlockDeviceMapping{DeviceName: aws.String("/dev/sdg"), NoDevice: aws.String("yes")}, "InvalidRequest"},
	} {
		if _, err := run(c.bdm); code(t, err) != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}
	if in3, err := run(types.BlockDeviceMapping{DeviceName: aws.String("/dev/sda1"), NoDevice: aws.String("")}); err != nil || len(in3.BlockDeviceMappings) != 0 {
		t.Errorf("NoDevice for the root: %+v, %v, want no volume", in3.BlockDeviceMappings, err)
	}

	// Keep the first instance's root volume, then terminate both.
	if _, err := e.ec2.ModifyInstanceAttribute(ctx, &awsec2.ModifyInstanceAttributeInput{InstanceId: in.InstanceId,
		BlockDeviceMappings: []types.InstanceBlockDeviceMappingSpecification{{DeviceName: aws.String("/dev/sda1"), Ebs: &types.EbsInstanceBlockDeviceSpecification{DeleteOnTermination: aws.Bool(false)}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.ModifyInstanceAttribute(ctx, &awsec2.ModifyInstanceAttributeInput{InstanceId: in.InstanceId,
		BlockDeviceMappings: []types.InstanceBlockDeviceMappingSpecification{{DeviceName: aws.String("/dev/sdz"), Ebs: &types.EbsInstanceBlockDeviceSpecification{DeleteOnTermination: aws.Bool(false)}}}}); code(t, err) != "InvalidInstanceAttributeValue" {
		t.Errorf("modify an unmapped device: %v, want InvalidInstanceAttributeValue", err)
	}
	if _, err := e.ec2.TerminateInstances(ctx, &awsec2.TerminateInstancesInput{InstanceIds: []string{aws.ToString(in.InstanceId), aws.ToString(in2.InstanceId)}}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{aws.ToString(root.VolumeId), kept} {
		if v := e.volume(t, id); v.State != types.VolumeStateAvailable {
			t.Errorf("%s after termination: %s, want available", id, v.State)
		}
	}
	gone := aws.ToString(vols["/dev/sda1"].Ebs.VolumeId)
	if _, err := e.ec2.DescribeVolumes(ctx, &awsec2.DescribeVolumesInput{VolumeIds: []string{gone}}); code(t, err) != "InvalidVolume.NotFound" {
		t.Errorf("root volume deleted on termination: %v, want InvalidVolume.NotFound", err)
	}
}

// TestCreateVolumeParameters follows the CreateVolume API reference: "If
// KmsKeyId is specified, the encrypted state must be true"; Throughput is
// "valid only for gp3 volumes"; MultiAttachEnabled is for io1 and io2
// only (InvalidParameterDependency, a common client error code); a size
// or a snapshot is required; gp3 reports 3,000 IOPS and 125 MiB/s unless
// given others (EBS user guide, "Amazon EBS volume types").
func TestCreateVolumeParameters(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	az := aws.String("us-east-1a")
	for _, c := range []struct {
		name string
		in   awsec2.CreateVolumeInput
	}{
		{"KmsKeyId unencrypted", awsec2.CreateVolumeInput{Size: aws.Int32(10), KmsKeyId: aws.String("key"), Encrypted: aws.Bool(false)}},
		{"Throughput on gp2", awsec2.CreateVolumeInput{Size: aws.Int32(10), VolumeType: types.VolumeTypeGp2, Throughput: aws.Int32(200)}},
		{"MultiAttach on gp3", awsec2.CreateVolumeInput{Size: aws.Int32(10), VolumeType: types.VolumeTypeGp3, MultiAttachEnabled: aws.Bool(true)}},
	} {
		c.in.AvailabilityZone = az
		if _, err := e.ec2.CreateVolume(ctx, &c.in); code(t, err) != "InvalidParameterDependency" {
			t.Errorf("%s: %v, want InvalidParameterDependency", c.name, err)
		}
	}
	if _, err := e.ec2.CreateVolume(ctx, &awsec2.CreateVolumeInput{AvailabilityZone: az}); code(t, err) != "MissingParameter" {
		t.Errorf("no size: %v, want MissingParameter", err)
	}
	v, err := e.ec2.CreateVolume(ctx, &awsec2.CreateVolumeInput{AvailabilityZone: az, Size: aws.Int32(10), VolumeType: types.VolumeTypeGp3,
		Iops: aws.Int32(4000), Encrypted: aws.Bool(true), KmsKeyId: aws.String("key")})
	if err != nil {
		t.Fatal(err)
	}
	got := e.volume(t, aws.ToString(v.VolumeId))
	if aws.ToInt32(got.Iops) != 4000 || aws.ToInt32(got.Throughput) != 125 || !aws.ToBool(got.Encrypted) || aws.ToString(got.KmsKeyId) != "key" {
		t.Errorf("gp3 volume %+v: want 4000 IOPS, 125 MiB/s, encrypted with key", got)
	}
	io2, err := e.ec2.CreateVolume(ctx, &awsec2.CreateVolumeInput{AvailabilityZone: az, Size: aws.Int32(10), VolumeType: types.VolumeTypeIo2,
		Iops: aws.Int32(300), MultiAttachEnabled: aws.Bool(true)})
	if err != nil || !aws.ToBool(io2.MultiAttachEnabled) {
		t.Errorf("io2 multi-attach: %+v, %v", io2, err)
	}
}

// TestInstanceMetadataOptions follows InstanceMetadataOptionsRequest in
// the API reference: an instance launched from an image without
// ImdsSupport v2.0 has tokens optional, endpoint enabled, hop limit 1;
// ModifyInstanceMetadataOptions changes them, and the instance's metadata
// service follows: with HttpTokens required a GET without a session
// token is refused.
func TestInstanceMetadataOptions(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	out, err := e.ec2.RunInstances(ctx, &awsec2.RunInstancesInput{ImageId: aws.String("ami-0a1b2c3d4e5f60718"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		SubnetId: aws.String(subnetA), Monitoring: &types.RunInstancesMonitoringEnabled{Enabled: aws.Bool(true)}})
	if err != nil {
		t.Fatal(err)
	}
	in := out.Instances[0]
	if m := in.MetadataOptions; m == nil || m.HttpTokens != types.HttpTokensStateOptional || m.HttpEndpoint != types.InstanceMetadataEndpointStateEnabled || aws.ToInt32(m.HttpPutResponseHopLimit) != 1 {
		t.Errorf("launch metadata options %+v", m)
	}
	if in.Monitoring.State != types.MonitoringStateEnabled {
		t.Errorf("monitoring %s, want enabled", in.Monitoring.State)
	}
	id := aws.ToString(in.InstanceId)
	getV1 := func() int {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.IMDSURL(id)+"/latest/meta-data/instance-id", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := getV1(); got != http.StatusOK {
		t.Errorf("GET without a token while tokens are optional: HTTP %d, want 200", got)
	}
	mo, err := e.ec2.ModifyInstanceMetadataOptions(ctx, &awsec2.ModifyInstanceMetadataOptionsInput{InstanceId: in.InstanceId,
		HttpTokens: types.HttpTokensStateRequired, HttpPutResponseHopLimit: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	if m := mo.InstanceMetadataOptions; m.HttpTokens != types.HttpTokensStateRequired || aws.ToInt32(m.HttpPutResponseHopLimit) != 2 {
		t.Errorf("modified options %+v", m)
	}
	if got := getV1(); got != http.StatusUnauthorized {
		t.Errorf("GET without a token once tokens are required: HTTP %d, want 401", got)
	}
}

// TestReleaseAddressInDefaultVPC follows the ReleaseAddress API reference:
// "[Default VPC] Releasing an Elastic IP address automatically
// disassociates it from any instance that it's associated with" (outside
// the default VPC it is InvalidIPAddress.InUse, TestElasticIPs).
func TestReleaseAddressInDefaultVPC(t *testing.T) {
	srv := vpcsimtest.NewServer(t, &vpcsim.World{DefaultVPC: true})
	c := awsec2.NewFromConfig(vpcsimtest.AdminConfig(t, srv, config.WithRetryMaxAttempts(1)))
	ctx := t.Context()
	run, err := c.RunInstances(ctx, &awsec2.RunInstancesInput{ImageId: aws.String("ami-0a1b2c3d4e5f60718"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.AllocateAddress(ctx, &awsec2.AllocateAddressInput{Domain: types.DomainTypeVpc})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AssociateAddress(ctx, &awsec2.AssociateAddressInput{AllocationId: a.AllocationId, InstanceId: run.Instances[0].InstanceId}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReleaseAddress(ctx, &awsec2.ReleaseAddressInput{AllocationId: a.AllocationId}); err != nil {
		t.Fatalf("release an associated address in the default VPC: %v", err)
	}
	out, err := c.DescribeInstances(ctx, &awsec2.DescribeInstancesInput{InstanceIds: []string{aws.ToString(run.Instances[0].InstanceId)}})
	if err != nil {
		t.Fatal(err)
	}
	if ip := aws.ToString(out.Reservations[0].Instances[0].PublicIpAddress); ip == aws.ToString(a.PublicIp) {
		t.Errorf("instance still has the released address %s", ip)
	}
}

// TestTagLimit follows the EC2 user guide's tag restrictions, "Maximum
// number of tags per resource – 50": a CreateTags call that would pass it
// answers TagLimitExceeded (API reference, error codes) and sets none of
// its tags.
func TestTagLimit(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	var tags []types.Tag
	for i := range 51 {
		tags = append(tags, types.Tag{Key: aws.String(fmt.Sprintf("k%02d", i)), Value: aws.String("")})
	}
	if _, err := e.ec2.CreateTags(ctx, &awsec2.CreateTagsInput{Resources: []string{subnetA}, Tags: tags}); code(t, err) != "TagLimitExceeded" {
		t.Fatalf("51 tags: %v, want TagLimitExceeded", err)
	}
	out, err := e.ec2.DescribeTags(ctx, &awsec2.DescribeTagsInput{Filters: []types.Filter{{Name: aws.String("resource-id"), Values: []string{subnetA}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range out.Tags {
		if strings.HasPrefix(aws.ToString(tg.Key), "k") {
			t.Errorf("tag %s set by a refused call", aws.ToString(tg.Key))
		}
	}
	if _, err := e.ec2.CreateTags(ctx, &awsec2.CreateTagsInput{Resources: []string{subnetA}, Tags: tags[:50-len(out.Tags)]}); err != nil {
		t.Errorf("up to 50 tags: %v", err)
	}
}
