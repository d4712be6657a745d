package vpcsim_test

import (
	"net/netip"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/vipd/vipd/internal/vpcsim"
	"github.com/vipd/vipd/internal/vpcsim/vpcsimtest"
)

// slowEnv is an env whose asynchronous transitions take long enough to be
// observed in their intermediate state.
func slowEnv(t *testing.T) env {
	t.Helper()
	step := vpcsim.Dist{Median: 300 * time.Millisecond}
	srv := vpcsimtest.NewServerOptions(t, loadTestWorld(t), vpcsim.Options{Timing: vpcsim.Timing{
		ENIAttach: step, ENIDetach: step, VolumeAttach: step, VolumeDetach: step, InstanceStop: step, InstanceStart: step,
	}})
	return env{srv: srv, ec2: awsec2.NewFromConfig(vpcsimtest.AdminConfig(t, srv, config.WithRetryMaxAttempts(1)))}
}

func (e env) instanceState(t *testing.T, id string) types.InstanceStateName {
	t.Helper()
	out, err := e.ec2.DescribeInstances(t.Context(), &awsec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	return out.Reservations[0].Instances[0].State.Name
}

func TestStopStartInstances(t *testing.T) {
	e := slowEnv(t)
	ctx := t.Context()
	out, err := e.ec2.StopInstances(ctx, &awsec2.StopInstancesInput{InstanceIds: []string{nodeB}, Force: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	ch := out.StoppingInstances[0]
	if ch.CurrentState.Name != types.InstanceStateNameStopping || ch.PreviousState.Name != types.InstanceStateNameRunning || aws.ToInt32(ch.CurrentState.Code) != 64 {
		t.Errorf("state change = %+v -> %+v, want running -> stopping (64)", ch.PreviousState, ch.CurrentState)
	}
	if r := routeTo(t, e.ec2, rtbB, vip); r.State != types.RouteStateBlackhole {
		t.Errorf("route to a stopping instance is %s, want blackhole", r.State)
	}
	_, err = e.ec2.StartInstances(ctx, &awsec2.StartInstancesInput{InstanceIds: []string{nodeB}})
	if got := code(t, err); got != "IncorrectInstanceState" {
		t.Errorf("start while stopping: %q, want IncorrectInstanceState", got)
	}
	waitFor(t, "node-b stopped", func() bool { return e.instanceState(t, nodeB) == types.InstanceStateNameStopped })

	start, err := e.ec2.StartInstances(ctx, &awsec2.StartInstancesInput{InstanceIds: []string{nodeB}})
	if err != nil {
		t.Fatal(err)
	}
	if got := start.StartingInstances[0].CurrentState.Name; got != types.InstanceStateNamePending {
		t.Errorf("start answered %s, want pending", got)
	}
	waitFor(t, "node-b running", func() bool { return e.instanceState(t, nodeB) == types.InstanceStateNameRunning })

	_, err = e.ec2.StopInstances(ctx, &awsec2.StopInstancesInput{InstanceIds: []string{"i-00000000000000999"}})
	if got := code(t, err); got != "InvalidInstanceID.NotFound" {
		t.Errorf("stop unknown instance: %q", got)
	}
	// The node role may not fence its peer with StopInstances.
	_, err = instanceClient(t, e.srv, nodeA).StopInstances(ctx, &awsec2.StopInstancesInput{InstanceIds: []string{nodeB}})
	if got := code(t, err); got != "UnauthorizedOperation" {
		t.Errorf("stop by node role: %q, want UnauthorizedOperation", got)
	}
}

func TestTags(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	if _, err := e.ec2.CreateTags(ctx, &awsec2.CreateTagsInput{Resources: []string{nodeA, rtbA},
		Tags: []types.Tag{{Key: aws.String("vipd:owner"), Value: aws.String("node-a")}}}); err != nil {
		t.Fatal(err)
	}
	out, err := e.ec2.DescribeTags(ctx, &awsec2.DescribeTagsInput{Filters: []types.Filter{filter("key", "vipd:owner")}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tg := range out.Tags {
		got = append(got, aws.ToString(tg.ResourceId)+" "+string(tg.ResourceType)+" "+aws.ToString(tg.Value))
	}
	sort.Strings(got)
	if diff := cmp.Diff([]string{nodeA + " instance node-a", rtbA + " route-table node-a"}, got); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	inst, err := e.ec2.DescribeInstances(ctx, &awsec2.DescribeInstancesInput{Filters: []types.Filter{filter("tag:vipd:owner", "node-a")}})
	if err != nil || len(inst.Reservations) != 1 {
		t.Errorf("instances by new tag: %+v %v", inst, err)
	}
	// A value that does not match keeps the tag; none removes it.
	if _, err := e.ec2.DeleteTags(ctx, &awsec2.DeleteTagsInput{Resources: []string{nodeA}, Tags: []types.Tag{{Key: aws.String("vipd:owner"), Value: aws.String("node-b")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.DeleteTags(ctx, &awsec2.DeleteTagsInput{Resources: []string{rtbA}, Tags: []types.Tag{{Key: aws.String("vipd:owner")}}}); err != nil {
		t.Fatal(err)
	}
	out, _ = e.ec2.DescribeTags(ctx, &awsec2.DescribeTagsInput{Filters: []types.Filter{filter("key", "vipd:owner")}})
	if len(out.Tags) != 1 || aws.ToString(out.Tags[0].ResourceId) != nodeA {
		t.Errorf("after deletes: %+v, want only node-a's tag", out.Tags)
	}
	_, err = e.ec2.CreateTags(ctx, &awsec2.CreateTagsInput{Resources: []string{"i-00000000000000999"}, Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	if got := code(t, err); got != "InvalidInstanceID.NotFound" {
		t.Errorf("tag unknown instance: %q", got)
	}
}

func (e env) eni(t *testing.T, id string) types.NetworkInterface {
	t.Helper()
	out, err := e.ec2.DescribeNetworkInterfaces(t.Context(), &awsec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	return out.NetworkInterfaces[0]
}

func TestNetworkInterfaceLifecycle(t *testing.T) {
	e := slowEnv(t)
	ctx := t.Context()
	_, err := e.ec2.CreateNetworkInterface(ctx, &awsec2.CreateNetworkInterfaceInput{SubnetId: aws.String(subnetB), PrivateIpAddress: aws.String("10.0.2.10")})
	if got := code(t, err); got != "InvalidIPAddress.InUse" {
		t.Errorf("create with a used address: %q, want InvalidIPAddress.InUse", got)
	}
	_, err = e.ec2.CreateNetworkInterface(ctx, &awsec2.CreateNetworkInterfaceInput{SubnetId: aws.String("subnet-00000000000000999")})
	if got := code(t, err); got != "InvalidSubnetID.NotFound" {
		t.Errorf("create in unknown subnet: %q", got)
	}
	created, err := e.ec2.CreateNetworkInterface(ctx, &awsec2.CreateNetworkInterfaceInput{SubnetId: aws.String(subnetB), PrivateIpAddress: aws.String("10.0.2.60"),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeNetworkInterface, Tags: []types.Tag{{Key: aws.String("Name"), Value: aws.String("vip-eni")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(created.NetworkInterface.NetworkInterfaceId)
	if created.NetworkInterface.Status != types.NetworkInterfaceStatusAvailable || aws.ToString(created.NetworkInterface.PrivateIpAddress) != "10.0.2.60" || len(created.NetworkInterface.TagSet) != 1 {
		t.Errorf("created = %+v", created.NetworkInterface)
	}

	attach := func(instance string, index int32) (*awsec2.AttachNetworkInterfaceOutput, error) {
		return e.ec2.AttachNetworkInterface(ctx, &awsec2.AttachNetworkInterfaceInput{NetworkInterfaceId: aws.String(id), InstanceId: aws.String(instance), DeviceIndex: aws.Int32(index)})
	}
	if _, err := attach(nodeA, 1); code(t, err) != "InvalidParameterCombination" {
		t.Errorf("attach across zones: %v, want InvalidParameterCombination", err)
	}
	if _, err := attach(nodeB, 0); code(t, err) != "InvalidParameterValue" {
		t.Errorf("attach at a taken device index: %v, want InvalidParameterValue", err)
	}
	att, err := attach(nodeB, 1)
	if err != nil {
		t.Fatal(err)
	}
	n := e.eni(t, id)
	if n.Attachment == nil || n.Attachment.Status != types.AttachmentStatusAttaching || n.Status != types.NetworkInterfaceStatusInUse {
		t.Errorf("right after attach: status %s, attachment %+v; want in-use and attaching", n.Status, n.Attachment)
	}
	if _, err := attach(nodeB, 2); code(t, err) != "InvalidNetworkInterface.InUse" {
		t.Errorf("attach an attached interface: %v, want InvalidNetworkInterface.InUse", err)
	}
	waitFor(t, "attached", func() bool { return e.eni(t, id).Attachment.Status == types.AttachmentStatusAttached })
	// node-b's IMDS now lists the interface.
	macs := metadata(t, imdsClient(e.srv.IMDSURL(nodeB)), "network/interfaces/macs/")
	if !strings.Contains(macs, aws.ToString(n.MacAddress)) {
		t.Errorf("IMDS macs %q lack the attached interface's %s", macs, aws.ToString(n.MacAddress))
	}

	if _, err := e.ec2.DeleteNetworkInterface(ctx, &awsec2.DeleteNetworkInterfaceInput{NetworkInterfaceId: aws.String(id)}); code(t, err) != "InvalidNetworkInterface.InUse" {
		t.Errorf("delete attached: %v, want InvalidNetworkInterface.InUse", err)
	}
	primary := e.eni(t, eniB).Attachment.AttachmentId
	if _, err := e.ec2.DetachNetworkInterface(ctx, &awsec2.DetachNetworkInterfaceInput{AttachmentId: primary}); code(t, err) != "OperationNotPermitted" {
		t.Errorf("detach primary: %v, want OperationNotPermitted", err)
	}
	if _, err := e.ec2.DetachNetworkInterface(ctx, &awsec2.DetachNetworkInterfaceInput{AttachmentId: aws.String("eni-attach-00000000000000999")}); code(t, err) != "InvalidAttachmentID.NotFound" {
		t.Errorf("detach unknown: %v, want InvalidAttachmentID.NotFound", err)
	}
	if _, err := e.ec2.DetachNetworkInterface(ctx, &awsec2.DetachNetworkInterfaceInput{AttachmentId: att.AttachmentId, Force: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if got := e.eni(t, id).Attachment; got == nil || got.Status != types.AttachmentStatusDetaching {
		t.Errorf("right after detach: %+v, want detaching", got)
	}
	waitFor(t, "available", func() bool { return e.eni(t, id).Status == types.NetworkInterfaceStatusAvailable })
	if _, err := e.ec2.DeleteNetworkInterface(ctx, &awsec2.DeleteNetworkInterfaceInput{NetworkInterfaceId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.DescribeNetworkInterfaces(ctx, &awsec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{id}}); code(t, err) != "InvalidNetworkInterfaceID.NotFound" {
		t.Errorf("describe deleted: %v", err)
	}
}

func TestAssignPrivateIPAddresses(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	assign := func(eni string, allow bool, addrs ...string) error {
		_, err := e.ec2.AssignPrivateIpAddresses(ctx, &awsec2.AssignPrivateIpAddressesInput{NetworkInterfaceId: aws.String(eni), PrivateIpAddresses: addrs, AllowReassignment: aws.Bool(allow)})
		return err
	}
	holders := func(addr string) []string {
		out, err := e.ec2.DescribeNetworkInterfaces(ctx, &awsec2.DescribeNetworkInterfacesInput{Filters: []types.Filter{filter("addresses.private-ip-address", addr)}})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, n := range out.NetworkInterfaces {
			ids = append(ids, aws.ToString(n.NetworkInterfaceId))
		}
		return ids
	}
	if err := assign(eniSpare, false, "10.0.2.100"); code(t, err) != "InvalidIPAddress.InUse" {
		t.Fatalf("take an address in use without AllowReassignment: %v", err)
	}
	if got := holders("10.0.2.100"); !cmp.Equal(got, []string{eniB}) {
		t.Errorf("refused assignment moved the address to %v", got)
	}
	if err := assign(eniSpare, true, "10.0.2.100"); err != nil {
		t.Fatal(err)
	}
	if got := holders("10.0.2.100"); !cmp.Equal(got, []string{eniSpare}) {
		t.Errorf("after reassignment the address is on %v, want only %s", got, eniSpare)
	}
	if err := assign(eniSpare, true, "10.0.2.10"); code(t, err) != "InvalidParameterValue" {
		t.Errorf("take another interface's primary address: %v, want InvalidParameterValue", err)
	}
	if err := assign(eniSpare, true, "10.0.1.99"); code(t, err) != "InvalidParameterValue" {
		t.Errorf("address outside the subnet: %v, want InvalidParameterValue", err)
	}
	out, err := e.ec2.AssignPrivateIpAddresses(ctx, &awsec2.AssignPrivateIpAddressesInput{NetworkInterfaceId: aws.String(eniA), SecondaryPrivateIpAddressCount: aws.Int32(2)})
	if err != nil || len(out.AssignedPrivateIpAddresses) != 2 {
		t.Fatalf("assign by count: %+v, %v", out, err)
	}

	_, err = e.ec2.UnassignPrivateIpAddresses(ctx, &awsec2.UnassignPrivateIpAddressesInput{NetworkInterfaceId: aws.String(eniB), PrivateIpAddresses: []string{"10.0.2.100"}})
	if code(t, err) != "InvalidParameterValue" {
		t.Errorf("unassign an address the interface lost: %v", err)
	}
	if _, err := e.ec2.UnassignPrivateIpAddresses(ctx, &awsec2.UnassignPrivateIpAddressesInput{NetworkInterfaceId: aws.String(eniSpare), PrivateIpAddresses: []string{"10.0.2.100"}}); err != nil {
		t.Fatal(err)
	}
	if got := holders("10.0.2.100"); len(got) != 0 {
		t.Errorf("unassigned address still on %v", got)
	}
}

func TestModifyNetworkInterfaceAttribute(t *testing.T) {
	e := newEnv(t)
	if _, err := e.ec2.ModifyNetworkInterfaceAttribute(t.Context(), &awsec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String(eniMulti2), SourceDestCheck: &types.AttributeBooleanValue{Value: aws.Bool(false)}}); err != nil {
		t.Fatal(err)
	}
	if aws.ToBool(e.eni(t, eniMulti2).SourceDestCheck) {
		t.Error("source/dest check still on")
	}
	_, err := e.ec2.ModifyNetworkInterfaceAttribute(t.Context(), &awsec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String("eni-00000000000000999"), SourceDestCheck: &types.AttributeBooleanValue{Value: aws.Bool(false)}})
	if code(t, err) != "InvalidNetworkInterfaceID.NotFound" {
		t.Errorf("unknown interface: %v", err)
	}
}

func TestElasticIPs(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	alloc, err := e.ec2.AllocateAddress(ctx, &awsec2.AllocateAddressInput{Domain: types.DomainTypeVpc})
	if err != nil {
		t.Fatal(err)
	}
	id, public := alloc.AllocationId, aws.ToString(alloc.PublicIp)
	if _, err := e.ec2.AssociateAddress(ctx, &awsec2.AssociateAddressInput{AllocationId: id, InstanceId: aws.String(multi)}); code(t, err) != "InvalidInstanceID" {
		t.Errorf("associate with a dual-homed instance: %v, want InvalidInstanceID", err)
	}
	assoc, err := e.ec2.AssociateAddress(ctx, &awsec2.AssociateAddressInput{AllocationId: id, InstanceId: aws.String(nodeB)})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := e.srv.Resolve(subnetA, netip.MustParseAddr(public)); got != nodeB || err != nil {
		t.Errorf("Resolve(%s) = %q, %v; want %s", public, got, err, nodeB)
	}
	if _, err := e.ec2.AssociateAddress(ctx, &awsec2.AssociateAddressInput{AllocationId: id, NetworkInterfaceId: aws.String(eniA)}); code(t, err) != "Resource.AlreadyAssociated" {
		t.Errorf("reassociate without AllowReassociation: %v", err)
	}
	if _, err := e.ec2.AssociateAddress(ctx, &awsec2.AssociateAddressInput{AllocationId: id, NetworkInterfaceId: aws.String(eniA), AllowReassociation: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	desc, err := e.ec2.DescribeAddresses(ctx, &awsec2.DescribeAddressesInput{Filters: []types.Filter{filter("public-ip", public)}})
	if err != nil || len(desc.Addresses) != 1 {
		t.Fatalf("describe: %+v %v", desc, err)
	}
	a := desc.Addresses[0]
	if aws.ToString(a.InstanceId) != nodeA || aws.ToString(a.NetworkInterfaceId) != eniA || aws.ToString(a.PrivateIpAddress) != "10.0.1.10" || aws.ToString(a.AssociationId) == aws.ToString(assoc.AssociationId) {
		t.Errorf("after reassociation: %+v", a)
	}
	inst, _ := e.ec2.DescribeInstances(ctx, &awsec2.DescribeInstancesInput{InstanceIds: []string{nodeA}})
	if got := aws.ToString(inst.Reservations[0].Instances[0].PublicIpAddress); got != public {
		t.Errorf("node-a PublicIpAddress = %q, want %s", got, public)
	}
	if _, err := e.ec2.ReleaseAddress(ctx, &awsec2.ReleaseAddressInput{AllocationId: id}); code(t, err) != "InvalidIPAddress.InUse" {
		t.Errorf("release associated: %v", err)
	}
	if _, err := e.ec2.DisassociateAddress(ctx, &awsec2.DisassociateAddressInput{AssociationId: aws.String("eipassoc-00000000000000999")}); code(t, err) != "InvalidAssociationID.NotFound" {
		t.Errorf("disassociate unknown: %v", err)
	}
	if _, err := e.ec2.DisassociateAddress(ctx, &awsec2.DisassociateAddressInput{AssociationId: a.AssociationId}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.ReleaseAddress(ctx, &awsec2.ReleaseAddressInput{AllocationId: id}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.DescribeAddresses(ctx, &awsec2.DescribeAddressesInput{AllocationIds: []string{aws.ToString(id)}}); code(t, err) != "InvalidAllocationID.NotFound" {
		t.Errorf("describe released: %v", err)
	}
}

func (e env) volume(t *testing.T, id string) types.Volume {
	t.Helper()
	out, err := e.ec2.DescribeVolumes(t.Context(), &awsec2.DescribeVolumesInput{VolumeIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	return out.Volumes[0]
}

func TestVolumes(t *testing.T) {
	e := slowEnv(t)
	ctx := t.Context()
	cv, err := e.ec2.CreateVolume(ctx, &awsec2.CreateVolumeInput{AvailabilityZone: aws.String("us-east-1a"), Size: aws.Int32(10), VolumeType: types.VolumeTypeGp2})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(cv.VolumeId)
	if cv.State != types.VolumeStateCreating || aws.ToInt32(cv.Size) != 10 {
		t.Errorf("created: %s size %d, want creating size 10", cv.State, aws.ToInt32(cv.Size))
	}
	waitFor(t, "available", func() bool { return e.volume(t, id).State == types.VolumeStateAvailable })
	attach := func(instance, dev string) error {
		_, err := e.ec2.AttachVolume(ctx, &awsec2.AttachVolumeInput{VolumeId: aws.String(id), InstanceId: aws.String(instance), Device: aws.String(dev)})
		return err
	}
	if err := attach(nodeB, "/dev/sdg"); code(t, err) != "InvalidVolume.ZoneMismatch" {
		t.Errorf("attach across zones: %v, want InvalidVolume.ZoneMismatch", err)
	}
	if err := attach(nodeA, "/dev/sdf"); code(t, err) != "InvalidParameterValue" {
		t.Errorf("attach at a device in use: %v, want InvalidParameterValue", err)
	}
	if err := attach(nodeA, "/dev/sdg"); err != nil {
		t.Fatal(err)
	}
	if v := e.volume(t, id); v.State != types.VolumeStateInUse || v.Attachments[0].State != types.VolumeAttachmentStateAttaching {
		t.Errorf("right after attach: %s / %+v", v.State, v.Attachments)
	}
	if err := attach(nodeA, "/dev/sdh"); code(t, err) != "VolumeInUse" {
		t.Errorf("attach an attached volume: %v, want VolumeInUse", err)
	}
	waitFor(t, "attached", func() bool { return e.volume(t, id).Attachments[0].State == types.VolumeAttachmentStateAttached })
	if _, err := e.ec2.DeleteVolume(ctx, &awsec2.DeleteVolumeInput{VolumeId: aws.String(id)}); code(t, err) != "VolumeInUse" {
		t.Errorf("delete attached: %v, want VolumeInUse", err)
	}
	det, err := e.ec2.DetachVolume(ctx, &awsec2.DetachVolumeInput{VolumeId: aws.String(id), Force: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if det.State != types.VolumeAttachmentStateDetaching {
		t.Errorf("detach answered %s, want detaching", det.State)
	}
	waitFor(t, "detached", func() bool { return e.volume(t, id).State == types.VolumeStateAvailable })
	if _, err := e.ec2.DetachVolume(ctx, &awsec2.DetachVolumeInput{VolumeId: aws.String(id)}); code(t, err) != "IncorrectState" {
		t.Errorf("detach available volume: %v, want IncorrectState", err)
	}
	// Naming an attachment that does not exist: "The specified attachment
	// does not exist" (API reference, error codes).
	if _, err := e.ec2.DetachVolume(ctx, &awsec2.DetachVolumeInput{VolumeId: aws.String(id), InstanceId: aws.String(nodeA), Device: aws.String("/dev/sdg")}); code(t, err) != "InvalidAttachment.NotFound" {
		t.Errorf("detach from an instance it is not attached to: %v, want InvalidAttachment.NotFound", err)
	}
	if _, err := e.ec2.DescribeVolumes(ctx, &awsec2.DescribeVolumesInput{VolumeIds: []string{"vol-00000000000000999"}}); code(t, err) != "InvalidVolume.NotFound" {
		t.Errorf("describe unknown: %v", err)
	}
	if _, err := e.ec2.DeleteVolume(ctx, &awsec2.DeleteVolumeInput{VolumeId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
}

func TestRouteTableAssociations(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	ct, err := e.ec2.CreateRouteTable(ctx, &awsec2.CreateRouteTableInput{VpcId: aws.String(vpcDemo)})
	if err != nil {
		t.Fatal(err)
	}
	rt := aws.ToString(ct.RouteTable.RouteTableId)
	if len(ct.RouteTable.Routes) != 1 || aws.ToString(ct.RouteTable.Routes[0].GatewayId) != "local" {
		t.Errorf("new table routes = %+v, want the local route", ct.RouteTable.Routes)
	}
	if _, err := e.ec2.CreateRouteTable(ctx, &awsec2.CreateRouteTableInput{VpcId: aws.String("vpc-00000000000000999")}); code(t, err) != "InvalidVpcID.NotFound" {
		t.Errorf("create in unknown vpc: %v", err)
	}
	associate := func(subnet string) (*awsec2.AssociateRouteTableOutput, error) {
		return e.ec2.AssociateRouteTable(ctx, &awsec2.AssociateRouteTableInput{RouteTableId: aws.String(rt), SubnetId: aws.String(subnet)})
	}
	if _, err := associate(subnetA); code(t, err) != "Resource.AlreadyAssociated" {
		t.Errorf("associate an associated subnet: %v", err)
	}
	as, err := associate(subnetW)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.CreateRoute(ctx, &awsec2.CreateRouteInput{RouteTableId: aws.String(rt), DestinationCidrBlock: aws.String(vip), NetworkInterfaceId: aws.String(eniA)}); err != nil {
		t.Fatal(err)
	}
	if got, err := e.srv.Resolve(subnetW, netip.MustParseAddr("192.168.100.10")); got != nodeA || err != nil {
		t.Errorf("witness subnet now routes the VIP to %q, %v; want %s", got, err, nodeA)
	}
	if _, err := e.ec2.DeleteRouteTable(ctx, &awsec2.DeleteRouteTableInput{RouteTableId: aws.String(rt)}); code(t, err) != "DependencyViolation" {
		t.Errorf("delete associated table: %v", err)
	}
	main, _ := e.ec2.DescribeRouteTables(ctx, &awsec2.DescribeRouteTablesInput{RouteTableIds: []string{rtbMain}})
	mainAssoc := main.RouteTables[0].Associations[0].RouteTableAssociationId
	if _, err := e.ec2.DisassociateRouteTable(ctx, &awsec2.DisassociateRouteTableInput{AssociationId: mainAssoc}); code(t, err) != "InvalidParameterValue" {
		t.Errorf("disassociate the main association: %v", err)
	}
	if _, err := e.ec2.DisassociateRouteTable(ctx, &awsec2.DisassociateRouteTableInput{AssociationId: as.AssociationId}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.DisassociateRouteTable(ctx, &awsec2.DisassociateRouteTableInput{AssociationId: as.AssociationId}); code(t, err) != "InvalidAssociationID.NotFound" {
		t.Errorf("disassociate twice: %v", err)
	}
	// Making the new table main moves the witness subnet to it.
	if _, err := e.ec2.ReplaceRouteTableAssociation(ctx, &awsec2.ReplaceRouteTableAssociationInput{AssociationId: mainAssoc, RouteTableId: aws.String(rt)}); err != nil {
		t.Fatal(err)
	}
	out, _ := e.ec2.DescribeRouteTables(ctx, &awsec2.DescribeRouteTablesInput{Filters: []types.Filter{filter("association.main", "true"), filter("vpc-id", vpcDemo)}})
	if got := tableIDs(out); !cmp.Equal(got, []string{rt}) {
		t.Errorf("main table = %v, want %s", got, rt)
	}
	if _, err := e.ec2.DeleteRouteTable(ctx, &awsec2.DeleteRouteTableInput{RouteTableId: aws.String(rtbMain)}); err != nil {
		t.Errorf("delete the former main table: %v", err)
	}
}

func TestDescribeAvailabilityZones(t *testing.T) {
	e := newEnv(t)
	out, err := e.ec2.DescribeAvailabilityZones(t.Context(), &awsec2.DescribeAvailabilityZonesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.AvailabilityZones) != 6 || aws.ToString(out.AvailabilityZones[0].ZoneName) != "us-east-1a" || aws.ToString(out.AvailabilityZones[0].ZoneId) != "use1-az6" {
		t.Errorf("zones = %+v", out.AvailabilityZones)
	}
	one, err := e.ec2.DescribeAvailabilityZones(t.Context(), &awsec2.DescribeAvailabilityZonesInput{Filters: []types.Filter{filter("zone-name", "us-east-1c")}})
	if err != nil || len(one.AvailabilityZones) != 1 {
		t.Errorf("filtered zones = %+v, %v", one, err)
	}
}

func TestWorldElasticIPsAndVolumes(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	addrs, err := e.ec2.DescribeAddresses(ctx, &awsec2.DescribeAddressesInput{AllocationIds: []string{"eipalloc-0b0000000000000b1"}})
	if err != nil {
		t.Fatal(err)
	}
	if a := addrs.Addresses[0]; aws.ToString(a.PublicIp) != "203.0.113.50" || aws.ToString(a.InstanceId) != nodeB || aws.ToString(a.PrivateIpAddress) != "10.0.2.10" {
		t.Errorf("world elastic ip = %+v", a)
	}
	n := e.eni(t, eniB)
	if n.Association == nil || aws.ToString(n.Association.PublicIp) != "203.0.113.50" {
		t.Errorf("eni association = %+v", n.Association)
	}
	vols, err := e.ec2.DescribeVolumes(ctx, &awsec2.DescribeVolumesInput{Filters: []types.Filter{filter("attachment.instance-id", nodeA)}})
	if err != nil || len(vols.Volumes) != 1 || aws.ToString(vols.Volumes[0].VolumeId) != "vol-0a0000000000000a1" || vols.Volumes[0].State != types.VolumeStateInUse {
		t.Fatalf("volumes of node-a = %+v, %v", vols, err)
	}
	inst, _ := e.ec2.DescribeInstances(ctx, &awsec2.DescribeInstancesInput{InstanceIds: []string{nodeA}})
	bdm := inst.Reservations[0].Instances[0].BlockDeviceMappings
	if len(bdm) != 1 || aws.ToString(bdm[0].DeviceName) != "/dev/sdf" || aws.ToString(bdm[0].Ebs.VolumeId) != "vol-0a0000000000000a1" {
		t.Errorf("block devices of node-a = %+v", bdm)
	}
	st := e.srv.Snapshot()
	if len(st.ElasticIPs) != 1 || st.ElasticIPs[0].Instance != nodeB || len(st.Volumes) != 2 {
		t.Errorf("snapshot elastic ips %+v, volumes %+v", st.ElasticIPs, st.Volumes)
	}
}
