package preflight

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/config"
)

// DynamoDB is the part of DynamoDB the lease checks call; *dynamodb.Client
// fits. The writes are only ever sent with a condition that cannot hold.
type DynamoDB interface {
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// codeAccessDenied is DynamoDB's answer to a call IAM does not allow
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html).
const codeAccessDenied = "AccessDeniedException"

// leaseTable checks the dynamodb election's table and item and proves the
// lease's writes are allowed. DynamoDB has no DryRun; IAM is decided before
// a condition is evaluated, so a write whose condition can never hold
// answers ConditionalCheckFailedException when allowed and
// AccessDeniedException when not, and changes nothing either way.
func (r *runner) leaseTable(ctx context.Context, base AWS) {
	d := r.cfg.Election.DynamoDB
	if r.cfg.Election.Backend != config.BackendDynamoDB || d == nil {
		return
	}
	table := "lease table " + d.Table
	ddb, who, policy, ok := r.leaseCredentials(ctx, base)
	if !ok {
		r.fail(table, "not checked: the lease's role could not be assumed", "fix the assume-role check first")
		return
	}
	if ddb == nil {
		r.fail(table, "not checked: no DynamoDB client", "run vipd check as installed (cmd/vipd builds the client)")
		return
	}
	fix := "add dynamodb:DescribeTable, GetItem, PutItem and UpdateItem on table " + d.Table + " to " + who + " (see " + policy + ")"
	var out *dynamodb.DescribeTableOutput
	err := r.call(ctx, func(ctx context.Context) (err error) {
		out, err = ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(d.Table)})
		return err
	})
	var nf *types.ResourceNotFoundException
	switch {
	case errors.As(err, &nf):
		r.fail(table, "no such table in this region", fmt.Sprintf(
			"aws dynamodb create-table --table-name %s --attribute-definitions AttributeName=%s,AttributeType=S --key-schema AttributeName=%s,KeyType=HASH --billing-mode PAY_PER_REQUEST",
			d.Table, d.KeyAttribute, d.KeyAttribute))
		return
	case awsapi.IsCode(err, codeAccessDenied):
		r.fail(table, who+" may not describe it", fix)
		return
	case awsapi.IsAuthFailure(err):
		r.fail(table, "DynamoDB rejected the credentials ("+awsapi.Code(err)+")", credentialsFix(awsapi.Code(err), r.source, r.id.InstanceID))
		return
	case err != nil:
		r.fail(table, "could not be read: "+err.Error(), "check aws.region and the network path to DynamoDB (a gateway VPC endpoint for private subnets)")
		return
	}
	if detail := tableShape(out.Table, d.KeyAttribute); detail != "" {
		r.fail(table, detail, fmt.Sprintf("use a table whose hash key is the string attribute %s (or set election.dynamodb.key-attribute)", d.KeyAttribute))
		return
	}
	r.add(Result{Check: table, Status: Pass, Detail: fmt.Sprintf("%s, hash key %s (S)", out.Table.TableStatus, d.KeyAttribute)})

	key := map[string]types.AttributeValue{d.KeyAttribute: &types.AttributeValueMemberS{Value: d.Key}}
	item := "lease item " + d.Key
	var got *dynamodb.GetItemOutput
	err = r.call(ctx, func(ctx context.Context) (err error) {
		got, err = ddb.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(d.Table), Key: key, ConsistentRead: aws.Bool(true)})
		return err
	})
	switch {
	case awsapi.IsCode(err, codeAccessDenied):
		r.fail(item, who+" may not read it (dynamodb:GetItem)", fix)
	case err != nil:
		r.fail(item, "could not be read: "+err.Error(), "fix the error above and run vipd check again")
	default:
		r.add(Result{Check: item, Status: Pass, Detail: itemDetail(got.Item)})
	}

	// attribute_exists(k) AND attribute_not_exists(k) never holds.
	never := aws.String("attribute_exists(#k) AND attribute_not_exists(#k)")
	names := map[string]string{"#k": d.KeyAttribute}
	r.conditional(ctx, "dynamodb:PutItem", d.Table, who, fix, func(ctx context.Context) error {
		_, err := ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(d.Table), Item: key,
			ConditionExpression: never, ExpressionAttributeNames: names})
		return err
	})
	r.conditional(ctx, "dynamodb:UpdateItem", d.Table, who, fix, func(ctx context.Context) error {
		_, err := ddb.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(d.Table), Key: key,
			UpdateExpression:          aws.String("SET #probe = :p"),
			ConditionExpression:       never,
			ExpressionAttributeNames:  map[string]string{"#k": d.KeyAttribute, "#probe": "vipd_check"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberBOOL{Value: true}}})
		return err
	})
}

// conditional runs a write whose condition never holds and judges the answer.
func (r *runner) conditional(ctx context.Context, action, table, who, fix string, f func(ctx context.Context) error) {
	check := "permission " + action + " " + table
	err := r.call(ctx, f)
	var cf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &cf):
		r.add(Result{Check: check, Status: Pass, Detail: "allowed (a conditional write that cannot succeed; nothing changed)"})
	case awsapi.IsCode(err, codeAccessDenied):
		r.fail(check, "missing: "+who+" does not allow "+action+" on table "+table, fix)
	case err == nil:
		r.fail(check, "the write succeeded although its condition cannot hold", "point aws.endpoint at DynamoDB")
	default:
		r.fail(check, "could not be proven: "+err.Error(), "fix the error above and run vipd check again")
	}
}

// tableShape returns what is wrong with t for the lease, or "".
func tableShape(t *types.TableDescription, keyAttr string) string {
	if t == nil {
		return "DescribeTable returned no table"
	}
	var hash string
	for _, k := range t.KeySchema {
		if k.KeyType == types.KeyTypeHash {
			hash = aws.ToString(k.AttributeName)
		} else {
			return fmt.Sprintf("the table has a sort key %s; the lease needs a table with a hash key only", aws.ToString(k.AttributeName))
		}
	}
	if hash != keyAttr {
		return fmt.Sprintf("the table's hash key is %q, not %q", hash, keyAttr)
	}
	for _, a := range t.AttributeDefinitions {
		if aws.ToString(a.AttributeName) == keyAttr && a.AttributeType != types.ScalarAttributeTypeS {
			return fmt.Sprintf("the hash key %s is of type %s; the lease needs a string (S)", keyAttr, a.AttributeType)
		}
	}
	if t.TableStatus != types.TableStatusActive && t.TableStatus != types.TableStatusUpdating {
		return fmt.Sprintf("the table is %s", t.TableStatus)
	}
	return ""
}

// itemDetail says who holds the lease item, as the nodes will read it.
func itemDetail(it map[string]types.AttributeValue) string {
	if it == nil {
		return "absent: the first node to start creates it"
	}
	owner, _ := it["owner"].(*types.AttributeValueMemberS)
	token, _ := it["token"].(*types.AttributeValueMemberN)
	tok := "?"
	if token != nil {
		if n, err := strconv.ParseUint(token.Value, 10, 64); err == nil {
			tok = strconv.FormatUint(n, 10)
		}
	}
	if owner == nil || owner.Value == "" {
		return "released (token " + tok + "): the first eligible node takes it"
	}
	return "held by " + owner.Value + " (token " + tok + ")"
}
