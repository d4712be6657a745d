package overlayroute

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/preflight/probe"
)

// preflight checks the route tables of every overlay-route, the
// source/dest check, and the permission for every write vipd makes for
// them, each table and action once however many resources share it.
func preflight(ctx context.Context, p *probe.Probe, rs []probe.Entry) {
	type write struct {
		table  string
		prefix string
		delete bool
	}
	var writes []write
	seen := map[string]int{} // table -> index in writes
	some, srcDst := false, false
	for _, e := range rs {
		o := e.Config.OverlayRoute
		if len(o.Prefixes()) == 0 {
			continue
		}
		some = true
		srcDst = srcDst || o.DisableSourceDestCheck
		for _, t := range routeTables(ctx, p, e.Where+".route-tables", o) {
			if j, ok := seen[t]; ok {
				writes[j].delete = writes[j].delete || o.DeleteOnRelease
				continue
			}
			seen[t] = len(writes)
			// One prefix proves the permission: IAM decides on the
			// table, not the destination.
			writes = append(writes, write{table: t, prefix: o.Prefixes()[0].String(), delete: o.DeleteOnRelease})
		}
	}
	if !some {
		return
	}
	id := p.Identity
	sourceDestCheck(ctx, p, srcDst)
	for _, w := range writes {
		t, dst := aws.String(w.table), aws.String(w.prefix)
		p.DryRun(ctx, "ec2:ReplaceRoute", "route-table", w.table, func(ctx context.Context) error {
			_, err := p.EC2.ReplaceRoute(ctx, &ec2.ReplaceRouteInput{DryRun: aws.Bool(true),
				RouteTableId: t, DestinationCidrBlock: dst, NetworkInterfaceId: aws.String(id.ENIID)})
			return err
		})
		p.DryRun(ctx, "ec2:CreateRoute", "route-table", w.table, func(ctx context.Context) error {
			_, err := p.EC2.CreateRoute(ctx, &ec2.CreateRouteInput{DryRun: aws.Bool(true),
				RouteTableId: t, DestinationCidrBlock: dst, NetworkInterfaceId: aws.String(id.ENIID)})
			return err
		})
		if w.delete {
			p.DryRun(ctx, "ec2:DeleteRoute", "route-table", w.table, func(ctx context.Context) error {
				_, err := p.EC2.DeleteRoute(ctx, &ec2.DeleteRouteInput{DryRun: aws.Bool(true),
					RouteTableId: t, DestinationCidrBlock: dst})
				return err
			})
		}
	}
	if srcDst {
		p.DryRun(ctx, "ec2:ModifyInstanceAttribute", "instance", id.InstanceID, func(ctx context.Context) error {
			_, err := p.EC2.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{DryRun: aws.Bool(true),
				InstanceId: aws.String(id.InstanceID), SourceDestCheck: &types.AttributeBooleanValue{Value: aws.Bool(false)}})
			return err
		})
	}
}

// routeTables checks that every named table exists in the instance's VPC
// (or that the VPC has tables, for `all`) and returns the ids usable for
// the permission checks. A table (or `all`) named by several resources is
// checked once.
func routeTables(ctx context.Context, p *probe.Probe, where string, o *config.OverlayRoute) []string {
	id := p.Identity
	if o.RouteTables.All {
		return p.Memo("route-tables all of "+id.VPCID, func(check string) []string {
			var tables []types.RouteTable
			err := p.Call(ctx, func(ctx context.Context) error {
				out, err := p.EC2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{
					Filters: []types.Filter{{Name: aws.String("vpc-id"), Values: []string{id.VPCID}}}})
				if err == nil {
					tables = out.RouteTables
				}
				return err
			})
			switch {
			case err != nil:
				p.DescribeFailed(check, "ec2:DescribeRouteTables", err)
				return nil
			case len(tables) == 0:
				p.Fail(check, "no route table found in "+id.VPCID, "create the route tables, or name them in "+where)
				return nil
			}
			ids := make([]string, len(tables))
			for j, t := range tables {
				ids[j] = aws.ToString(t.RouteTableId)
			}
			p.Add(probe.Result{Check: check, Status: probe.Pass, Detail: fmt.Sprintf("%d table(s): %s", len(ids), strings.Join(ids, ", "))})
			return ids
		})
	}
	var ok []string
	for _, table := range o.RouteTables.IDs {
		ok = append(ok, p.Memo("route-table "+table, func(check string) []string {
			var tables []types.RouteTable
			err := p.Call(ctx, func(ctx context.Context) error {
				out, err := p.EC2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{RouteTableIds: []string{table}})
				if err == nil {
					tables = out.RouteTables
				}
				return err
			})
			switch {
			case awsapi.IsCode(err, awsapi.CodeRouteTableNotFound) || (err == nil && len(tables) == 0):
				p.Fail(check, "does not exist in "+id.Region,
					"correct the id in "+where+" (aws ec2 describe-route-tables --filters Name=vpc-id,Values="+id.VPCID+" lists this VPC's)")
			case err != nil:
				p.DescribeFailed(check, "ec2:DescribeRouteTables", err)
			case aws.ToString(tables[0].VpcId) != id.VPCID:
				p.Fail(check, fmt.Sprintf("is in %s, but this instance is in %s", aws.ToString(tables[0].VpcId), id.VPCID),
					"name only tables of "+id.VPCID+" in "+where+": a route to this instance's ENI cannot be created in another VPC")
			default:
				p.Add(probe.Result{Check: check, Status: probe.Pass, Detail: "exists in " + id.VPCID})
				return []string{table}
			}
			return nil
		})...)
	}
	return ok
}

// sourceDestCheck reports the instance's source/dest check: on, traffic to
// an overlay address (not the instance's own) is dropped by EC2.
func sourceDestCheck(ctx context.Context, p *probe.Probe, disable bool) {
	const check = "source/dest check"
	id := p.Identity
	var inst *types.Instance
	err := p.Call(ctx, func(ctx context.Context) error {
		out, err := p.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id.InstanceID}})
		if err != nil {
			return err
		}
		for _, res := range out.Reservations {
			for _, in := range res.Instances {
				if aws.ToString(in.InstanceId) == id.InstanceID {
					inst = &in
				}
			}
		}
		return nil
	})
	switch {
	case err != nil:
		p.DescribeFailed(check, "ec2:DescribeInstances", err)
	case inst == nil:
		p.Fail(check, "instance "+id.InstanceID+" not found by DescribeInstances", "check that the credentials belong to this instance's account")
	case inst.SourceDestCheck == nil || !*inst.SourceDestCheck:
		p.Add(probe.Result{Check: check, Status: probe.Pass, Detail: "off on " + id.InstanceID})
	case disable:
		p.Add(probe.Result{Check: check, Status: probe.Pass, Detail: "on for " + id.InstanceID + "; vipd turns it off when it takes the address (disable-source-dest-check)"})
	default:
		p.Fail(check, "on for "+id.InstanceID+": EC2 drops traffic to the overlay address",
			"set disable-source-dest-check: true on the overlay-route, or run aws ec2 modify-instance-attribute --instance-id "+id.InstanceID+" --no-source-dest-check")
	}
}
