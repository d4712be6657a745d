package daemon

import (
	"errors"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/election"
	leaseddb "github.com/vipd/vipd/internal/election/dynamodb"
)

// newDynamoDBLease builds the dynamodb backend: the controller's DynamoDB
// lease, with this node as a member and the cluster's lease duration.
func newDynamoDBLease(cfg *config.Config, clients *awsapi.Clients, log *slog.Logger) (election.Lease, error) {
	d := cfg.Election.DynamoDB
	if clients == nil || d == nil {
		return nil, errors.New("election backend dynamodb: needs AWS clients and election.dynamodb (a witness cannot run it)")
	}
	return leaseddb.New(leaseddb.Config{
		Self:         cfg.Node.Name,
		Table:        d.Table,
		KeyAttribute: d.KeyAttribute,
		Key:          d.Key,
		Lease:        cfg.Election.Lease,
	}, dynamodb.NewFromConfig(clients.Config), log)
}
