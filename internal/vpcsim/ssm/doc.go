// Package ssm simulates the part of AWS Systems Manager Parameter Store that
// vipd's controller uses to record the owner of the service address (as
// AWS's Lambda recipe for a private VIP across zones records it in its
// MasterDB_VIP parameter). It speaks the JSON 1.1 protocol (POST with
// X-Amz-Target: AmazonSSM.<Operation>, content type
// application/x-amz-json-1.1) so that the AWS SDK for Go v2 and the AWS CLI
// work against it unchanged. Only vpcsim, its tests and vpcsim-based tests
// import it.
//
// # Models
//
//   - PutParameter with Type String, StringList or SecureString, Overwrite,
//     Description and Tier Standard: the first put creates version 1, each
//     overwrite adds the next version (also when the value is unchanged, as
//     AWS does); a put of an existing name without Overwrite is
//     ParameterAlreadyExists, a new name without Type is a
//     ValidationException.
//   - GetParameter (by name, or name:version), with WithDecryption: a
//     SecureString's value without it is an opaque ciphertext, as KMS
//     returns, never the plaintext. A missing name or version is
//     ParameterNotFound / ParameterVersionNotFound.
//   - GetParameterHistory, oldest version first, with MaxResults/NextToken
//     paging (MaxResults 1 to 50, default 50).
//   - The public parameters under /aws/service/ami-amazon-linux-latest/
//     (Amazon Linux 2023 and 2, x86_64 and arm64): GetParameter answers an
//     AMI ID stable per region and name; the rest of /aws stays reserved.
//   - DeleteParameter (ParameterNotFound when missing); the name's history
//     goes with it, so a later put starts at version 1 again.
//   - Name rules: at most 2048 characters of a-zA-Z0-9_.-/, a name with a
//     '/' must start with one, no "aws" or "ssm" prefix; values at most
//     4096 characters (the Standard tier). Errors use SSM's __type codes
//     (ValidationException, ParameterNotFound, ParameterAlreadyExists,
//     ParameterVersionNotFound, InvalidNextToken) with HTTP 400.
//   - The fencing token in a caller's User-Agent (vipd-token/N), recorded
//     with every call in Calls so that tests can see which grant wrote.
//
// # Simplifies
//
//   - SecureString encryption is a reversible encoding; KeyId is recorded
//     but no KMS key is checked.
//   - A name keeps its last 100 versions; older ones are dropped silently
//     (AWS refuses the put when the oldest has a label).
//   - Requests are not authenticated; the vpcsim server in front of this
//     handler checks credentials.
//
// # Omits
//
// GetParameters, GetParametersByPath, DescribeParameters, labels, policies,
// the Advanced and Intelligent-Tiering tiers, AllowedPattern, tags and
// DataType aws:ec2:image.
package ssm
