package vpcsim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/testenv"
	"github.com/vipd/vipd/internal/vpcsim"
	"github.com/vipd/vipd/internal/vpcsim/route53"
	"github.com/vipd/vipd/internal/vpcsim/vpcsimtest"
)

// fail runs `aws ec2 args...`, expecting a non-zero exit whose stderr names
// the error code want, as the CLI prints "An error occurred (Code) when
// calling the Action operation: ...".
func (c *awsCLI) fail(t *testing.T, want string, args ...string) {
	t.Helper()
	out, errs, ok := c.run(t, args...)
	if ok || !strings.Contains(errs, "("+want+")") {
		t.Errorf("aws ec2 %s: exit ok=%v, stdout %q, stderr %q; want a failure naming %s", strings.Join(args, " "), ok, out, errs, want)
	}
}

// text runs `aws ec2 args... --output text` and returns stdout trimmed.
func (c *awsCLI) text(t *testing.T, args ...string) string {
	t.Helper()
	return strings.TrimSpace(c.must(t, append(args, "--output", "text")...))
}

// eniState is the interface's status and attachment status in srv, as
// DescribeNetworkInterfaces reports them ("in-use detaching").
func eniState(t *testing.T, srv *vpcsim.Server, id string) string {
	t.Helper()
	for _, e := range srv.Snapshot().NetworkInterfaces {
		if e.ID == id {
			return strings.TrimSpace(e.Status + " " + e.AttachmentStatus)
		}
	}
	t.Fatalf("no interface %s in the simulator", id)
	return ""
}

// volumeAttachment is the volume's attachment state in srv.
func volumeAttachment(t *testing.T, srv *vpcsim.Server, id string) string {
	t.Helper()
	for _, v := range srv.Snapshot().Volumes {
		if v.ID == id {
			return v.AttachmentStatus
		}
	}
	t.Fatalf("no volume %s in the simulator", id)
	return ""
}

