package route53_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsroute53 "github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/google/go-cmp/cmp"

	"github.com/vipd/vipd/internal/vpcsim/route53"
)

// TestPrivateZoneVPCAssociations follows the API reference of
// AssociateVPCWithHostedZone, DisassociateVPCFromHostedZone and
// ListHostedZonesByVPC: a private zone gains and loses VPCs but never its
// last (LastVPCAssociation), a public zone takes none
// (PublicZoneVPCAssociation), and a zone is listed for each VPC it answers in.
func TestPrivateZoneVPCAssociations(t *testing.T) {
	c, _ := start(t, route53.New(route53.Options{AccountID: "123456789012"}))
	ctx := t.Context()
	priv := createZone(t, c, "corp.internal", "vpc-1")
	pub := createZone(t, c, "example.com", "")
	vpc := func(id string) *types.VPC {
		return &types.VPC{VPCId: aws.String(id), VPCRegion: types.VPCRegionUsEast1}
	}

	_, err := c.AssociateVPCWithHostedZone(ctx, &awsroute53.AssociateVPCWithHostedZoneInput{HostedZoneId: pub.Id, VPC: vpc("vpc-2")})
	if code, _ := apiCode(t, err); code != "PublicZoneVPCAssociation" {
		t.Errorf("associate with a public zone: %s, want PublicZoneVPCAssociation", code)
	}
	out, err := c.AssociateVPCWithHostedZone(ctx, &awsroute53.AssociateVPCWithHostedZoneInput{HostedZoneId: priv.Id, VPC: vpc("vpc-2"), Comment: aws.String("second")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.ChangeInfo.Comment) != "second" {
		t.Errorf("ChangeInfo.Comment = %q, want the request's", aws.ToString(out.ChangeInfo.Comment))
	}
	vpcsOf := func() []string {
		t.Helper()
		hz, err := c.GetHostedZone(ctx, &awsroute53.GetHostedZoneInput{Id: priv.Id})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, v := range hz.VPCs {
			ids = append(ids, aws.ToString(v.VPCId)+"/"+string(v.VPCRegion))
		}
		return ids
	}
	if diff := cmp.Diff([]string{"vpc-1/us-east-1", "vpc-2/us-east-1"}, vpcsOf()); diff != "" {
		t.Errorf("VPCs after associating (-want +got):\n%s", diff)
	}
	byVPC, err := c.ListHostedZonesByVPC(ctx, &awsroute53.ListHostedZonesByVPCInput{VPCId: aws.String("vpc-2"), VPCRegion: types.VPCRegionUsEast1})
	if err != nil {
		t.Fatal(err)
	}
	if len(byVPC.HostedZoneSummaries) != 1 || "/hostedzone/"+aws.ToString(byVPC.HostedZoneSummaries[0].HostedZoneId) != *priv.Id ||
		aws.ToString(byVPC.HostedZoneSummaries[0].Owner.OwningAccount) != "123456789012" {
		t.Errorf("ListHostedZonesByVPC(vpc-2) = %+v, want the private zone owned by the account", byVPC.HostedZoneSummaries)
	}

	if _, err := c.DisassociateVPCFromHostedZone(ctx, &awsroute53.DisassociateVPCFromHostedZoneInput{HostedZoneId: priv.Id, VPC: &types.VPC{VPCId: aws.String("vpc-1")}}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"vpc-2/us-east-1"}, vpcsOf()); diff != "" {
		t.Errorf("VPCs after disassociating (-want +got):\n%s", diff)
	}
	_, err = c.DisassociateVPCFromHostedZone(ctx, &awsroute53.DisassociateVPCFromHostedZoneInput{HostedZoneId: priv.Id, VPC: vpc("vpc-1")})
	if code, _ := apiCode(t, err); code != "VPCAssociationNotFound" {
		t.Errorf("disassociate a VPC not associated: %s, want VPCAssociationNotFound", code)
	}
	_, err = c.DisassociateVPCFromHostedZone(ctx, &awsroute53.DisassociateVPCFromHostedZoneInput{HostedZoneId: priv.Id, VPC: vpc("vpc-2")})
	if code, _ := apiCode(t, err); code != "LastVPCAssociation" {
		t.Errorf("disassociate the last VPC: %s, want LastVPCAssociation", code)
	}
}

// TestHostedZoneCountCommentAndMarker: GetHostedZoneCount counts the
// account's zones, UpdateHostedZoneComment changes only the comment, and
// ListHostedZones echoes Marker only when the request gave one (API
// reference ListHostedZones: Marker is "the value that you specified for
// the marker parameter in the request that produced the current response").
func TestHostedZoneCountCommentAndMarker(t *testing.T) {
	c, _ := start(t, route53.New(route53.Options{}))
	ctx := t.Context()
	count := func() int64 {
		t.Helper()
		out, err := c.GetHostedZoneCount(ctx, &awsroute53.GetHostedZoneCountInput{})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToInt64(out.HostedZoneCount)
	}
	if n := count(); n != 0 {
		t.Errorf("count of an empty account = %d", n)
	}
	a := createZone(t, c, "a.example", "")
	createZone(t, c, "b.example", "vpc-1")
	if n := count(); n != 2 {
		t.Errorf("count = %d, want 2", n)
	}

	up, err := c.UpdateHostedZoneComment(ctx, &awsroute53.UpdateHostedZoneCommentInput{Id: a.Id, Comment: aws.String("yolo")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(up.HostedZone.Config.Comment) != "yolo" || aws.ToString(up.HostedZone.Name) != "a.example." {
		t.Errorf("UpdateHostedZoneComment answered %+v", up.HostedZone)
	}
	got, err := c.GetHostedZone(ctx, &awsroute53.GetHostedZoneInput{Id: a.Id})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.HostedZone.Config.Comment) != "yolo" {
		t.Errorf("comment after update = %q", aws.ToString(got.HostedZone.Config.Comment))
	}

	first, err := c.ListHostedZones(ctx, &awsroute53.ListHostedZonesInput{MaxItems: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	if first.Marker != nil || !first.IsTruncated || first.NextMarker == nil {
		t.Fatalf("first page: Marker %v, IsTruncated %v, NextMarker %v; want no Marker, truncated, a NextMarker", first.Marker, first.IsTruncated, first.NextMarker)
	}
	second, err := c.ListHostedZones(ctx, &awsroute53.ListHostedZonesInput{Marker: first.NextMarker})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(second.Marker) != *first.NextMarker || second.IsTruncated || second.NextMarker != nil {
		t.Errorf("second page: Marker %v, IsTruncated %v, NextMarker %v", second.Marker, second.IsTruncated, second.NextMarker)
	}
}
