// Package iampolicy derives the least-privilege IAM policy a vipd node needs
// for its configuration (`vipd iam-policy`): Describe calls on "*", because
// EC2 supports no resource-level permissions for them; route writes on the
// configured route tables' ARNs, as seed 000 part b scopes them;
// ModifyInstanceAttribute on the nodes' instance ARNs when vipd turns the
// source/dest check off; and for the other kinds the writes they make on the
// objects they name (Elastic IP, ENI, volume, hosted zone), with the owner's
// interfaces and instances as wildcards or --instance ARNs.
//
// For overlay-route, eni, ebs-volume and elastic-ip every statement is one
// vipd or `vipd check` needs: removing any of them makes `vipd check` fail
// (tests in internal/preflight prove it against vpcsim's role model).
// Imported by cmd/vipd only.
package iampolicy

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/vipd/vipd/internal/config"
)

// Options fill the ARNs; "" means any ("*"), which still scopes a route
// table ARN by its id.
type Options struct {
	// Partition is aws (default), aws-cn or aws-us-gov.
	Partition string
	// Region and Account of the resources.
	Region  string
	Account string
	// Instances are the nodes' instance ids; ModifyInstanceAttribute is
	// scoped to them. None means every instance of the account.
	Instances []string
	// VPC, for `route-tables: all`, limits route writes to that VPC's tables
	// with the ec2:Vpc condition key; "" allows every table of the account.
	VPC string
}

// Policy is an IAM policy document.
type Policy struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one Allow statement.
type Statement struct {
	Sid       string                       `json:"Sid"`
	Effect    string                       `json:"Effect"`
	Action    []string                     `json:"Action"`
	Resource  []string                     `json:"Resource"`
	Condition map[string]map[string]string `json:"Condition,omitempty"`
}

// JSON is the policy as `aws iam put-role-policy --policy-document` takes it.
func (p Policy) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode policy: %w", err)
	}
	return append(b, '\n'), nil
}

// ErrWitness is returned for a witness's configuration: it makes no AWS
// calls, so it needs no policy (and no instance profile).
var ErrWitness = errors.New("a witness makes no AWS calls: it needs no IAM policy")

// For returns the policy cfg's node needs: one statement of Describe
// calls on "*", then one statement per kind of write, each on the ARNs of
// the objects the configuration names (or, where the object is the owner's
// and unknown here, every one of its type).
func For(cfg *config.Config, o Options) (Policy, error) {
	if cfg.Node.Witness {
		return Policy{}, ErrWitness
	}
	if o.Partition == "" {
		o.Partition = "aws"
	}
	b := newBuilder()
	for i, r := range cfg.Resources {
		switch {
		case r.OverlayRoute != nil:
			arns := o.tableARNs(r.OverlayRoute.RouteTables)
			// DescribeRouteTables reads the routes vipd owns; vipd check
			// reads the source/dest check with DescribeInstances.
			b.describe("ec2:DescribeRouteTables", "ec2:DescribeInstances")
			b.allow("VipdRouteWrite", []string{"ec2:CreateRoute", "ec2:ReplaceRoute"}, arns...)
			if r.OverlayRoute.DeleteOnRelease {
				b.allow("VipdRouteDelete", []string{"ec2:DeleteRoute"}, arns...)
			}
			if r.OverlayRoute.DisableSourceDestCheck {
				b.allow("VipdSourceDestCheck", []string{"ec2:ModifyInstanceAttribute"}, o.instanceARNs()...)
			}
		case r.SecondaryIP != nil:
			// The addresses move between the nodes' interfaces, whose ids
			// the configuration does not name.
			b.describe("ec2:DescribeNetworkInterfaces")
			actions := []string{"ec2:AssignPrivateIpAddresses"}
			if !r.SecondaryIP.KeepOnRelease {
				actions = append(actions, "ec2:UnassignPrivateIpAddresses")
			}
			b.allow("VipdSecondaryIP", actions, o.arn("network-interface", "*"))
		case r.ElasticIP != nil:
			b.describe("ec2:DescribeAddresses")
			if r.ElasticIP.DeviceIndex != 0 {
				b.describe("ec2:DescribeNetworkInterfaces")
			}
			actions := []string{"ec2:AssociateAddress"}
			if !r.ElasticIP.KeepOnRelease {
				actions = append(actions, "ec2:DisassociateAddress")
			}
			b.allow("VipdElasticIP", actions, append([]string{
				o.arn("elastic-ip", r.ElasticIP.AllocationID), o.arn("network-interface", "*")}, o.instanceARNs()...)...)
		case r.ENI != nil:
			b.describe("ec2:DescribeNetworkInterfaces", "ec2:DescribeInstances")
			b.allow("VipdENI", []string{"ec2:AttachNetworkInterface", "ec2:DetachNetworkInterface"},
				append([]string{o.arn("network-interface", r.ENI.ID)}, o.instanceARNs()...)...)
		case r.EBSVolume != nil:
			b.describe("ec2:DescribeVolumes", "ec2:DescribeInstances")
			b.allow("VipdEBSVolume", []string{"ec2:AttachVolume", "ec2:DetachVolume"},
				append([]string{o.arn("volume", r.EBSVolume.VolumeID)}, o.instanceARNs()...)...)
		case r.Route53 != nil:
			if r.Route53.Address == config.AddressPublic {
				b.describe("ec2:DescribeAddresses")
			}
			b.allow("VipdRoute53Record", []string{"route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets"},
				fmt.Sprintf("arn:%s:route53:::hostedzone/%s", o.Partition, r.Route53.HostedZoneID))
			if r.Route53.WaitInsync {
				b.allow("VipdRoute53Change", []string{"route53:GetChange"}, fmt.Sprintf("arn:%s:route53:::change/*", o.Partition))
			}
		default:
			return Policy{}, fmt.Errorf("resources[%d]: iam-policy does not know resource kind %q", i, r.Kind())
		}
	}
	b.election(cfg, o)
	return b.policy(o), nil
}

