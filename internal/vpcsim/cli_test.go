package vpcsim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/testenv"
	"github.com/vipd/vipd/internal/vpcsim"
	"github.com/vipd/vipd/internal/vpcsim/vpcsimtest"
)

// awsCLI runs the AWS CLI (v1) against srv as the admin, never reading the
// user's AWS configuration or the real IMDS.
type awsCLI struct {
	aws func(args ...string) (stdout, stderr []byte, err error)
}

func newAWSCLI(t *testing.T, srv *vpcsim.Server) *awsCLI {
	t.Helper()
	return &awsCLI{aws: testenv.AWSCLI(t, srv.URL(), adminEnv(srv)...)}
}

// adminEnv is what the CLI's environment changes from testenv.AWSEnv's
// defaults to call srv as the admin, without retries.
func adminEnv(srv *vpcsim.Server) []string {
	ak, sk := srv.AdminKey()
	return []string{
		"AWS_ACCESS_KEY_ID=" + ak,
		"AWS_SECRET_ACCESS_KEY=" + sk,
		"AWS_DEFAULT_REGION=" + srv.Region(),
		"AWS_MAX_ATTEMPTS=1",
	}
}

// run runs `aws --endpoint-url URL ec2 args...` and returns stdout, stderr
// and whether it exited 0.
func (c *awsCLI) run(t *testing.T, args ...string) (stdout, stderr string, ok bool) {
	t.Helper()
	out, errb, err := c.aws(append([]string{"ec2"}, args...)...)
	return string(out), string(errb), err == nil
}

// must runs and fails the test on a non-zero exit.
func (c *awsCLI) must(t *testing.T, args ...string) string {
	t.Helper()
	out, errs, ok := c.run(t, args...)
	if !ok {
		t.Fatalf("aws ec2 %s: %s", strings.Join(args, " "), errs)
	}
	return out
}

