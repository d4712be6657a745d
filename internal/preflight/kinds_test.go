package preflight_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	r53 "github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/google/go-cmp/cmp"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/iampolicy"
	"github.com/vipd/vipd/internal/preflight"
	"github.com/vipd/vipd/internal/resource/kinds"
	"github.com/vipd/vipd/internal/testenv"
	"github.com/vipd/vipd/internal/vpcsim/vpcsimtest"
)

// kindsWorld has node-a in zone a, an ENI and a volume in zone a and in
// zone b, and an Elastic IP associated with node-b.
const kindsWorld = `
vpcs: [{id: vpc-0a000000000000001, cidr: 10.0.0.0/16}]
subnets:
  - {id: subnet-0a000000000000001, vpc: vpc-0a000000000000001, cidr: 10.0.1.0/24, az: a}
  - {id: subnet-0b000000000000002, vpc: vpc-0a000000000000001, cidr: 10.0.2.0/24, az: b}
roles:
  - name: vipd
    statements:
%s
instances:
  - {id: i-0a000000000000001, subnet: subnet-0a000000000000001, private-ip: 10.0.1.10, role: vipd}
  - {id: i-0b000000000000002, subnet: subnet-0a000000000000001, private-ip: 10.0.1.11, eni-id: eni-0b00000000000000b}
network-interfaces:
  - {id: eni-0a000000000000009, subnet: subnet-0a000000000000001, private-ip: 10.0.1.50, instance: i-0b000000000000002, device-index: 1, tags: {vipd: db}}
  - {id: eni-0b000000000000009, subnet: subnet-0b000000000000002, private-ip: 10.0.2.50}
volumes:
  - {id: vol-0a000000000000009, az: a, instance: i-0b000000000000002, device: /dev/sdf, tags: {vipd: data}}
  - {id: vol-0b000000000000009, az: b, tags: {vipd: data}}
elastic-ips:
  - {id: eipalloc-0a000000000000009, network-interface: eni-0b00000000000000b}
`

const kindsRole = `      - {actions: ["ec2:Describe*"]}
      - actions: [ec2:AttachNetworkInterface, ec2:DetachNetworkInterface, ec2:AttachVolume, ec2:DetachVolume, ec2:AssociateAddress, ec2:DisassociateAddress]`

