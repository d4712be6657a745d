package iampolicy_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/iampolicy"
	"github.com/vipd/vipd/internal/resource/kinds"
)

const head = `cluster: c
node: {name: a, advertise: 10.0.1.10:7946}
peers:
  - {name: b, address: 10.0.2.10:7946}
  - {name: w, address: 10.0.3.10:7946, witness: true}
local-address: {interface: none}
`

var describe = iampolicy.Statement{Sid: "VipdDescribe", Effect: "Allow",
	Action: []string{"ec2:DescribeInstances", "ec2:DescribeRouteTables"}, Resource: []string{"*"}}

func TestFor(t *testing.T) {
	tests := []struct {
		name      string
		resources string
		opts      iampolicy.Options
		want      []iampolicy.Statement
	}{
		{
			name:      "named tables, scoped to their ARNs",
			resources: "  - overlay-route: {cidr: 192.168.1.1/32, route-tables: [rtb-0b000000000000002, rtb-0a000000000000001]}\n",
			opts:      iampolicy.Options{Region: "eu-west-1", Account: "123456789012"},
			want: []iampolicy.Statement{describe, {Sid: "VipdRouteWrite", Effect: "Allow",
				Action: []string{"ec2:CreateRoute", "ec2:ReplaceRoute"},
				Resource: []string{
					"arn:aws:ec2:eu-west-1:123456789012:route-table/rtb-0a000000000000001",
					"arn:aws:ec2:eu-west-1:123456789012:route-table/rtb-0b000000000000002",
				}}},
		},
		{
			name: "delete on release and source/dest check, instances named",
			resources: "  - overlay-route: {cidr: 192.168.1.1/32, route-tables: [rtb-0a000000000000001], delete-on-release: true, disable-source-dest-check: true}\n" +
				"  - overlay-route: {cidr: 192.168.2.1/32, route-tables: [rtb-0a000000000000001, rtb-0c000000000000003]}\n",
			opts: iampolicy.Options{Instances: []string{"i-0b", "i-0a"}},
			want: []iampolicy.Statement{describe,
				{Sid: "VipdRouteWrite", Effect: "Allow", Action: []string{"ec2:CreateRoute", "ec2:ReplaceRoute"},
					Resource: []string{"arn:aws:ec2:*:*:route-table/rtb-0a000000000000001", "arn:aws:ec2:*:*:route-table/rtb-0c000000000000003"}},
				{Sid: "VipdRouteDelete", Effect: "Allow", Action: []string{"ec2:DeleteRoute"},
					Resource: []string{"arn:aws:ec2:*:*:route-table/rtb-0a000000000000001"}},
				{Sid: "VipdSourceDestCheck", Effect: "Allow", Action: []string{"ec2:ModifyInstanceAttribute"},
					Resource: []string{"arn:aws:ec2:*:*:instance/i-0a", "arn:aws:ec2:*:*:instance/i-0b"}},
			},
		},
		{
			name:      "all tables, limited to the VPC by condition",
			resources: "  - overlay-route: {cidr: 192.168.1.1/32, route-tables: all, disable-source-dest-check: true}\n",
			opts:      iampolicy.Options{Partition: "aws-cn", Region: "cn-north-1", Account: "123456789012", VPC: "vpc-0a"},
			want: []iampolicy.Statement{describe,
				{Sid: "VipdRouteWrite", Effect: "Allow", Action: []string{"ec2:CreateRoute", "ec2:ReplaceRoute"},
					Resource:  []string{"arn:aws-cn:ec2:cn-north-1:123456789012:route-table/*"},
					Condition: map[string]map[string]string{"ArnEquals": {"ec2:Vpc": "arn:aws-cn:ec2:cn-north-1:123456789012:vpc/vpc-0a"}}},
				{Sid: "VipdSourceDestCheck", Effect: "Allow", Action: []string{"ec2:ModifyInstanceAttribute"},
					Resource: []string{"arn:aws-cn:ec2:cn-north-1:123456789012:instance/*"}},
			},
		},
		{
			// Objects found by tag: one statement per selector on every
			// object of the type, with the ec2:ResourceTag condition; the
			// instances in a statement without it.
			name: "tag selectors",
			resources: "  - overlay-route: {cidr: 192.168.1.1/32, route-tables: {tags: [{key: vipd, value: db}, {key: tier}]}, delete-on-release: true}\n" +
				"  - overlay-route: {cidr: 192.168.2.1/32, route-tables: {tags: [{key: vipd, value: 'web-*'}]}}\n" +
				"  - ebs-volume: {tags: [{key: vipd, value: data}], host: none}\n",
			opts: iampolicy.Options{Region: "us-east-1", Account: "123456789012", Instances: []string{"i-0a"}, VPC: "vpc-0a"},
			want: []iampolicy.Statement{
				{Sid: "VipdDescribe", Effect: "Allow", Resource: []string{"*"}, Action: []string{
					"ec2:DescribeInstances", "ec2:DescribeRouteTables", "ec2:DescribeVolumes"}},
				{Sid: "VipdRouteWriteTagged", Effect: "Allow", Action: []string{"ec2:CreateRoute", "ec2:DeleteRoute", "ec2:ReplaceRoute"},
					Resource: []string{"arn:aws:ec2:us-east-1:123456789012:route-table/*"},
					Condition: map[string]map[string]string{
						"StringEquals": {"ec2:ResourceTag/vipd": "db"}, "Null": {"ec2:ResourceTag/tier": "false"},
						"ArnEquals": {"ec2:Vpc": "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-0a"}}},
				{Sid: "VipdRouteWriteTagged2", Effect: "Allow", Action: []string{"ec2:CreateRoute", "ec2:ReplaceRoute"},
					Resource: []string{"arn:aws:ec2:us-east-1:123456789012:route-table/*"},
					Condition: map[string]map[string]string{
						"StringLike": {"ec2:ResourceTag/vipd": "web-*"},
						"ArnEquals":  {"ec2:Vpc": "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-0a"}}},
				{Sid: "VipdEBSVolumeTagged", Effect: "Allow", Action: []string{"ec2:AttachVolume", "ec2:DetachVolume"},
					Resource:  []string{"arn:aws:ec2:us-east-1:123456789012:volume/*"},
					Condition: map[string]map[string]string{"StringEquals": {"ec2:ResourceTag/vipd": "data"}}},
				{Sid: "VipdEBSVolume", Effect: "Allow", Action: []string{"ec2:AttachVolume", "ec2:DetachVolume"},
					Resource: []string{"arn:aws:ec2:us-east-1:123456789012:instance/i-0a"}},
			},
		},
		{
			name: "every other kind",
			resources: "  - secondary-ip: {addresses: [10.0.1.100]}\n" +
				"  - elastic-ip: {allocation-id: eipalloc-0a1b2c3d4e5f60718, device-index: 1, private-ip: 10.0.2.50, keep-on-release: true}\n" +
				"  - eni: {id: eni-0a1b2c3d4e5f60718, host: none}\n" +
				"  - ebs-volume: {volume-id: vol-0a1b2c3d4e5f60718, device: /dev/xvdf, host: none}\n" +
				"  - route53: {hosted-zone-id: Z0123456789ABCDEFGHIJ, name: db.example.internal, address: public, wait-insync: true}\n",
			opts: iampolicy.Options{Region: "us-east-1", Account: "123456789012", Instances: []string{"i-0a"}},
			want: []iampolicy.Statement{
				{Sid: "VipdDescribe", Effect: "Allow", Resource: []string{"*"}, Action: []string{
					"ec2:DescribeAddresses", "ec2:DescribeInstances", "ec2:DescribeNetworkInterfaces", "ec2:DescribeVolumes"}},
				{Sid: "VipdSecondaryIP", Effect: "Allow", Action: []string{"ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"},
					Resource: []string{"arn:aws:ec2:us-east-1:123456789012:network-interface/*"}},
				{Sid: "VipdElasticIP", Effect: "Allow", Action: []string{"ec2:AssociateAddress"},
					Resource: []string{"arn:aws:ec2:us-east-1:123456789012:elastic-ip/eipalloc-0a1b2c3d4e5f60718",
						"arn:aws:ec2:us-east-1:123456789012:instance/i-0a", "arn:aws:ec2:us-east-1:123456789012:network-interface/*"}},
				{Sid: "VipdENI", Effect: "Allow", Action: []string{"ec2:AttachNetworkInterface", "ec2:DetachNetworkInterface"},
					Resource: []string{"arn:aws:ec2:us-east-1:123456789012:instance/i-0a", "arn:aws:ec2:us-east-1:123456789012:network-interface/eni-0a1b2c3d4e5f60718"}},
				{Sid: "VipdEBSVolume", Effect: "Allow", Action: []string{"ec2:AttachVolume", "ec2:DetachVolume"},
					Resource: []string{"arn:aws:ec2:us-east-1:123456789012:instance/i-0a", "arn:aws:ec2:us-east-1:123456789012:volume/vol-0a1b2c3d4e5f60718"}},
				{Sid: "VipdRoute53Record", Effect: "Allow", Action: []string{"route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets"},
					Resource: []string{"arn:aws:route53:::hostedzone/Z0123456789ABCDEFGHIJ"}},
				{Sid: "VipdRoute53Change", Effect: "Allow", Action: []string{"route53:GetChange"}, Resource: []string{"arn:aws:route53:::change/*"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse([]byte(head+"resources:\n"+tt.resources), "c.yaml")
			if err != nil {
				t.Fatal(err)
			}
			p, err := iampolicy.For(cfg, tt.opts, kinds.Registry())
			if err != nil {
				t.Fatal(err)
			}
			if p.Version != "2012-10-17" {
				t.Errorf("Version = %q", p.Version)
			}
			if diff := cmp.Diff(tt.want, p.Statement); diff != "" {
				t.Errorf("statements (-want +got):\n%s", diff)
			}
			if _, err := p.JSON(); err != nil {
				t.Errorf("JSON: %v", err)
			}
		})
	}
}

func TestWitness(t *testing.T) {
	cfg, err := config.Parse([]byte(`cluster: c
node: {name: w, advertise: 10.0.3.10:7946, witness: true}
peers:
  - {name: a, address: 10.0.1.10:7946}
  - {name: b, address: 10.0.2.10:7946}
`), "w.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iampolicy.For(cfg, iampolicy.Options{}, kinds.Registry()); !errors.Is(err, iampolicy.ErrWitness) {
		t.Errorf("For(witness) = %v, want ErrWitness", err)
	}
}
