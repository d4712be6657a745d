package route53_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsroute53 "github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/miekg/dns"

	"github.com/vipd/vipd/internal/vpcsim/route53"
)

// TestRoutingPolicies follows the API reference's ResourceRecordSet
// (https://docs.aws.amazon.com/Route53/latest/APIReference/API_ResourceRecordSet.html):
// a set with a routing policy needs a SetIdentifier ("Resource record
// sets that have a routing policy other than simple: An identifier that
// differentiates among multiple resource record sets that have the same
// combination of name and type"), Weight is 0 to 255, an alias set omits
// TTL and ResourceRecords ("If you're creating or updating an alias
// resource record set, omit TTL"), and an alias to the account's zone
// must find its target. DNS answers follow the policy: a weight of 0 is
// never picked while another is not 0, failover answers the PRIMARY, an
// alias answers with its target's records.
func TestRoutingPolicies(t *testing.T) {
	svc := route53.New(route53.Options{})
	c, _ := start(t, svc)
	addr := listenDNS(t, svc, route53.DNSOptions{})
	zid := aws.ToString(createZone(t, c, "example.net", "").Id)
	weighted := func(id string, w int64, ip string) *types.ResourceRecordSet {
		rs := rrset("www.example.net", types.RRTypeA, 60, ip)
		rs.SetIdentifier, rs.Weight = aws.String(id), aws.Int64(w)
		return rs
	}
	failover := func(id string, f types.ResourceRecordSetFailover, ip string) *types.ResourceRecordSet {
		rs := rrset("db.example.net", types.RRTypeA, 60, ip)
		rs.SetIdentifier, rs.Failover = aws.String(id), f
		return rs
	}
	alias := &types.ResourceRecordSet{Name: aws.String("api.example.net"), Type: types.RRTypeA,
		AliasTarget: &types.AliasTarget{HostedZoneId: aws.String(zid), DNSName: aws.String("db.example.net"), EvaluateTargetHealth: false}}
	if _, err := changeBatch(t, c, zid,
		change(types.ChangeActionCreate, weighted("blue", 1, "192.0.2.10")),
		change(types.ChangeActionCreate, weighted("green", 0, "192.0.2.20")),
		change(types.ChangeActionCreate, failover("one", types.ResourceRecordSetFailoverPrimary, "192.0.2.30")),
		change(types.ChangeActionCreate, failover("two", types.ResourceRecordSetFailoverSecondary, "192.0.2.40")),
		change(types.ChangeActionCreate, alias)); err != nil {
		t.Fatal(err)
	}
	list, err := c.ListResourceRecordSets(t.Context(), &awsroute53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zid), StartRecordName: aws.String("www.example.net")})
	if err != nil || len(list.ResourceRecordSets) != 2 || aws.ToString(list.ResourceRecordSets[0].SetIdentifier) != "blue" || aws.ToInt64(list.ResourceRecordSets[1].Weight) != 0 {
		t.Errorf("weighted sets %+v, %v; want blue then green", list, err)
	}
	for range 5 {
		if a := query(t, addr, "udp", "www.example.net", dns.TypeA); len(a.Answer) != 1 || a.Answer[0] != "www.example.net. 60 IN A 192.0.2.10" {
			t.Errorf("weighted answer %v: want only blue (green weighs 0)", a.Answer)
		}
	}
	if a := query(t, addr, "udp", "db.example.net", dns.TypeA); len(a.Answer) != 1 || a.Answer[0] != "db.example.net. 60 IN A 192.0.2.30" {
		t.Errorf("failover answer %v: want the primary", a.Answer)
	}
	if a := query(t, addr, "udp", "api.example.net", dns.TypeA); len(a.Answer) != 1 || a.Answer[0] != "api.example.net. 60 IN A 192.0.2.30" {
		t.Errorf("alias answer %v: want its target's record under its own name", a.Answer)
	}

	for name, rs := range map[string]*types.ResourceRecordSet{
		"weight without identifier": func() *types.ResourceRecordSet {
			r := rrset("x.example.net", types.RRTypeA, 60, "192.0.2.1")
			r.Weight = aws.Int64(5)
			return r
		}(),
		"alias with a TTL": {Name: aws.String("y.example.net"), Type: types.RRTypeA, TTL: aws.Int64(60),
			AliasTarget: &types.AliasTarget{HostedZoneId: aws.String(zid), DNSName: aws.String("db.example.net")}},
		"weight over 255": weighted("red", 300, "192.0.2.50"),
	} {
		_, err := changeBatch(t, c, zid, change(types.ChangeActionCreate, rs))
		if code, _ := apiCode(t, err); code != "InvalidInput" {
			t.Errorf("%s: %v, want InvalidInput", name, err)
		}
	}
	for name, rs := range map[string]*types.ResourceRecordSet{
		"simple beside weighted": rrset("www.example.net", types.RRTypeA, 60, "192.0.2.60"),
		"second primary":         failover("three", types.ResourceRecordSetFailoverPrimary, "192.0.2.70"),
		"alias to nothing": {Name: aws.String("z.example.net"), Type: types.RRTypeA,
			AliasTarget: &types.AliasTarget{HostedZoneId: aws.String(zid), DNSName: aws.String("nothing.example.net")}},
	} {
		_, err := changeBatch(t, c, zid, change(types.ChangeActionCreate, rs))
		if code, _ := apiCode(t, err); code != "InvalidChangeBatch" {
			t.Errorf("%s: %v, want InvalidChangeBatch", name, err)
		}
	}
	if _, err := changeBatch(t, c, zid, change(types.ChangeActionDelete, weighted("blue", 1, "192.0.2.10"))); err != nil {
		t.Fatal(err)
	}
	if a := query(t, addr, "udp", "www.example.net", dns.TypeA); len(a.Answer) != 1 || a.Answer[0] != "www.example.net. 60 IN A 192.0.2.20" {
		t.Errorf("weighted answer after deleting blue %v: want green, the only set", a.Answer)
	}
}
