package awsapi

import (
	"errors"
	"slices"

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

// Codes with which AWS services reject the credentials themselves rather
// than the call: EC2 answers AuthFailure, most other services (Route 53,
// STS) InvalidClientTokenId or SignatureDoesNotMatch, DynamoDB
// UnrecognizedClientException or InvalidSignatureException; a clock more
// than 5 minutes off gives RequestExpired or, in a signature,
// SignatureDoesNotMatch. See "Error codes for the Amazon EC2 API" (common
// client errors) and each service's "Common Errors".
const (
	CodeInvalidClientTokenId         = "InvalidClientTokenId"
	CodeSignatureDoesNotMatch        = "SignatureDoesNotMatch"
	CodeUnrecognizedClient           = "UnrecognizedClientException"
	CodeInvalidSignature             = "InvalidSignatureException"
	CodeIncompleteSignature          = "IncompleteSignature"
	CodeMissingAuthenticationToken   = "MissingAuthenticationToken"
	CodeExpiredToken                 = "ExpiredToken"
	CodeExpiredTokenException        = "ExpiredTokenException"
	CodeRequestExpired               = "RequestExpired"
	CodeInvalidAccessKeyID           = "InvalidAccessKeyId"
	CodeMissingAuthenticationTokenEx = "MissingAuthenticationTokenException"
)

// authCodes are the codes IsAuthFailure reports.
var authCodes = []string{CodeAuthFailure, CodeInvalidClientTokenId, CodeSignatureDoesNotMatch,
	CodeUnrecognizedClient, CodeInvalidSignature, CodeIncompleteSignature, CodeMissingAuthenticationToken,
	CodeMissingAuthenticationTokenEx, CodeExpiredToken, CodeExpiredTokenException, CodeRequestExpired, CodeInvalidAccessKeyID}

// IsAuthFailure reports whether err is AWS refusing the credentials (an
// unknown or deactivated key, a wrong secret, an expired session token, a
// clock too far off), as opposed to refusing the call (UnauthorizedOperation,
// AccessDenied), which needs a permission, not other credentials.
func IsAuthFailure(err error) bool {
	c := Code(err)
	return c != "" && slices.Contains(authCodes, c)
}

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
