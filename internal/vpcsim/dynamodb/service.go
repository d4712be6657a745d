package dynamodb

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vipd/vipd/internal/vpcsim/iam"
)

// Options tunes a Service. The zero value is usable.
type Options struct {
	// Region and AccountID appear in table ARNs; defaults us-east-1 and
	// 123456789012.
	Region    string
	AccountID string
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger receives one debug line per failed call; default discards.
	Logger *slog.Logger
}

// Service is the simulated DynamoDB of one account: a separate database
// per region, picked by the region of each request's SigV4 credential
// scope (Options.Region for an unsigned request). As in AWS, a table named
// T in us-east-1 and one named T in eu-west-1 are different tables, and
// ARNs, backups, ListTables and DescribeEndpoints belong to the region of
// the request (Developer Guide, "Global tables": "DynamoDB tables are
// regional resources"). All methods are safe for concurrent use.
type Service struct {
	opts Options

	mu      sync.Mutex
	regions map[string]*regionDB
}

// regionDB is DynamoDB in one region; every table lives behind one mutex,
// so every read is strongly consistent.
type regionDB struct {
	opts Options // Region is this region
	log  *slog.Logger

	mu     sync.Mutex
	tables map[string]*table
	// managedKey is the key ID of the region's AWS managed key for
	// DynamoDB (aws/dynamodb), made when a table first asks for it.
	managedKey string
	// txTokens are the ClientRequestTokens of TransactWriteItems (transact.go).
	txTokens map[string]txToken
	// backups are the on-demand backups by ARN (backup.go).
	backups map[string]*backup
}

// New returns a Service without tables.
func New(opts Options) *Service {
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.AccountID == "" {
		opts.AccountID = "123456789012"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{opts: opts, regions: map[string]*regionDB{}}
}

// in returns the database of region (Options.Region when ""), making it on
// first use.
func (s *Service) in(region string) *regionDB {
	if region == "" {
		region = s.opts.Region
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if db := s.regions[region]; db != nil {
		return db
	}
	opts := s.opts
	opts.Region = region
	db := &regionDB{opts: opts, log: opts.Logger.With("component", "dynamodb", "region", region), tables: map[string]*table{}}
	s.regions[region] = db
	return db
}

// apiError is a DynamoDB error: its __type shape name and message, always
// HTTP 400 except InternalServerError.
type apiError struct {
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func validation(msg string) *apiError { return &apiError{"ValidationException", msg} }

const targetPrefix = "DynamoDB_20120810."

// maxBody bounds a request; DynamoDB's largest, a 400 KB item with its
// expressions, is far below it.
const maxBody = 16 << 20

// Handler returns the JSON 1.0 API: POST / with X-Amz-Target
// DynamoDB_20120810.<Operation>. It can be mounted beside other services;
// the target header tells DynamoDB requests apart. Each request is served
// by the region of its SigV4 credential scope.
func (s *Service) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		region, _ := iam.Scope(r)
		s.in(region).serveHTTP(w, r)
	})
}

