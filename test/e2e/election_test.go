//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"io"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/vipd/vipd/internal/admin"
	"github.com/vipd/vipd/internal/demo"
)

// leaseItem reads the dynamodb election's item from vpcsim itself: its
// owner and fencing token.
func leaseItem(t *testing.T, c *demo.Cluster) (owner string, token uint64) {
	t.Helper()
	key, secret := c.Sim().AdminKey()
	client := dynamodb.New(dynamodb.Options{Region: c.Sim().Region(), BaseEndpoint: aws.String(c.Sim().URL()),
		Credentials: credentials.NewStaticCredentialsProvider(key, secret, "")})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("vipd-demo-leases"),
		Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "demo"}}, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatalf("read the lease item: %v", err)
	}
	if v, ok := out.Item["owner"].(*types.AttributeValueMemberS); ok {
		owner = v.Value
	}
	if v, ok := out.Item["token"].(*types.AttributeValueMemberN); ok {
		token, _ = strconv.ParseUint(v.Value, 10, 64)
	}
	return owner, token
}

// TestDynamoDBElectionTwoNodes runs two nodes and no witness with the
// lease in (simulated) DynamoDB, as issue 19 asks for sites without a
// third host: the primary is killed, the other node takes over once the
// lease ran out, the item's token grows with each grant, and the killed
// node comes back as a backup without taking the address back; then a
// planned switchover hands over at once.
func TestDynamoDBElectionTwoNodes(t *testing.T) {
	var progress bytes.Buffer
	c, err := demo.Start(t.Context(), demo.Options{Exe: vipdBin(t), Latency: "none", Election: "dynamodb",
		Out: io.Discard, Err: &progress, KeepDir: os.Getenv("VIPD_E2E_KEEP") != ""})
	if err != nil {
		t.Fatalf("start cluster: %v\n%s", err, progress.String())
	}
	t.Cleanup(c.Close)
	if slices.Contains(c.Nodes(), "witness") {
		t.Fatalf("members %v: the dynamodb election runs without a witness", c.Nodes())
	}
	p := c.Primary()
	waitAllRoutes(t, c, p, 10*time.Second)
	owner, tok := leaseItem(t, c)
	if st := status(t, c, p); owner != p || st.Token != tok || !st.LeaseHeld {
		t.Fatalf("item owner %s token %d; %s's status: lease held %v token %d", owner, tok, p, st.LeaseHeld, st.Token)
	}

	q := other(p)
	start := time.Now()
	c.Kill(p)
	waitAllRoutes(t, c, q, 30*time.Second)
	t.Logf("routes moved to %s %s after SIGKILL of %s", q, time.Since(start).Round(time.Millisecond), p)
	owner2, tok2 := leaseItem(t, c)
	if owner2 != q || tok2 <= tok {
		t.Fatalf("after the kill: item owner %s token %d, want %s with a token above %d", owner2, tok2, q, tok)
	}
	if err := c.Restore(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	// The restarted node stays a backup: nopreempt, and the lease is held.
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if st := status(t, c, p); st.Role != "backup" || st.LeaseHeld {
			t.Fatalf("restarted %s: role %s, lease held %v; want backup", p, st.Role, st.LeaseHeld)
		}
		time.Sleep(100 * time.Millisecond)
	}
	waitAllRoutes(t, c, q, time.Second)

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	start = time.Now()
	if err := admin.NewClient(c.Socket(q)).Switchover(ctx, p); err != nil {
		t.Fatal(err)
	}
	waitAllRoutes(t, c, p, 10*time.Second)
	t.Logf("switchover to %s took %s", p, time.Since(start).Round(time.Millisecond))
	if owner3, tok3 := leaseItem(t, c); owner3 != p || tok3 <= tok2 {
		t.Fatalf("after the switchover: item owner %s token %d, want %s with a token above %d", owner3, tok3, p, tok2)
	}
}
