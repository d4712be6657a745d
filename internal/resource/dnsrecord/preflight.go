package dnsrecord

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/preflight/probe"
)

// preflight checks that each hosted zone exists and that vipd may read the
// record (ListResourceRecordSets, which it calls to compare before it
// writes). Route 53 has no DryRun: ChangeResourceRecordSets is not provable
// without changing the record.
func preflight(ctx context.Context, p *probe.Probe, rs []probe.Entry) {
	for _, e := range rs {
		check1(ctx, p, e)
	}
}

func check1(ctx context.Context, p *probe.Probe, e probe.Entry) {
	c := e.Config.Route53
	check := "route53 " + c.Name
	if p.Route53 == nil {
		p.Add(probe.Result{Check: check, Status: probe.Skip, Detail: "no Route 53 client"})
		return
	}
	var sets []r53types.ResourceRecordSet
	err := p.Call(ctx, func(ctx context.Context) error {
		out, err := p.Route53.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{
			HostedZoneId: aws.String(c.HostedZoneID), StartRecordName: aws.String(c.Name), MaxItems: aws.Int32(1)})
		if err == nil {
			sets = out.ResourceRecordSets
		}
		return err
	})
	switch {
	case awsapi.IsCode(err, "NoSuchHostedZone"):
		p.Fail(check, "hosted zone "+c.HostedZoneID+" does not exist", "correct "+e.Where+".hosted-zone-id (aws route53 list-hosted-zones lists them)")
		return
	case awsapi.IsCode(err, "AccessDenied"):
		p.Fail(check, "not allowed: route53:ListResourceRecordSets on hostedzone/"+c.HostedZoneID+" is missing from "+p.Principal(),
			"add it to "+p.Principal()+" (see "+p.Policy()+")")
		return
	case err != nil:
		p.Fail(check, err.Error(), "check the Route 53 endpoint and network path to it")
		return
	}
	now := "no such record yet"
	for _, s := range sets {
		if strings.TrimSuffix(aws.ToString(s.Name), ".") == strings.TrimSuffix(c.Name, ".") {
			now = fmt.Sprintf("the record is %s now", s.Type)
			for _, v := range s.ResourceRecords {
				now += " " + aws.ToString(v.Value)
			}
		}
	}
	p.Add(probe.Result{Check: check, Status: probe.Pass, Detail: fmt.Sprintf("hosted zone %s readable; %s", c.HostedZoneID, now)})
	p.Add(probe.Result{Check: "permission route53:ChangeResourceRecordSets " + c.HostedZoneID, Status: probe.Skip,
		Detail: "not provable: Route 53 offers no DryRun; the policy from `vipd iam-policy` allows it"})
}
