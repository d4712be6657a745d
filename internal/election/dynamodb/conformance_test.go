package dynamodb_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/vipd/vipd/internal/election"
	"github.com/vipd/vipd/internal/election/dynamodb"
	"github.com/vipd/vipd/internal/election/electiontest"
	simddb "github.com/vipd/vipd/internal/vpcsim/dynamodb"
)

const conformanceLease = 600 * time.Millisecond

// TestConformance runs the suite against vpcsim's DynamoDB, each member
// behind its own gate: Isolate makes that member's calls hang until their
// deadline, as a partition from the DynamoDB endpoint or a paused process
// would.
func TestConformance(t *testing.T) {
	electiontest.Conformance(t, electiontest.Backend{
		NewCluster:  newConformanceCluster,
		Lease:       conformanceLease,
		Transfers:   true,
		HandsOver:   true,
		KnowsHolder: true,
	})
}

type conformanceCluster struct {
	leases  map[string]*dynamodb.Lease
	gates   map[string]*gate
	servers []*httptest.Server
}

func newConformanceCluster(t *testing.T, names []string) electiontest.Harness {
	svc := simddb.New(simddb.Options{})
	c := &conformanceCluster{leases: map[string]*dynamodb.Lease{}, gates: map[string]*gate{}}
	admin := c.client(svc.Handler())
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := admin.CreateTable(ctx, &awsddb.CreateTableInput{
		TableName:            aws.String(table),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	}); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		g := &gate{next: svc.Handler()}
		l, err := dynamodb.New(dynamodb.Config{Self: n, Table: table, Key: "cluster", Lease: conformanceLease},
			c.client(g), slog.New(slog.NewTextHandler(t.Output(), nil)).With("node", n))
		if err != nil {
			t.Fatal(err)
		}
		c.leases[n], c.gates[n] = l, g
	}
	return c
}

func (c *conformanceCluster) client(h http.Handler) *awsddb.Client {
	srv := httptest.NewServer(h)
	c.servers = append(c.servers, srv)
	return awsddb.New(awsddb.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("x", "x", ""),
		HTTPClient:       srv.Client(),
		RetryMaxAttempts: 1,
	})
}

func (c *conformanceCluster) Lease(name string) election.Lease { return c.leases[name] }
func (c *conformanceCluster) Isolate(name string)              { c.gates[name].close() }
func (c *conformanceCluster) Heal(name string)                 { c.gates[name].open() }

func (c *conformanceCluster) Close() {
	for _, g := range c.gates {
		g.open()
	}
	for _, s := range c.servers {
		s.Client().CloseIdleConnections()
		s.Close()
	}
}
