package vpcsim_test

import (
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vipd/vipd/internal/vpcsim"
	"github.com/vipd/vipd/internal/vpcsim/vpcsimtest"
)

// TestSnapshotLifecycle follows the EC2 API reference for CreateSnapshot,
// DescribeSnapshots and DeleteSnapshot
// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Snapshot.html):
// a snapshot is "pending" until it completes ("Snapshots occur
// asynchronously; the point-in-time snapshot is created immediately, but
// the status of the snapshot is pending until the snapshot is complete",
// EBS user guide), keeps its volume's size and encryption, is found by the
// documented filters, and once deleted is InvalidSnapshot.NotFound.
func TestSnapshotLifecycle(t *testing.T) {
	srv := vpcsimtest.NewServerOptions(t, loadTestWorld(t), vpcsim.Options{Timing: vpcsim.Timing{Snapshot: vpcsim.Dist{Median: 300 * time.Millisecond}}})
	c := awsec2.NewFromConfig(vpcsimtest.AdminConfig(t, srv, config.WithRetryMaxAttempts(1)))
	ctx := t.Context()
	vol, err := c.CreateVolume(ctx, &awsec2.CreateVolumeInput{AvailabilityZone: aws.String("us-east-1a"), Size: aws.Int32(30), Encrypted: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := c.CreateSnapshot(ctx, &awsec2.CreateSnapshotInput{VolumeId: vol.VolumeId, Description: aws.String("nightly"),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSnapshot, Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if snap.State != types.SnapshotStatePending || aws.ToString(snap.Progress) != "0%" || aws.ToInt32(snap.VolumeSize) != 30 ||
		!aws.ToBool(snap.Encrypted) || aws.ToString(snap.VolumeId) != aws.ToString(vol.VolumeId) || aws.ToString(snap.OwnerId) == "" {
		t.Errorf("new snapshot %+v: want pending at 0%%, 30 GiB, encrypted, of %s", snap, aws.ToString(vol.VolumeId))
	}
	id := aws.ToString(snap.SnapshotId)
	describe := func(in *awsec2.DescribeSnapshotsInput) []types.Snapshot {
		t.Helper()
		out, err := c.DescribeSnapshots(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return out.Snapshots
	}
	waitFor(t, "snapshot completed", func() bool {
		s := describe(&awsec2.DescribeSnapshotsInput{SnapshotIds: []string{id}})
		return s[0].State == types.SnapshotStateCompleted && aws.ToString(s[0].Progress) == "100%"
	})
	for _, f := range []types.Filter{
		{Name: aws.String("description"), Values: []string{"nightly"}},
		{Name: aws.String("volume-id"), Values: []string{aws.ToString(vol.VolumeId)}},
		{Name: aws.String("volume-size"), Values: []string{"30"}},
		{Name: aws.String("encrypted"), Values: []string{"true"}},
		{Name: aws.String("status"), Values: []string{"completed"}},
		{Name: aws.String("tag:k"), Values: []string{"v"}},
	} {
		if s := describe(&awsec2.DescribeSnapshotsInput{Filters: []types.Filter{f}}); len(s) != 1 || aws.ToString(s[0].SnapshotId) != id {
			t.Errorf("filter %s=%v found %d snapshots, want %s", aws.ToString(f.Name), f.Values, len(s), id)
		}
	}
	if s := describe(&awsec2.DescribeSnapshotsInput{Filters: []types.Filter{{Name: aws.String("status"), Values: []string{"pending"}}}}); len(s) != 0 {
		t.Errorf("status=pending found %d completed snapshots", len(s))
	}
	if s := describe(&awsec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}}); len(s) != 1 {
		t.Errorf("Owner self found %d snapshots, want 1", len(s))
	}
	if _, err := c.DescribeSnapshots(ctx, &awsec2.DescribeSnapshotsInput{SnapshotIds: []string{"snap-0123456789abcdef0"}}); code(t, err) != "InvalidSnapshot.NotFound" {
		t.Errorf("describe unknown snapshot: %v, want InvalidSnapshot.NotFound", err)
	}
	if _, err := c.CreateSnapshot(ctx, &awsec2.CreateSnapshotInput{VolumeId: aws.String("vol-0123456789abcdef0")}); code(t, err) != "InvalidVolume.NotFound" {
		t.Errorf("snapshot of unknown volume: %v, want InvalidVolume.NotFound", err)
	}
	tags, err := c.DescribeTags(ctx, &awsec2.DescribeTagsInput{Filters: []types.Filter{{Name: aws.String("resource-type"), Values: []string{"snapshot"}}}})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].ResourceId) != id {
		t.Errorf("DescribeTags resource-type=snapshot: %+v, %v; want the snapshot's tag", tags, err)
	}

	if _, err := c.DeleteSnapshot(ctx, &awsec2.DeleteSnapshotInput{SnapshotId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteSnapshot(ctx, &awsec2.DeleteSnapshotInput{SnapshotId: aws.String(id)}); code(t, err) != "InvalidSnapshot.NotFound" {
		t.Errorf("second delete: %v, want InvalidSnapshot.NotFound", err)
	}
}

// TestVolumeFromSnapshot follows CreateVolume's API reference: "If you
// specify a snapshot, the default is the snapshot size. You can specify a
// volume size that is equal to or larger than the snapshot size", and
// "Volumes created from encrypted snapshots are automatically encrypted"
// (EBS user guide, "Amazon EBS encryption"); a launch's block device
// mapping may name a snapshot as well.
func TestVolumeFromSnapshot(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	vol, err := e.ec2.CreateVolume(ctx, &awsec2.CreateVolumeInput{AvailabilityZone: aws.String("us-east-1a"), Size: aws.Int32(80), Encrypted: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := e.ec2.CreateSnapshot(ctx, &awsec2.CreateSnapshotInput{VolumeId: vol.VolumeId})
	if err != nil {
		t.Fatal(err)
	}
	nv, err := e.ec2.CreateVolume(ctx, &awsec2.CreateVolumeInput{AvailabilityZone: aws.String("us-east-1b"), SnapshotId: snap.SnapshotId})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(nv.Size) != 80 || !aws.ToBool(nv.Encrypted) || aws.ToString(nv.SnapshotId) != aws.ToString(snap.SnapshotId) {
		t.Errorf("volume from snapshot %+v: want 80 GiB, encrypted, of %s", nv, aws.ToString(snap.SnapshotId))
	}
	vols, err := e.ec2.DescribeVolumes(ctx, &awsec2.DescribeVolumesInput{Filters: []types.Filter{{Name: aws.String("snapshot-id"), Values: []string{aws.ToString(snap.SnapshotId)}}}})
	if err != nil || len(vols.Volumes) != 1 || aws.ToString(vols.Volumes[0].VolumeId) != aws.ToString(nv.VolumeId) {
		t.Errorf("DescribeVolumes snapshot-id: %+v, %v; want %s", vols, err, aws.ToString(nv.VolumeId))
	}
	for _, c := range []struct {
		name string
		in   *awsec2.CreateVolumeInput
		code string
	}{
		{"smaller than the snapshot", &awsec2.CreateVolumeInput{AvailabilityZone: aws.String("us-east-1a"), SnapshotId: snap.SnapshotId, Size: aws.Int32(40)}, "InvalidParameterValue"},
		{"unknown snapshot", &awsec2.CreateVolumeInput{AvailabilityZone: aws.String("us-east-1a"), SnapshotId: aws.String("snap-0123456789abcdef0")}, "InvalidSnapshot.NotFound"},
	} {
		if _, err := e.ec2.CreateVolume(ctx, c.in); code(t, err) != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}
	run, err := e.ec2.RunInstances(ctx, &awsec2.RunInstancesInput{ImageId: aws.String("ami-0a1b2c3d4e5f60718"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		SubnetId: aws.String(subnetA), BlockDeviceMappings: []types.BlockDeviceMapping{{DeviceName: aws.String("/dev/sdf"), Ebs: &types.EbsBlockDevice{SnapshotId: snap.SnapshotId}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range run.Instances[0].BlockDeviceMappings {
		if aws.ToString(m.DeviceName) == "/dev/sdf" {
			if v := e.volume(t, aws.ToString(m.Ebs.VolumeId)); aws.ToInt32(v.Size) != 80 || !aws.ToBool(v.Encrypted) {
				t.Errorf("launch volume from snapshot %+v: want 80 GiB, encrypted", v)
			}
		}
	}

	// CreateSnapshots: "Creates crash-consistent snapshots of multiple EBS
	// volumes attached to an Amazon EC2 instance", all with one start
	// time ("This is the same for all snapshots initiated by the same
	// request", SnapshotInfo).
	multi, err := e.ec2.CreateSnapshots(ctx, &awsec2.CreateSnapshotsInput{InstanceSpecification: &types.InstanceSpecification{InstanceId: run.Instances[0].InstanceId}})
	if err != nil {
		t.Fatal(err)
	}
	if len(multi.Snapshots) != 2 || !aws.ToTime(multi.Snapshots[0].StartTime).Equal(aws.ToTime(multi.Snapshots[1].StartTime)) {
		t.Errorf("CreateSnapshots %+v: want the root and /dev/sdf, started together", multi.Snapshots)
	}
	noBoot, err := e.ec2.CreateSnapshots(ctx, &awsec2.CreateSnapshotsInput{InstanceSpecification: &types.InstanceSpecification{
		InstanceId: run.Instances[0].InstanceId, ExcludeBootVolume: aws.Bool(true)}})
	if err != nil || len(noBoot.Snapshots) != 1 || aws.ToInt32(noBoot.Snapshots[0].VolumeSize) != 80 {
		t.Errorf("CreateSnapshots ExcludeBootVolume: %+v, %v; want only /dev/sdf's", noBoot, err)
	}
}

// TestSnapshotPermissionsAndCopy follows ModifySnapshotAttribute ("Only
// volume creation permissions can be modified"; the group "all" makes a
// snapshot public, UserId.N shares it with accounts), DescribeSnapshotAttribute
// and CopySnapshot, which copies a snapshot from SourceRegion into the
// caller's region with "an arbitrary volume ID that should not be used
// for any purpose" (API reference Snapshot, volumeId) and requires
// Encrypted with KmsKeyId.
func TestSnapshotPermissionsAndCopy(t *testing.T) {
	srv := vpcsimtest.NewServer(t, &vpcsim.World{DefaultVPC: true})
	west1, west2 := regionClient(t, srv, "eu-west-1"), regionClient(t, srv, "eu-west-2")
	ctx := t.Context()
	vol, err := west1.CreateVolume(ctx, &awsec2.CreateVolumeInput{AvailabilityZone: aws.String("eu-west-1a"), Size: aws.Int32(10)})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := west1.CreateSnapshot(ctx, &awsec2.CreateSnapshotInput{VolumeId: vol.VolumeId})
	if err != nil {
		t.Fatal(err)
	}
	perms := func() []types.CreateVolumePermission {
		t.Helper()
		out, err := west1.DescribeSnapshotAttribute(ctx, &awsec2.DescribeSnapshotAttributeInput{SnapshotId: snap.SnapshotId, Attribute: types.SnapshotAttributeNameCreateVolumePermission})
		if err != nil {
			t.Fatal(err)
		}
		return out.CreateVolumePermissions
	}
	modify := func(op types.OperationType, groups, users []string) error {
		_, err := west1.ModifySnapshotAttribute(ctx, &awsec2.ModifySnapshotAttributeInput{SnapshotId: snap.SnapshotId,
			Attribute: types.SnapshotAttributeNameCreateVolumePermission, OperationType: op, GroupNames: groups, UserIds: users})
		return err
	}
	if p := perms(); len(p) != 0 {
		t.Errorf("new snapshot permissions %+v, want none", p)
	}
	for range 2 { // adding twice is adding once
		if err := modify(types.OperationTypeAdd, []string{"all"}, []string{"111122223333"}); err != nil {
			t.Fatal(err)
		}
	}
	p := perms()
	if len(p) != 2 || !slices.ContainsFunc(p, func(x types.CreateVolumePermission) bool { return x.Group == types.PermissionGroupAll }) ||
		!slices.ContainsFunc(p, func(x types.CreateVolumePermission) bool { return aws.ToString(x.UserId) == "111122223333" }) {
		t.Errorf("permissions %+v, want group all and 111122223333", p)
	}
	if err := modify(types.OperationTypeRemove, []string{"all"}, []string{"111122223333"}); err != nil {
		t.Fatal(err)
	}
	if p := perms(); len(p) != 0 {
		t.Errorf("permissions after remove %+v, want none", p)
	}
	if err := modify(types.OperationTypeAdd, []string{"everyone"}, nil); code(t, err) != "InvalidAMIAttributeItemValue" {
		t.Errorf("group everyone: %v, want InvalidAMIAttributeItemValue", err)
	}

	cp, err := west2.CopySnapshot(ctx, &awsec2.CopySnapshotInput{SourceSnapshotId: snap.SnapshotId, SourceRegion: aws.String("eu-west-1"),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSnapshot, Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(cp.Tags) != 1 {
		t.Errorf("copy tags %+v, want k=v", cp.Tags)
	}
	got, err := west2.DescribeSnapshots(ctx, &awsec2.DescribeSnapshotsInput{SnapshotIds: []string{aws.ToString(cp.SnapshotId)}})
	if err != nil {
		t.Fatal(err)
	}
	if s := got.Snapshots[0]; aws.ToString(s.VolumeId) != "vol-ffffffff" || aws.ToInt32(s.VolumeSize) != 10 {
		t.Errorf("copy %+v: want volume vol-ffffffff, 10 GiB", s)
	}
	if _, err := west1.DescribeSnapshots(ctx, &awsec2.DescribeSnapshotsInput{SnapshotIds: []string{aws.ToString(cp.SnapshotId)}}); code(t, err) != "InvalidSnapshot.NotFound" {
		t.Errorf("copy seen in the source region: %v", err)
	}
	if _, err := west2.CopySnapshot(ctx, &awsec2.CopySnapshotInput{SourceSnapshotId: snap.SnapshotId, SourceRegion: aws.String("eu-west-2")}); code(t, err) != "InvalidSnapshot.NotFound" {
		t.Errorf("copy from the wrong region: %v, want InvalidSnapshot.NotFound", err)
	}
	if _, err := west2.CopySnapshot(ctx, &awsec2.CopySnapshotInput{SourceSnapshotId: snap.SnapshotId, SourceRegion: aws.String("eu-west-1"),
		KmsKeyId: aws.String("alias/k")}); code(t, err) != "InvalidParameterDependency" {
		t.Errorf("KmsKeyId without Encrypted: %v, want InvalidParameterDependency", err)
	}
}

// TestCreateImage follows CreateImage ("Creates an Amazon EBS-backed AMI
// from an Amazon EBS-backed instance that is either running or stopped";
// a name in use is InvalidAMIName.Duplicate), which snapshots the
// instance's volumes, DescribeImages, tags of images, and
// DeregisterImage, which leaves the snapshots.
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateImage.html
func TestCreateImage(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	img, err := e.ec2.CreateImage(ctx, &awsec2.CreateImageInput{InstanceId: aws.String(nodeA), Name: aws.String("node-a backup"),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeImage, Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(img.ImageId)
	got, err := e.ec2.DescribeImages(ctx, &awsec2.DescribeImagesInput{ImageIds: []string{id}})
	if err != nil || len(got.Images) != 1 || aws.ToString(got.Images[0].Name) != "node-a backup" || got.Images[0].State != types.ImageStateAvailable {
		t.Fatalf("DescribeImages %s: %+v, %v", id, got, err)
	}
	tags, err := e.ec2.DescribeTags(ctx, &awsec2.DescribeTagsInput{Filters: []types.Filter{{Name: aws.String("resource-type"), Values: []string{"image"}}}})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].ResourceId) != id {
		t.Errorf("image tags %+v, %v", tags, err)
	}
	snaps, err := e.ec2.DescribeSnapshots(ctx, &awsec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}})
	if err != nil || len(snaps.Snapshots) == 0 {
		t.Errorf("snapshots of the image: %+v, %v; want one per volume of %s", snaps, err, nodeA)
	}
	if _, err := e.ec2.CreateImage(ctx, &awsec2.CreateImageInput{InstanceId: aws.String(nodeB), Name: aws.String("node-a backup")}); code(t, err) != "InvalidAMIName.Duplicate" {
		t.Errorf("same name again: %v, want InvalidAMIName.Duplicate", err)
	}
	if _, err := e.ec2.DeregisterImage(ctx, &awsec2.DeregisterImageInput{ImageId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.DescribeImages(ctx, &awsec2.DescribeImagesInput{ImageIds: []string{id}}); code(t, err) != "InvalidAMIID.NotFound" {
		t.Errorf("describe deregistered image: %v, want InvalidAMIID.NotFound", err)
	}
	after, err := e.ec2.DescribeSnapshots(ctx, &awsec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}})
	if err != nil || len(after.Snapshots) != len(snaps.Snapshots) {
		t.Errorf("snapshots after DeregisterImage: %d, want %d kept", len(after.Snapshots), len(snaps.Snapshots))
	}
}

// TestModifyVolume follows ModifyVolume ("After you initiate a volume
// modification, you must wait for that modification to reach the
// completed state before you can initiate another modification for the
// same volume. You can modify a volume up to four times within a rolling
// 24-hour period") and DescribeVolumesModifications ("Describes the most
// recent volume modification request"), with the states of the EBS user
// guide, "Monitor the progress of Amazon EBS volume modifications":
// modifying, optimizing, completed; a size shows once optimizing.
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyVolume.html
func TestModifyVolume(t *testing.T) {
	e := slowEnv(t)
	ctx := t.Context()
	vol, err := e.ec2.CreateVolume(ctx, &awsec2.CreateVolumeInput{AvailabilityZone: aws.String("us-east-1a"), Size: aws.Int32(20), VolumeType: types.VolumeTypeGp3})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "volume available", func() bool { return e.volume(t, aws.ToString(vol.VolumeId)).State == types.VolumeStateAvailable })
	mod, err := e.ec2.ModifyVolume(ctx, &awsec2.ModifyVolumeInput{VolumeId: vol.VolumeId, Size: aws.Int32(40)})
	if err != nil {
		t.Fatal(err)
	}
	m := mod.VolumeModification
	if m.ModificationState != types.VolumeModificationStateModifying || aws.ToInt32(m.OriginalSize) != 20 || aws.ToInt32(m.TargetSize) != 40 {
		t.Errorf("modification %+v: want modifying from 20 to 40 GiB", m)
	}
	if _, err := e.ec2.ModifyVolume(ctx, &awsec2.ModifyVolumeInput{VolumeId: vol.VolumeId, Iops: aws.Int32(4000)}); code(t, err) != "IncorrectModificationState" {
		t.Errorf("second modification while the first runs: %v, want IncorrectModificationState", err)
	}
	waitFor(t, "size 40", func() bool { return aws.ToInt32(e.volume(t, aws.ToString(vol.VolumeId)).Size) == 40 })
	waitFor(t, "modification completed", func() bool {
		out, err := e.ec2.DescribeVolumesModifications(ctx, &awsec2.DescribeVolumesModificationsInput{VolumeIds: []string{aws.ToString(vol.VolumeId)}})
		return err == nil && out.VolumesModifications[0].ModificationState == types.VolumeModificationStateCompleted
	})
	if _, err := e.ec2.ModifyVolume(ctx, &awsec2.ModifyVolumeInput{VolumeId: vol.VolumeId, Size: aws.Int32(30)}); code(t, err) != "InvalidParameterValue" {
		t.Errorf("shrink: %v, want InvalidParameterValue", err)
	}
	if _, err := e.ec2.ModifyVolume(ctx, &awsec2.ModifyVolumeInput{VolumeId: vol.VolumeId, Throughput: aws.Int32(200), VolumeType: types.VolumeTypeIo2, Iops: aws.Int32(100)}); code(t, err) != "InvalidParameterDependency" {
		t.Errorf("throughput on io2: %v, want InvalidParameterDependency", err)
	}

	n := newEnv(t)
	v2, err := n.ec2.CreateVolume(ctx, &awsec2.CreateVolumeInput{AvailabilityZone: aws.String("us-east-1a"), Size: aws.Int32(10), VolumeType: types.VolumeTypeGp3})
	if err != nil {
		t.Fatal(err)
	}
	for i, size := range []int32{11, 12, 13, 14} {
		if _, err := n.ec2.ModifyVolume(ctx, &awsec2.ModifyVolumeInput{VolumeId: v2.VolumeId, Size: aws.Int32(size)}); err != nil {
			t.Fatalf("modification %d: %v", i+1, err)
		}
		if _, err := n.ec2.DescribeVolumes(ctx, &awsec2.DescribeVolumesInput{}); err != nil { // lets the modification complete
			t.Fatal(err)
		}
	}
	if _, err := n.ec2.ModifyVolume(ctx, &awsec2.ModifyVolumeInput{VolumeId: v2.VolumeId, Size: aws.Int32(15)}); code(t, err) != "IncorrectModificationState" {
		t.Errorf("fifth modification in 24 hours: %v, want IncorrectModificationState", err)
	}
	mods, err := n.ec2.DescribeVolumesModifications(ctx, &awsec2.DescribeVolumesModificationsInput{VolumeIds: []string{aws.ToString(v2.VolumeId)}})
	if err != nil || len(mods.VolumesModifications) != 1 || aws.ToInt32(mods.VolumesModifications[0].TargetSize) != 14 ||
		mods.VolumesModifications[0].ModificationState != types.VolumeModificationStateCompleted {
		t.Errorf("DescribeVolumesModifications %+v, %v; want only the latest, completed at 14 GiB", mods, err)
	}
}
