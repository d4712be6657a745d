package dnsrecord

import (
	"fmt"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/iampolicy"
)

// policy adds what a route53 record needs: changing and listing records
// of its hosted zone, GetChange to wait for INSYNC, and DescribeAddresses
// to find the owner's Elastic IP for address: public.
func policy(b *iampolicy.Builder, r config.Resource) {
	c, part := r.Route53, b.Options().Partition
	if c.Address == config.AddressPublic {
		b.Describe("ec2:DescribeAddresses")
	}
	b.Allow("VipdRoute53Record", []string{"route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets"},
		fmt.Sprintf("arn:%s:route53:::hostedzone/%s", part, c.HostedZoneID))
	if c.WaitInsync {
		b.Allow("VipdRoute53Change", []string{"route53:GetChange"}, fmt.Sprintf("arn:%s:route53:::change/*", part))
	}
}
