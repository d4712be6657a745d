package dynamodb_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"
)

// Developer Guide, "AttributeUpdates (legacy)" and API reference
// AttributeValueUpdate: PUT (the default) replaces the attribute, DELETE
// without a value removes it and with a set subtracts it, ADD adds a
// number or a set and creates a missing attribute; ADD "is only valid for
// an existing attribute whose data type is Number or is a set"; key
// attributes cannot be updated.
func TestLegacyAttributeUpdates(t *testing.T) {
	c := start(t)
	createLeaseTable(t, c)
	ctx := t.Context()
	putLease(t, c, av{"id": s("a"), "gone": s("x"), "n": n("1"), "tags": &types.AttributeValueMemberSS{Value: []string{"p", "q"}}})
	upd := func(rv types.ReturnValue, u map[string]types.AttributeValueUpdate) (*awsddb.UpdateItemOutput, error) {
		return c.UpdateItem(ctx, &awsddb.UpdateItemInput{TableName: aws.String("leases"), Key: av{"id": s("a")}, AttributeUpdates: u, ReturnValues: rv})
	}
	out, err := upd(types.ReturnValueUpdatedNew, map[string]types.AttributeValueUpdate{
		"v":     {Value: s("new")},
		"gone":  {Action: types.AttributeActionDelete},
		"n":     {Action: types.AttributeActionAdd, Value: n("41")},
		"count": {Action: types.AttributeActionAdd, Value: n("1")},
		"tags":  {Action: types.AttributeActionDelete, Value: &types.AttributeValueMemberSS{Value: []string{"p"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := av{"id": s("a"), "v": s("new"), "n": n("42"), "count": n("1"), "tags": &types.AttributeValueMemberSS{Value: []string{"q"}}}
	if diff := cmp.Diff(want, getLease(t, c, "a"), avOpts); diff != "" {
		t.Errorf("item (-want +got):\n%s", diff)
	}
	if _, ok := out.Attributes["gone"]; ok || len(out.Attributes) != 4 {
		t.Errorf("UPDATED_NEW %v, want v, n, count and tags", out.Attributes)
	}
	_, err = upd("", map[string]types.AttributeValueUpdate{"v": {Action: types.AttributeActionAdd, Value: s("x")}})
	if code, _ := apiCode(t, err); code != "ValidationException" {
		t.Errorf("ADD of a string: %s, want ValidationException", code)
	}
	_, err = upd("", map[string]types.AttributeValueUpdate{"id": {Value: s("b")}})
	if _, msg := apiCode(t, err); msg != "One or more parameter values were invalid: Cannot update attribute id. This attribute is part of the key" {
		t.Errorf("PUT of the key: %q", msg)
	}
	_, err = c.UpdateItem(ctx, &awsddb.UpdateItemInput{TableName: aws.String("leases"), Key: av{"id": s("a")},
		AttributeUpdates: map[string]types.AttributeValueUpdate{"v": {Value: s("y")}}, UpdateExpression: aws.String("SET w = :w"),
		ExpressionAttributeValues: av{":w": s("z")}})
	if code, _ := apiCode(t, err); code != "ValidationException" {
		t.Errorf("AttributeUpdates beside UpdateExpression: %s, want ValidationException", code)
	}
}
