package awsapi

import (
	"fmt"
	"testing"

	"github.com/aws/smithy-go"
)

// TestIsAuthFailure: the codes with which AWS refuses credentials (EC2's
// AuthFailure; the common InvalidClientTokenId, SignatureDoesNotMatch,
// RequestExpired; DynamoDB's UnrecognizedClientException) are told apart
// from a refused call (UnauthorizedOperation, AccessDeniedException), which
// needs a permission rather than other credentials, and from faults (issue
// 20). Codes: "Error codes for the Amazon EC2 API" (common client errors),
// the services' "Common Errors", DynamoDB's "Error handling".
func TestIsAuthFailure(t *testing.T) {
	for _, tt := range []struct {
		code string
		want bool
	}{
		{"AuthFailure", true},
		{"InvalidClientTokenId", true},
		{"SignatureDoesNotMatch", true},
		{"UnrecognizedClientException", true},
		{"InvalidSignatureException", true},
		{"ExpiredToken", true},
		{"RequestExpired", true},
		{"UnauthorizedOperation", false},
		{"AccessDeniedException", false},
		{"RequestLimitExceeded", false},
		{"InternalError", false},
	} {
		err := fmt.Errorf("operation error EC2: DescribeInstances: %w", &smithy.GenericAPIError{Code: tt.code, Message: "m"})
		if got := IsAuthFailure(err); got != tt.want {
			t.Errorf("IsAuthFailure(%s) = %v, want %v", tt.code, got, tt.want)
		}
	}
	if IsAuthFailure(fmt.Errorf("dial tcp: connection refused")) {
		t.Errorf("IsAuthFailure(a network error) = true")
	}
	if IsAuthFailure(nil) {
		t.Errorf("IsAuthFailure(nil) = true")
	}
}
