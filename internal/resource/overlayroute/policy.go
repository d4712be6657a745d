package overlayroute

import (
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/iampolicy"
)

// policy adds what an overlay-route needs: DescribeRouteTables, which
// also finds tables by tag; route writes on the configured
// tables' ARNs, as overlay-IP failover policies scope them (with tags,
// every table that carries them, by the ec2:ResourceTag condition; with `route-tables: all`,
// every table, limited to the VPC by the ec2:Vpc condition key when the
// VPC is known), DeleteRoute with delete-on-release, and
// ModifyInstanceAttribute on the nodes' instances when vipd turns the
// source/dest check off.
func policy(b *iampolicy.Builder, r config.Resource) {
	o, opts := r.OverlayRoute, b.Options()
	b.Describe("ec2:DescribeRouteTables", "ec2:DescribeInstances")
	if o.RouteTables.Tags != nil {
		// Tables found by tag: writes on any table of the VPC that
		// carries the tags, with the ec2:ResourceTag condition.
		sid := b.Tagged("VipdRouteWrite", o.RouteTables.Tags)
		actions := []string{"ec2:CreateRoute", "ec2:ReplaceRoute"}
		if o.DeleteOnRelease {
			actions = append(actions, "ec2:DeleteRoute")
		}
		b.Allow(sid, actions, opts.ARN("route-table", "*"))
		if opts.VPC != "" {
			b.Condition(sid, "ArnEquals", "ec2:Vpc", opts.ARN("vpc", opts.VPC))
		}
		allowSourceDestCheck(b, o)
		return
	}
	var arns []string
	if o.RouteTables.All {
		arns = []string{opts.ARN("route-table", "*")}
	}
	for _, id := range o.RouteTables.IDs {
		arns = append(arns, opts.ARN("route-table", id))
	}
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
	allowSourceDestCheck(b, o)
}

// allowSourceDestCheck allows turning the owner's source/dest check off. vipd
// check reads it with DescribeInstances.
func allowSourceDestCheck(b *iampolicy.Builder, o *config.OverlayRoute) {
	if o.DisableSourceDestCheck {
		b.Allow("VipdSourceDestCheck", []string{"ec2:ModifyInstanceAttribute"}, b.Options().InstanceARNs()...)
	}
}
