package controller_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/controller"
	leaseddb "github.com/vipd/vipd/internal/election/dynamodb"
	"github.com/vipd/vipd/internal/resource"
	"github.com/vipd/vipd/internal/resource/overlayroute"
)

// fleetCluster is one cluster of a fleet test: the harness's two
// candidates, its own address routed in tables, its own lease item and
// owner record.
type fleetCluster struct {
	name   string
	vip    netip.Addr
	tables config.RouteTables
}

// startFleet runs one fleet process for clusters against h.
func startFleet(t *testing.T, h *harness, clusters []fleetCluster) *controller.Fleet {
	t.Helper()
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	ec2c := h.ec2Client()
	var ctls []*controller.Controller
	for _, fc := range clusters {
		clog := log.With("cluster", fc.name)
		lease, err := leaseddb.New(leaseddb.Config{Self: "fleet", Table: table, Key: fc.name, Lease: time.Second, Renew: 200 * time.Millisecond}, h.ddbClient(), clog)
		if err != nil {
			t.Fatal(err)
		}
		plan := func() (*resource.Plan, error) {
			return resource.NewPlan([]resource.Planned{{Resource: overlayroute.New(config.OverlayRoute{CIDR: netip.PrefixFrom(fc.vip, 32), RouteTables: fc.tables},
				ec2c, overlayroute.Options{}, clog)}}, resource.PlanOptions{}), nil
		}
		c, err := controller.New(controller.Config{
			Cluster: fc.name, Name: "fleet",
			Candidates: []config.Candidate{
				{ID: instA, CheckAddress: h.checks[instA].String()},
				{ID: instB, CheckAddress: h.checks[instB].String()},
			},
			Checks: checks(interval), Interval: interval, ReconcileInterval: time.Second,
			OwnerParameter: config.OwnerParameter{Name: fc.name + "-owner"},
		}, controller.Deps{EC2: ec2c, SSM: h.ssmClient(), Lease: lease, Plan: plan, Log: clog})
		if err != nil {
			t.Fatal(err)
		}
		ctls = append(ctls, c)
	}
	f, err := controller.NewFleet(ctls, controller.FleetOptions{EC2: ec2c, Interval: interval, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { _ = f.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return f
}

// routeTargets returns, per table, the instance addr is routed to.
func routeTargets(h *harness, addr netip.Addr) map[string]string {
	out := map[string]string{}
	for _, rt := range h.sim.Snapshot().RouteTables {
		for _, r := range rt.Routes {
			if r.Destination == addr.String()+"/32" {
				out[rt.ID] = r.InstanceID
			}
		}
	}
	return out
}

// waitRouted waits until every table routes addr to want.
func waitRouted(t *testing.T, h *harness, addr netip.Addr, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := routeTargets(h, addr)
		ok := len(got) > 0
		for _, id := range got {
			ok = ok && id == want
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s routed %v, want every table to %s within %s", addr, got, want, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func fleetVIP(i int) netip.Addr { return netip.AddrFrom4([4]byte{192, 168, 101, byte(10 + i)}) }

// TestFleetReadsEveryClusterWithOneDescribe is issue 17's "one controller
// that sees every cluster": three clusters on one fleet get their owners
// and fail over together, and the fleet reads all their candidates with
// one DescribeInstances per interval, not one per cluster.
func TestFleetReadsEveryClusterWithOneDescribe(t *testing.T) {
	h := newHarness(t)
	var clusters []fleetCluster
	for i := range 3 {
		clusters = append(clusters, fleetCluster{name: fmt.Sprintf("c%d", i+1), vip: fleetVIP(i), tables: config.RouteTables{All: true}})
	}
	start := time.Now()
	since := lastCall(h)
	startFleet(t, h, clusters)
	for _, fc := range clusters {
		waitRouted(t, h, fc.vip, instA, 10*time.Second)
	}
	h.stopService(instA)
	for _, fc := range clusters {
		waitRouted(t, h, fc.vip, instB, 10*time.Second)
	}
	took := time.Since(start)
	describes := 0
	for _, c := range h.sim.Calls(since) {
		if c.Action == "DescribeInstances" {
			describes++
		}
	}
	// One a pass (and the first at start); three clusters reading
	// separately would make three times as many.
	if most := int(took/interval) + 2; describes > most {
		t.Errorf("%d DescribeInstances in %s for 3 clusters, want at most one per %s interval (%d)", describes, took.Round(time.Millisecond), interval, most)
	}
	t.Logf("%d DescribeInstances in %s", describes, took.Round(time.Millisecond))
}

// TestFleetFailingClusterDoesNotBlockOthers: a cluster whose every move
// fails (its route table does not exist) keeps failing on its own; the
// fleet's other clusters still get their owners and fail over.
func TestFleetFailingClusterDoesNotBlockOthers(t *testing.T) {
	h := newHarness(t)
	clusters := []fleetCluster{
		{name: "broken", vip: fleetVIP(0), tables: config.RouteTables{IDs: []string{"rtb-0fff0000000000009"}}},
		{name: "good-1", vip: fleetVIP(1), tables: config.RouteTables{All: true}},
		{name: "good-2", vip: fleetVIP(2), tables: config.RouteTables{All: true}},
	}
	f := startFleet(t, h, clusters)
	for _, fc := range clusters[1:] {
		waitRouted(t, h, fc.vip, instA, 10*time.Second)
	}
	h.stopService(instA)
	for _, fc := range clusters[1:] {
		waitRouted(t, h, fc.vip, instB, 10*time.Second)
	}
	// The broken cluster is still on its own: active, answering, and
	// without an owner.
	st, err := f.Controllers()[0].Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.Role != controller.RoleActive || st.InstanceID != "" {
		t.Errorf("broken cluster: role %s, owner %q; want active without an owner", st.Role, st.InstanceID)
	}
}

func lastCall(h *harness) uint64 {
	calls := h.sim.Calls(0)
	if len(calls) == 0 {
		return 0
	}
	return calls[len(calls)-1].Seq
}
