//go:build e2e

package e2e

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/chaos"
	"github.com/vipd/vipd/internal/vpcsim/netns"
)

// needRoot skips a netns test unless it runs as root; under CI=true (CI
// runs as root) it fails instead, so the tests cannot silently vanish.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("the netns tests need root")
	}
	t.Skip("the netns tests need root")
}

// interruptible returns the test's context, also cancelled by SIGINT or
// SIGTERM: the test then fails but still runs its cleanups, which kill the
// vipd processes and delete the namespaces (a SIGKILLed run leaves
// namespaces that the next run's netns.Sweep removes).
func interruptible(t *testing.T) context.Context {
	ctx, stop := signal.NotifyContext(t.Context(), syscall.SIGINT, syscall.SIGTERM)
	t.Cleanup(stop)
	return ctx
}

// startNetns starts two vipd nodes and a witness, each inside its
// instance's network namespace, binding the VIP with netlink for real.
func startNetns(t *testing.T, o chaos.Options) *chaos.Cluster {
	t.Helper()
	needRoot(t)
	o.VipdBin = vipdBin(t)
	o.Log = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	o.Keep = os.Getenv("VIPD_E2E_KEEP") != ""
	c, err := chaos.Start(interruptible(t), o)
	if err != nil {
		t.Fatalf("start netns cluster: %v", err)
	}
	prefix := c.NS.Fab.Prefix()
	t.Cleanup(func() {
		c.Close()
		if left, _ := netns.Namespaces(prefix); len(left) > 0 {
			t.Errorf("namespaces left behind: %v", left)
		}
	})
	return c
}

// waitServed polls until the client, in its own namespace, reaches node
// through the VIP, and returns how long that took.
func waitServed(t *testing.T, c *chaos.Cluster, node string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	var got string
	var err error
	for time.Since(start) < within {
		if got, err = c.Reach(t.Context()); err == nil && got == node {
			return time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("client reached %q (err %v) for %s, want node %s", got, err, within, node)
	return 0
}

// TestNetnsKillPrimary: real packets from the client namespace reach the
// service address on the primary; after kill -9 of the primary they reach
// the other node, whose vipd moved the address in vpcsim through the
// in-namespace EC2 endpoint and set the host up with netlink — in each
// mode: an overlay route with the VIP bound on eth0; a secondary IP
// reassigned and bound; the floating ENI force-detached from the dead node
// and attached to the new one, whose replies leave by it only thanks to
// the policy routing vipd installs (the fabric drops packets an ENI sends
// from an address it does not hold, as EC2 does).
func TestNetnsKillPrimary(t *testing.T) {
	for _, mode := range []chaos.Mode{chaos.ModeOverlay, chaos.ModeSecondaryIP, chaos.ModeENI} {
		t.Run(string(mode), func(t *testing.T) { killPrimary(t, chaos.Options{Mode: mode}) })
	}
}

// TestNetnsIPv6KillPrimary is TestNetnsKillPrimary with IPv6 service
// addresses, in a VPC with IPv6 (its /56, a /64 per subnet, an IPv6
// address per instance): real IPv6 packets from the client reach an
// overlay address (fd00:ec2::10/128, routed with
// DestinationIpv6CidrBlock in every table) or a secondary IPv6 address
// of the nodes' subnet (moved with UnassignIpv6Addresses and
// AssignIpv6Addresses), bound on the holder's eth0; after kill -9 of the
// holder, the other node's vipd moves it and the client is served there.
func TestNetnsIPv6KillPrimary(t *testing.T) {
	for _, mode := range []chaos.Mode{chaos.ModeOverlay, chaos.ModeSecondaryIP} {
		t.Run(string(mode), func(t *testing.T) { killPrimary(t, chaos.Options{Mode: mode, IPv6: true}) })
	}
}

func killPrimary(t *testing.T, o chaos.Options) {
	mode := o.Mode
	c := startNetns(t, o)
	p := c.Holder(t.Context())
	if p == "" {
		t.Fatal("no holder after start")
	}
	waitServed(t, c, p, 5*time.Second)
	if owner := c.Owner(); owner != p {
		t.Fatalf("vpcsim gives the address to %q, want the holder %s", owner, p)
	}
	bound := func(name string) bool {
		t.Helper()
		b, err := c.Bound(c.Host(name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if mode != chaos.ModeENI && !bound(p) {
		t.Fatalf("%s not bound on %s's eth0", c.Target, p)
	}
	q := other(p)
	killed := c.Kill(p)
	waitServed(t, c, q, 30*time.Second)
	t.Logf("client served by %s %s after kill -9 of %s", q, time.Since(killed).Round(time.Millisecond), p)
	if owner := c.Owner(); owner != q {
		t.Fatalf("after the failover vpcsim gives the address to %q, want %s", owner, q)
	}
	if mode != chaos.ModeENI && !bound(q) {
		t.Fatalf("%s not bound on %s's eth0", c.Target, q)
	}

	// The restarted node comes back as a backup, removes the address that
	// the kill left on its eth0 and takes nothing back.
	if err := c.Start(p); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		st, err := c.Host(p).Status(t.Context())
		if err == nil && st.Role == "backup" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("restarted %s: role %q, err %v; want backup", p, st.Role, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got, err := c.Reach(t.Context()); err != nil || got != q {
		t.Fatalf("after %s came back the client reached %q (%v), want %s", p, got, err, q)
	}
	if mode == chaos.ModeENI {
		return
	}
	deadline = time.Now().Add(5 * time.Second)
	for bound(p) {
		if time.Now().After(deadline) {
			t.Fatalf("%s still bound on the backup %s after 5s", c.Target, p)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