// builder collects actions per statement, in the order statements are
// first needed.
type builder struct {
	describes []string
	sids      []string
	actions   map[string][]string
	resources map[string][]string
}

func newBuilder() *builder {
	return &builder{actions: map[string][]string{}, resources: map[string][]string{}}
}

func (b *builder) describe(actions ...string) { b.describes = append(b.describes, actions...) }

func (b *builder) allow(sid string, actions []string, arns ...string) {
	if _, ok := b.actions[sid]; !ok {
		b.sids = append(b.sids, sid)
	}
	b.actions[sid] = append(b.actions[sid], actions...)
	b.resources[sid] = append(b.resources[sid], arns...)
}

func (b *builder) policy(o Options) Policy {
	p := Policy{Version: "2012-10-17"}
	if len(b.describes) > 0 {
		p.Statement = append(p.Statement, Statement{Sid: "VipdDescribe", Effect: "Allow",
			Action: sortedSet(b.describes), Resource: []string{"*"}})
	}
	for _, sid := range b.sids {
		st := Statement{Sid: sid, Effect: "Allow", Action: sortedSet(b.actions[sid]), Resource: sortedSet(b.resources[sid])}
		if sid == "VipdRouteWrite" || sid == "VipdRouteDelete" {
			st = o.routeStatement(st)
		}
		p.Statement = append(p.Statement, st)
	}
	return p
}

func sortedSet(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

func (o Options) arn(kind, id string) string {
	return fmt.Sprintf("arn:%s:ec2:%s:%s:%s/%s", o.Partition, or(o.Region), or(o.Account), kind, id)
}

func or(s string) string {
	if s == "" {
		return "*"
	}
	return s
}

func (o Options) tableARNs(rt config.RouteTables) []string {
	if rt.All {
		return []string{o.arn("route-table", "*")}
	}
	out := make([]string, len(rt.IDs))
	for i, id := range rt.IDs {
		out[i] = o.arn("route-table", id)
	}
	return out
}

func (o Options) instanceARNs() []string {
	if len(o.Instances) == 0 {
		return []string{o.arn("instance", "*")}
	}
	out := make([]string, len(o.Instances))
	for i, id := range o.Instances {
		out[i] = o.arn("instance", id)
	}
	slices.Sort(out)
	return out
}

// routeStatement narrows a route statement: a wildcard table (from
// `route-tables: all`) makes the named ones redundant; with a VPC it is
// limited to that VPC's tables by the ec2:Vpc condition key.
func (o Options) routeStatement(st Statement) Statement {
	wild := o.arn("route-table", "*")
	if slices.Contains(st.Resource, wild) {
		st.Resource = []string{wild}
		if o.VPC != "" {
			st.Condition = map[string]map[string]string{"ArnEquals": {"ec2:Vpc": o.arn("vpc", o.VPC)}}
		}
	}
	return st
}
