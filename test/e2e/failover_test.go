//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"io"
	"net/netip"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/vipd/vipd/internal/admin"
	"github.com/vipd/vipd/internal/demo"
)

var vip = netip.MustParsePrefix("192.168.100.10/32")

// startCluster brings up vpcsim, the fabric, two nodes and a witness as
// real processes, and returns once a node is primary.
func startCluster(t *testing.T) *demo.Cluster {
	t.Helper()
	var progress bytes.Buffer
	c, err := demo.Start(t.Context(), demo.Options{Exe: vipdBin(t), Latency: "none", Out: io.Discard, Err: &progress,
		KeepDir: os.Getenv("VIPD_E2E_KEEP") != ""})
	if err != nil {
		t.Fatalf("start cluster: %v\n%s", err, progress.String())
	}
	t.Cleanup(c.Close)
	return c
}

// routeTargets reads, from vpcsim itself (not from vipd), where every route
// table sends the VIP.
func routeTargets(t *testing.T, c *demo.Cluster) map[string]string {
	t.Helper()
	key, secret := c.Sim().AdminKey()
	client := ec2.New(ec2.Options{
		Region:       c.Sim().Region(),
		BaseEndpoint: aws.String(c.Sim().URL()),
		Credentials:  credentials.NewStaticCredentialsProvider(key, secret, ""),
		Retryer:      retry.NewStandard(),
	})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	out, err := client.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{})
	if err != nil {
		t.Fatalf("describe route tables: %v", err)
	}
	got := map[string]string{}
	for _, rt := range out.RouteTables {
		got[aws.ToString(rt.RouteTableId)] = ""
		for _, r := range rt.Routes {
			if aws.ToString(r.DestinationCidrBlock) == vip.String() {
				got[aws.ToString(rt.RouteTableId)] = aws.ToString(r.NetworkInterfaceId)
			}
		}
	}
	return got
}

// eniOf returns the primary ENI of a node's instance, read from vpcsim.
func eniOf(t *testing.T, c *demo.Cluster, node string) string {
	t.Helper()
	key, secret := c.Sim().AdminKey()
	client := ec2.New(ec2.Options{Region: c.Sim().Region(), BaseEndpoint: aws.String(c.Sim().URL()),
		Credentials: credentials.NewStaticCredentialsProvider(key, secret, "")})
	out, err := client.DescribeInstances(t.Context(), &ec2.DescribeInstancesInput{InstanceIds: []string{c.InstanceID(node)}})
	if err != nil || len(out.Reservations) == 0 || len(out.Reservations[0].Instances) == 0 {
		t.Fatalf("describe instance of %s: %v", node, err)
	}
	return aws.ToString(out.Reservations[0].Instances[0].NetworkInterfaces[0].NetworkInterfaceId)
}