func (s *regionDB) serveHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := newRequestID()
	w.Header().Set("X-Amzn-Requestid", reqID)
	out, err := s.dispatch(r)
	status := http.StatusOK
	if err != nil {
		var ae *apiError
		var cf *conditionFailed
		var tc *transactionCanceled
		switch {
		case errors.As(err, &cf):
			ae = &cf.apiError
		case errors.As(err, &tc):
			ae = &tc.apiError
		case errors.As(err, &ae):
		default:
			ae = &apiError{"SerializationException", err.Error()}
		}
		s.log.Debug("dynamodb error", "op", r.Header.Get("X-Amz-Target"), "aws_code", ae.code)
		status = http.StatusBadRequest
		if ae.code == "InternalServerError" {
			status = http.StatusInternalServerError
		}
		body := map[string]any{"__type": "com.amazonaws.dynamodb.v20120810#" + ae.code, "message": ae.message}
		if cf != nil && cf.item != nil {
			// With the item (ReturnValuesOnConditionCheckFailure ALL_OLD)
			// DynamoDB spells the key "Message", so the SDKs see the
			// message only as the error's, not as a member of the
			// exception (moto's aws_verified TestReturnValuesOnConditionCheckFailure).
			delete(body, "message")
			body["Message"] = ae.message
			body["Item"] = cf.item
		}
		if tc != nil {
			// DynamoDB spells this exception's message key "Message" too,
			// beside its CancellationReasons.
			delete(body, "message")
			body["Message"] = ae.message
			body["CancellationReasons"] = tc.reasons
		}
		out = body
	}
	b, merr := json.Marshal(out)
	if merr != nil {
		// Only our own response types get here.
		panic(merr)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	// The SDK verifies this checksum when present, as AWS always sends it.
	w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(b)), 10))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func newRequestID() string {
	b := make([]byte, 26)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func (s *regionDB) dispatch(r *http.Request) (any, error) {
	if r.Method != http.MethodPost {
		return nil, &apiError{"UnknownOperationException", "Only POST is supported"}
	}
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	if !ok {
		return nil, &apiError{"UnknownOperationException", ""}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return nil, &apiError{"SerializationException", "read request: " + err.Error()}
	}
	switch op {
	case "CreateTable":
		return call(body, s.createTable)
	case "DescribeTable":
		return call(body, s.describeTable)
	case "DeleteTable":
		return call(body, s.deleteTable)
	case "ListTables":
		return call(body, s.listTables)
	case "PutItem":
		return call(body, s.putItem)
	case "GetItem":
		return call(body, s.getItem)
	case "UpdateItem":
		return call(body, s.updateItem)
	case "DeleteItem":
		return call(body, s.deleteItem)
	case "UpdateTable":
		return call(body, s.updateTable)
	case "Query":
		return call(body, s.query)
	case "Scan":
		return call(body, s.scan)
	case "TransactWriteItems":
		return call(body, s.transactWriteItems)
	case "TransactGetItems":
		return call(body, s.transactGetItems)
	case "BatchGetItem":
		return call(body, s.batchGetItem)
	case "BatchWriteItem":
		return call(body, s.batchWriteItem)
	case "CreateBackup":
		return call(body, s.createBackup)
	case "DescribeBackup":
		return call(body, s.describeBackup)
	case "DeleteBackup":
		return call(body, s.deleteBackup)
	case "ListBackups":
		return call(body, s.listBackups)
	case "RestoreTableFromBackup":
		return call(body, s.restoreTableFromBackup)
	case "RestoreTableToPointInTime":
		return call(body, s.restoreTableToPointInTime)
	case "DescribeContinuousBackups":
		return call(body, s.describeContinuousBackups)
	case "UpdateContinuousBackups":
		return call(body, s.updateContinuousBackups)
	case "TagResource":
		return call(body, s.tagResource)
	case "UntagResource":
		return call(body, s.untagResource)
	case "ListTagsOfResource":
		return call(body, s.listTagsOfResource)
	case "UpdateTimeToLive":
		return call(body, s.updateTimeToLive)
	case "DescribeTimeToLive":
		return call(body, s.describeTimeToLive)
	case "DescribeLimits":
		return call(body, s.describeLimits)
	case "DescribeEndpoints":
		return call(body, s.describeEndpoints)
	}
	return nil, &apiError{"UnknownOperationException", ""}
}

// call decodes a request document and runs fn on it. A value that fails
// DynamoDB's checks while decoding is a ValidationException; JSON that does
// not fit the shape is a SerializationException.
func call[Req any](body []byte, fn func(*Req) (any, error)) (any, error) {
	var req Req
	if err := json.Unmarshal(body, &req); err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			return nil, ae
		}
		return nil, &apiError{"SerializationException", err.Error()}
	}
	return fn(&req)
}

// Tables.

type table struct {
	name     string
	id       string
	created  time.Time
	hashKey  keyDef
	rangeKey *keyDef
	attrDefs []attrDef
	billing  string
	rcu, wcu int64
	items    map[string]item
	// deletionProtection refuses DeleteTable while set.
	deletionProtection bool
	opts               tableOptions
	// billingChanged is set once UpdateTable changed the billing mode;
	// payPerRequestAt is when the table last became on-demand.
	billingChanged  bool
	payPerRequestAt time.Time
	// indexes are the table's secondary indexes, local ones first, each
	// kind in the order CreateTable and UpdateTable gave them.
	indexes []*index
	// extra is what the table keeps beside its schema (tablemeta.go).
	extra tableExtra
}

type keyDef struct {
	name string
	kind kind
}

type attrDef struct {
	AttributeName string `json:"AttributeName"`
	AttributeType kind   `json:"AttributeType"`
}

type keySchemaElem struct {
	AttributeName string `json:"AttributeName"`
	KeyType       string `json:"KeyType"`
}

