package main

import (
	"log/slog"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/config"
)

// TestBuildResourcesKindOrder checks that resources are acquired in
// design.md's kind order whatever the config's order, keeping the config's
// order within a kind.
func TestBuildResourcesKindOrder(t *testing.T) {
	y := `cluster: c
node: {name: a, advertise: 10.0.0.1:7946}
peers: [{name: b, address: 10.0.0.2:7946}, {name: w, address: 10.0.0.3:7946, witness: true}]
resources:
  - route53: {hosted-zone-id: Z0123456789ABC, name: db.example.internal}
  - overlay-route: {cidr: 192.168.100.10/32, route-tables: all}
  - elastic-ip: {allocation-id: eipalloc-0a1b2c3d}
  - secondary-ip: {addresses: [10.0.1.100]}
  - overlay-route: {cidr: 192.168.100.11/32, route-tables: all}
  - eni: {id: eni-0a1b2c3d, host: none}
  - ebs-volume: {volume-id: vol-0a1b2c3d, host: none}
local-address: {interface: none, cidr: 192.168.100.10/32}
`
	cfg, err := config.Parse([]byte(y), "vipd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := buildResources(cfg, &awsapi.Clients{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rs {
		got = append(got, r.Name())
	}
	want := []string{
		"ebs-volume vol-0a1b2c3d",
		"eni eni-0a1b2c3d",
		"secondary-ip 10.0.1.100",
		"elastic-ip eipalloc-0a1b2c3d",
		"overlay-route 192.168.100.10/32",
		"overlay-route 192.168.100.11/32",
		"route53 db.example.internal. A",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("acquire order (-want +got):\n%s", diff)
	}
}
