package controller_test

import (
	"log/slog"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/controller"
)

// TestBuildResourcesOrder: whatever the config order, the controller
// acquires in design.md's kind order.
func TestBuildResourcesOrder(t *testing.T) {
	cfg, err := config.ParseController([]byte(`cluster: orders
candidates: {instances: [{id: i-0a000000000000001}, {id: i-0b000000000000002}]}
health: [{tcp: "{address}:5432"}]
resources:
  - route53: {hosted-zone-id: Z0123456789ABC, name: db.example.internal}
  - overlay-route: {cidr: 192.168.100.10/32, route-tables: all}
  - elastic-ip: {allocation-id: eipalloc-0b0000000000000b1}
  - secondary-ip: {addresses: [10.0.1.100]}
owner-parameter: {name: MasterDB_VIP}
lease: {table: vipd-leases}
aws: {region: us-east-1}
`), "ctl.yaml")
	if err != nil {
		t.Fatal(err)
	}
	plan, err := controller.NewPlan(cfg, &awsapi.Clients{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, r := range plan.Resources() {
		kinds = append(kinds, r.Kind())
	}
	want := []string{config.KindSecondaryIP, config.KindElasticIP, config.KindOverlayRoute, config.KindRoute53}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("kinds (-want +got):\n%s", diff)
	}
}
