// Package awsapi builds the AWS SDK clients vipd uses and holds what every
// actuator shares about AWS: EC2's error codes (EC2 errors are unmodeled, so
// the codes are strings collected here), the instance identity read from
// IMDSv2, and the middleware that stamps each call with the fencing token
// and reports each call's outcome.
//
// The narrow per-resource interfaces live with the resources that consume
// them; this package only hands out *ec2.Client and friends, which satisfy
// them unchanged. Imported by cmd, node and resource packages.
package awsapi
