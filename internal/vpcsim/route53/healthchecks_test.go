package route53_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsroute53 "github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/vipd/vipd/internal/vpcsim/route53"
)

// TestHealthChecks follows the Route 53 API reference for CreateHealthCheck
// ("If you send a CreateHealthCheck request with the same CallerReference
// and settings as a previous request ... Route 53 returns the health check
// configuration"; other settings are HealthCheckAlreadyExists),
// HealthCheckConfig (RequestInterval 30 and FailureThreshold 3 by default,
// FailureThreshold 1 to 10, "Route 53 can't check the health of endpoints
// for which the IP address is in local, private, non-routable, or
// multicast ranges"), UpdateHealthCheck (HealthCheckVersionMismatch), and
// ChangeResourceRecordSets, whose HealthCheckId must name a health check
// (NoSuchHealthCheck).
// https://docs.aws.amazon.com/Route53/latest/APIReference/API_HealthCheckConfig.html
func TestHealthChecks(t *testing.T) {
	c, _ := start(t, route53.New(route53.Options{}))
	ctx := t.Context()
	cfg := &types.HealthCheckConfig{IPAddress: aws.String("203.0.114.10"), Port: aws.Int32(80), Type: types.HealthCheckTypeHttp, ResourcePath: aws.String("/health")}
	created, err := c.CreateHealthCheck(ctx, &awsroute53.CreateHealthCheckInput{CallerReference: aws.String("web-1"), HealthCheckConfig: cfg})
	if err != nil {
		t.Fatal(err)
	}
	hc := created.HealthCheck
	if aws.ToInt32(hc.HealthCheckConfig.RequestInterval) != 30 || aws.ToInt32(hc.HealthCheckConfig.FailureThreshold) != 3 || aws.ToInt64(hc.HealthCheckVersion) != 1 {
		t.Errorf("new health check %+v: want interval 30, threshold 3, version 1", hc.HealthCheckConfig)
	}
	again, err := c.CreateHealthCheck(ctx, &awsroute53.CreateHealthCheckInput{CallerReference: aws.String("web-1"), HealthCheckConfig: cfg})
	if err != nil || aws.ToString(again.HealthCheck.Id) != aws.ToString(hc.Id) {
		t.Errorf("same caller reference and settings: %+v, %v; want %s again", again, err, aws.ToString(hc.Id))
	}
	other := *cfg
	other.Port = aws.Int32(8080)
	_, err = c.CreateHealthCheck(ctx, &awsroute53.CreateHealthCheckInput{CallerReference: aws.String("web-1"), HealthCheckConfig: &other})
	if code, _ := apiCode(t, err); code != "HealthCheckAlreadyExists" {
		t.Errorf("same caller reference, other settings: %v, want HealthCheckAlreadyExists", err)
	}
	for name, bad := range map[string]*types.HealthCheckConfig{
		"private address":    {IPAddress: aws.String("10.0.0.25"), Port: aws.Int32(80), Type: types.HealthCheckTypeHttp},
		"threshold over 10":  {IPAddress: aws.String("203.0.114.10"), Type: types.HealthCheckTypeHttp, FailureThreshold: aws.Int32(123)},
		"TCP without a port": {IPAddress: aws.String("203.0.114.10"), Type: types.HealthCheckTypeTcp},
	} {
		_, err := c.CreateHealthCheck(ctx, &awsroute53.CreateHealthCheckInput{CallerReference: aws.String(name), HealthCheckConfig: bad})
		if code, _ := apiCode(t, err); code != "InvalidInput" {
			t.Errorf("%s: %v, want InvalidInput", name, err)
		}
	}

	up, err := c.UpdateHealthCheck(ctx, &awsroute53.UpdateHealthCheckInput{HealthCheckId: hc.Id, HealthCheckVersion: aws.Int64(1), FailureThreshold: aws.Int32(5)})
	if err != nil || aws.ToInt32(up.HealthCheck.HealthCheckConfig.FailureThreshold) != 5 || aws.ToInt64(up.HealthCheck.HealthCheckVersion) != 2 ||
		aws.ToString(up.HealthCheck.HealthCheckConfig.ResourcePath) != "/health" {
		t.Errorf("update threshold: %+v, %v; want threshold 5, version 2, path kept", up, err)
	}
	_, err = c.UpdateHealthCheck(ctx, &awsroute53.UpdateHealthCheckInput{HealthCheckId: hc.Id, HealthCheckVersion: aws.Int64(1), Disabled: aws.Bool(true)})
	if code, _ := apiCode(t, err); code != "HealthCheckVersionMismatch" {
		t.Errorf("update with an old version: %v, want HealthCheckVersionMismatch", err)
	}

	z := createZone(t, c, "example.com", "")
	set := rrset("www.example.com", types.RRTypeA, 60, "203.0.114.10")
	set.HealthCheckId = hc.Id
	if _, err := c.ChangeResourceRecordSets(ctx, &awsroute53.ChangeResourceRecordSetsInput{HostedZoneId: z.Id, ChangeBatch: &types.ChangeBatch{
		Changes: []types.Change{{Action: types.ChangeActionCreate, ResourceRecordSet: set}}}}); err != nil {
		t.Fatal(err)
	}
	list, err := c.ListResourceRecordSets(ctx, &awsroute53.ListResourceRecordSetsInput{HostedZoneId: z.Id, StartRecordName: aws.String("www.example.com")})
	if err != nil || aws.ToString(list.ResourceRecordSets[0].HealthCheckId) != aws.ToString(hc.Id) {
		t.Errorf("record set %+v, %v: want HealthCheckId %s", list, err, aws.ToString(hc.Id))
	}
	bad := rrset("api.example.com", types.RRTypeA, 60, "203.0.114.11")
	bad.HealthCheckId = aws.String("00000000-0000-0000-0000-000000000000")
	_, err = c.ChangeResourceRecordSets(ctx, &awsroute53.ChangeResourceRecordSetsInput{HostedZoneId: z.Id, ChangeBatch: &types.ChangeBatch{
		Changes: []types.Change{{Action: types.ChangeActionCreate, ResourceRecordSet: bad}}}})
	if code, _ := apiCode(t, err); code != "NoSuchHealthCheck" {
		t.Errorf("record with an unknown health check: %v, want NoSuchHealthCheck", err)
	}

	n, err := c.GetHealthCheckCount(ctx, &awsroute53.GetHealthCheckCountInput{})
	if err != nil || aws.ToInt64(n.HealthCheckCount) != 1 {
		t.Errorf("GetHealthCheckCount = %+v, %v; want 1", n, err)
	}
	// "Route 53 does not prevent you from deleting a health check even if
	// the health check is associated with one or more resource record
	// sets" (API reference DeleteHealthCheck).
	if _, err := c.DeleteHealthCheck(ctx, &awsroute53.DeleteHealthCheckInput{HealthCheckId: hc.Id}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetHealthCheck(ctx, &awsroute53.GetHealthCheckInput{HealthCheckId: hc.Id})
	if code, _ := apiCode(t, err); code != "NoSuchHealthCheck" {
		t.Errorf("get deleted health check: %v, want NoSuchHealthCheck", err)
	}
	_, err = c.CreateHealthCheck(ctx, &awsroute53.CreateHealthCheckInput{CallerReference: aws.String("web-1"), HealthCheckConfig: cfg})
	if code, _ := apiCode(t, err); code != "HealthCheckAlreadyExists" {
		t.Errorf("caller reference of a deleted health check: %v, want HealthCheckAlreadyExists", err)
	}
}

// TestTagsAndDNSSEC follows ChangeTagsForResource, ListTagsForResource and
// ListTagsForResources (ResourceId "must have length less than or equal
// to 32", so a zone's /hostedzone/ path is refused; removing a key that
// is not there does nothing) and GetDNSSEC, which says NOT_SIGNING for a
// zone whose signing was never enabled (API reference DNSSECStatus).
func TestTagsAndDNSSEC(t *testing.T) {
	c, _ := start(t, route53.New(route53.Options{}))
	ctx := t.Context()
	z := createZone(t, c, "example.org", "")
	id := aws.ToString(z.Id)[len("/hostedzone/"):]
	change := func(in *awsroute53.ChangeTagsForResourceInput) error {
		in.ResourceType = types.TagResourceTypeHostedzone
		_, err := c.ChangeTagsForResource(ctx, in)
		return err
	}
	if err := change(&awsroute53.ChangeTagsForResourceInput{ResourceId: aws.String(id), RemoveTagKeys: []string{"absent"}}); err != nil {
		t.Errorf("remove an absent key: %v", err)
	}
	if err := change(&awsroute53.ChangeTagsForResourceInput{ResourceId: aws.String(id),
		AddTags: []types.Tag{{Key: aws.String("team"), Value: aws.String("ops")}, {Key: aws.String("env"), Value: aws.String("prod")}}}); err != nil {
		t.Fatal(err)
	}
	if err := change(&awsroute53.ChangeTagsForResourceInput{ResourceId: aws.String(id), RemoveTagKeys: []string{"env"}}); err != nil {
		t.Fatal(err)
	}
	got, err := c.ListTagsForResource(ctx, &awsroute53.ListTagsForResourceInput{ResourceType: types.TagResourceTypeHostedzone, ResourceId: aws.String(id)})
	if err != nil || len(got.ResourceTagSet.Tags) != 1 || aws.ToString(got.ResourceTagSet.Tags[0].Key) != "team" {
		t.Errorf("tags %+v, %v; want team=ops", got, err)
	}
	many, err := c.ListTagsForResources(ctx, &awsroute53.ListTagsForResourcesInput{ResourceType: types.TagResourceTypeHostedzone, ResourceIds: []string{id}})
	if err != nil || len(many.ResourceTagSets) != 1 || len(many.ResourceTagSets[0].Tags) != 1 {
		t.Errorf("ListTagsForResources %+v, %v", many, err)
	}
	err = change(&awsroute53.ChangeTagsForResourceInput{ResourceId: z.Id, AddTags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	if code, _ := apiCode(t, err); code != "InvalidInput" {
		t.Errorf("tag by the zone's path %s: %v, want InvalidInput", aws.ToString(z.Id), err)
	}
	err = change(&awsroute53.ChangeTagsForResourceInput{ResourceId: aws.String("Z0000000000000000000"), AddTags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	if code, _ := apiCode(t, err); code != "NoSuchHostedZone" {
		t.Errorf("tag an unknown zone: %v, want NoSuchHostedZone", err)
	}
	sec, err := c.GetDNSSEC(ctx, &awsroute53.GetDNSSECInput{HostedZoneId: aws.String(id)})
	if err != nil || aws.ToString(sec.Status.ServeSignature) != "NOT_SIGNING" || len(sec.KeySigningKeys) != 0 {
		t.Errorf("GetDNSSEC %+v, %v; want NOT_SIGNING", sec, err)
	}
}
