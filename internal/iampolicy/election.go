package iampolicy

import (
	"fmt"

	"github.com/vipd/vipd/internal/config"
)

// election adds what the election backend needs of AWS: for dynamodb, the
// lease item's reads and conditional writes on the table, and DescribeTable
// for `vipd check`. raft and follow make no AWS call.
func (b *Builder) election(cfg *config.Config, o Options) {
	if d := cfg.Election.DynamoDB; cfg.Election.Backend == config.BackendDynamoDB && d != nil {
		b.Allow("VipdLeaseTable", []string{"dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
			fmt.Sprintf("arn:%s:dynamodb:%s:%s:table/%s", o.Partition, or(o.Region), or(o.Account), d.Table))
	}
}
