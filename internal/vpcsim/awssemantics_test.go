package vpcsim_test

// The tests in this file answer issue 13's list "AWS semantics where moto
// differs" in one place: one test per item, each citing the AWS
// documentation, SDK documentation or public issue that establishes the
// behaviour. Some of these behaviours are also covered, in more detail,
// by ec2_test.go, ec2_more_test.go and the route53 package's tests.

import (
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	awsr53 "github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/google/go-cmp/cmp"

	"github.com/vipd/vipd/internal/vpcsim"
	"github.com/vipd/vipd/internal/vpcsim/route53"
	"github.com/vipd/vipd/internal/vpcsim/vpcsimtest"
)

// accountID is testdata/world.yaml's account.
const accountID = "123456789012"

// TestAWSRouteByInstanceReportsItsInterface: a route created with
// InstanceId reports InstanceId, InstanceOwnerId and the instance's
// NetworkInterfaceId, and an instance with several interfaces is refused as
// a route or Elastic IP target.
//
// Sources:
//   - CreateRoute, InstanceId: "The operation fails if you specify an
//     instance ID unless exactly one network interface is attached."
//     https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateRoute.html
//   - Route: InstanceId, InstanceOwnerId ("The ID of Amazon Web Services
//     account that owns the instance") and NetworkInterfaceId.
//     https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Route.html
//   - AssociateAddress, NetworkInterfaceId: "If the instance has more than
//     one network interface, you must specify a network interface ID."
//     https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_AssociateAddress.html
//   - moto omits NetworkInterfaceId on such routes (moto_test.go, step
//     "describe routes after create").
func TestAWSRouteByInstanceReportsItsInterface(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	if _, err := e.ec2.CreateRoute(ctx, &awsec2.CreateRouteInput{RouteTableId: aws.String(rtbA), DestinationCidrBlock: aws.String(vip), InstanceId: aws.String(nodeA)}); err != nil {
		t.Fatal(err)
	}
	r := routeTo(t, e.ec2, rtbA, vip)
	if r == nil {
		t.Fatalf("no route to %s in %s", vip, rtbA)
	}
	got := []string{aws.ToString(r.InstanceId), aws.ToString(r.InstanceOwnerId), aws.ToString(r.NetworkInterfaceId), string(r.State), string(r.Origin)}
	want := []string{nodeA, accountID, eniA, "active", "CreateRoute"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("route by instance [InstanceId InstanceOwnerId NetworkInterfaceId State Origin] (-want +got):\n%s", diff)
	}

	// multi has two interfaces (eni-...d2 at device index 1).
	if _, err := e.ec2.CreateRoute(ctx, &awsec2.CreateRouteInput{RouteTableId: aws.String(rtbA), DestinationCidrBlock: aws.String("192.168.100.11/32"), InstanceId: aws.String(multi)}); code(t, err) != "InvalidInstanceID" {
		t.Errorf("create route to a dual-homed instance: %v, want InvalidInstanceID", err)
	}
	if _, err := e.ec2.ReplaceRoute(ctx, &awsec2.ReplaceRouteInput{RouteTableId: aws.String(rtbA), DestinationCidrBlock: aws.String(vip), InstanceId: aws.String(multi)}); code(t, err) != "InvalidInstanceID" {
		t.Errorf("replace route to a dual-homed instance: %v, want InvalidInstanceID", err)
	}
	if r := routeTo(t, e.ec2, rtbA, vip); aws.ToString(r.InstanceId) != nodeA {
		t.Errorf("refused replace changed the route to %s", aws.ToString(r.InstanceId))
	}
	eip, err := e.ec2.AllocateAddress(ctx, &awsec2.AllocateAddressInput{Domain: types.DomainTypeVpc})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.AssociateAddress(ctx, &awsec2.AssociateAddressInput{AllocationId: eip.AllocationId, InstanceId: aws.String(multi)}); code(t, err) != "InvalidInstanceID" {
		t.Errorf("associate an Elastic IP with a dual-homed instance: %v, want InvalidInstanceID", err)
	}
	// Naming the interface is the documented way round.
	if _, err := e.ec2.AssociateAddress(ctx, &awsec2.AssociateAddressInput{AllocationId: eip.AllocationId, NetworkInterfaceId: aws.String(eniMulti2)}); err != nil {
		t.Errorf("associate an Elastic IP with the instance's second interface: %v", err)
	}
}

