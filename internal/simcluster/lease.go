package simcluster

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/vipd/vipd/internal/vpcsim"
)

// CreateLeaseTable creates the table of the dynamodb election in srv's
// DynamoDB, with the administrator's key, as an operator creates it once
// per account (docs/election-dynamodb.md): a string hash key "id",
// on-demand billing.
func CreateLeaseTable(ctx context.Context, srv *vpcsim.Server, table string) error {
	ak, sk := srv.AdminKey()
	ddb := dynamodb.New(dynamodb.Options{Region: srv.Region(), BaseEndpoint: aws.String(srv.URL()),
		Credentials: credentials.NewStaticCredentialsProvider(ak, sk, "")})
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := ddb.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	if err != nil {
		return fmt.Errorf("create the lease table %s in vpcsim: %w", table, err)
	}
	return nil
}
