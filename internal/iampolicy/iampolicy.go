// Package iampolicy derives the least-privilege IAM policy a vipd node needs
// for its configuration (`vipd iam-policy`): Describe calls on "*", because
// EC2 supports no resource-level permissions for them; route writes on the
// configured route tables' ARNs, as seed 000 part b scopes them;
// ModifyInstanceAttribute on the nodes' instance ARNs when vipd turns the
// source/dest check off.
//
// Every statement is one vipd or `vipd check` needs: removing any of them
// makes `vipd check` fail. Imported by cmd/vipd only.
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

// For returns the policy cfg's node needs.
func For(cfg *config.Config, o Options) (Policy, error) {
	if cfg.Node.Witness {
		return Policy{}, ErrWitness
	}
	if o.Partition == "" {
		o.Partition = "aws"
	}
	var writes, deletes []string
	srcDst := false
	for i, r := range cfg.Resources {
		switch {
		case r.OverlayRoute != nil:
			arns := o.tableARNs(r.OverlayRoute.RouteTables)
			writes = append(writes, arns...)
			if r.OverlayRoute.DeleteOnRelease {
				deletes = append(deletes, arns...)
			}
			srcDst = srcDst || r.OverlayRoute.DisableSourceDestCheck
		default:
			return Policy{}, fmt.Errorf("resources[%d]: iam-policy knows only overlay-route resources", i)
		}
	}
	p := Policy{Version: "2012-10-17", Statement: []Statement{{
		Sid:    "VipdDescribe",
		Effect: "Allow",
		// DescribeRouteTables reads the routes vipd owns; vipd check
		// reads the source/dest check with DescribeInstances.
		Action:   []string{"ec2:DescribeInstances", "ec2:DescribeRouteTables"},
		Resource: []string{"*"},
	}}}
	if len(writes) > 0 {
		p.Statement = append(p.Statement, o.routeStatement("VipdRouteWrite", []string{"ec2:CreateRoute", "ec2:ReplaceRoute"}, writes))
	}
	if len(deletes) > 0 {
		p.Statement = append(p.Statement, o.routeStatement("VipdRouteDelete", []string{"ec2:DeleteRoute"}, deletes))
	}
	if srcDst {
		p.Statement = append(p.Statement, Statement{
			Sid:      "VipdSourceDestCheck",
			Effect:   "Allow",
			Action:   []string{"ec2:ModifyInstanceAttribute"},
			Resource: o.instanceARNs(),
		})
	}
	return p, nil
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

// routeStatement allows actions on the tables. A wildcard table (from
// `route-tables: all`) makes the named ones redundant; with a VPC it is
// limited to that VPC's tables by the ec2:Vpc condition key.
func (o Options) routeStatement(sid string, actions, arns []string) Statement {
	st := Statement{Sid: sid, Effect: "Allow", Action: actions}
	wild := o.arn("route-table", "*")
	if slices.Contains(arns, wild) {
		st.Resource = []string{wild}
		if o.VPC != "" {
			st.Condition = map[string]map[string]string{"ArnEquals": {"ec2:Vpc": o.arn("vpc", o.VPC)}}
		}
		return st
	}
	slices.Sort(arns)
	st.Resource = slices.Compact(arns)
	return st
}
