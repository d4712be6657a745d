package overlayroute

import (
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/iampolicy"
)

// policy adds what an overlay-route needs: route writes on the configured
// tables' ARNs, as overlay-IP failover policies scope them (with `route-tables: all`,
// every table, limited to the VPC by the ec2:Vpc condition key when the
// VPC is known), DeleteRoute with delete-on-release, and
// ModifyInstanceAttribute on the nodes' instances when vipd turns the
// source/dest check off.
func policy(b *iampolicy.Builder, r config.Resource) {
	o, opts := r.OverlayRoute, b.Options()
	var arns []string
	if o.RouteTables.All {
		arns = []string{opts.ARN("route-table", "*")}
	}
	for _, id := range o.RouteTables.IDs {
		arns = append(arns, opts.ARN("route-table", id))
	}
	// DescribeRouteTables reads the routes vipd owns; vipd check reads the
	// source/dest check with DescribeInstances.
	b.Describe("ec2:DescribeRouteTables", "ec2:DescribeInstances")
	sids := []string{"VipdRouteWrite"}
	b.Allow("VipdRouteWrite", []string{"ec2:CreateRoute", "ec2:ReplaceRoute"}, arns...)
	if o.DeleteOnRelease {
		sids = append(sids, "VipdRouteDelete")
		b.Allow("VipdRouteDelete", []string{"ec2:DeleteRoute"}, arns...)
	}
	if o.RouteTables.All && opts.VPC != "" {
		for _, sid := range sids {
			b.Condition(sid, "ArnEquals", "ec2:Vpc", opts.ARN("vpc", opts.VPC))
		}
	}
	if o.DisableSourceDestCheck {
		b.Allow("VipdSourceDestCheck", []string{"ec2:ModifyInstanceAttribute"}, opts.InstanceARNs()...)
	}
}
