package faults

import "testing"

// The history records the code of every error answer, in each protocol's
// own shape (EC2's and Route 53's XML, DynamoDB's and SSM's JSON).
func TestErrorCode(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"ec2", `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>InvalidRoute.NotFound</Code><Message>x</Message></Error></Errors></Response>`, "InvalidRoute.NotFound"},
		{"route53", `<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Error><Type>Sender</Type><Code>NoSuchHostedZone</Code></Error></ErrorResponse>`, "NoSuchHostedZone"},
		{"dynamodb", `{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"}`, "ConditionalCheckFailedException"},
		{"ssm", `{"__type": "ParameterNotFound", "message": ""}`, "ParameterNotFound"},
		{"neither", `oops`, "Unknown"},
	} {
		if got := errorCode([]byte(tc.body)); got != tc.want {
			t.Errorf("%s: errorCode(%s) = %q, want %q", tc.name, tc.body, got, tc.want)
		}
	}
}

// A late-write fault must not hold reads: nothing they do takes effect.
func TestIsRead(t *testing.T) {
	for action, want := range map[string]bool{
		"DescribeRouteTables": true, "GetItem": true, "Query": true, "Scan": true, "GetParameter": true,
		"ListResourceRecordSets": true, "GetChange": true,
		"ReplaceRoute": false, "PutItem": false, "UpdateItem": false, "ChangeResourceRecordSets": false,
		"PutParameter": false, "Describe": false, "": false,
	} {
		if got := isRead(action); got != want {
			t.Errorf("isRead(%q) = %v, want %v", action, got, want)
		}
	}
}
