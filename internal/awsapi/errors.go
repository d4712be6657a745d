package awsapi

import (
	"errors"

	"github.com/aws/smithy-go"
)

// EC2 error codes vipd decides on. EC2 does not model its errors in the SDK,
// so these strings are the contract (see the EC2 API reference, "Error codes").
const (
	CodeRouteAlreadyExists       = "RouteAlreadyExists"
	CodeRouteNotFound            = "InvalidRoute.NotFound"
	CodeRouteTableNotFound       = "InvalidRouteTableID.NotFound"
	CodeNetworkInterfaceNotFound = "InvalidNetworkInterfaceID.NotFound"
	CodeInstanceNotFound         = "InvalidInstanceID.NotFound"
	CodeInvalidParameterValue    = "InvalidParameterValue"
	CodeDryRunOperation          = "DryRunOperation"
	CodeUnauthorizedOperation    = "UnauthorizedOperation"
	CodeRequestLimitExceeded     = "RequestLimitExceeded"
	CodeInvalidParameterCombo    = "InvalidParameterCombination"
	CodeIncorrectInstanceState   = "IncorrectInstanceState"
	CodeInternalError            = "InternalError"
	CodeServiceUnavailable       = "ServiceUnavailable"
	CodeAuthFailure              = "AuthFailure"
)

// Code returns the AWS error code carried by err's chain, or "" when err is
// not an AWS API error.
func Code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// IsCode reports whether err carries the AWS error code code.
func IsCode(err error, code string) bool { return err != nil && Code(err) == code }
