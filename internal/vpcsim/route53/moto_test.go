package route53_test

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsroute53 "github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/google/go-cmp/cmp"

	"github.com/vipd/vipd/internal/testenv"
	"github.com/vipd/vipd/internal/vpcsim/route53"
)

// motoDeviations maps moto's transcript lines to what AWS, and so vpcsim,
// answers; TestDifferentialMoto explains each.
var motoDeviations = map[string]string{
	"delete missing: error InvalidInput": "delete missing: error InvalidChangeBatch",
}

func clientFor(url string, hc aws.HTTPClient) *awsroute53.Client {
	cfg := testenv.SDKConfig(hc)
	return awsroute53.NewFromConfig(cfg, func(o *awsroute53.Options) { o.BaseEndpoint = aws.String(url) })
}

// route53Sequence runs one call sequence and returns a normalized
// transcript: identifiers, name servers and times removed, errors reduced
// to their codes.
func route53Sequence(t *testing.T, c *awsroute53.Client) []string {
	ctx := t.Context()
	var log []string
	rec := func(step string, err error, s string) {
		if err != nil {
			code := "?"
			var ae interface{ ErrorCode() string }
			if errors.As(err, &ae) {
				code = ae.ErrorCode()
			}
			log = append(log, step+": error "+code)
			return
		}
		log = append(log, step+": "+s)
	}
	zone, err := c.CreateHostedZone(ctx, &awsroute53.CreateHostedZoneInput{
		Name: aws.String("example.internal"), CallerReference: aws.String("diff-1"),
		VPC:              &types.VPC{VPCId: aws.String("vpc-12345678"), VPCRegion: types.VPCRegionUsEast1},
		HostedZoneConfig: &types.HostedZoneConfig{PrivateZone: true, Comment: aws.String("diff")},
	})
	if err != nil {
		t.Fatalf("CreateHostedZone: %v", err)
	}
	rec("create", nil, *zone.HostedZone.Name+" private="+strconv.FormatBool(zone.HostedZone.Config.PrivateZone))
	id := zone.HostedZone.Id
	batch := func(step string, changes ...types.Change) {
		_, err := c.ChangeResourceRecordSets(ctx, &awsroute53.ChangeResourceRecordSetsInput{
			HostedZoneId: id, ChangeBatch: &types.ChangeBatch{Changes: changes},
		})
		rec(step, err, "ok")
	}
	batch("create records",
		change(types.ChangeActionCreate, rrset("www.example.internal", types.RRTypeA, 60, "10.0.0.1")),
		change(types.ChangeActionCreate, rrset("txt.example.internal.", types.RRTypeTxt, 300, `"hello"`)),
		change(types.ChangeActionCreate, rrset("alias.example.internal.", types.RRTypeCname, 60, "www.example.internal")),
	)
	batch("delete missing", change(types.ChangeActionDelete, rrset("nope.example.internal.", types.RRTypeA, 60, "10.0.0.2")))
	batch("upsert", change(types.ChangeActionUpsert, rrset("www.example.internal.", types.RRTypeA, 10, "10.79.252.13")))
	batch("delete", change(types.ChangeActionDelete, rrset("alias.example.internal.", types.RRTypeCname, 60, "www.example.internal")))

	list, err := c.ListResourceRecordSets(ctx, &awsroute53.ListResourceRecordSetsInput{HostedZoneId: id})
	var sets []string
	if err == nil {
		for _, rs := range list.ResourceRecordSets {
			s := *rs.Name + " " + string(rs.Type)
			if rs.Type != types.RRTypeSoa && rs.Type != types.RRTypeNs {
				s += " " + strconv.FormatInt(*rs.TTL, 10)
				for _, r := range rs.ResourceRecords {
					s += " " + *r.Value
				}
			}
			sets = append(sets, s)
		}
	}
	rec("list", err, strings.Join(sets, "; "))

	got, err := c.GetHostedZone(ctx, &awsroute53.GetHostedZoneInput{Id: id})
	if err == nil {
		rec("get", nil, *got.HostedZone.Name+" count="+strconv.FormatInt(*got.HostedZone.ResourceRecordSetCount, 10)+" vpc="+*got.VPCs[0].VPCId)
	} else {
		rec("get", err, "")
	}
	_, err = c.GetHostedZone(ctx, &awsroute53.GetHostedZoneInput{Id: aws.String("ZDOESNOTEXIST")})
	rec("get missing", err, "")

	byName, err := c.ListHostedZonesByName(ctx, &awsroute53.ListHostedZonesByNameInput{DNSName: aws.String("example.internal")})
	var names []string
	if err == nil {
		for _, z := range byName.HostedZones {
			names = append(names, *z.Name)
		}
	}
	rec("list by name", err, strings.Join(names, ","))
	return log
}