type throughput struct {
	ReadCapacityUnits  *int64 `json:"ReadCapacityUnits,omitempty"`
	WriteCapacityUnits *int64 `json:"WriteCapacityUnits,omitempty"`
}

type createTableRequest struct {
	TableName                 string               `json:"TableName"`
	AttributeDefinitions      []attrDef            `json:"AttributeDefinitions"`
	KeySchema                 []keySchemaElem      `json:"KeySchema"`
	BillingMode               string               `json:"BillingMode"`
	ProvisionedThroughput     *throughput          `json:"ProvisionedThroughput"`
	GlobalSecondaryIndexes    []indexRequest       `json:"GlobalSecondaryIndexes"`
	LocalSecondaryIndexes     []indexRequest       `json:"LocalSecondaryIndexes"`
	DeletionProtectionEnabled bool                 `json:"DeletionProtectionEnabled"`
	SSESpecification          *sseSpecification    `json:"SSESpecification"`
	StreamSpecification       *streamSpecification `json:"StreamSpecification"`
	WarmThroughput            *warmThroughput      `json:"WarmThroughput"`
	Tags                      []tag                `json:"Tags"`
}

// checkKeyTypes applies the schema's enumeration to KeyType, which DynamoDB
// checks before anything else about the table (moto's aws_verified
// test_create_table__specify_non_key_column).
func checkKeyTypes(req *createTableRequest) error {
	bad := func(at string, ks []keySchemaElem) error {
		for i, k := range ks {
			if k.KeyType != "HASH" && k.KeyType != "RANGE" {
				return validation(fmt.Sprintf("1 validation error detected: Value '%s' at '%skeySchema.%d.member.keyType' failed to satisfy constraint: Member must satisfy enum value set: [HASH, RANGE]", k.KeyType, at, i+1))
			}
		}
		return nil
	}
	if err := bad("", req.KeySchema); err != nil {
		return err
	}
	for i, ix := range req.GlobalSecondaryIndexes {
		if err := bad(fmt.Sprintf("globalSecondaryIndexes.%d.member.", i+1), ix.KeySchema); err != nil {
			return err
		}
	}
	for i, ix := range req.LocalSecondaryIndexes {
		if err := bad(fmt.Sprintf("localSecondaryIndexes.%d.member.", i+1), ix.KeySchema); err != nil {
			return err
		}
	}
	return nil
}

// checkAttrDefs requires AttributeDefinitions to define exactly the
// attributes the table's and its indexes' key schemas use, worded as
// DynamoDB words each way of getting it wrong (moto's
// test_create_table_with_missing_attributes and
// test_create_table_with_redundant_and_missing_attributes).
func checkAttrDefs(req *createTableRequest) error {
	used := map[string]bool{}
	for _, k := range req.KeySchema {
		used[k.AttributeName] = true
	}
	indexes := len(req.GlobalSecondaryIndexes)+len(req.LocalSecondaryIndexes) > 0
	for _, ix := range slices.Concat(req.GlobalSecondaryIndexes, req.LocalSecondaryIndexes) {
		for _, k := range ix.KeySchema {
			used[k.AttributeName] = true
		}
	}
	defined := map[string]bool{}
	for _, d := range req.AttributeDefinitions {
		defined[d.AttributeName] = true
	}
	keys, defs := slices.Sorted(maps.Keys(used)), slices.Sorted(maps.Keys(defined))
	if slices.Equal(keys, defs) {
		return nil
	}
	var missing []string
	for _, k := range keys {
		if !defined[k] {
			missing = append(missing, k)
		}
	}
	list := func(l []string) string { return "[" + strings.Join(l, ", ") + "]" }
	const head = "One or more parameter values were invalid: "
	switch {
	case len(defs) > len(keys) && indexes:
		return validation(head + "Some AttributeDefinitions are not used. AttributeDefinitions: " + list(defs) + ", keys used: " + list(keys))
	case len(defs) > len(keys):
		return validation(head + "Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions")
	case len(defs) < len(keys) && !indexes:
		return validation("Invalid KeySchema: Some index key attribute have no definition")
	case indexes:
		return validation(head + "Some index key attributes are not defined in AttributeDefinitions. Keys: " + list(missing) + ", AttributeDefinitions: " + list(defs))
	default:
		return validation(head + "Some index key attributes are not defined in AttributeDefinitions. Keys: " + list(keys) + ", AttributeDefinitions: " + list(defs))
	}
}

