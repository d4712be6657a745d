// Package dynamodb simulates the subset of Amazon DynamoDB that vipd's
// dynamodb lease uses, speaking the JSON 1.0 protocol (POST with
// X-Amz-Target: DynamoDB_20120810.<Operation>, content type
// application/x-amz-json-1.0) so that the AWS SDK for Go v2 and the AWS CLI
// work against it unchanged. Only vpcsim, its tests and vpcsim-based tests
// import it.
//
// # Models
//
//   - Regions: each region is a separate database, picked by the region
//     of the request's SigV4 credential scope (Options.Region when
//     unsigned). Tables, backups, ARNs, ListTables, the AWS managed key
//     and DescribeEndpoints belong to the request's region; an ARN of
//     another region names no table.
//   - CreateTable (hash or hash and range key of type S, N or B; PROVISIONED
//     or PAY_PER_REQUEST), DescribeTable, UpdateTable, DeleteTable,
//     ListTables.
//   - PutItem, GetItem (ConsistentRead, ProjectionExpression), UpdateItem
//     and DeleteItem, with ConditionExpression, UpdateExpression,
//     ExpressionAttributeNames and ExpressionAttributeValues, ReturnValues
//     (ALL_OLD, ALL_NEW, UPDATED_OLD, UPDATED_NEW) and
//     ReturnValuesOnConditionCheckFailure.
//   - TransactWriteItems (ConditionCheck, Put, Update, Delete; all or
//     nothing, TransactionCanceledException with a CancellationReason per
//     action, one action per item, 100 actions, ClientRequestToken
//     idempotent for 10 minutes) and TransactGetItems. BatchWriteItem (25
//     puts or deletes, duplicates refused, nothing ever unprocessed) and
//     BatchGetItem (100 keys, ProjectionExpression, UnprocessedKeys past
//     16 MB).
//   - On-demand backups (CreateBackup, DescribeBackup, ListBackups,
//     DeleteBackup, RestoreTableFromBackup: a copy of the table, AVAILABLE
//     at once) and point-in-time recovery (Describe/UpdateContinuousBackups,
//     RestoreTableToPointInTime once enabled). Tags (TagResource,
//     UntagResource, ListTagsOfResource, CreateTable's Tags; 50 per table),
//     UpdateTimeToLive (once an hour) and DescribeTimeToLive,
//     DescribeLimits (the default quotas) and DescribeEndpoints.
//   - UpdateItem's legacy AttributeUpdates (PUT, DELETE, ADD), run as
//     the update expression that does the same.
//   - The legacy Expected and ConditionalOperator parameters of PutItem,
//     UpdateItem and DeleteItem, refused beside expression parameters as
//     DynamoDB refuses them. ReturnConsumedCapacity (TOTAL, INDEXES) with
//     DynamoDB's unit arithmetic (4 KB reads, halved when eventually
//     consistent; 1 KB writes); a Query or Scan of an index and a
//     single-item write report the index's units apart (a write that
//     changes an index key costs that index two writes).
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
//     (index key schemas included), empty index lists;
//     DeletionProtectionEnabled, which DeleteTable honours. A table's ARN
//     is accepted wherever its name is.
//   - Global and local secondary indexes: key schemas (an LSI shares the
//     table's hash key and needs a range key), projections ALL, KEYS_ONLY
//     and INCLUDE with NonKeyAttributes, GSI throughput by billing mode,
//     per-table limits, duplicate names; DescribeTable's index status,
//     ItemCount, IndexSizeBytes and IndexArn. Items whose index key
//     attributes have the wrong type or are empty are refused; items
//     without them are left out of the index (sparse indexes).
//   - UpdateTable: BillingMode, ProvisionedThroughput,
//     DeletionProtectionEnabled, StreamSpecification, WarmThroughput and
//     GlobalSecondaryIndexUpdates (Create, Update, Delete; one index
//     created or deleted per call), keeping AttributeDefinitions to the
//     attributes the keys use.
//   - Query (KeyConditionExpression or legacy KeyConditions, FilterExpression
//     or QueryFilter, ScanIndexForward) and Scan (FilterExpression or
//     ScanFilter, Segment and TotalSegments) on tables and indexes, with
//     ProjectionExpression or AttributesToGet, Select (COUNT,
//     ALL_PROJECTED_ATTRIBUTES; an LSI fetches from its table), Limit,
//     ExclusiveStartKey and LastEvaluatedKey, the 1 MB page, Count and
//     ScannedCount; keys sort as DynamoDB sorts them (numbers by value,
//     strings and binary by bytes).
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
//   - Every read is strongly consistent: a region's tables live behind one
//     mutex.
//   - Tables and indexes are ACTIVE at once (no CREATING phase or
//     backfill) and tables gone at once after DeleteTable, which still
//     reports DELETING. Indexes are read from the table's items when
//     queried, so a GSI is as current as its table.
//   - A Scan returns partitions in key order (DynamoDB's order follows
//     its internal hash); segments split by partition key.
//   - UPDATED_OLD and UPDATED_NEW return a whole list when one of its
//     elements was updated (paths into maps are returned as written).
//   - Item sizes (400 KB limit, TableSizeBytes) are approximations.
//   - Time to live never deletes an item (DynamoDB deletes expired items
//     within days, so may not have yet). RestoreTableToPointInTime restores
//     the table as it is at the call, with UseLatestRestorableTime only:
//     no item history is kept.
//   - Throughput is recorded, never enforced; no throttling.
//   - Requests are not authenticated; the vpcsim server in front checks
//     credentials.
//
// # Omits
//
// PartiQL, the streams themselves
// (DynamoDB Streams' API; a table only reports its stream specification),
// KMS (a key is never checked), global tables, and the legacy
// AttributesToGet outside Query and Scan (rejected).
package dynamodb
