package vpcsim_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go/middleware"
	"github.com/google/go-cmp/cmp"

	"github.com/vipd/vipd/internal/vpcsim"
	"github.com/vipd/vipd/internal/vpcsim/vpcsimtest"
)

// TestOnePortForEveryService drives EC2, Route 53, DynamoDB and SSM through
// the one endpoint, as moto's server mode offers them, with the same SDK
// configuration; a private hosted zone checks its VPC against EC2.
func TestOnePortForEveryService(t *testing.T) {
	srv := vpcsimtest.NewServer(t, loadTestWorld(t))
	cfg := vpcsimtest.AdminConfig(t, srv, config.WithRetryMaxAttempts(1))
	ctx := t.Context()

	if _, err := awsec2.NewFromConfig(cfg).DescribeVpcs(ctx, &awsec2.DescribeVpcsInput{}); err != nil {
		t.Errorf("ec2: %v", err)
	}
	r53 := route53.NewFromConfig(cfg)
	zone, err := r53.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{Name: aws.String("db.internal."), CallerReference: aws.String("t1"),
		VPC: &r53types.VPC{VPCId: aws.String(vpcDemo), VPCRegion: r53types.VPCRegionUsEast1}})
	if err != nil {
		t.Errorf("route53 private zone in a simulated vpc: %v", err)
	} else if !zone.HostedZone.Config.PrivateZone {
		t.Errorf("zone is not private: %+v", zone.HostedZone.Config)
	}
	if _, err := r53.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{Name: aws.String("x.internal."), CallerReference: aws.String("t2"),
		VPC: &r53types.VPC{VPCId: aws.String("vpc-00000000000000999"), VPCRegion: r53types.VPCRegionUsEast1}}); code(t, err) != "InvalidVPCId" {
		t.Errorf("route53 zone in an unknown vpc: %v, want InvalidVPCId", err)
	}

	ddb := dynamodb.NewFromConfig(cfg)
	if _, err := ddb.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String("lease"), BillingMode: ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: ddbtypes.KeyTypeHash}}}); err != nil {
		t.Errorf("dynamodb: %v", err)
	}
	if out, err := ddb.ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil || len(out.TableNames) != 1 {
		t.Errorf("dynamodb list: %+v, %v", out, err)
	}

	sm := ssm.NewFromConfig(cfg)
	if _, err := sm.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/vipd/owner"), Value: aws.String(nodeA), Type: "String"}); err != nil {
		t.Errorf("ssm put: %v", err)
	}
	if out, err := sm.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/vipd/owner")}); err != nil || aws.ToString(out.Parameter.Value) != nodeA {
		t.Errorf("ssm get: %+v, %v", out, err)
	}

	// A service vpcsim does not model is named in the error.
	for _, tc := range []struct {
		name string
		req  func() *http.Request
		want string
	}{
		{"json target", func() *http.Request {
			r, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL(), strings.NewReader("{}"))
			r.Header.Set("X-Amz-Target", "Kinesis_20131202.ListStreams")
			return r
		}, "Kinesis_20131202"},
		{"query protocol", func() *http.Request {
			r, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL(), strings.NewReader("Action=ListRoles&Version=2010-05-08"))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=vpcsim-admin/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0")
			return r
		}, "iam service"},
	} {
		resp, err := http.DefaultClient.Do(tc.req())
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), tc.want) {
			t.Errorf("%s: HTTP %d %s, want 400 naming %q", tc.name, resp.StatusCode, b, tc.want)
		}
	}
}