// keySchemaString writes a key schema as DynamoDB's validation messages
// quote it (the Java toString of its KeySchemaElements).
func keySchemaString(ks []keySchemaElem) string {
	parts := make([]string, len(ks))
	for i, k := range ks {
		parts[i] = fmt.Sprintf("KeySchemaElement(attributeName=%s, keyType=%s)", k.AttributeName, k.KeyType)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

type tableNameRequest struct {
	TableName string `json:"TableName"`
}

func validTableName(n string) error {
	if len(n) < 3 || len(n) > 255 {
		return validation(fmt.Sprintf("1 validation error detected: Value '%s' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 3", n))
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return validation(fmt.Sprintf("1 validation error detected: Value '%s' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+", n))
		}
	}
	return nil
}

// resolveTableName accepts a table's ARN wherever its name is asked for
// (API reference DescribeTable, TableName: "You can also provide the Amazon
// Resource Name (ARN) of the table in this parameter"); an ARN of another
// account or region names no table here.
func (s *regionDB) resolveTableName(n string) string {
	prefix := fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/", s.opts.Region, s.opts.AccountID)
	if name, ok := strings.CutPrefix(n, prefix); ok && !strings.Contains(name, "/") {
		return name
	}
	return n
}

func notFound(name string) *apiError {
	return &apiError{"ResourceNotFoundException", "Requested resource not found: Table: " + name + " not found"}
}

func (s *regionDB) createTable(req *createTableRequest) (any, error) {
	if err := validTableName(req.TableName); err != nil {
		return nil, err
	}
	if err := checkKeyTypes(req); err != nil {
		return nil, err
	}
	if len(req.KeySchema) == 0 || len(req.KeySchema) > 2 {
		return nil, validation(fmt.Sprintf("1 validation error detected: Value '%s' at 'keySchema' failed to satisfy constraint: Member must have length less than or equal to 2", keySchemaString(req.KeySchema)))
	}
	defs := map[string]kind{}
	for _, d := range req.AttributeDefinitions {
		if d.AttributeType != kindS && d.AttributeType != kindN && d.AttributeType != kindB {
			return nil, validation(fmt.Sprintf("1 validation error detected: Value '%s' at 'attributeDefinitions.1.member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]", d.AttributeType))
		}
		defs[d.AttributeName] = d.AttributeType
	}
	if req.GlobalSecondaryIndexes != nil && len(req.GlobalSecondaryIndexes) == 0 {
		return nil, validation("One or more parameter values were invalid: List of GlobalSecondaryIndexes is empty")
	}
	if req.LocalSecondaryIndexes != nil && len(req.LocalSecondaryIndexes) == 0 {
		return nil, validation("One or more parameter values were invalid: List of LocalSecondaryIndexes is empty")
	}
	if err := checkAttrDefs(req); err != nil {
		return nil, err
	}
	t := &table{name: req.TableName, id: newTableID(), created: s.opts.Now(), items: map[string]item{}, deletionProtection: req.DeletionProtectionEnabled}
	for i, k := range req.KeySchema {
		kt := defs[k.AttributeName]
		switch {
		case i == 0 && k.KeyType == "HASH":
			t.hashKey = keyDef{k.AttributeName, kt}
		case i == 1 && k.KeyType == "RANGE":
			t.rangeKey = &keyDef{k.AttributeName, kt}
		default:
			return nil, validation("Invalid KeySchema: The first KeySchemaElement is not a HASH key type")
		}
	}
	t.attrDefs = req.AttributeDefinitions
	t.billing = req.BillingMode
	switch t.billing {
	case "", "PROVISIONED":
		t.billing = "PROVISIONED"
		if req.ProvisionedThroughput == nil || req.ProvisionedThroughput.ReadCapacityUnits == nil || req.ProvisionedThroughput.WriteCapacityUnits == nil {
			return nil, validation("One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED")
		}
		t.rcu, t.wcu = *req.ProvisionedThroughput.ReadCapacityUnits, *req.ProvisionedThroughput.WriteCapacityUnits
		if t.rcu < 1 || t.wcu < 1 {
			return nil, validation("One or more parameter values were invalid: Provisioned throughput values must be at least 1")
		}
	case "PAY_PER_REQUEST":
		t.payPerRequestAt = t.created
		if req.ProvisionedThroughput != nil {
			return nil, validation("One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST")
		}
	default:
		return nil, validation(fmt.Sprintf("1 validation error detected: Value '%s' at 'billingMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]", t.billing))
	}
	if err := t.buildIndexes(req); err != nil {
		return nil, err
	}
	if err := s.applyOptions(t, req); err != nil {
		return nil, err
	}
	if err := t.addTags(req.Tags); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tables[t.name]; ok {
		return nil, &apiError{"ResourceInUseException", "Table already exists: " + t.name}
	}
	s.tables[t.name] = t
	return map[string]any{"TableDescription": s.describeLocked(t, "ACTIVE")}, nil
}

func attrNames(defs []attrDef) string {
	names := make([]string, len(defs))
	for i, d := range defs {
		names[i] = d.AttributeName
	}
	return "[" + strings.Join(names, ", ") + "]"
}

func newTableID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// describeLocked builds a TableDescription. Tables are ACTIVE as soon as
// they exist: the CREATING phase is not modeled.
func (s *regionDB) describeLocked(t *table, status string) map[string]any {
	ks := []keySchemaElem{{t.hashKey.name, "HASH"}}
	if t.rangeKey != nil {
		ks = append(ks, keySchemaElem{t.rangeKey.name, "RANGE"})
	}
	arn := fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", s.opts.Region, s.opts.AccountID, t.name)
	size := 0
	for _, it := range t.items {
		size += itemSize(it)
	}
	d := map[string]any{
		"TableName":                 t.name,
		"TableId":                   t.id,
		"TableArn":                  arn,
		"TableStatus":               status,
		"KeySchema":                 ks,
		"AttributeDefinitions":      t.attrDefs,
		"CreationDateTime":          float64(t.created.UnixMilli()) / 1000,
		"ItemCount":                 len(t.items),
		"TableSizeBytes":            size,
		"DeletionProtectionEnabled": t.deletionProtection,
		"ProvisionedThroughput": map[string]any{
			"NumberOfDecreasesToday": 0, "ReadCapacityUnits": t.rcu, "WriteCapacityUnits": t.wcu,
		},
	}
	if t.billing == "PAY_PER_REQUEST" || t.billingChanged {
		// API reference BillingModeSummary: LastUpdateToPayPerRequestDateTime
		// is "the time when PAY_PER_REQUEST was last set as the read/write
		// capacity mode".
		bs := map[string]any{"BillingMode": t.billing}
		if !t.payPerRequestAt.IsZero() {
			bs["LastUpdateToPayPerRequestDateTime"] = float64(t.payPerRequestAt.UnixMilli()) / 1000
		}
		d["BillingModeSummary"] = bs
	}
	t.describeOptions(d, arn)
	t.describeIndexes(d, arn)
	t.describeExtra(d)
	return d
}

func (s *regionDB) describeTable(req *tableNameRequest) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tables[s.resolveTableName(req.TableName)]
	if !ok {
		return nil, notFound(req.TableName)
	}
	return map[string]any{"Table": s.describeLocked(t, "ACTIVE")}, nil
}

