package daemon

import (
	"errors"
	"log/slog"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/election"
	leaseddb "github.com/vipd/vipd/internal/election/dynamodb"
	"github.com/vipd/vipd/internal/resource"
)

// leaseRole is the role of the lease's calls: election.dynamodb's
// assume-role, else none (the instance's credentials, even with
// aws.assume-role: docs/cross-account.md).
func leaseRole(cfg *config.Config) awsapi.Role {
	if a := cfg.LeaseRole(); a != nil {
		return resource.Role(a, cfg.Node.Name)
	}
	return awsapi.Role{}
}

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
	}, clients.Role(leaseRole(cfg)).DynamoDB, log)
}