// TestAWSAttachAlreadyAttached: attaching a network interface or a volume
// that is already attached fails.
//
// Sources:
//   - EC2 error codes, InvalidNetworkInterface.InUse ("The specified network
//     interface is already in use") and VolumeInUse ("The specified EBS
//     volume is attached to an instance").
//     https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
//   - AttachVolume: "The volume must be in the available state" (the
//     preconditions in the EBS user guide, linked from
//     https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_AttachVolume.html).
//   - moto attaches an attached volume a second time (moto_test.go, step
//     "attach the attached volume again").
func TestAWSAttachAlreadyAttached(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	// eni-...d2 is multi's second interface; node-a and multi share zone a.
	_, err := e.ec2.AttachNetworkInterface(ctx, &awsec2.AttachNetworkInterfaceInput{NetworkInterfaceId: aws.String(eniMulti2), InstanceId: aws.String(nodeA), DeviceIndex: aws.Int32(1)})
	if code(t, err) != "InvalidNetworkInterface.InUse" {
		t.Errorf("attach an attached interface: %v, want InvalidNetworkInterface.InUse", err)
	}
	if n := e.eni(t, eniMulti2); aws.ToString(n.Attachment.InstanceId) != multi {
		t.Errorf("refused attach moved the interface to %s", aws.ToString(n.Attachment.InstanceId))
	}
	// vol-...a1 is attached to node-a in zone a.
	_, err = e.ec2.AttachVolume(ctx, &awsec2.AttachVolumeInput{VolumeId: aws.String("vol-0a0000000000000a1"), InstanceId: aws.String(multi), Device: aws.String("/dev/sdg")})
	if code(t, err) != "VolumeInUse" {
		t.Errorf("attach an attached volume: %v, want VolumeInUse", err)
	}
	if v := e.volume(t, "vol-0a0000000000000a1"); len(v.Attachments) != 1 || aws.ToString(v.Attachments[0].InstanceId) != nodeA {
		t.Errorf("attachments after the refused attach: %+v", v.Attachments)
	}
}

// TestAWSAttachAcrossZones: an interface or a volume attaches only to an
// instance in its own Availability Zone; AWS answers
// InvalidParameterCombination for an interface and InvalidVolume.ZoneMismatch
// for a volume.
//
// Sources:
//   - EC2 user guide, network interfaces: "You can attach a network
//     interface in one subnet to an instance in another subnet in the same
//     VPC; however, both the network interface and the instance must reside
//     in the same Availability Zone."
//     https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/using-eni.html
//   - EC2 error codes, InvalidVolume.ZoneMismatch: "The specified volume and
//     instance are in different Availability Zones."
//     https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
//     (AWS's wording, "The volume 'vol-..' is not in the same availability
//     zone as instance 'i-..'", is quoted in
//     kubernetes-sigs/aws-ebs-csi-driver#52.)
//   - moto attaches across zones (moto_test.go, steps "attach an interface
//     across zones" and "attach the volume across zones").
func TestAWSAttachAcrossZones(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	// The spare interface and vol-...b1 are in zone b, node-a in zone a.
	_, err := e.ec2.AttachNetworkInterface(ctx, &awsec2.AttachNetworkInterfaceInput{NetworkInterfaceId: aws.String(eniSpare), InstanceId: aws.String(nodeA), DeviceIndex: aws.Int32(1)})
	if code(t, err) != "InvalidParameterCombination" {
		t.Errorf("attach an interface across zones: %v, want InvalidParameterCombination", err)
	}
	if n := e.eni(t, eniSpare); n.Attachment != nil || n.Status != types.NetworkInterfaceStatusAvailable {
		t.Errorf("interface after the refused attach: status %s, attachment %+v", n.Status, n.Attachment)
	}
	_, err = e.ec2.AttachVolume(ctx, &awsec2.AttachVolumeInput{VolumeId: aws.String("vol-0b0000000000000b1"), InstanceId: aws.String(nodeA), Device: aws.String("/dev/sdg")})
	if code(t, err) != "InvalidVolume.ZoneMismatch" {
		t.Errorf("attach a volume across zones: %v, want InvalidVolume.ZoneMismatch", err)
	}
	// In the same zone both succeed.
	if _, err := e.ec2.AttachNetworkInterface(ctx, &awsec2.AttachNetworkInterfaceInput{NetworkInterfaceId: aws.String(eniSpare), InstanceId: aws.String(nodeB), DeviceIndex: aws.Int32(1)}); err != nil {
		t.Errorf("attach the interface in its zone: %v", err)
	}
	if _, err := e.ec2.AttachVolume(ctx, &awsec2.AttachVolumeInput{VolumeId: aws.String("vol-0b0000000000000b1"), InstanceId: aws.String(nodeB), Device: aws.String("/dev/sdg")}); err != nil {
		t.Errorf("attach the volume in its zone: %v", err)
	}
}

