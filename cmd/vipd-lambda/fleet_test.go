package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	simddb "github.com/vipd/vipd/internal/vpcsim/dynamodb"
	simssm "github.com/vipd/vipd/internal/vpcsim/ssm"
	"github.com/vipd/vipd/internal/vpcsim/vpcsimtest"
)

// TestHandleServesClusters: the function runs a configuration with
// clusters (issue 17) as `vipd controller` does, one invocation acting for
// every cluster, and reports each.
func TestHandleServesClusters(t *testing.T) {
	sim := vpcsimtest.NewServer(t, vpcsimtest.ParseWorld(t, world))
	ssmSrv := httptest.NewServer(simssm.New(simssm.Options{}).Handler())
	t.Cleanup(ssmSrv.Close)
	ddbSrv := httptest.NewServer(simddb.New(simddb.Options{}).Handler())
	t.Cleanup(ddbSrv.Close)
	admin := vpcsimtest.AdminConfig(t, sim)
	ddb := awsddb.NewFromConfig(admin, func(o *awsddb.Options) { o.BaseEndpoint = aws.String(ddbSrv.URL) })
	if _, err := ddb.CreateTable(t.Context(), &awsddb.CreateTableInput{
		TableName:            aws.String("vipd-leases"),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: ddbtypes.KeyTypeHash}},
		BillingMode:          ddbtypes.BillingModePayPerRequest,
	}); err != nil {
		t.Fatal(err)
	}
	addrA, svcA := startBackend(t, instA)
	addrB, svcB := startBackend(t, instB)
	t.Cleanup(svcA.stop)
	t.Cleanup(svcB.stop)
	cfg := fmt.Sprintf(`health:
  - {http: {url: "http://{address}/", status: "200"}, interval: 200ms, timeout: 200ms, rise: 2, fall: 2}
lease: {table: vipd-leases, duration: 1s}
interval: 200ms
aws: {region: us-east-1, endpoint: %[5]q, endpoints: {ssm: %[6]q, dynamodb: %[7]q}}
lambda: {run-time: 3s, stop-before: 1s}
clusters:
  - cluster: orders
    candidates: {instances: [{id: %[1]s, check-address: %[2]q}, {id: %[3]s, check-address: %[4]q}]}
    resources: [{overlay-route: {cidr: 192.168.100.10/32, route-tables: all}}]
    owner-parameter: {name: orders-owner}
  - cluster: users
    candidates: {instances: [{id: %[3]s, check-address: %[4]q}, {id: %[1]s, check-address: %[2]q}]}
    resources: [{overlay-route: {cidr: 192.168.100.11/32, route-tables: all}}]
    owner-parameter: {name: users-owner}
`, instA, addrA, instB, addrB, sim.URL(), ssmSrv.URL, ddbSrv.URL)
	ak, sk := sim.AdminKey()
	home := t.TempDir()
	env := map[string]string{"VIPD_CONFIG": cfg, "AWS_REGION": "us-east-1"}
	// The SDK reads credentials from the environment: the test's own
	// AWS_* variables must not leak in.
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": ak, "AWS_SECRET_ACCESS_KEY": sk, "AWS_SESSION_TOKEN": "",
		"AWS_PROFILE": "", "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": home + "/config",
		"AWS_SHARED_CREDENTIALS_FILE": home + "/credentials", "AWS_ENDPOINT_URL": sim.URL()} {
		t.Setenv(k, v)
	}
	h := &handler{getenv: func(k string) string { return env[k] }, log: slog.New(slog.NewTextHandler(t.Output(), nil))}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	rep, err := h.handle(ctx, json.RawMessage(scheduledEvent))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"orders": instA, "users": instB}
	if len(rep.Clusters) != 2 {
		t.Fatalf("report %+v, want two clusters", rep)
	}
	for _, c := range rep.Clusters {
		if !c.Active || c.Owner != want[c.Cluster] || c.Moves < 1 {
			t.Errorf("cluster %s: %+v, want active, owner %s (its first candidate), a move", c.Cluster, c, want[c.Cluster])
		}
	}
	if rep.Cluster != "orders" || rep.Owner != instA {
		t.Errorf("report's top fields %q %q, want the first cluster's", rep.Cluster, rep.Owner)
	}
}