// waitAllRoutes waits until every route table sends the VIP to node's ENI.
func waitAllRoutes(t *testing.T, c *demo.Cluster, node string, within time.Duration) time.Duration {
	t.Helper()
	want := eniOf(t, c, node)
	start := time.Now()
	var got map[string]string
	for time.Since(start) < within {
		got = routeTargets(t, c)
		all := len(got) > 0
		for _, eni := range got {
			all = all && eni == want
		}
		if all {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("route tables after %s: %v, want all via %s (node %s)", within, got, want, node)
	return 0
}

func status(t *testing.T, c *demo.Cluster, node string) admin.Status {
	t.Helper()
	st, err := c.Status(t.Context(), node)
	if err != nil {
		t.Fatalf("status of %s: %v", node, err)
	}
	return st
}

func other(p string) string {
	if p == "a" {
		return "b"
	}
	return "a"
}

// TestOverlayFailover walks through what issue 4 asks of the core on real
// processes: election, kill -9, unhealthy primary, witness loss, planned
// switchover, drift repair, and a fencing token that only grows.
func TestOverlayFailover(t *testing.T) {
	c := startCluster(t)
	var tokens []uint64
	// The routes are in place before the new owner says primary: it
	// reads them back first. So the role is waited for, briefly.
	recordToken := func(t *testing.T, node string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			st := status(t, c, node)
			if st.Role == "primary" && st.LeaseHeld {
				tokens = append(tokens, st.Token)
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %s: role %s, lease held %v 5s after its routes moved; want primary holding the lease", node, st.Role, st.LeaseHeld)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	p := c.Primary()
	if p == "" {
		t.Fatal("no primary after start")
	}
	waitAllRoutes(t, c, p, 10*time.Second)
	recordToken(t, p)

	t.Run("kill -9 of the primary moves every route table", func(t *testing.T) {
		q := other(p)
		start := time.Now()
		c.Kill(p)
		d := waitAllRoutes(t, c, q, 30*time.Second)
		t.Logf("routes moved to %s %s after SIGKILL of %s", q, time.Since(start).Round(time.Millisecond), p)
		_ = d
		recordToken(t, q)
		if err := c.Restore(t.Context(), p); err != nil {
			t.Fatal(err)
		}
		p = q
	})

	t.Run("an unhealthy primary hands over", func(t *testing.T) {
		q := other(p)
		c.StopService(p)
		waitAllRoutes(t, c, q, 30*time.Second)
		recordToken(t, q)
		if err := c.Restore(t.Context(), p); err != nil {
			t.Fatal(err)
		}
		p = q
	})

	t.Run("losing the witness changes nothing", func(t *testing.T) {
		before := status(t, c, p)
		c.Kill("witness")
		deadline := time.Now().Add(3 * time.Second)
		for time.Now().Before(deadline) {
			st := status(t, c, p)
			if st.Role != "primary" || st.Token != before.Token {
				t.Fatalf("after witness loss node %s is %s with token %d, want primary with %d", p, st.Role, st.Token, before.Token)
			}
			time.Sleep(100 * time.Millisecond)
		}
		waitAllRoutes(t, c, p, time.Second)
		if err := c.Restore(t.Context(), "witness"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("switchover moves the address", func(t *testing.T) {
		q := other(p)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		start := time.Now()
		if err := admin.NewClient(c.Socket(p)).Switchover(ctx, q); err != nil {
			t.Fatal(err)
		}
		waitAllRoutes(t, c, q, 10*time.Second)
		t.Logf("switchover to %s took %s", q, time.Since(start).Round(time.Millisecond))
		recordToken(t, q)
		p = q
	})

	t.Run("a route edited behind vipd's back is repaired", func(t *testing.T) {
		q := other(p)
		key, secret := c.Sim().AdminKey()
		client := ec2.New(ec2.Options{Region: c.Sim().Region(), BaseEndpoint: aws.String(c.Sim().URL()),
			Credentials: credentials.NewStaticCredentialsProvider(key, secret, "")})
		var table string
		for id := range routeTargets(t, c) {
			table = id
			break
		}
		_, err := client.ReplaceRoute(t.Context(), &ec2.ReplaceRouteInput{RouteTableId: aws.String(table),
			DestinationCidrBlock: aws.String(vip.String()), NetworkInterfaceId: aws.String(eniOf(t, c, q))})
		if err != nil {
			t.Fatal(err)
		}
		// The reconcile interval is 5s by default.
		waitAllRoutes(t, c, p, 15*time.Second)
		// The routes are right again before the repair's read-back ends
		// and the node counts it.
		deadline := time.Now().Add(5 * time.Second)
		for status(t, c, p).Counters["drift_repairs"] < 1 {
			if time.Now().After(deadline) {
				t.Fatalf("drift_repairs counter still 0 five seconds after the routes were repaired")
			}
			time.Sleep(50 * time.Millisecond)
		}
	})

	if !slices.IsSorted(tokens) || len(slices.Compact(slices.Clone(tokens))) != len(tokens) {
		t.Fatalf("fencing tokens over the run: %v, want strictly increasing", tokens)
	}
	t.Logf("tokens: %v", tokens)
}