func (c *awsCLI) json(t *testing.T, v any, args ...string) {
	t.Helper()
	out := c.must(t, append(args, "--output", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("aws ec2 %s: decode %q: %v", strings.Join(args, " "), out, err)
	}
}

// TestSeedCommandsWithAWSCLI runs the seed documents' own AWS CLI commands
// unchanged (IDs filled in) against vpcsim: seed 000 part b (overlay route
// and source/dest check) and part a (moving an ENI), seed 001 (volume,
// secondary IP, run-instances --count 2), seed 002's delete-then-create
// loop over the VPC's route tables, seed 003's replace-route and seed 004's
// modify-vpc-attribute.
func TestSeedCommandsWithAWSCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the AWS CLI about 30 times")
	}
	srv := vpcsimtest.NewServer(t, loadTestWorld(t))
	cli := newAWSCLI(t, srv)

	t.Run("seed 000 part b: overlay route", func(t *testing.T) {
		cli.must(t, "create-route", "--route-table-id", rtbA, "--destination-cidr-block", vip, "--instance-id", nodeA)
		cli.must(t, "replace-route", "--route-table-id", rtbA, "--destination-cidr-block", vip, "--instance-id", nodeB)
		var out struct {
			RouteTables []struct {
				Routes []struct {
					DestinationCidrBlock, InstanceId, NetworkInterfaceId, State, Origin string
				}
			}
		}
		cli.json(t, &out, "describe-route-tables", "--route-table-ids", rtbA)
		var found bool
		for _, r := range out.RouteTables[0].Routes {
			if r.DestinationCidrBlock == vip {
				found = true
				if r.InstanceId != nodeB || r.NetworkInterfaceId != eniB || r.State != "active" || r.Origin != "CreateRoute" {
					t.Errorf("route after replace-route = %+v", r)
				}
			}
		}
		if !found {
			t.Fatalf("describe-route-tables lacks %s: %+v", vip, out)
		}
		cli.must(t, "delete-route", "--route-table-id", rtbA, "--destination-cidr-block", vip)
		if _, errs, ok := cli.run(t, "delete-route", "--route-table-id", rtbA, "--destination-cidr-block", vip); ok || !strings.Contains(errs, "InvalidRoute.NotFound") {
			t.Errorf("second delete-route: ok=%v %s, want InvalidRoute.NotFound", ok, errs)
		}
		cli.must(t, "modify-instance-attribute", "--instance-id", nodeB, "--no-source-dest-check")
		var attr struct{ SourceDestCheck struct{ Value bool } }
		cli.json(t, &attr, "describe-instance-attribute", "--instance-id", nodeB, "--attribute", "sourceDestCheck")
		if attr.SourceDestCheck.Value {
			t.Error("source/dest check still on after --no-source-dest-check")
		}
		if _, errs, ok := cli.run(t, "create-route", "--route-table-id", rtbA, "--destination-cidr-block", vip, "--instance-id", nodeA, "--dry-run"); ok || !strings.Contains(errs, "DryRunOperation") {
			t.Errorf("--dry-run: ok=%v %s", ok, errs)
		}
	})

	t.Run("seed 000 part a: move an ENI", func(t *testing.T) {
		// The seed reads the attachment ID from the text output's
		// ATTACHMENT line ($3) and polls the interface status ($10 of the
		// NETWORKINTERFACES line) until it leaves in-use.
		if _, errs, ok := cli.run(t, "attach-network-interface", "--instance-id", nodeB, "--network-interface-id", eniSpare, "--device-index", "1"); !ok {
			t.Fatalf("attach: %s", errs)
		}
		text := cli.must(t, "describe-network-interfaces", "--network-interface-ids", eniSpare, "--output", "text")
		var attachment string
		for _, line := range strings.Split(text, "\n") {
			if f := strings.Split(line, "\t"); f[0] == "ATTACHMENT" {
				for _, x := range f {
					if strings.HasPrefix(x, "eni-attach-") {
						attachment = x
					}
				}
			}
		}
		if attachment == "" {
			t.Fatalf("no attachment in text output:\n%s", text)
		}
		cli.must(t, "detach-network-interface", "--attachment-id", attachment, "--force")
		var ni struct{ NetworkInterfaces []struct{ Status string } }
		cli.json(t, &ni, "describe-network-interfaces", "--network-interface-ids", eniSpare)
		if ni.NetworkInterfaces[0].Status != "available" {
			t.Errorf("status after forced detach (zero timing) = %s, want available", ni.NetworkInterfaces[0].Status)
		}
		cli.must(t, "attach-network-interface", "--instance-id", nodeB, "--network-interface-id", eniSpare, "--device-index", "1")
		if _, errs, ok := cli.run(t, "attach-network-interface", "--instance-id", nodeA, "--network-interface-id", eniSpare, "--device-index", "2"); ok || !strings.Contains(errs, "InvalidNetworkInterface.InUse") {
			t.Errorf("attach twice: ok=%v %s", ok, errs)
		}
	})

	t.Run("seed 001: volume and secondary address", func(t *testing.T) {
		var vol struct{ VolumeId, State, AvailabilityZone string }
		cli.json(t, &vol, "create-volume", "--size", "10", "--availability-zone", "us-east-1a", "--volume-type", "gp2")
		if !strings.HasPrefix(vol.VolumeId, "vol-") || vol.AvailabilityZone != "us-east-1a" {
			t.Fatalf("create-volume = %+v", vol)
		}
		cli.must(t, "attach-volume", "--volume-id", vol.VolumeId, "--instance-id", nodeA, "--device", "/dev/sdg")
		cli.must(t, "detach-volume", "--volume-id", vol.VolumeId, "--force")
		cli.must(t, "assign-private-ip-addresses", "--network-interface-id", eniA, "--private-ip-addresses", "10.0.1.50")
		cli.must(t, "assign-private-ip-addresses", "--network-interface-id", eniMulti2, "--private-ip-addresses", "10.0.1.50", "--allow-reassignment")
		var ni struct {
			NetworkInterfaces []struct{ NetworkInterfaceId string }
		}
		cli.json(t, &ni, "describe-network-interfaces", "--filters", "Name=addresses.private-ip-address,Values=10.0.1.50")
		if len(ni.NetworkInterfaces) != 1 || ni.NetworkInterfaces[0].NetworkInterfaceId != eniMulti2 {
			t.Errorf("holders of 10.0.1.50 = %+v, want only %s", ni, eniMulti2)
		}
	})

	t.Run("seed 002: delete then create in every table of the VPC", func(t *testing.T) {
		var tables struct {
			RouteTables []struct{ RouteTableId string }
		}
		cli.json(t, &tables, "describe-route-tables", "--filters", "Name=vpc-id,Values="+vpcDemo)
		if len(tables.RouteTables) != 3 {
			t.Fatalf("tables of %s = %+v", vpcDemo, tables)
		}
		for _, rt := range tables.RouteTables {
			if _, errs, ok := cli.run(t, "delete-route", "--destination-cidr-block", vip, "--route-table-id", rt.RouteTableId); !ok && !strings.Contains(errs, "InvalidRoute.NotFound") {
				t.Fatalf("delete-route in %s: %s", rt.RouteTableId, errs)
			}
			cli.must(t, "create-route", "--destination-cidr-block", vip, "--network-interface-id", eniA, "--route-table-id", rt.RouteTableId)
		}
		st := srv.Snapshot()
		for _, rt := range []string{rtbMain, rtbA, rtbB} {
			if r := findRoute(st, rt, vip); r == nil || r.NetworkInterfaceID != eniA {
				t.Errorf("%s routes %s to %+v, want %s", rt, vip, r, eniA)
			}
		}
	})

	t.Run("seed 003: replace-route to the new primary", func(t *testing.T) {
		cli.must(t, "replace-route", "--route-table-id", rtbB, "--destination-cidr-block", vip, "--instance-id", witness)
		if r := findRoute(srv.Snapshot(), rtbB, vip); r == nil || r.InstanceID != witness {
			t.Errorf("route after replace-route = %+v", r)
		}
		// node-b holds the ENI that part a moved to it: it has two now.
		if _, errs, ok := cli.run(t, "replace-route", "--route-table-id", rtbB, "--destination-cidr-block", vip, "--instance-id", nodeB); ok || !strings.Contains(errs, "InvalidInstanceID") {
			t.Errorf("replace-route to a dual-homed instance: ok=%v %s", ok, errs)
		}
	})

	t.Run("seed 001: run-instances --count 2", func(t *testing.T) {
		var out struct {
			Instances []struct{ InstanceId, InstanceType, SubnetId string }
		}
		// The groups the command names exist in the user's VPC: EC2
		// refuses names it does not know (InvalidGroup.NotFound, RunInstances
		// in the EC2 API Reference). The CLI takes a list as separate words:
		// "internal-icmp,ssh-only" is one group name to it.
		for _, g := range []string{"internal-icmp", "ssh-only"} {
			if _, errs, ok := cli.run(t, "create-security-group", "--group-name", g, "--description", g, "--vpc-id", vpcDemo); !ok {
				t.Fatalf("create-security-group %s: %s", g, errs)
			}
		}
		// So does the key pair (InvalidKeyPair.NotFound otherwise).
		cli.must(t, "create-key-pair", "--key-name", "us-east1-jdunn")
		cli.json(t, &out, "run-instances", "--image-id", "ami-164cd77e", "--key-name", "us-east1-jdunn", "--security-groups", "internal-icmp", "ssh-only",
			"--instance-type", "t1.micro", "--subnet-id", subnetW, "--iam-instance-profile", "Name=vipd-node", "--count", "2")
		if len(out.Instances) != 2 || out.Instances[0].InstanceType != "t1.micro" || out.Instances[1].SubnetId != subnetW {
			t.Errorf("run-instances = %+v", out)
		}
	})

	t.Run("seed 004: DNS attributes of the VPC", func(t *testing.T) {
		cli.must(t, "modify-vpc-attribute", "--vpc-id", vpcDemo, "--enable-dns-support")
		cli.must(t, "modify-vpc-attribute", "--vpc-id", vpcDemo, "--enable-dns-hostnames")
		var attr struct{ EnableDnsHostnames struct{ Value bool } }
		cli.json(t, &attr, "describe-vpc-attribute", "--vpc-id", vpcDemo, "--attribute", "enableDnsHostnames")
		if !attr.EnableDnsHostnames.Value {
			t.Error("enableDnsHostnames still off")
		}
	})

	// Every call was made as the admin and recorded.
	for _, c := range srv.Calls(0) {
		if c.Caller != "admin" {
			t.Errorf("call %d by %q, want admin", c.Seq, c.Caller)
		}
	}
}

// TestTwoAZWorldScript runs examples/two-az-world.sh, which builds the
// failover world on an empty simulator with about ten AWS CLI commands
// (issue 13), and checks that the virtual IP reaches node-a.
func TestTwoAZWorldScript(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the AWS CLI 14 times")
	}
	srv := vpcsimtest.NewServer(t, &vpcsim.World{})
	newAWSCLI(t, srv) // skips without the CLI
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
	if got, err := srv.Resolve(ids["subnet_b"], netip.MustParseAddr("192.168.100.10")); got != ids["node_a"] || err != nil {
		t.Errorf("from subnet b the VIP reaches %q, %v; want node-a %s (output %q)", got, err, ids["node_a"], out.String())
	}
	st := srv.Snapshot()
	if len(st.Instances) != 2 || len(st.Subnets) != 2 || len(st.RouteTables) != 1 || len(st.RouteTables[0].Routes) != 3 {
		t.Errorf("state after the script: %+v", st)
	}
}
