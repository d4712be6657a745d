package controller_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	awsssm "github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/controller"
	leaseddb "github.com/vipd/vipd/internal/election/dynamodb"
	"github.com/vipd/vipd/internal/resource"
	"github.com/vipd/vipd/internal/resource/overlayroute"
	simddb "github.com/vipd/vipd/internal/vpcsim/dynamodb"
	simssm "github.com/vipd/vipd/internal/vpcsim/ssm"
	"github.com/vipd/vipd/internal/vpcsim/vpcsimtest"
)

// TestTagCandidatesAndExecChecks finds the candidates by tag (an untagged
// instance and one of another cluster are not candidates) and checks them
// with an exec check whose argument is the candidate's private IP: here a
// file per address says whether the candidate is healthy, as a role query
// script would.
func TestTagCandidatesAndExecChecks(t *testing.T) {
	sim := vpcsimtest.NewServer(t, vpcsimtest.ParseWorld(t, `region: us-east-1
vpcs: [{id: vpc-0de30000000000001, name: demo, cidr: 10.0.0.0/16}]
subnets:
  - {id: subnet-0a000000000000001, name: a, vpc: vpc-0de30000000000001, cidr: 10.0.1.0/24, az: us-east-1a}
route-tables:
  - {id: rtb-0a000000000000001, name: main, vpc: vpc-0de30000000000001, main: true, subnets: [subnet-0a000000000000001]}
instances:
  - {id: i-0a000000000000001, name: db-1, subnet: subnet-0a000000000000001, private-ip: 10.0.1.10, tags: {vipd: orders}}
  - {id: i-0b000000000000002, name: db-2, subnet: subnet-0a000000000000001, private-ip: 10.0.1.20, tags: {vipd: orders}}
  - {id: i-0c000000000000003, name: other, subnet: subnet-0a000000000000001, private-ip: 10.0.1.30, tags: {vipd: billing}}
  - {id: i-0d000000000000004, name: plain, subnet: subnet-0a000000000000001, private-ip: 10.0.1.40}
`))
	admin := vpcsimtest.AdminConfig(t, sim)
	ssmSrv := httptest.NewServer(simssm.New(simssm.Options{}).Handler())
	t.Cleanup(ssmSrv.Close)
	ddbSrv := httptest.NewServer(simddb.New(simddb.Options{}).Handler())
	t.Cleanup(ddbSrv.Close)
	ddb := awsddb.NewFromConfig(admin, func(o *awsddb.Options) { o.BaseEndpoint = aws.String(ddbSrv.URL) })
	if _, err := ddb.CreateTable(t.Context(), &awsddb.CreateTableInput{
		TableName:            aws.String(table),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: ddbtypes.KeyTypeHash}},
		BillingMode:          ddbtypes.BillingModePayPerRequest,
	}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	healthy := func(ip string, on bool) {
		p := filepath.Join(dir, ip)
		if on {
			if err := os.WriteFile(p, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return
		}
		_ = os.Remove(p)
	}
	for _, ip := range []string{"10.0.1.10", "10.0.1.20", "10.0.1.30", "10.0.1.40"} {
		healthy(ip, true)
	}
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	lease, err := leaseddb.New(leaseddb.Config{Self: "ctl", Table: table, Key: "orders", Lease: time.Second, Renew: 200 * time.Millisecond}, ddb, log)
	if err != nil {
		t.Fatal(err)
	}
	ec2c := awsec2.NewFromConfig(admin)
	c, err := controller.New(controller.Config{
		Cluster: "orders", Name: "ctl",
		Tags: []config.Tag{{Key: "vipd", Value: "orders"}},
		Checks: []config.Check{{Exec: &config.ExecCheck{Command: []string{"/bin/sh", "-c", `test -e "$0/$1"`, dir, config.AddressPlaceholder}},
			Interval: interval, Timeout: interval, Rise: 2, Fall: fall}},
		Interval:       interval,
		OwnerParameter: config.OwnerParameter{Name: ownerParam},
	}, controller.Deps{
		EC2: ec2c, Lease: lease, Log: log,
		SSM: awsssm.NewFromConfig(admin, func(o *awsssm.Options) { o.BaseEndpoint = aws.String(ssmSrv.URL) }),
		Plan: func() (*resource.Plan, error) {
			return resource.NewPlan([]resource.Planned{{Resource: overlayroute.New(config.OverlayRoute{CIDR: netipPrefix(vip), RouteTables: config.RouteTables{All: true}},
				ec2c, overlayroute.Options{}, log)}}, resource.PlanOptions{}), nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { _ = c.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })

	// Tag candidates are preferred in instance id order: the first one.
	st := waitStatusOwner(t, c, "i-0a000000000000001")
	var peers []string
	for _, p := range st.Peers {
		peers = append(peers, p.Name)
	}
	if len(peers) != 2 || peers[0] != "i-0a000000000000001" || peers[1] != "i-0b000000000000002" {
		t.Errorf("candidates %v, want the two instances tagged vipd=orders", peers)
	}
	waitHealthy(t, c, "i-0b000000000000002")
	healthy("10.0.1.10", false)
	waitStatusOwner(t, c, "i-0b000000000000002")
}