// TestDifferentialMoto runs one Route 53 call sequence against vpcsim and
// against moto in server mode and compares the normalized transcripts.
//
// Intended differences, where vpcsim follows AWS rather than moto:
//   - DELETE of a missing record set: AWS (and vpcsim) answer
//     InvalidChangeBatch "Tried to delete resource record set [...] but it
//     was not found"; moto answers InvalidInput. motoDeviations maps it.
//   - A duplicate CREATE: AWS (and vpcsim) reject it with
//     InvalidChangeBatch "... but it already exists"; moto accepts it and
//     stores a second set of the same name and type, so it is left out of
//     the shared sequence and checked on vpcsim alone below.
//   - ChangeResourceRecordSets answers PENDING on AWS and vpcsim; moto
//     answers INSYNC at once. The transcript omits the status; vpcsim's is
//     checked below.
func TestDifferentialMoto(t *testing.T) {
	motoURL := testenv.Moto(t)
	motoHTTP := &http.Client{Timeout: 30 * time.Second}
	t.Cleanup(motoHTTP.CloseIdleConnections)
	want := route53Sequence(t, clientFor(motoURL, motoHTTP))
	for i, step := range want {
		if onAWS, ok := motoDeviations[step]; ok {
			want[i] = onAWS
		}
	}

	svc := route53.New(route53.Options{})
	_, url := start(t, svc)
	simHTTP := &http.Client{Timeout: 30 * time.Second}
	t.Cleanup(simHTTP.CloseIdleConnections)
	sim := clientFor(url, simHTTP)
	got := route53Sequence(t, sim)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("vpcsim differs from moto (-moto +vpcsim):\n%s", diff)
	}

	zones, err := sim.ListHostedZones(t.Context(), &awsroute53.ListHostedZonesInput{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = sim.ChangeResourceRecordSets(t.Context(), &awsroute53.ChangeResourceRecordSetsInput{
		HostedZoneId: zones.HostedZones[0].Id,
		ChangeBatch:  &types.ChangeBatch{Changes: []types.Change{change(types.ChangeActionCreate, rrset("www.example.internal", types.RRTypeA, 60, "10.0.0.2"))}},
	})
	var icb *types.InvalidChangeBatch
	if !errors.As(err, &icb) {
		t.Errorf("vpcsim duplicate CREATE: %v, want InvalidChangeBatch as AWS answers", err)
	}
	out, err := sim.ChangeResourceRecordSets(t.Context(), &awsroute53.ChangeResourceRecordSetsInput{
		HostedZoneId: zones.HostedZones[0].Id,
		ChangeBatch:  &types.ChangeBatch{Changes: []types.Change{change(types.ChangeActionUpsert, rrset("x.example.internal", types.RRTypeA, 10, "10.0.0.9"))}},
	})
	if err != nil || out.ChangeInfo.Status != types.ChangeStatusPending {
		t.Errorf("vpcsim change status = %v, %v; want PENDING as AWS answers", out, err)
	}
}
