package overlayroute

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/preflight/probe"
	"github.com/vipd/vipd/internal/resource"
)

// preflight checks the route tables of every overlay-route, the
// source/dest check, and the permission for every write vipd makes for
// them, each table and action once however many resources share it.
func preflight(ctx context.Context, p *probe.Probe, rs []probe.Entry) {
	type write struct {
		table  string
		prefix netip.Prefix
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
			writes = append(writes, write{table: t, prefix: o.Prefixes()[0], delete: o.DeleteOnRelease})
		}
		outsideVPC(ctx, p, e.Where+".cidr", o)
	}
	if !some {
		return
	}
	id := p.Identity
	sourceDestCheck(ctx, p, srcDst)
	for _, w := range writes {
		t := aws.String(w.table)
		v4, v6 := destination(w.prefix)
		p.DryRun(ctx, "ec2:ReplaceRoute", "route-table", w.table, func(ctx context.Context) error {
			_, err := p.EC2.ReplaceRoute(ctx, &ec2.ReplaceRouteInput{DryRun: aws.Bool(true),
				RouteTableId: t, DestinationCidrBlock: v4, DestinationIpv6CidrBlock: v6, NetworkInterfaceId: aws.String(id.ENIID)})
			return err
		})
		p.DryRun(ctx, "ec2:CreateRoute", "route-table", w.table, func(ctx context.Context) error {
			_, err := p.EC2.CreateRoute(ctx, &ec2.CreateRouteInput{DryRun: aws.Bool(true),
				RouteTableId: t, DestinationCidrBlock: v4, DestinationIpv6CidrBlock: v6, NetworkInterfaceId: aws.String(id.ENIID)})
			return err
		})
		if w.delete {
			p.DryRun(ctx, "ec2:DeleteRoute", "route-table", w.table, func(ctx context.Context) error {
				_, err := p.EC2.DeleteRoute(ctx, &ec2.DeleteRouteInput{DryRun: aws.Bool(true),
					RouteTableId: t, DestinationCidrBlock: v4, DestinationIpv6CidrBlock: v6})
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
	if o.RouteTables.All || o.RouteTables.Tags != nil {
		name, empty, fix := "route-tables all of "+id.VPCID, "no route table found in "+id.VPCID, "create the route tables, or name them in "+where
		filters := []types.Filter{{Name: aws.String("vpc-id"), Values: []string{id.VPCID}}}
		if tags := o.RouteTables.Tags; tags != nil {
			sel := config.TagsString(tags)
			name = "route-tables with tags " + sel + " in " + id.VPCID
			empty = "no route table of " + id.VPCID + " has the tags " + sel
			fix = "tag the tables (aws ec2 create-tags --resources rtb-... --tags " + tagsCLI(tags) + "), or correct " + where + ".tags"
			filters = append(filters, resource.TagFilters(tags)...)
		}
		return p.Memo(name, func(check string) []string {
			var tables []types.RouteTable
			err := p.Call(ctx, func(ctx context.Context) error {
				out, err := p.EC2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: filters})
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
				p.Fail(check, empty, fix)
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

// tagsCLI writes tags as the AWS CLI's --tags takes them.
func tagsCLI(tags []config.Tag) string {
	s := make([]string, len(tags))
	for i, t := range tags {
		s[i] = "Key=" + t.Key + ",Value=" + t.Value
	}
	return strings.Join(s, " ")
}

// outsideVPC checks each overlay CIDR against the VPC's CIDR blocks (its
// tables' local routes). AWS accepts a route more specific than the local
// route only when its destination matches the entire CIDR block of a
// subnet of the VPC (Amazon VPC User Guide, "Subnet route tables", rules
// and considerations; "more specific routing", August 2021), so an overlay
// address inside the VPC, a /32, can never be routed: CreateRoute and
// ReplaceRoute answer InvalidParameterValue at the first failover, which
// the DryRun permission checks cannot show (DryRun checks permission
// only).
func outsideVPC(ctx context.Context, p *probe.Probe, where string, o *config.OverlayRoute) {
	id := p.Identity
	blocks := p.Memo("cidr blocks of "+id.VPCID, func(string) []string {
		var out []string
		_ = p.Call(ctx, func(ctx context.Context) error {
			res, err := p.EC2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{
				Filters: []types.Filter{{Name: aws.String("vpc-id"), Values: []string{id.VPCID}}}})
			if err != nil {
				return err
			}
			for _, t := range res.RouteTables {
				for _, r := range t.Routes {
					if aws.ToString(r.GatewayId) != "local" {
						continue
					}
					for _, d := range []*string{r.DestinationCidrBlock, r.DestinationIpv6CidrBlock} {
						if d != nil && !slices.Contains(out, *d) {
							out = append(out, *d)
						}
					}
				}
			}
			return nil
		})
		return out
	})
	for _, dst := range o.Prefixes() {
		check := "overlay cidr " + dst.String()
		if len(blocks) == 0 {
			p.Add(probe.Result{Check: check, Status: probe.Warn, Detail: "not checked: the VPC's CIDR blocks could not be read (see the route-table check)",
				Fix: "fix the route-table check, then run vipd check again"})
			continue
		}
		var inside netip.Prefix
		for _, b := range blocks {
			if l, err := netip.ParsePrefix(b); err == nil && l.Overlaps(dst) && dst.Bits() >= l.Bits() {
				inside = l
			}
		}
		if !inside.IsValid() {
			p.Add(probe.Result{Check: check, Status: probe.Pass, Detail: "outside the VPC's CIDR blocks (" + strings.Join(blocks, ", ") + ")"})
			continue
		}
		fix := "pick an address outside every CIDR block of " + id.VPCID + " (" + strings.Join(blocks, ", ") + "), for example in 192.168.0.0/16, and set it in " + where +
			" and local-address; for an address of a subnet use secondary-ip instead (docs/overlay-route.md)"
		subnet, err := subnetWithCIDR(ctx, p, dst)
		switch {
		case dst == inside:
			p.Fail(check, fmt.Sprintf("is %s's own CIDR block: its local route cannot be moved to an instance by vipd", id.VPCID), fix)
		case err == nil && subnet != "":
			p.Add(probe.Result{Check: check, Status: probe.Warn, Detail: fmt.Sprintf("inside %s, and exactly subnet %s's CIDR block, which AWS accepts: traffic from other subnets to all of %s will go through the owner", inside, subnet, dst),
				Fix: "if only the service address should move, " + fix})
		case err == nil:
			p.Fail(check, fmt.Sprintf("inside %s's CIDR block %s: AWS refuses a route more specific than the local route unless it is a whole subnet's CIDR block, so the failover's CreateRoute/ReplaceRoute would fail", id.VPCID, inside), fix)
		default:
			p.Fail(check, fmt.Sprintf("inside %s's CIDR block %s, and whether it is a whole subnet's CIDR block (the only kind of route inside the VPC AWS accepts) could not be read: %v", id.VPCID, inside, err), fix)
		}
	}
}

// subnetWithCIDR returns the id of the VPC's subnet whose CIDR block is
// exactly dst, or "". Only blocks of a size a subnet can have are looked
// up (IPv4 /16 to /28, IPv6 /44 to /64).
func subnetWithCIDR(ctx context.Context, p *probe.Probe, dst netip.Prefix) (string, error) {
	lo, hi, filter := 16, 28, "cidr-block"
	if dst.Addr().Is6() {
		lo, hi, filter = 44, 64, "ipv6-cidr-block-association.ipv6-cidr-block"
	}
	if dst.Bits() < lo || dst.Bits() > hi {
		return "", nil
	}
	var id string
	err := p.Call(ctx, func(ctx context.Context) error {
		out, err := p.EC2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []types.Filter{
			{Name: aws.String("vpc-id"), Values: []string{p.Identity.VPCID}},
			{Name: aws.String(filter), Values: []string{dst.String()}}}})
		if err == nil && len(out.Subnets) > 0 {
			id = aws.ToString(out.Subnets[0].SubnetId)
		}
		return err
	})
	return id, err
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