// TestAWSForcedDetachPassesThroughDetaching: a forced detach of an
// interface or a volume is accepted and the attachment is reported
// detaching before the resource is available again.
//
// Sources:
//   - DetachNetworkInterface, Force: "Specifies whether to force a
//     detachment." (use it "only as a last resort to detach a network
//     interface from a failed instance").
//     https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DetachNetworkInterface.html
//   - NetworkInterfaceAttachment, Status: "attaching | attached |
//     detaching | detached".
//     https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_NetworkInterfaceAttachment.html
//   - DetachVolume, Force, and VolumeAttachment State "attaching |
//     attached | detaching | detached | busy".
//     https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DetachVolume.html
//     https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_VolumeAttachment.html
func TestAWSForcedDetachPassesThroughDetaching(t *testing.T) {
	// Attaching is immediate; detaching takes 2 s (1 s forced), long enough
	// to observe the intermediate state on a loaded machine.
	step := vpcsim.Dist{Median: 2 * time.Second}
	srv := vpcsimtest.NewServerOptions(t, loadTestWorld(t), vpcsim.Options{Timing: vpcsim.Timing{ENIDetach: step, VolumeDetach: step}})
	e := env{srv: srv, ec2: awsec2.NewFromConfig(vpcsimtest.AdminConfig(t, srv, config.WithRetryMaxAttempts(1)))}
	ctx := t.Context()

	at, err := e.ec2.AttachNetworkInterface(ctx, &awsec2.AttachNetworkInterfaceInput{NetworkInterfaceId: aws.String(eniSpare), InstanceId: aws.String(nodeB), DeviceIndex: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.DetachNetworkInterface(ctx, &awsec2.DetachNetworkInterfaceInput{AttachmentId: at.AttachmentId, Force: aws.Bool(true)}); err != nil {
		t.Fatalf("forced detach: %v", err)
	}
	if n := e.eni(t, eniSpare); n.Attachment == nil || n.Attachment.Status != types.AttachmentStatusDetaching || n.Status != types.NetworkInterfaceStatusInUse {
		t.Errorf("interface right after the forced detach: status %s, attachment %+v; want in-use, detaching", n.Status, n.Attachment)
	}
	waitFor(t, "interface available", func() bool {
		n := e.eni(t, eniSpare)
		return n.Status == types.NetworkInterfaceStatusAvailable && n.Attachment == nil
	})

	const vol = "vol-0a0000000000000a1" // attached to node-a
	if _, err := e.ec2.DetachVolume(ctx, &awsec2.DetachVolumeInput{VolumeId: aws.String(vol), Force: aws.Bool(true)}); err != nil {
		t.Fatalf("forced volume detach: %v", err)
	}
	if v := e.volume(t, vol); len(v.Attachments) != 1 || v.Attachments[0].State != types.VolumeAttachmentStateDetaching {
		t.Errorf("volume right after the forced detach: %+v; want one attachment detaching", v.Attachments)
	}
	waitFor(t, "volume available", func() bool {
		v := e.volume(t, vol)
		return v.State == types.VolumeStateAvailable && len(v.Attachments) == 0
	})
}

// TestAWSReassignedAddressFoundOnItsNewInterface: a secondary address moved
// with AllowReassignment is found by the addresses.private-ip-address filter
// on its new interface and no longer on the old one; without
// AllowReassignment an address in use elsewhere is refused.
//
// Sources:
//   - AssignPrivateIpAddresses, AllowReassignment: "Indicates whether to
//     allow an IP address that is already assigned to another network
//     interface or instance to be reassigned to the specified network
//     interface."
//     https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_AssignPrivateIpAddresses.html
//   - DescribeNetworkInterfaces filter addresses.private-ip-address: "The
//     private IPv4 addresses associated with the network interface."
//     https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeNetworkInterfaces.html
//   - moto ignores AllowReassignment: getmoto/moto#6147 ("Ignores
//     AllowReassignment parameter"), and its filter misses secondary
//     addresses (moto_test.go, step "find the secondary address by filter").
func TestAWSReassignedAddressFoundOnItsNewInterface(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	const addr = "10.0.2.100" // node-b's secondary address, on eni-...b1
	holders := func() []string {
		t.Helper()
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
	if diff := cmp.Diff([]string{eniB}, holders()); diff != "" {
		t.Fatalf("holders before (-want +got):\n%s", diff)
	}
	_, err := e.ec2.AssignPrivateIpAddresses(ctx, &awsec2.AssignPrivateIpAddressesInput{NetworkInterfaceId: aws.String(eniSpare), PrivateIpAddresses: []string{addr}})
	if code(t, err) != "InvalidIPAddress.InUse" {
		t.Errorf("take the address without AllowReassignment: %v, want InvalidIPAddress.InUse", err)
	}
	if _, err := e.ec2.AssignPrivateIpAddresses(ctx, &awsec2.AssignPrivateIpAddressesInput{NetworkInterfaceId: aws.String(eniSpare), PrivateIpAddresses: []string{addr}, AllowReassignment: aws.Bool(true)}); err != nil {
		t.Fatalf("take the address with AllowReassignment: %v", err)
	}
	if diff := cmp.Diff([]string{eniSpare}, holders()); diff != "" {
		t.Errorf("holders after reassignment (-want +got):\n%s", diff)
	}
	if slices.ContainsFunc(e.eni(t, eniB).PrivateIpAddresses, func(a types.NetworkInterfacePrivateIpAddress) bool { return aws.ToString(a.PrivateIpAddress) == addr }) {
		t.Errorf("%s still lists %s", eniB, addr)
	}
}

// TestAWSDryRunNeverActs: DryRun=true answers DryRunOperation when the
// caller may make the call and UnauthorizedOperation when not, and never
// performs it.
//
// Sources:
//   - Every EC2 action's DryRun parameter: "Checks whether you have the
//     required permissions for the action, without actually making the
//     request, and provides an error response. If you have the required
//     permissions, the error response is DryRunOperation. Otherwise, it is
//     UnauthorizedOperation." e.g.
//     https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ReplaceRoute.html
//   - EC2 error codes, DryRunOperation: "The user has the required
//     permissions, so the request would have succeeded, but the DryRun
//     parameter was used."
//     https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
//   - moto answers HTTP 500 to a dry run of CreateRoute (moto_test.go, step
//     "dry run of create route").
func TestAWSDryRunNeverActs(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	before := e.srv.Snapshot()
	dry := aws.Bool(true)
	calls := []struct {
		name string
		call func(c *awsec2.Client) error
	}{
		{"ReplaceRoute", func(c *awsec2.Client) error {
			_, err := c.ReplaceRoute(ctx, &awsec2.ReplaceRouteInput{DryRun: dry, RouteTableId: aws.String(rtbB), DestinationCidrBlock: aws.String(vip), NetworkInterfaceId: aws.String(eniA)})
			return err
		}},
		{"CreateRoute", func(c *awsec2.Client) error {
			_, err := c.CreateRoute(ctx, &awsec2.CreateRouteInput{DryRun: dry, RouteTableId: aws.String(rtbA), DestinationCidrBlock: aws.String(vip), InstanceId: aws.String(nodeA)})
			return err
		}},
		{"AttachNetworkInterface", func(c *awsec2.Client) error {
			_, err := c.AttachNetworkInterface(ctx, &awsec2.AttachNetworkInterfaceInput{DryRun: dry, NetworkInterfaceId: aws.String(eniSpare), InstanceId: aws.String(nodeB), DeviceIndex: aws.Int32(1)})
			return err
		}},
		{"ModifyInstanceAttribute", func(c *awsec2.Client) error {
			_, err := c.ModifyInstanceAttribute(ctx, &awsec2.ModifyInstanceAttributeInput{DryRun: dry, InstanceId: aws.String(nodeB), SourceDestCheck: &types.AttributeBooleanValue{Value: aws.Bool(false)}})
			return err
		}},
		{"AllocateAddress", func(c *awsec2.Client) error {
			_, err := c.AllocateAddress(ctx, &awsec2.AllocateAddressInput{DryRun: dry, Domain: types.DomainTypeVpc})
			return err
		}},
		{"DetachVolume", func(c *awsec2.Client) error {
			_, err := c.DetachVolume(ctx, &awsec2.DetachVolumeInput{DryRun: dry, VolumeId: aws.String("vol-0a0000000000000a1"), Force: aws.Bool(true)})
			return err
		}},
	}
	// witness's role ("reader") allows CreateRoute but none of the others.
	witnessClient := instanceClient(t, e.srv, witness)
	for _, c := range calls {
		if got := code(t, c.call(e.ec2)); got != "DryRunOperation" {
			t.Errorf("%s as the admin: %q, want DryRunOperation", c.name, got)
		}
		want := "UnauthorizedOperation"
		if c.name == "CreateRoute" {
			want = "DryRunOperation"
		}
		if got := code(t, c.call(witnessClient)); got != want {
			t.Errorf("%s as witness: %q, want %s", c.name, got, want)
		}
	}
	if diff := cmp.Diff(before, e.srv.Snapshot()); diff != "" {
		t.Errorf("dry runs changed the state (-before +after):\n%s", diff)
	}
}

// TestAWSRoute53ChangeSemantics: a DELETE of a record set that does not
// exist is InvalidChangeBatch; a change is PENDING before it is INSYNC; a
// second change while one is pending answers PriorRequestNotComplete when
// the simulator is so configured (and is accepted otherwise).
//
// Sources:
//   - ChangeResourceRecordSets, errors InvalidChangeBatch ("This exception
//     contains a list of messages that might contain one or more error
//     messages") and PriorRequestNotComplete ("If Amazon Route 53 can't
//     process a request before the next request arrives, it will reject
//     subsequent requests for the same hosted zone and return an HTTP 400
//     error"), and ChangeInfo.Status PENDING on submission.
//     https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeResourceRecordSets.html
//   - GetChange: "PENDING indicates that the changes in this request have
//     not propagated to all Amazon Route 53 DNS servers ... INSYNC indicates
//     that the changes have propagated".
//     https://docs.aws.amazon.com/Route53/latest/APIReference/API_GetChange.html
//   - AWS's message for a missing DELETE, "Tried to delete resource record
//     set [name='..', type='A'] but it was not found", is quoted in
//     boto/boto#2887.
func TestAWSRoute53ChangeSemantics(t *testing.T) {
	var elapsed atomic.Int64 // nanoseconds past start on the simulated clock
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { return start.Add(time.Duration(elapsed.Load())) }
	const delay = time.Minute
	newR53 := func(t *testing.T, reject bool) *awsr53.Client {
		srv := vpcsimtest.NewServerOptions(t, loadTestWorld(t), vpcsim.Options{Route53: route53.Options{PropagationDelay: delay, RejectWhilePending: reject, Now: now}})
		return awsr53.NewFromConfig(vpcsimtest.AdminConfig(t, srv, config.WithRetryMaxAttempts(1)))
	}
	change := func(t *testing.T, c *awsr53.Client, zone string, action r53types.ChangeAction, name, value string) (*awsr53.ChangeResourceRecordSetsOutput, error) {
		return c.ChangeResourceRecordSets(t.Context(), &awsr53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(zone), ChangeBatch: &r53types.ChangeBatch{
			Changes: []r53types.Change{{Action: action, ResourceRecordSet: &r53types.ResourceRecordSet{
				Name: aws.String(name), Type: r53types.RRTypeA, TTL: aws.Int64(60), ResourceRecords: []r53types.ResourceRecord{{Value: aws.String(value)}}}}}}})
	}
	newZone := func(t *testing.T, c *awsr53.Client) string {
		z, err := c.CreateHostedZone(t.Context(), &awsr53.CreateHostedZoneInput{Name: aws.String("db.example.com."), CallerReference: aws.String(t.Name())})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(z.HostedZone.Id)
	}
	status := func(t *testing.T, c *awsr53.Client, id string) r53types.ChangeStatus {
		out, err := c.GetChange(t.Context(), &awsr53.GetChangeInput{Id: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		return out.ChangeInfo.Status
	}

	t.Run("pending before insync, prior request not complete", func(t *testing.T) {
		c := newR53(t, true)
		zone := newZone(t, c)
		if _, err := change(t, c, zone, r53types.ChangeActionDelete, "vip.db.example.com.", "10.0.1.10"); code(t, err) != "InvalidChangeBatch" {
			t.Errorf("delete a missing record: %v, want InvalidChangeBatch", err)
		}
		out, err := change(t, c, zone, r53types.ChangeActionCreate, "vip.db.example.com.", "10.0.1.10")
		if err != nil {
			t.Fatal(err)
		}
		id := aws.ToString(out.ChangeInfo.Id)
		if out.ChangeInfo.Status != r53types.ChangeStatusPending || status(t, c, id) != r53types.ChangeStatusPending {
			t.Errorf("change status on submission %s, on GetChange %s; want PENDING", out.ChangeInfo.Status, status(t, c, id))
		}
		if _, err := change(t, c, zone, r53types.ChangeActionUpsert, "vip.db.example.com.", "10.0.2.10"); code(t, err) != "PriorRequestNotComplete" {
			t.Errorf("second change while pending: %v, want PriorRequestNotComplete", err)
		}
		elapsed.Add(int64(delay + time.Second))
		if got := status(t, c, id); got != r53types.ChangeStatusInsync {
			t.Errorf("change status after the propagation delay: %s, want INSYNC", got)
		}
		if _, err := change(t, c, zone, r53types.ChangeActionUpsert, "vip.db.example.com.", "10.0.2.10"); err != nil {
			t.Errorf("change once the prior one is INSYNC: %v", err)
		}
	})
	t.Run("second change accepted unless configured", func(t *testing.T) {
		c := newR53(t, false)
		zone := newZone(t, c)
		if _, err := change(t, c, zone, r53types.ChangeActionCreate, "vip.db.example.com.", "10.0.1.10"); err != nil {
			t.Fatal(err)
		}
		out, err := change(t, c, zone, r53types.ChangeActionUpsert, "vip.db.example.com.", "10.0.2.10")
		if err != nil {
			t.Fatalf("second change while pending, not configured to reject: %v", err)
		}
		if out.ChangeInfo.Status != r53types.ChangeStatusPending {
			t.Errorf("second change status %s, want PENDING", out.ChangeInfo.Status)
		}
	})
}

// TestAWSDescribeFilters: DescribeRouteTables and DescribeNetworkInterfaces
// filters, tag:Name, association.main and route.destination-cidr-block
// among them, match as AWS documents them: several filters AND, several
// values OR, * and ? are wildcards, and a filter on a list member matches
// when any member matches (so association.main=false selects every table
// with an explicit subnet association, main or not).
//
// Sources:
//   - DescribeRouteTables filters (association.main: "Indicates whether the
//     route table is the main route table for the VPC (true | false). Route
//     tables that do not have an association ID are not returned in the
//     response."; route.destination-cidr-block; tag:<key>).
//     https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeRouteTables.html
//   - DescribeNetworkInterfaces filters (attachment.instance-id,
//     addresses.private-ip-address, status, subnet-id, tag:<key>).
//     https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeNetworkInterfaces.html
//   - Filter semantics (AND across filters, OR across values, wildcards):
//     https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Filter.html
//     and "List and filter your resources" in the EC2 user guide.
func TestAWSDescribeFilters(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tables := []struct {
		name    string
		filters []types.Filter
		want    []string
	}{
		{"tag:Name", []types.Filter{filter("tag:Name", "rt-a")}, []string{rtbA}},
		{"tag:Name with a wildcard", []types.Filter{filter("tag:Name", "rt-?")}, []string{rtbA, rtbB}},
		{"tag:Name is case sensitive", []types.Filter{filter("tag:Name", "RT-A")}, nil},
		{"association.main true", []types.Filter{filter("association.main", "true")}, []string{rtbMain, rtbOther}},
		{"association.main false", []types.Filter{filter("association.main", "false")}, []string{rtbA, rtbB}},
		{"association.main and vpc-id AND", []types.Filter{filter("vpc-id", vpcDemo), filter("association.main", "true")}, []string{rtbMain}},
		{"route.destination-cidr-block", []types.Filter{filter("route.destination-cidr-block", vip)}, []string{rtbB}},
		{"route.destination-cidr-block local route", []types.Filter{filter("route.destination-cidr-block", "10.0.0.0/16")}, []string{rtbMain, rtbA, rtbB}},
		{"route.destination-cidr-block values OR", []types.Filter{filter("route.destination-cidr-block", vip, "172.16.0.0/16")}, []string{rtbB, rtbOther}},
	}
	for _, tt := range tables {
		t.Run("route tables "+tt.name, func(t *testing.T) {
			out, err := e.ec2.DescribeRouteTables(ctx, &awsec2.DescribeRouteTablesInput{Filters: tt.filters})
			if err != nil {
				t.Fatal(err)
			}
			want := slices.Clone(tt.want)
			sort.Strings(want)
			if diff := cmp.Diff(want, tableIDs(out)); diff != "" {
				t.Errorf("tables (-want +got):\n%s", diff)
			}
		})
	}
	// Tag the spare interface as an operator would.
	if _, err := e.ec2.CreateTags(ctx, &awsec2.CreateTagsInput{Resources: []string{eniSpare}, Tags: []types.Tag{{Key: aws.String("Name"), Value: aws.String("vip-eni")}}}); err != nil {
		t.Fatal(err)
	}
	enis := []struct {
		name    string
		filters []types.Filter
		want    []string
	}{
		{"tag:Name", []types.Filter{filter("tag:Name", "vip-eni")}, []string{eniSpare}},
		{"tag:Name with a wildcard", []types.Filter{filter("tag:Name", "vip-*")}, []string{eniSpare}},
		{"attachment.instance-id", []types.Filter{filter("attachment.instance-id", nodeB)}, []string{eniB}},
		{"status available", []types.Filter{filter("status", "available")}, []string{eniSpare}},
		{"addresses.private-ip-address secondary", []types.Filter{filter("addresses.private-ip-address", "10.0.2.100")}, []string{eniB}},
		{"addresses.private-ip-address primary", []types.Filter{filter("addresses.private-ip-address", "10.0.2.50")}, []string{eniSpare}},
		{"subnet-id AND status", []types.Filter{filter("subnet-id", subnetB), filter("status", "in-use")}, []string{eniB}},
	}
	for _, tt := range enis {
		t.Run("interfaces "+tt.name, func(t *testing.T) {
			out, err := e.ec2.DescribeNetworkInterfaces(ctx, &awsec2.DescribeNetworkInterfacesInput{Filters: tt.filters})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, n := range out.NetworkInterfaces {
				got = append(got, aws.ToString(n.NetworkInterfaceId))
			}
			sort.Strings(got)
			want := slices.Clone(tt.want)
			sort.Strings(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("interfaces (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAWSPrimaryInterfaceCannotBeDetached: the interface at device index 0
// cannot be detached, forced or not; AWS answers OperationNotPermitted.
//
// Sources:
//   - getmoto/moto#7678 quotes AWS's answer: "An error occurred
//     (OperationNotPermitted) when calling the DetachNetworkInterface
//     operation: The network interface at device index 0 and networkCard
//     index 0 cannot be detached." (moto detached it and then failed in
//     DescribeInstances.)
//   - EC2 user guide, network interfaces: "You cannot detach a primary
//     network interface from an instance."
//     https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/using-eni.html
func TestAWSPrimaryInterfaceCannotBeDetached(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	att := e.eni(t, eniA).Attachment
	if att == nil || aws.ToInt32(att.DeviceIndex) != 0 {
		t.Fatalf("node-a's primary interface attachment = %+v", att)
	}
	var msg string
	for _, force := range []bool{false, true} {
		_, err := e.ec2.DetachNetworkInterface(ctx, &awsec2.DetachNetworkInterfaceInput{AttachmentId: att.AttachmentId, Force: aws.Bool(force)})
		if code(t, err) != "OperationNotPermitted" {
			t.Errorf("detach the primary interface (force %v): %v, want OperationNotPermitted", force, err)
		}
		if err != nil {
			msg = err.Error()
		}
	}
	if n := e.eni(t, eniA); n.Attachment == nil || n.Attachment.Status != types.AttachmentStatusAttached {
		t.Errorf("primary interface after the refused detach: %+v", n.Attachment)
	}
	t.Run("message", func(t *testing.T) {
		const want = "The network interface at device index 0 and networkCard index 0 cannot be detached."
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks AWS's wording %q", msg, want)
		}
	})
}

// TestAWSTagFilters: the tag filters vipd's tag selectors send
// (docs/tags.md) select route tables, network interfaces, volumes and
// Elastic IPs as AWS documents them for each of those Describe calls:
// tag:<key> matches the tag's value (case-sensitive, * and ? wildcards),
// tag-key matches a key whatever its value, and several tag filters AND,
// so an object must carry every tag of a selector.
//
// Sources (the Filters of each call list the same two entries):
//   - "tag:<key> - The key/value combination of a tag assigned to the
//     resource. Use the tag key in the filter name and the tag value as the
//     filter value. For example, to find all resources that have a tag with
//     the key Owner and the value TeamA, specify tag:Owner for the filter
//     name and TeamA for the filter value."
//   - "tag-key - The key of a tag assigned to the resource. Use this filter
//     to find all resources assigned a tag with a specific key, regardless
//     of the tag value."
//     https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeRouteTables.html
//     https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeNetworkInterfaces.html
//     https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeVolumes.html
//     https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeAddresses.html
//   - AND across filters, OR across values:
//     https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Filter.html
func TestAWSTagFilters(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	const volA, volB, eip = "vol-0a0000000000000a1", "vol-0b0000000000000b1", "eipalloc-0b0000000000000b1"
	tag := func(ids []string, kv ...string) {
		t.Helper()
		var tags []types.Tag
		for i := 0; i+1 < len(kv); i += 2 {
			tags = append(tags, types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
		}
		if _, err := e.ec2.CreateTags(ctx, &awsec2.CreateTagsInput{Resources: ids, Tags: tags}); err != nil {
			t.Fatal(err)
		}
	}
	tag([]string{rtbA, rtbB}, "vipd", "db")
	tag([]string{rtbB}, "env", "prod")
	tag([]string{rtbMain}, "vipd", "web")
	tag([]string{eniSpare, volB, eip}, "vipd", "db")
	tag([]string{eniB, volA}, "vipd", "")
	cases := []struct {
		name    string
		filters []types.Filter
		tables  []string
		enis    []string
		volumes []string
		eips    []string
	}{
		{"tag:key", []types.Filter{filter("tag:vipd", "db")}, []string{rtbA, rtbB}, []string{eniSpare}, []string{volB}, []string{eip}},
		{"tag:key values OR", []types.Filter{filter("tag:vipd", "db", "web")}, []string{rtbMain, rtbA, rtbB}, []string{eniSpare}, []string{volB}, []string{eip}},
		{"tag:key wildcard", []types.Filter{filter("tag:vipd", "*")}, []string{rtbMain, rtbA, rtbB}, []string{eniB, eniSpare}, []string{volA, volB}, []string{eip}},
		{"tag:key value is case-sensitive", []types.Filter{filter("tag:vipd", "DB")}, nil, nil, nil, nil},
		{"tag:key key is case-sensitive", []types.Filter{filter("tag:VIPD", "db")}, nil, nil, nil, nil},
		{"tag-key", []types.Filter{filter("tag-key", "vipd")}, []string{rtbMain, rtbA, rtbB}, []string{eniB, eniSpare}, []string{volA, volB}, []string{eip}},
		{"tag filters AND", []types.Filter{filter("tag:vipd", "db"), filter("tag:env", "prod")}, []string{rtbB}, nil, nil, nil},
		{"tag filter AND tag-key", []types.Filter{filter("tag:vipd", "db"), filter("tag-key", "env")}, []string{rtbB}, nil, nil, nil},
	}
	sorted := func(s []string) []string { s = slices.Clone(s); sort.Strings(s); return s }
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			rt, err := e.ec2.DescribeRouteTables(ctx, &awsec2.DescribeRouteTablesInput{Filters: tt.filters})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(sorted(tt.tables), tableIDs(rt)); diff != "" {
				t.Errorf("route tables (-want +got):\n%s", diff)
			}
			ni, err := e.ec2.DescribeNetworkInterfaces(ctx, &awsec2.DescribeNetworkInterfacesInput{Filters: tt.filters})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, n := range ni.NetworkInterfaces {
				got = append(got, aws.ToString(n.NetworkInterfaceId))
			}
			if diff := cmp.Diff(sorted(tt.enis), sorted(got)); diff != "" {
				t.Errorf("interfaces (-want +got):\n%s", diff)
			}
			vs, err := e.ec2.DescribeVolumes(ctx, &awsec2.DescribeVolumesInput{Filters: tt.filters})
			if err != nil {
				t.Fatal(err)
			}
			got = nil
			for _, v := range vs.Volumes {
				got = append(got, aws.ToString(v.VolumeId))
			}
			if diff := cmp.Diff(sorted(tt.volumes), sorted(got)); diff != "" {
				t.Errorf("volumes (-want +got):\n%s", diff)
			}
			as, err := e.ec2.DescribeAddresses(ctx, &awsec2.DescribeAddressesInput{Filters: tt.filters})
			if err != nil {
				t.Fatal(err)
			}
			got = nil
			for _, a := range as.Addresses {
				got = append(got, aws.ToString(a.AllocationId))
			}
			if diff := cmp.Diff(sorted(tt.eips), sorted(got)); diff != "" {
				t.Errorf("addresses (-want +got):\n%s", diff)
			}
		})
	}
}
