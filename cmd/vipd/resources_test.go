package main

import (
	"log/slog"
	"testing"
	"time"

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

// TestStepTimeouts checks that the slow kinds announce a step budget that
// covers their configured waits.
func TestStepTimeouts(t *testing.T) {
	y := `cluster: c
node: {name: a, advertise: 10.0.0.1:7946}
peers: [{name: b, address: 10.0.0.2:7946}, {name: w, address: 10.0.0.3:7946, witness: true}]
resources:
  - eni: {id: eni-0a1b2c3d, host: none, detach-timeout: 5s, attach-timeout: 20s}
  - ebs-volume: {volume-id: vol-0a1b2c3d, host: none}
  - route53: {hosted-zone-id: Z0123456789ABC, name: db.example.internal, wait-insync: true, insync-timeout: 90s}
local-address: {interface: none}
`
	cfg, err := config.Parse([]byte(y), "vipd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := buildResources(cfg, &awsapi.Clients{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Duration{ // at least: the waits they may spend
		"ebs-volume vol-0a1b2c3d":        20*time.Second + 2*60*time.Second,
		"eni eni-0a1b2c3d":               5*time.Second + 3*20*time.Second,
		"route53 db.example.internal. A": 90 * time.Second,
	}
	for _, r := range rs {
		st, ok := r.(interface{ StepTimeout() time.Duration })
		if !ok {
			t.Errorf("%s has no StepTimeout", r.Name())
			continue
		}
		if got := st.StepTimeout(); got < want[r.Name()] || got > want[r.Name()]+time.Minute {
			t.Errorf("%s StepTimeout = %s, want a little over %s", r.Name(), got, want[r.Name()])
		}
	}
}