// pollCLI runs check until it is true, failing the test after 30 s; each
// check runs the CLI at least once, which paces the loop.
func pollCLI(t *testing.T, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestCLIWorldFromEmpty is issue 13's acceptance test: on an empty vpcsim
// (its world holds one IAM role and no resources) it builds the two-AZ
// world with examples/two-az-world.sh, then runs the seeds' provisioning
// and failover commands with the AWS CLI — replace-route (seed 003),
// run-instances --count 2, create-volume/attach-volume and
// assign-private-ip-addresses --allow-reassignment (seed 001),
// create/attach/detach-network-interface --force (seed 000),
// associate-address --allow-reassociation, Route 53
// change-resource-record-sets and get-change (seed 004) — and checks the
// resulting state and each error case of the issue's "AWS semantics where
// moto differs" list through the CLI's exit status and stderr.
// awssemantics_test.go has the same cases with the SDK and their sources.
func TestCLIWorldFromEmpty(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the AWS CLI about 60 times")
	}
	// Detaching takes 10 s (5 s forced), so that the detaching state is
	// still there when the detach's CLI run has returned; everything else completes at once. Route
	// 53 changes stay PENDING for a minute of a clock the test moves.
	var elapsed atomic.Int64
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	detach := vpcsim.Dist{Median: 10 * time.Second}
	srv := vpcsimtest.NewServerOptions(t,
		vpcsimtest.ParseWorld(t, "roles: [{name: reader, actions: [\"ec2:Describe*\"]}]\n"),
		vpcsim.Options{
			Timing: vpcsim.Timing{ENIDetach: detach, VolumeDetach: detach},
			Route53: route53.Options{PropagationDelay: time.Minute, RejectWhilePending: true,
				Now: func() time.Time { return start.Add(time.Duration(elapsed.Load())) }},
		})
	if st := srv.Snapshot(); len(st.VPCs) != 0 || len(st.Instances) != 0 {
		t.Fatalf("simulator is not empty: %+v", st)
	}
	cli := newAWSCLI(t, srv) // skips without the CLI, fails under CI=true

	// Build the world as the example script does.
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "../../examples/two-az-world.sh")
	cmd.Env = append(testenv.AWSEnv(t, adminEnv(srv)...), "VPCSIM_URL="+srv.URL())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("two-az-world.sh: %v\n%s", err, errb.String())
	}
	ids := map[string]string{}
	for _, f := range strings.Fields(out.String()) {
		if k, v, ok := strings.Cut(f, "="); ok {
			ids[k] = v
		}
	}
	rtb, subA, subB, na, nb := ids["route_table"], ids["subnet_a"], ids["subnet_b"], ids["node_a"], ids["node_b"]
	if rtb == "" || subA == "" || subB == "" || na == "" || nb == "" {
		t.Fatalf("two-az-world.sh printed %q", out.String())
	}
	primaryENI := func(t *testing.T, instance string) string {
		t.Helper()
		return cli.text(t, "describe-instances", "--instance-ids", instance, "--query", "Reservations[0].Instances[0].NetworkInterfaces[0].NetworkInterfaceId")
	}
	eniNA, eniNB := primaryENI(t, na), primaryENI(t, nb)
	const vipAddr = "192.168.100.10"

	t.Run("replace-route moves the VIP and reports the instance's interface", func(t *testing.T) {
		cli.must(t, "replace-route", "--route-table-id", rtb, "--destination-cidr-block", vip, "--instance-id", nb)
		var rts struct {
			RouteTables []struct {
				Routes []struct {
					DestinationCidrBlock, InstanceId, InstanceOwnerId, NetworkInterfaceId, State string
				}
			}
		}
		cli.json(t, &rts, "describe-route-tables", "--route-table-ids", rtb)
		var found bool
		for _, r := range rts.RouteTables[0].Routes {
			if r.DestinationCidrBlock == vip {
				found = true
				if r.InstanceId != nb || r.InstanceOwnerId != "123456789012" || r.NetworkInterfaceId != eniNB || r.State != "active" {
					t.Errorf("route after replace-route = %+v, want instance %s owner 123456789012 interface %s active", r, nb, eniNB)
				}
			}
		}
		if !found {
			t.Fatalf("no route to %s: %+v", vip, rts)
		}
		if got, err := srv.Resolve(subA, netip.MustParseAddr(vipAddr)); got != nb || err != nil {
			t.Errorf("from subnet a the VIP reaches %q, %v; want node-b %s", got, err, nb)
		}
	})

	t.Run("dry-run answers DryRunOperation or UnauthorizedOperation and never acts", func(t *testing.T) {
		cli.fail(t, "DryRunOperation", "replace-route", "--route-table-id", rtb, "--destination-cidr-block", vip, "--instance-id", na, "--dry-run")
		if got := cli.text(t, "describe-route-tables", "--route-table-ids", rtb, "--query", "RouteTables[0].Routes[?DestinationCidrBlock=='"+vip+"'].InstanceId"); got != nb {
			t.Errorf("route after a dry run targets %q, want %s", got, nb)
		}
		// An instance whose role only describes, calling with the
		// credentials its IMDS hands out.
		reader := cli.text(t, "run-instances", "--image-id", "ami-0a1b2c3d4e5f60718", "--count", "1", "--subnet-id", subA,
			"--iam-instance-profile", "Name=reader", "--query", "Instances[0].InstanceId")
		var creds struct{ AccessKeyId, SecretAccessKey, Token string }
		if err := json.Unmarshal([]byte(metadata(t, imdsClient(srv.IMDSURL(reader)), "iam/security-credentials/reader")), &creds); err != nil {
			t.Fatal(err)
		}
		as := testenv.AWSCLI(t, srv.URL(), "AWS_ACCESS_KEY_ID="+creds.AccessKeyId, "AWS_SECRET_ACCESS_KEY="+creds.SecretAccessKey,
			"AWS_SESSION_TOKEN="+creds.Token, "AWS_DEFAULT_REGION="+srv.Region(), "AWS_MAX_ATTEMPTS=1")
		if _, errs, err := as("ec2", "replace-route", "--route-table-id", rtb, "--destination-cidr-block", vip, "--instance-id", na, "--dry-run"); err == nil || !strings.Contains(string(errs), "(UnauthorizedOperation)") {
			t.Errorf("dry run without permission: err %v, stderr %s; want UnauthorizedOperation", err, errs)
		}
		if _, errs, err := as("ec2", "describe-route-tables", "--dry-run"); err == nil || !strings.Contains(string(errs), "(DryRunOperation)") {
			t.Errorf("permitted dry run with role credentials: err %v, stderr %s; want DryRunOperation", err, errs)
		}
		cli.must(t, "terminate-instances", "--instance-ids", reader)
	})

	// Two instances in subnet a, as seed 001 launches them.
	var pair struct {
		Instances []struct{ InstanceId, SubnetId string }
	}
	cli.json(t, &pair, "run-instances", "--image-id", "ami-164cd77e", "--instance-type", "t1.micro", "--subnet-id", subA, "--count", "2")
	if len(pair.Instances) != 2 {
		t.Fatalf("run-instances --count 2 = %+v", pair)
	}
	p1, p2 := pair.Instances[0].InstanceId, pair.Instances[1].InstanceId
	eniP1, eniP2 := primaryENI(t, p1), primaryENI(t, p2)

	t.Run("assign-private-ip-addresses --allow-reassignment moves the address", func(t *testing.T) {
		const addr = "10.0.1.50"
		holders := func() string {
			return cli.text(t, "describe-network-interfaces", "--filters", "Name=addresses.private-ip-address,Values="+addr, "--query", "NetworkInterfaces[].NetworkInterfaceId")
		}
		cli.must(t, "assign-private-ip-addresses", "--network-interface-id", eniP1, "--private-ip-addresses", addr)
		if got := holders(); got != eniP1 {
			t.Errorf("holders of %s = %q, want %s", addr, got, eniP1)
		}
		cli.fail(t, "InvalidIPAddress.InUse", "assign-private-ip-addresses", "--network-interface-id", eniP2, "--private-ip-addresses", addr)
		cli.must(t, "assign-private-ip-addresses", "--network-interface-id", eniP2, "--private-ip-addresses", addr, "--allow-reassignment")
		if got := holders(); got != eniP2 {
			t.Errorf("holders of %s after reassignment = %q, want only %s", addr, got, eniP2)
		}
	})

	// A standalone interface in subnet a, as seed 000 creates it.
	eni := cli.text(t, "create-network-interface", "--subnet-id", subA, "--description", "vip interface", "--query", "NetworkInterface.NetworkInterfaceId")

	t.Run("attach and force-detach a network interface", func(t *testing.T) {
		cli.fail(t, "InvalidParameterCombination", "attach-network-interface", "--network-interface-id", eni, "--instance-id", nb, "--device-index", "1")
		attachment := cli.text(t, "attach-network-interface", "--network-interface-id", eni, "--instance-id", p1, "--device-index", "1", "--query", "AttachmentId")
		cli.fail(t, "InvalidNetworkInterface.InUse", "attach-network-interface", "--network-interface-id", eni, "--instance-id", p2, "--device-index", "1")
		// p1 has two interfaces now: neither a route nor an Elastic IP may
		// name it by instance.
		cli.fail(t, "InvalidInstanceID", "create-route", "--route-table-id", rtb, "--destination-cidr-block", "192.168.100.11/32", "--instance-id", p1)
		alloc := cli.text(t, "allocate-address", "--domain", "vpc", "--query", "AllocationId")
		cli.fail(t, "InvalidInstanceID", "associate-address", "--allocation-id", alloc, "--instance-id", p1)
		cli.must(t, "release-address", "--allocation-id", alloc)

		cli.must(t, "detach-network-interface", "--attachment-id", attachment, "--force")
		// Read in the process, at once: another CLI run can take longer
		// than the forced detach on a loaded machine.
		if got := eniState(t, srv, eni); got != "in-use detaching" {
			t.Errorf("interface right after the forced detach: %q, want in-use, detaching", got)
		}
		pollCLI(t, "the interface to become available", func() bool {
			return cli.text(t, "describe-network-interfaces", "--network-interface-ids", eni, "--query", "NetworkInterfaces[0].Status") == "available"
		})
		cli.must(t, "attach-network-interface", "--network-interface-id", eni, "--instance-id", p2, "--device-index", "1")
		if got := cli.text(t, "describe-network-interfaces", "--filters", "Name=attachment.instance-id,Values="+p2, "Name=attachment.device-index,Values=1",
			"--query", "NetworkInterfaces[].NetworkInterfaceId"); got != eni {
			t.Errorf("interface at device 1 of %s = %q, want %s", p2, got, eni)
		}
	})

	t.Run("associate-address --allow-reassociation", func(t *testing.T) {
		alloc := cli.text(t, "allocate-address", "--domain", "vpc", "--query", "AllocationId")
		cli.must(t, "associate-address", "--allocation-id", alloc, "--instance-id", na)
		if got := cli.text(t, "describe-addresses", "--allocation-ids", alloc, "--query", "Addresses[0].NetworkInterfaceId"); got != eniNA {
			t.Errorf("address associated by instance sits on %q, want node-a's interface %s", got, eniNA)
		}
		cli.fail(t, "Resource.AlreadyAssociated", "associate-address", "--allocation-id", alloc, "--network-interface-id", eniNB)
		cli.must(t, "associate-address", "--allocation-id", alloc, "--network-interface-id", eniNB, "--allow-reassociation")
		if got := cli.text(t, "describe-addresses", "--allocation-ids", alloc, "--query", "Addresses[0].[NetworkInterfaceId,InstanceId]"); got != eniNB+"\t"+nb {
			t.Errorf("address after reassociation: %q, want %s %s", got, eniNB, nb)
		}
	})

	t.Run("create-volume, attach-volume, forced detach", func(t *testing.T) {
		vol := cli.text(t, "create-volume", "--size", "10", "--availability-zone", "us-east-1a", "--volume-type", "gp2", "--query", "VolumeId")
		pollCLI(t, "the volume to become available", func() bool {
			return cli.text(t, "describe-volumes", "--volume-ids", vol, "--query", "Volumes[0].State") == "available"
		})
		cli.fail(t, "InvalidVolume.ZoneMismatch", "attach-volume", "--volume-id", vol, "--instance-id", nb, "--device", "/dev/sdf")
		cli.must(t, "attach-volume", "--volume-id", vol, "--instance-id", na, "--device", "/dev/sdf")
		cli.fail(t, "VolumeInUse", "attach-volume", "--volume-id", vol, "--instance-id", p1, "--device", "/dev/sdf")
		cli.must(t, "detach-volume", "--volume-id", vol, "--force")
		if got := volumeAttachment(t, srv, vol); got != "detaching" {
			t.Errorf("volume attachment right after the forced detach: %q, want detaching", got)
		}
		pollCLI(t, "the volume to become available", func() bool {
			return cli.text(t, "describe-volumes", "--volume-ids", vol, "--query", "Volumes[0].State") == "available"
		})
		cli.must(t, "attach-volume", "--volume-id", vol, "--instance-id", p1, "--device", "/dev/sdf")
	})

	t.Run("describe filters tag:Name, association.main, route.destination-cidr-block", func(t *testing.T) {
		cli.must(t, "create-tags", "--resources", rtb, eni, "--tags", "Key=Name,Value=vip")
		for _, f := range [][]string{
			{"Name=tag:Name,Values=vip"},
			{"Name=tag:Name,Values=v?p"},
			{"Name=association.main,Values=true"},
			{"Name=route.destination-cidr-block,Values=" + vip},
			{"Name=route.destination-cidr-block,Values=" + vip, "Name=association.main,Values=true"},
		} {
			if got := cli.text(t, append(append([]string{"describe-route-tables", "--filters"}, f...), "--query", "RouteTables[].RouteTableId")...); got != rtb {
				t.Errorf("route tables matching %v = %q, want %s", f, got, rtb)
			}
		}
		for _, f := range []string{"Name=association.main,Values=false", "Name=tag:Name,Values=VIP", "Name=route.destination-cidr-block,Values=192.168.100.0/24"} {
			if got := cli.text(t, "describe-route-tables", "--filters", f, "--query", "RouteTables[].RouteTableId"); got != "" {
				t.Errorf("route tables matching %s = %q, want none", f, got)
			}
		}
		if got := cli.text(t, "describe-network-interfaces", "--filters", "Name=tag:Name,Values=vip", "--query", "NetworkInterfaces[].NetworkInterfaceId"); got != eni {
			t.Errorf("interfaces tagged Name=vip = %q, want %s", got, eni)
		}
		cli.fail(t, "InvalidParameterValue", "describe-route-tables", "--filters", "Name=colour,Values=blue")
	})

	t.Run("route53: missing delete, PENDING then INSYNC, PriorRequestNotComplete", func(t *testing.T) {
		r53 := func(args ...string) (string, string, bool) {
			out, errs, err := cli.aws(append([]string{"route53"}, args...)...)
			return strings.TrimSpace(string(out)), string(errs), err == nil
		}
		zone, errs, ok := r53("create-hosted-zone", "--name", "db.example.com", "--caller-reference", "cli-world", "--query", "HostedZone.Id", "--output", "text")
		if !ok {
			t.Fatalf("create-hosted-zone: %s", errs)
		}
		batch := func(action, value string) string {
			return `{"Changes":[{"Action":"` + action + `","ResourceRecordSet":{"Name":"vip.db.example.com","Type":"A","TTL":10,"ResourceRecords":[{"Value":"` + value + `"}]}}]}`
		}
		if _, errs, ok := r53("change-resource-record-sets", "--hosted-zone-id", zone, "--change-batch", batch("DELETE", "10.0.1.10")); ok || !strings.Contains(errs, "(InvalidChangeBatch)") {
			t.Errorf("delete a missing record: ok=%v %s; want InvalidChangeBatch", ok, errs)
		}
		info, errs, ok := r53("change-resource-record-sets", "--hosted-zone-id", zone, "--change-batch", batch("CREATE", "10.0.1.10"), "--query", "ChangeInfo.[Id,Status]", "--output", "text")
		id, status, _ := strings.Cut(info, "\t")
		if !ok || status != "PENDING" {
			t.Fatalf("create record: ok=%v %q %s; want PENDING", ok, info, errs)
		}
		if _, errs, ok := r53("change-resource-record-sets", "--hosted-zone-id", zone, "--change-batch", batch("UPSERT", "10.0.2.10")); ok || !strings.Contains(errs, "(PriorRequestNotComplete)") {
			t.Errorf("second change while pending: ok=%v %s; want PriorRequestNotComplete", ok, errs)
		}
		getChange := func() string {
			st, errs, ok := r53("get-change", "--id", id, "--query", "ChangeInfo.Status", "--output", "text")
			if !ok {
				t.Fatalf("get-change: %s", errs)
			}
			return st
		}
		if got := getChange(); got != "PENDING" {
			t.Errorf("get-change before the delay = %s, want PENDING", got)
		}
		elapsed.Add(int64(time.Minute + time.Second))
		if got := getChange(); got != "INSYNC" {
			t.Errorf("get-change after the delay = %s, want INSYNC", got)
		}
		if _, errs, ok := r53("change-resource-record-sets", "--hosted-zone-id", zone, "--change-batch", batch("UPSERT", "10.0.2.10")); !ok {
			t.Errorf("change once the prior one is INSYNC: %s", errs)
		}
	})

	// The world built over the CLI, checked in the simulator's own view.
	st := srv.Snapshot()
	if len(st.VPCs) != 1 || len(st.Subnets) != 2 {
		t.Errorf("world has %d VPCs and %d subnets, want 1 and 2", len(st.VPCs), len(st.Subnets))
	}
	if r := findRoute(st, rtb, vip); r == nil || r.InstanceID != nb || r.NetworkInterfaceID != eniNB {
		t.Errorf("VIP route in the final state = %+v, want node-b %s via %s", r, nb, eniNB)
	}
}