func TestKinds(t *testing.T) {
	tests := []struct {
		name      string
		role      string
		resources string
		want      []outcome
		// output, when set, must appear in what vipd check prints.
		output string
	}{
		{
			// An interface found by its primary private address is checked
			// as the resource finds it, and named by the id found.
			name: "eni by private address", role: kindsRole,
			resources: "  - eni: {private-ip: 10.0.1.50, host: none}\n",
			want: []outcome{
				{"eni 10.0.1.50 (eni-0a000000000000009)", preflight.Pass},
				{"permission ec2:AttachNetworkInterface eni-0a000000000000009", preflight.Pass},
				{"permission ec2:DetachNetworkInterface eni-0a000000000000009", preflight.Pass},
			},
		},
		{
			// EC2 authorizes AttachVolume and DetachVolume against the
			// volume and the instance ("Actions defined by Amazon EC2",
			// Service Authorization Reference): a role scoped to the volume
			// alone fails both, naming the instance it lacks (for the
			// detach, the one the volume is attached to).
			name:      "volume without its instances",
			role:      "      - {actions: [\"ec2:Describe*\"]}\n      - {actions: [ec2:AttachVolume, ec2:DetachVolume], resources: [\"arn:aws:ec2:*:*:volume/*\"]}",
			resources: "  - ebs-volume: {volume-id: vol-0a000000000000009, host: none}\n",
			want: []outcome{
				{"ebs-volume vol-0a000000000000009", preflight.Pass},
				{"permission ec2:AttachVolume vol-0a000000000000009", preflight.Fail},
				{"permission ec2:DetachVolume vol-0a000000000000009", preflight.Fail},
			},
			output: "✗ permission ec2:DetachVolume vol-0a000000000000009: missing: the instance's role does not allow ec2:DetachVolume on arn:aws:ec2:us-east-1:123456789012:instance/i-0b000000000000002\n" +
				"    fix: add ec2:DetachVolume on arn:aws:ec2:us-east-1:123456789012:instance/i-0b000000000000002 to the instance's role",
		},
		{
			name: "all in place and allowed", role: kindsRole,
			resources: "  - eni: {id: eni-0a000000000000009, host: none}\n" +
				"  - ebs-volume: {volume-id: vol-0a000000000000009, host: none}\n" +
				"  - elastic-ip: {allocation-id: eipalloc-0a000000000000009}\n" +
				"  - secondary-ip: {addresses: [10.0.1.100]}\n",
			want: []outcome{
				{"eni eni-0a000000000000009", preflight.Pass},
				{"permission ec2:AttachNetworkInterface eni-0a000000000000009", preflight.Pass},
				{"permission ec2:DetachNetworkInterface eni-0a000000000000009", preflight.Pass},
				{"ebs-volume vol-0a000000000000009", preflight.Pass},
				{"permission ec2:AttachVolume vol-0a000000000000009", preflight.Pass},
				{"permission ec2:DetachVolume vol-0a000000000000009", preflight.Pass},
				{"elastic-ip eipalloc-0a000000000000009", preflight.Pass},
				{"permission ec2:AssociateAddress eipalloc-0a000000000000009", preflight.Pass},
				{"permission ec2:DisassociateAddress eipalloc-0a000000000000009", preflight.Pass},
				{"secondary-ip", preflight.Pass},
				{"permission ec2:AssignPrivateIpAddresses and ec2:UnassignPrivateIpAddresses SELF", preflight.Skip},
			},
		},
		{
			name: "wrong zone, missing objects, address outside the subnet", role: kindsRole,
			resources: "  - eni: {id: eni-0b000000000000009, host: none}\n" +
				"  - ebs-volume: {volume-id: vol-0b000000000000009, host: none}\n" +
				"  - ebs-volume: {volume-id: vol-0c000000000000009, host: none}\n" +
				"  - elastic-ip: {allocation-id: eipalloc-0c000000000000009}\n" +
				"  - secondary-ip: {addresses: [10.0.2.100]}\n",
			want: []outcome{
				{"eni eni-0b000000000000009", preflight.Fail},
				{"ebs-volume vol-0b000000000000009", preflight.Fail},
				{"ebs-volume vol-0c000000000000009", preflight.Fail},
				{"elastic-ip eipalloc-0c000000000000009", preflight.Fail},
				{"secondary-ip 10.0.2.100", preflight.Fail},
			},
		},
		{
			// A selector resolves to its one object, whose checks follow;
			// one that selects none fails naming the tags, one that
			// selects several fails naming every id.
			name: "tag selectors", role: kindsRole,
			resources: "  - eni: {tags: [{key: vipd, value: db}], host: none}\n" +
				"  - ebs-volume: {tags: [{key: vipd}], host: none}\n" +
				"  - elastic-ip: {tags: [{key: vipd, value: web}]}\n",
			want: []outcome{
				{"eni tags vipd=db (eni-0a000000000000009)", preflight.Pass},
				{"permission ec2:AttachNetworkInterface eni-0a000000000000009", preflight.Pass},
				{"permission ec2:DetachNetworkInterface eni-0a000000000000009", preflight.Pass},
				{"ebs-volume tags vipd", preflight.Fail},
				{"elastic-ip tags vipd=web", preflight.Fail},
			},
		},
		{
			name: "missing permissions", role: "      - {actions: [\"ec2:Describe*\"]}\n      - actions: [ec2:AttachVolume]",
			resources: "  - eni: {id: eni-0a000000000000009, host: none}\n" +
				"  - ebs-volume: {volume-id: vol-0a000000000000009, host: none}\n",
			want: []outcome{
				{"eni eni-0a000000000000009", preflight.Pass},
				{"permission ec2:AttachNetworkInterface eni-0a000000000000009", preflight.Fail},
				{"permission ec2:DetachNetworkInterface eni-0a000000000000009", preflight.Fail},
				{"ebs-volume vol-0a000000000000009", preflight.Pass},
				{"permission ec2:AttachVolume vol-0a000000000000009", preflight.Pass},
				{"permission ec2:DetachVolume vol-0a000000000000009", preflight.Fail},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testenv.AWS(t)
			srv := vpcsimtest.NewServer(t, vpcsimtest.ParseWorld(t, fmt.Sprintf(kindsWorld, tt.role)))
			imdsURL := srv.IMDSURL(instance)
			deps := preflight.Deps{
				IMDS: awsapi.NewIMDS(imdsURL),
				Connect: func(ctx context.Context, region string) (preflight.AWS, error) {
					c, err := awsapi.Load(ctx, awsapi.Options{Region: region, Endpoint: srv.URL(), IMDSEndpoint: imdsURL, MaxAttempts: 1, ThrottledAttempts: 1})
					if err != nil {
						return preflight.AWS{}, err
					}
					return preflight.AWS{EC2: c.EC2, Credentials: c.Config.Credentials}, nil
				},
			}
			rs := preflight.Run(t.Context(), parse(t, "resources:\n"+tt.resources+"local-address: {interface: none}\n"), deps)
			var got []outcome
			for _, o := range awsOutcomes(rs) {
				switch {
				case o.Check == "config" || o.Check == "imds" || o.Check == "credentials" || o.Check == "local interface":
				case strings.HasPrefix(o.Check, "permission ec2:AssignPrivateIpAddresses"):
					// The instance's ENI id is generated by vpcsim.
					o.Check = o.Check[:strings.LastIndex(o.Check, " ")] + " SELF"
					got = append(got, o)
				default:
					got = append(got, o)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s\n%s", diff, written(t, rs))
			}
			if out := written(t, rs); !strings.Contains(out, tt.output) {
				t.Errorf("output lacks %q:\n%s", tt.output, out)
			}
		})
	}
}

// TestGeneratedPolicyKinds gives the role exactly what vipd iam-policy
// prints for an eni, an ebs-volume and an elastic-ip with STONITH on: vipd
// check passes, and fails without any one statement (VipdFence's
// StopInstances is proven with a DryRun).
func TestGeneratedPolicyKinds(t *testing.T) {
	body := "resources:\n" +
		"  - eni: {id: eni-0a000000000000009, host: none}\n" +
		"  - ebs-volume: {volume-id: vol-0a000000000000009, host: none}\n" +
		"  - elastic-ip: {allocation-id: eipalloc-0a000000000000009}\n" +
		"local-address: {interface: none}\n" +
		"fence: {stop-instance: true}\n"
	cfg := parse(t, body)
	p, err := iampolicy.For(cfg, iampolicy.Options{Region: "us-east-1", Account: "123456789012",
		Instances: []string{instance, "i-0b000000000000002"}}, kinds.Registry())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(p.Statement, func(st iampolicy.Statement) bool {
		return st.Sid == "VipdFence" && slices.Equal(st.Action, []string{"ec2:StopInstances"}) &&
			slices.Equal(st.Resource, []string{"arn:aws:ec2:us-east-1:123456789012:instance/i-0a000000000000001", "arn:aws:ec2:us-east-1:123456789012:instance/i-0b000000000000002"})
	}) {
		t.Errorf("no VipdFence statement allowing ec2:StopInstances on the nodes' instances:\n%+v", p.Statement)
	}
	run := func(t *testing.T, sts []iampolicy.Statement) []preflight.Result {
		testenv.AWS(t)
		srv := vpcsimtest.NewServer(t, vpcsimtest.ParseWorld(t, fmt.Sprintf(kindsWorld, roleYAML(t, sts))))
		imdsURL := srv.IMDSURL(instance)
		return preflight.Run(t.Context(), cfg, preflight.Deps{
			IMDS: awsapi.NewIMDS(imdsURL),
			Connect: func(ctx context.Context, region string) (preflight.AWS, error) {
				c, err := awsapi.Load(ctx, awsapi.Options{Region: region, Endpoint: srv.URL(), IMDSEndpoint: imdsURL, MaxAttempts: 1, ThrottledAttempts: 1})
				if err != nil {
					return preflight.AWS{}, err
				}
				return preflight.AWS{EC2: c.EC2, Credentials: c.Config.Credentials}, nil
			},
		})
	}
	t.Run("complete", func(t *testing.T) {
		if rs := run(t, p.Statement); preflight.Blocking(rs) {
			t.Errorf("vipd check fails with the generated policy:\n%s", written(t, rs))
		}
	})
	for i, st := range p.Statement {
		t.Run("without "+st.Sid, func(t *testing.T) {
			if rs := run(t, slices.Delete(slices.Clone(p.Statement), i, i+1)); !preflight.Blocking(rs) {
				t.Errorf("vipd check passes without statement %s:\n%s", st.Sid, written(t, rs))
			}
		})
	}
}

// TestRoute53 checks a route53 resource against vpcsim's Route 53, which
// enforces the instance role as Route 53 does: an existing zone the role
// may list passes with the record's current value, a missing zone fails,
// and a role without route53:ListResourceRecordSets on the zone fails
// naming the action.
func TestRoute53(t *testing.T) {
	testenv.AWS(t)
	r53Role := kindsRole + "\n      - {actions: [route53:ListResourceRecordSets, route53:ChangeResourceRecordSets], resources: [\"arn:aws:route53:::hostedzone/*\"]}"
	for _, tt := range []struct {
		name, role string
		zone       bool // the zone exists
		want       func(id string) []outcome
	}{
		{"zone the role may list", r53Role, true, func(id string) []outcome {
			return []outcome{{"route53 primary.db.internal", preflight.Pass}, {"permission route53:ChangeResourceRecordSets " + id, preflight.Skip}}
		}},
		{"missing zone", r53Role, false, func(string) []outcome { return []outcome{{"route53 primary.db.internal", preflight.Fail}} }},
		{"role without route53", kindsRole, true, func(string) []outcome { return []outcome{{"route53 primary.db.internal", preflight.Fail}} }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := vpcsimtest.NewServer(t, vpcsimtest.ParseWorld(t, fmt.Sprintf(kindsWorld, tt.role)))
			id := "Z0000000000000000NONE"
			if tt.zone {
				admin := r53.NewFromConfig(vpcsimtest.AdminConfig(t, srv))
				zone, err := admin.CreateHostedZone(t.Context(), &r53.CreateHostedZoneInput{Name: aws.String("db.internal."), CallerReference: aws.String("t"),
					VPC: &r53types.VPC{VPCId: aws.String("vpc-0a000000000000001"), VPCRegion: r53types.VPCRegionUsEast1}})
				if err != nil {
					t.Fatal(err)
				}
				id = strings.TrimPrefix(aws.ToString(zone.HostedZone.Id), "/hostedzone/")
			}
			imdsURL := srv.IMDSURL(instance)
			deps := preflight.Deps{
				IMDS: awsapi.NewIMDS(imdsURL),
				Connect: func(ctx context.Context, region string) (preflight.AWS, error) {
					c, err := awsapi.Load(ctx, awsapi.Options{Region: region, Endpoint: srv.URL(), IMDSEndpoint: imdsURL, MaxAttempts: 1, ThrottledAttempts: 1})
					if err != nil {
						return preflight.AWS{}, err
					}
					return preflight.AWS{EC2: c.EC2, Route53: c.Route53, Credentials: c.Config.Credentials}, nil
				},
			}
			cfg := parse(t, fmt.Sprintf("resources:\n  - route53: {hosted-zone-id: %s, name: primary.db.internal}\nlocal-address: {interface: none}\n", id))
			rs := preflight.Run(t.Context(), cfg, deps)
			var got []outcome
			for _, o := range awsOutcomes(rs) {
				if strings.Contains(o.Check, "route53") {
					got = append(got, o)
				}
			}
			if diff := cmp.Diff(tt.want(id), got); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s\n%s", diff, written(t, rs))
			}
		})
	}
}