// TestFaultsWrapEveryService shows that injected faults, late writes and
// the call history apply to Route 53, DynamoDB and SSM as they do to EC2,
// matched by the action's AWS name and the caller.
func TestFaultsWrapEveryService(t *testing.T) {
	srv := vpcsimtest.NewServer(t, loadTestWorld(t))
	withToken := config.WithAPIOptions([]func(*middleware.Stack) error{awsmiddleware.AddUserAgentKeyValue("vipd-token", "7")})
	cfg := vpcsimtest.AdminConfig(t, srv, config.WithRetryMaxAttempts(1), withToken)
	ctx := t.Context()
	r53, ddb, sm := route53.NewFromConfig(cfg), dynamodb.NewFromConfig(cfg), ssm.NewFromConfig(cfg)

	zone, err := r53.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{Name: aws.String("db.internal."), CallerReference: aws.String("t1")})
	if err != nil {
		t.Fatal(err)
	}
	upsert := func() error {
		_, err := r53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: zone.HostedZone.Id,
			ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{Action: r53types.ChangeActionUpsert,
				ResourceRecordSet: &r53types.ResourceRecordSet{Name: aws.String("vip.db.internal."), Type: r53types.RRTypeA, TTL: aws.Int64(10),
					ResourceRecords: []r53types.ResourceRecord{{Value: aws.String("10.0.1.10")}}}}}}})
		return err
	}
	if _, err := srv.InjectFault(vpcsim.Fault{Action: "ChangeResourceRecordSets", Kind: vpcsim.FaultError, Code: "PriorRequestNotComplete", Count: 1}); err != nil {
		t.Fatal(err)
	}
	if err := upsert(); code(t, err) != "PriorRequestNotComplete" {
		t.Errorf("route53 change under an error fault: %v, want PriorRequestNotComplete", err)
	}
	if err := upsert(); err != nil {
		t.Errorf("route53 change once the fault's count is used up: %v", err)
	}

	// An SSM fault for node-a's calls leaves the admin's alone.
	if _, err := srv.InjectFault(vpcsim.Fault{Action: "GetParameter", Caller: nodeA, Kind: vpcsim.FaultError, Code: "InternalServerError"}); err != nil {
		t.Fatal(err)
	}
	if _, err := sm.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/vipd/owner"), Value: aws.String(nodeA), Type: "String"}); err != nil {
		t.Fatal(err)
	}
	nodeSSM := ssm.NewFromConfig(vpcsimtest.InstanceConfig(t, srv, nodeA, config.WithRetryMaxAttempts(1)))
	if _, err := nodeSSM.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/vipd/owner")}); code(t, err) != "InternalServerError" {
		t.Errorf("node-a's ssm read under its fault: %v, want InternalServerError", err)
	}
	if _, err := sm.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/vipd/owner")}); err != nil {
		t.Errorf("admin's ssm read: %v", err)
	}

	// A DynamoDB write answered Unavailable takes effect later.
	if _, err := ddb.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String("lease"), BillingMode: ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: ddbtypes.KeyTypeHash}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.InjectFault(vpcsim.Fault{Action: "PutItem", Kind: vpcsim.FaultLateWrite, Timeout: vpcsim.Duration(50 * time.Millisecond), Count: 1}); err != nil {
		t.Fatal(err)
	}
	item := map[string]ddbtypes.AttributeValue{"id": &ddbtypes.AttributeValueMemberS{Value: "vip"}}
	if _, err := ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("lease"), Item: item}); code(t, err) != "Unavailable" {
		t.Fatalf("dynamodb put under a late-write fault: %v, want Unavailable", err)
	}
	waitFor(t, "the late put", func() bool {
		out, err := ddb.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("lease"), Key: item})
		return err == nil && out.Item != nil
	})

	type rec struct {
		Service, Action, Code string
		Token                 uint64
		Late, Applied         bool
	}
	var got []rec
	for _, c := range srv.Calls(0) {
		if c.Action == "ChangeResourceRecordSets" || c.Action == "PutItem" || (c.Service == "ssm" && c.Caller == nodeA) {
			got = append(got, rec{c.Service, c.Action, c.Code, c.Token, c.Late, !c.Applied.IsZero()})
		}
	}
	want := []rec{
		{"route53", "ChangeResourceRecordSets", "PriorRequestNotComplete", 7, false, false},
		{"route53", "ChangeResourceRecordSets", "", 7, false, true},
		{"ssm", "GetParameter", "InternalServerError", 0, false, false},
		{"dynamodb", "PutItem", "Unavailable", 7, false, false},
		{"dynamodb", "PutItem", "", 7, true, true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
}

// TestIAMOnEveryService shows that Route 53, DynamoDB and SSM check the
// caller as EC2 does: an instance role's call the role allows runs, one it
// does not is answered as that service answers an implicit deny (DynamoDB
// and SSM: 400 AccessDeniedException; Route 53: 403 AccessDenied, per
// their API references' common errors), an unknown key is refused
// (UnrecognizedClientException; InvalidClientTokenId), and a fault on the
// allowed call of that caller is answered too.
func TestIAMOnEveryService(t *testing.T) {
	srv := vpcsimtest.NewServer(t, loadTestWorld(t))
	ctx := t.Context()
	admin := vpcsimtest.AdminConfig(t, srv, config.WithRetryMaxAttempts(1))
	node := vpcsimtest.InstanceConfig(t, srv, nodeA, config.WithRetryMaxAttempts(1))
	stranger := admin.Copy()
	stranger.Credentials = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider("AKIAUNKNOWNKEY000000", "secret", ""))

	// What the admin sets up: a table with an item, a parameter, a zone.
	key := map[string]ddbtypes.AttributeValue{"id": &ddbtypes.AttributeValueMemberS{Value: "vip"}}
	ddbAdmin := dynamodb.NewFromConfig(admin)
	if _, err := ddbAdmin.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String("lease"), BillingMode: ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: ddbtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String("owner_id"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema: []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: ddbtypes.KeyTypeHash}},
		GlobalSecondaryIndexes: []ddbtypes.GlobalSecondaryIndex{{IndexName: aws.String("by_owner"),
			KeySchema:  []ddbtypes.KeySchemaElement{{AttributeName: aws.String("owner_id"), KeyType: ddbtypes.KeyTypeHash}},
			Projection: &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionTypeKeysOnly}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ddbAdmin.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("lease"), Item: key}); err != nil {
		t.Fatal(err)
	}
	if _, err := ssm.NewFromConfig(admin).PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/vipd/owner"), Value: aws.String(nodeA), Type: "String"}); err != nil {
		t.Fatal(err)
	}
	zone, err := route53.NewFromConfig(admin).CreateHostedZone(ctx, &route53.CreateHostedZoneInput{Name: aws.String("db.internal."), CallerReference: aws.String("iam")})
	if err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		service, action string
		// allowed is a call node-a's role allows, denied one it does not.
		allowed, denied func(cfg aws.Config) error
		deniedCode      string
		unknownKeyCode  string
	}{
		{"dynamodb", "GetItem",
			func(cfg aws.Config) error {
				_, err := dynamodb.NewFromConfig(cfg).GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("lease"), Key: key})
				return err
			},
			func(cfg aws.Config) error {
				_, err := dynamodb.NewFromConfig(cfg).PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("lease"), Item: key})
				return err
			}, "AccessDeniedException", "UnrecognizedClientException"},
		// A Query of an index acts on the index's ARN, which the role's
		// grant on the table does not cover (Developer Guide, "IAM policy
		// to grant access to a specific DynamoDB table and its indexes").
		{"dynamodb", "Query",
			func(cfg aws.Config) error {
				_, err := dynamodb.NewFromConfig(cfg).Query(ctx, &dynamodb.QueryInput{TableName: aws.String("lease"), KeyConditionExpression: aws.String("id = :v"),
					ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":v": &ddbtypes.AttributeValueMemberS{Value: "vip"}}})
				return err
			},
			func(cfg aws.Config) error {
				_, err := dynamodb.NewFromConfig(cfg).Query(ctx, &dynamodb.QueryInput{TableName: aws.String("lease"), IndexName: aws.String("by_owner"),
					KeyConditionExpression:    aws.String("owner_id = :v"),
					ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":v": &ddbtypes.AttributeValueMemberS{Value: "node-a"}}})
				return err
			}, "AccessDeniedException", "UnrecognizedClientException"},
		{"ssm", "GetParameter",
			func(cfg aws.Config) error {
				_, err := ssm.NewFromConfig(cfg).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/vipd/owner")})
				return err
			},
			func(cfg aws.Config) error {
				_, err := ssm.NewFromConfig(cfg).PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/vipd/owner"), Value: aws.String("x"), Type: "String", Overwrite: aws.Bool(true)})
				return err
			}, "AccessDeniedException", "UnrecognizedClientException"},
		{"route53", "ListResourceRecordSets",
			func(cfg aws.Config) error {
				_, err := route53.NewFromConfig(cfg).ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: zone.HostedZone.Id})
				return err
			},
			func(cfg aws.Config) error {
				_, err := route53.NewFromConfig(cfg).ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: zone.HostedZone.Id,
					ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{Action: r53types.ChangeActionUpsert,
						ResourceRecordSet: &r53types.ResourceRecordSet{Name: aws.String("vip.db.internal."), Type: r53types.RRTypeA, TTL: aws.Int64(10),
							ResourceRecords: []r53types.ResourceRecord{{Value: aws.String("10.0.1.10")}}}}}}})
				return err
			}, "AccessDenied", "InvalidClientTokenId"},
	} {
		t.Run(tt.service, func(t *testing.T) {
			if err := tt.allowed(node); err != nil {
				t.Errorf("%s:%s that node-a's role allows: %v", tt.service, tt.action, err)
			}
			err := tt.denied(node)
			if code(t, err) != tt.deniedCode || !strings.Contains(err.Error(), "is not authorized to perform: "+tt.service+":") {
				t.Errorf("%s call node-a's role does not allow: %v, want %s naming the action", tt.service, err, tt.deniedCode)
			}
			if err := tt.denied(admin); err != nil {
				t.Errorf("the admin's %s call: %v", tt.service, err)
			}
			if err := tt.allowed(stranger); code(t, err) != tt.unknownKeyCode {
				t.Errorf("%s call with an unknown key: %v, want %s", tt.service, err, tt.unknownKeyCode)
			}
			id, err := srv.InjectFault(vpcsim.Fault{Action: tt.action, Caller: nodeA, Kind: vpcsim.FaultError, Code: "InternalServerError", Status: 500, Count: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.ClearFaults(id)
			if err := tt.allowed(node); code(t, err) != "InternalServerError" {
				t.Errorf("node-a's %s:%s under its fault: %v, want InternalServerError", tt.service, tt.action, err)
			}
			var denied, faulted bool
			for _, c := range srv.Calls(0) {
				if c.Service == tt.service && c.Caller == nodeA {
					denied = denied || c.Code == tt.deniedCode
					faulted = faulted || (c.Action == tt.action && c.Code == "InternalServerError")
				}
			}
			if !denied || !faulted {
				t.Errorf("%s history of node-a: denied call recorded %v, faulted call recorded %v", tt.service, denied, faulted)
			}
		})
	}
}
