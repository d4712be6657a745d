// Package dynamodb simulates the subset of Amazon DynamoDB that vipd's
// dynamodb lease uses, speaking the JSON 1.0 protocol (POST with
// X-Amz-Target: DynamoDB_20120810.<Operation>, content type
// application/x-amz-json-1.0) so that the AWS SDK for Go v2 and the AWS CLI
// work against it unchanged. Only vpcsim, its tests and vpcsim-based tests
// import it.
//
// # Models
//
//   - CreateTable (hash or hash and range key of type S, N or B; PROVISIONED
//     or PAY_PER_REQUEST), DescribeTable, DeleteTable, ListTables.
//   - PutItem, GetItem (ConsistentRead, ProjectionExpression), UpdateItem
//     and DeleteItem, with ConditionExpression, UpdateExpression,
//     ExpressionAttributeNames and ExpressionAttributeValues, ReturnValues
//     (ALL_OLD, ALL_NEW, UPDATED_OLD, UPDATED_NEW) and
//     ReturnValuesOnConditionCheckFailure.
//   - The legacy Expected and ConditionalOperator parameters of PutItem,
//     UpdateItem and DeleteItem, refused beside expression parameters as
//     DynamoDB refuses them. ReturnConsumedCapacity (TOTAL, INDEXES) with
//     DynamoDB's unit arithmetic (4 KB reads, halved when eventually
//     consistent; 1 KB writes).
//   - CreateTable's SSESpecification (KMS with the account's AWS managed
//     key or the key named), StreamSpecification (LatestStreamArn and
//     LatestStreamLabel) and WarmThroughput (on-demand tables start at
//     12,000 reads and 4,000 writes per second), as DescribeTable reports
//     them.
//   - Condition expressions: comparisons (= <> < <= > >=), BETWEEN, IN,
//     AND, OR, NOT, parentheses, attribute_exists, attribute_not_exists,
//     attribute_type, begins_with, contains and size, over nested document
//     paths (a.b[2].c). Update expressions: SET (with a + b, a - b,
//     if_not_exists and list_append), REMOVE, ADD (numbers and sets) and
//     DELETE (sets). Names on DynamoDB's reserved-word list must be written
//     as #placeholders, as on AWS.
//   - Attribute values S, N, B, BOOL, NULL, M, L, SS, NS, BS. Numbers are
//     exact decimals of up to 38 digits, compared numerically and returned
//     normalized ("1.50" reads back as "1.5"), as DynamoDB does.
//   - CreateTable's checks as DynamoDB words them: KeyType and key schema
//     length, key attributes undefined or unused in AttributeDefinitions
//     (index key schemas included, before indexes are refused), empty
//     index lists; DeletionProtectionEnabled, which DeleteTable honours. A
//     table's ARN is accepted wherever its name is.
//   - Input validation: empty sets, NULL other than true, numbers with
//     whitespace, empty key strings (worded apart for items and Key
//     parameters), partition keys over 2048 and sort keys over 1024 bytes,
//     invalid ExpressionAttributeValues named by placeholder, overlapping
//     projection paths, redundant parentheses.
//   - Errors with DynamoDB's __type and wording: ValidationException (bad
//     expressions, undefined or unused placeholders, key mismatches),
//     ConditionalCheckFailedException, ResourceNotFoundException,
//     ResourceInUseException, SerializationException. Responses carry
//     X-Amz-Crc32, which the SDK verifies.
//
// # Simplifies
//
//   - Every read is strongly consistent: the tables live behind one mutex.
//   - Tables are ACTIVE at once (no CREATING phase) and gone at once after
//     DeleteTable, which still reports DELETING.
//   - UPDATED_OLD and UPDATED_NEW return a whole list when one of its
//     elements was updated (paths into maps are returned as written).
//   - Item sizes (400 KB limit, TableSizeBytes) are approximations.
//   - Throughput is recorded, never enforced; no throttling.
//   - Requests are not authenticated; the vpcsim server in front checks
//     credentials.
//
// # Omits
//
// Query, Scan, batch and transactional operations, PartiQL, secondary
// indexes (rejected), the streams themselves (DynamoDB Streams' API; a
// table only reports its stream specification), KMS (a key is never
// checked), TTL, backups, global tables, tags and the legacy
// AttributeUpdates and AttributesToGet parameters (rejected).
package dynamodb
