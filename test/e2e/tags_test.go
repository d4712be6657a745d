//go:build e2e

package e2e

import (
	"net/netip"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vipd/vipd/internal/chaos"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/simcluster"
)

// TestNetnsTaggedTableAddedAtRuntime: an overlay route whose tables are
// named by tag (route-tables: {tags: [...]}, docs/tags.md), on the netns
// fabric. With the daemons running, an operator creates a route table,
// moves the client's subnet onto it — the client's packets to the
// address now find no route — and tags it. The holder's reconcile, which
// resolves the tag again on every pass, writes the route there without a
// restart, and the client's packets reach the holder again; after kill -9
// of the holder, the new holder points that table at itself too and the
// client is served there.
func TestNetnsTaggedTableAddedAtRuntime(t *testing.T) {
	tag := config.Tag{Key: "vipd-cluster", Value: "chaos"}
	c := startNetns(t, chaos.Options{Mode: chaos.ModeOverlay, TableTag: tag})
	p := c.Holder(t.Context())
	if p == "" {
		t.Fatal("no holder after start")
	}
	waitServed(t, c, p, 5*time.Second)

	key, secret := c.Srv.AdminKey()
	api := ec2.New(ec2.Options{Region: c.Srv.Region(), BaseEndpoint: aws.String(c.Srv.URL()),
		Credentials: credentials.NewStaticCredentialsProvider(key, secret, "")})
	ctx := t.Context()
	created, err := api.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: aws.String(simcluster.VPC)})
	if err != nil {
		t.Fatalf("create route table: %v", err)
	}
	table := aws.ToString(created.RouteTable.RouteTableId)
	tables, err := api.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{
		Filters: []types.Filter{{Name: aws.String("association.subnet-id"), Values: []string{simcluster.AppSubnet}}}})
	if err != nil || len(tables.RouteTables) != 1 {
		t.Fatalf("the client's subnet's table: %v (%d tables)", err, len(tables.RouteTables))
	}
	var assoc string
	for _, a := range tables.RouteTables[0].Associations {
		if aws.ToString(a.SubnetId) == simcluster.AppSubnet {
			assoc = aws.ToString(a.RouteTableAssociationId)
		}
	}
	if _, err := api.ReplaceRouteTableAssociation(ctx, &ec2.ReplaceRouteTableAssociationInput{
		AssociationId: aws.String(assoc), RouteTableId: aws.String(table)}); err != nil {
		t.Fatalf("move the client's subnet to %s: %v", table, err)
	}
	// Untagged, the new table is not vipd's: the client has no route to
	// the address, for longer than a reconcile interval.
	time.Sleep(2 * time.Second)
	if got := routeIn(c, table); got != "" {
		t.Fatalf("untagged %s routes %s to %s", table, c.Target, got)
	}
	if got, err := c.Reach(ctx); err == nil {
		t.Fatalf("client reached %s through a table with no route to %s", got, c.Target)
	}

	if _, err := api.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{table},
		Tags: []types.Tag{{Key: aws.String(tag.Key), Value: aws.String(tag.Value)}}}); err != nil {
		t.Fatalf("tag %s: %v", table, err)
	}
	tagged := time.Now()
	took := waitServed(t, c, p, 10*time.Second)
	if got, want := routeIn(c, table), c.Host(p).ENI; got != want {
		t.Fatalf("tagged %s routes %s to %q, want the holder %s's %s", table, c.Target, got, p, want)
	}
	t.Logf("client served by %s through the new table %s after it was tagged (route written %s after)", p, took.Round(time.Millisecond), time.Since(tagged).Round(time.Millisecond))

	q := other(p)
	killed := c.Kill(p)
	waitServed(t, c, q, 30*time.Second)
	t.Logf("client served by %s %s after kill -9 of %s", q, time.Since(killed).Round(time.Millisecond), p)
	if got, want := routeIn(c, table), c.Host(q).ENI; got != want {
		t.Fatalf("after the failover %s routes %s to %q, want the new holder %s's %s", table, c.Target, got, q, want)
	}
	if owner := c.Owner(); owner != q {
		t.Fatalf("after the failover vpcsim's tables give the address to %q, want %s", owner, q)
	}
}

// routeIn is where vpcsim's table routes the cluster's address ("" when
// it has no route to it).
func routeIn(c *chaos.Cluster, table string) string {
	return simcluster.RouteTargets(c.Srv.Snapshot(), netip.PrefixFrom(c.Target, c.Target.BitLen()), []string{table})[table]
}