func (s *regionDB) deleteTable(req *tableNameRequest) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tables[s.resolveTableName(req.TableName)]
	if !ok {
		return nil, notFound(req.TableName)
	}
	if t.deletionProtection {
		// API reference DeleteTable / CreateTable DeletionProtectionEnabled:
		// "Indicates whether deletion protection is to be enabled (true)".
		return nil, validation(fmt.Sprintf("1 validation error detected: Table '%s' can't be deleted while DeletionProtectionEnabled is set to True", t.name))
	}
	delete(s.tables, t.name)
	return map[string]any{"TableDescription": s.describeLocked(t, "DELETING")}, nil
}

type listTablesRequest struct {
	ExclusiveStartTableName string `json:"ExclusiveStartTableName"`
	Limit                   int    `json:"Limit"`
}

func (s *regionDB) listTables(req *listTablesRequest) (any, error) {
	limit := req.Limit
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	s.mu.Lock()
	names := make([]string, 0, len(s.tables))
	for n := range s.tables {
		names = append(names, n)
	}
	s.mu.Unlock()
	slices.Sort(names)
	out := map[string]any{}
	page := []string{}
	for _, n := range names {
		if n <= req.ExclusiveStartTableName {
			continue
		}
		if len(page) == limit {
			out["LastEvaluatedTableName"] = page[len(page)-1]
			break
		}
		page = append(page, n)
	}
	out["TableNames"] = page
	return out, nil
}
