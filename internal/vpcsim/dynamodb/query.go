package dynamodb

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
)

// Query and Scan, on a table or one of its secondary indexes.

// maxPageBytes is how much a Query or Scan reads before it stops and
// returns LastEvaluatedKey (API reference Query: "A single Query operation
// will read up to the maximum number of items set (if using the Limit
// parameter) or a maximum of 1 MB of data and then apply any filtering to
// the results using FilterExpression").
const maxPageBytes = 1 << 20

type queryRequest struct {
	TableName                 string                  `json:"TableName"`
	IndexName                 *string                 `json:"IndexName"`
	Select                    string                  `json:"Select"`
	AttributesToGet           []string                `json:"AttributesToGet"`
	ConsistentRead            bool                    `json:"ConsistentRead"`
	KeyConditions             map[string]expectedAttr `json:"KeyConditions"`
	QueryFilter               map[string]expectedAttr `json:"QueryFilter"`
	ConditionalOperator       *string                 `json:"ConditionalOperator"`
	ScanIndexForward          *bool                   `json:"ScanIndexForward"`
	ExclusiveStartKey         map[string]value        `json:"ExclusiveStartKey"`
	ReturnConsumedCapacity    capacity                `json:"ReturnConsumedCapacity"`
	ProjectionExpression      *string                 `json:"ProjectionExpression"`
	FilterExpression          *string                 `json:"FilterExpression"`
	KeyConditionExpression    *string                 `json:"KeyConditionExpression"`
	ExpressionAttributeNames  map[string]string       `json:"ExpressionAttributeNames"`
	ExpressionAttributeValues exprValues              `json:"ExpressionAttributeValues"`
	Limit                     *int                    `json:"Limit"`
}

type scanRequest struct {
	TableName                 string                  `json:"TableName"`
	IndexName                 *string                 `json:"IndexName"`
	Select                    string                  `json:"Select"`
	AttributesToGet           []string                `json:"AttributesToGet"`
	ConsistentRead            bool                    `json:"ConsistentRead"`
	ScanFilter                map[string]expectedAttr `json:"ScanFilter"`
	ConditionalOperator       *string                 `json:"ConditionalOperator"`
	ExclusiveStartKey         map[string]value        `json:"ExclusiveStartKey"`
	ReturnConsumedCapacity    capacity                `json:"ReturnConsumedCapacity"`
	ProjectionExpression      *string                 `json:"ProjectionExpression"`
	FilterExpression          *string                 `json:"FilterExpression"`
	ExpressionAttributeNames  map[string]string       `json:"ExpressionAttributeNames"`
	ExpressionAttributeValues exprValues              `json:"ExpressionAttributeValues"`
	Limit                     *int                    `json:"Limit"`
	Segment                   *int                    `json:"Segment"`
	TotalSegments             *int                    `json:"TotalSegments"`
}

// read is what Query and Scan share once their parameters are parsed.
type read struct {
	op        string // "Query" or "Scan"
	tableName string
	indexName *string
	sel       string
	// proj is ProjectionExpression or AttributesToGet as paths; nil when
	// neither is given.
	proj       []docPath
	projParam  string
	filter     *cond
	keyCond    *cond
	limit      int
	start      map[string]value
	forward    bool
	consistent bool
	capacity   capacity
	segment    int
	segments   int
}

// readParams are the parts of Query's and Scan's requests handled alike.
type readParams struct {
	sel             string
	attributesToGet []string
	projection      *string
	filter          *string
	limit           *int
	names           map[string]string
	capacity        capacity
}

// nonExpression refuses legacy parameters beside expression ones, worded
// as DynamoDB words it for the item operations (legacy.check).
func nonExpression(non, exprs []string) error {
	if len(non) > 0 && len(exprs) > 0 {
		return validation("Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {" +
			strings.Join(non, ", ") + "} Expression parameters: {" + strings.Join(exprs, ", ") + "}")
	}
	return nil
}

// prepare checks what Query and Scan share and parses the projection and
// the filter; keyCond is parsed by the caller through ph before ph.check.
func (p readParams) prepare(r *read, ph *placeholders) error {
	if err := p.capacity.check(); err != nil {
		return err
	}
	r.capacity = p.capacity
	switch p.sel {
	case "", "ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES", "SPECIFIC_ATTRIBUTES", "COUNT":
	default:
		return validation(fmt.Sprintf("1 validation error detected: Value '%s' at 'select' failed to satisfy constraint: Member must satisfy enum value set: [SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]", p.sel))
	}
	r.sel = p.sel
	if p.limit != nil {
		if *p.limit < 1 {
			return validation(fmt.Sprintf("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1", *p.limit))
		}
		r.limit = *p.limit
	}
	if p.projection != nil {
		ph.exprs++
		proj, err := parseProjection(*p.projection, p.names, ph.used)
		if err != nil {
			return err
		}
		r.proj, r.projParam = proj, "ProjectionExpression"
	} else if p.attributesToGet != nil {
		for _, n := range p.attributesToGet {
			r.proj = append(r.proj, docPath{{name: n}})
		}
		r.projParam = "AttributesToGet"
	}
	// API reference Query, Select: "SPECIFIC_ATTRIBUTES - Returns only the
	// attributes listed in ProjectionExpression. This return value is
	// equivalent to specifying ProjectionExpression without specifying
	// any value for Select."
	switch {
	case r.proj != nil && r.sel == "COUNT":
		return validation("One or more parameter values were invalid: Cannot specify the " + r.projParam + " when choosing to get only the Count")
	case r.proj != nil && r.sel != "" && r.sel != "SPECIFIC_ATTRIBUTES":
		return validation("One or more parameter values were invalid: Cannot specify the " + r.projParam + " when choosing to get " + r.sel)
	case r.proj == nil && r.sel == "SPECIFIC_ATTRIBUTES":
		return validation("One or more parameter values were invalid: Must specify the ProjectionExpression or AttributesToGet when choosing to get SPECIFIC_ATTRIBUTES")
	}
	f, err := ph.conditionAs("FilterExpression", p.filter)
	if err != nil {
		return err
	}
	r.filter = f
	return nil
}

func (s *regionDB) query(req *queryRequest) (any, error) {
	var non, exprs []string
	for _, e := range []struct {
		name string
		set  bool
	}{
		{"AttributesToGet", req.AttributesToGet != nil}, {"ConditionalOperator", req.ConditionalOperator != nil},
		{"KeyConditions", req.KeyConditions != nil}, {"QueryFilter", req.QueryFilter != nil},
	} {
		if e.set {
			non = append(non, e.name)
		}
	}
	for _, e := range []struct {
		name string
		set  *string
	}{{"FilterExpression", req.FilterExpression}, {"KeyConditionExpression", req.KeyConditionExpression}, {"ProjectionExpression", req.ProjectionExpression}} {
		if e.set != nil {
			exprs = append(exprs, e.name)
		}
	}
	if err := nonExpression(non, exprs); err != nil {
		return nil, err
	}
	ph, err := newPlaceholders(req.ExpressionAttributeNames, req.ExpressionAttributeValues)
	if err != nil {
		return nil, err
	}
	r := &read{op: "Query", tableName: req.TableName, indexName: req.IndexName, start: req.ExclusiveStartKey,
		forward: req.ScanIndexForward == nil || *req.ScanIndexForward, consistent: req.ConsistentRead}
	kc, err := ph.conditionAs("KeyConditionExpression", req.KeyConditionExpression)
	if err != nil {
		return nil, err
	}
	if err := (readParams{req.Select, req.AttributesToGet, req.ProjectionExpression, req.FilterExpression, req.Limit,
		req.ExpressionAttributeNames, req.ReturnConsumedCapacity}).prepare(r, ph); err != nil {
		return nil, err
	}
	if err := ph.check(); err != nil {
		return nil, err
	}
	if kc == nil {
		if req.KeyConditions == nil {
			return nil, validation("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.")
		}
		if kc, err = legacyKeyConditions(req.KeyConditions); err != nil {
			return nil, err
		}
	}
	r.keyCond = kc
	if r.filter == nil && req.QueryFilter != nil {
		if r.filter, err = (legacy{Expected: req.QueryFilter, ConditionalOperator: req.ConditionalOperator, param: "queryFilter"}).condition(); err != nil {
			return nil, err
		}
	}
	return s.run(r)
}

func (s *regionDB) scan(req *scanRequest) (any, error) {
	var non, exprs []string
	if req.AttributesToGet != nil {
		non = append(non, "AttributesToGet")
	}
	if req.ConditionalOperator != nil {
		non = append(non, "ConditionalOperator")
	}
	if req.ScanFilter != nil {
		non = append(non, "ScanFilter")
	}
	if req.FilterExpression != nil {
		exprs = append(exprs, "FilterExpression")
	}
	if req.ProjectionExpression != nil {
		exprs = append(exprs, "ProjectionExpression")
	}
	if err := nonExpression(non, exprs); err != nil {
		return nil, err
	}
	r := &read{op: "Scan", tableName: req.TableName, indexName: req.IndexName, start: req.ExclusiveStartKey,
		forward: true, consistent: req.ConsistentRead, segments: 1}
	// API reference Scan, Segment and TotalSegments: "If you provide
	// Segment, you must also provide TotalSegments"; "The value for
	// TotalSegments must be greater than or equal to 1, and less than or
	// equal to 1000000"; "The value for Segment must be greater than or
	// equal to 0, and less than the value provided for TotalSegments."
	switch seg, total := req.Segment, req.TotalSegments; {
	case seg != nil && total == nil:
		return nil, validation("The TotalSegments parameter is required but was not present in the request when Segment parameter is present")
	case total != nil && seg == nil:
		return nil, validation("The Segment parameter is required but was not present in the request when parameter TotalSegments is present")
	case total != nil && (*total < 1 || *total > 1000000):
		bound := "greater than or equal to 1"
		if *total > 1000000 {
			bound = "less than or equal to 1000000"
		}
		return nil, validation(fmt.Sprintf("1 validation error detected: Value '%d' at 'totalSegments' failed to satisfy constraint: Member must have value %s", *total, bound))
	case seg != nil && *seg < 0:
		return nil, validation(fmt.Sprintf("1 validation error detected: Value '%d' at 'segment' failed to satisfy constraint: Member must have value greater than or equal to 0", *seg))
	case seg != nil && *seg >= *total:
		return nil, validation(fmt.Sprintf("The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: %d is not less than TotalSegments: %d", *seg, *total))
	case seg != nil:
		r.segment, r.segments = *seg, *total
	}
	ph, err := newPlaceholders(req.ExpressionAttributeNames, req.ExpressionAttributeValues)
	if err != nil {
		return nil, err
	}
	if err := (readParams{req.Select, req.AttributesToGet, req.ProjectionExpression, req.FilterExpression, req.Limit,
		req.ExpressionAttributeNames, req.ReturnConsumedCapacity}).prepare(r, ph); err != nil {
		return nil, err
	}
	if err := ph.check(); err != nil {
		return nil, err
	}
	if r.filter == nil && req.ScanFilter != nil {
		if r.filter, err = (legacy{Expected: req.ScanFilter, ConditionalOperator: req.ConditionalOperator, param: "scanFilter"}).condition(); err != nil {
			return nil, err
		}
	}
	return s.run(r)
}

// legacyKeyConditions turns Query's KeyConditions into the tree
// KeyConditionExpression would give. Only the operators a key condition
// allows are accepted (API reference Query, KeyConditions: "Valid
// comparisons for the sort key condition are as follows: EQ | LE | LT |
// GE | GT | BEGINS_WITH | BETWEEN").
func legacyKeyConditions(kcs map[string]expectedAttr) (*cond, error) {
	var out *cond
	for _, name := range sortedKeys(kcs) {
		e := kcs[name]
		switch e.ComparisonOperator {
		case "EQ", "LE", "LT", "GE", "GT", "BEGINS_WITH", "BETWEEN":
		default:
			if _, ok := argCounts[e.ComparisonOperator]; ok {
				return nil, validation("Attempted conditional constraint is not an indexable operation")
			}
		}
		c, err := e.conditionAt("keyConditions", name)
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = c
		} else {
			out = &cond{op: "AND", kids: []*cond{out, c}}
		}
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// keyCondError words a key condition error as DynamoDB does: problems of
// the expression's form carry the parameter's name.
func keyCondError(msg string) error {
	return validation("Invalid KeyConditionExpression: " + msg)
}

// checkKeyCondition checks a key condition against the key schema of what
// is queried (API reference Query, KeyConditionExpression: "The condition
// must perform an equality test on a single partition key value. The
// condition can optionally perform one of several comparison tests on a
// single sort key value"; valid sort key comparisons are =, <, <=, >, >=,
// BETWEEN and begins_with, combined with AND).
func checkKeyCondition(c *cond, keys []keyDef) error {
	var leaves []*cond
	var walk func(c *cond) error
	walk = func(c *cond) error {
		switch c.op {
		case "AND":
			for _, k := range c.kids {
				if err := walk(k); err != nil {
					return err
				}
			}
			return nil
		case "=", "<", "<=", ">", ">=", "BETWEEN", "begins_with":
			leaves = append(leaves, c)
			return nil
		}
		return keyCondError("Invalid operator used in KeyConditionExpression: " + c.op)
	}
	if err := walk(c); err != nil {
		return err
	}
	names := make([]string, len(leaves))
	for i, l := range leaves {
		var paths int
		for _, a := range l.args {
			switch {
			case a.fn != "":
				return keyCondError("Invalid operator used in KeyConditionExpression: " + a.fn)
			case a.path != nil:
				paths++
				names[i] = a.path[0].name
				if len(a.path) > 1 {
					names[i] = a.path.String()
				}
			}
		}
		switch {
		case paths > 1:
			return keyCondError("Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition")
		case paths == 0:
			return keyCondError("Invalid condition in KeyConditionExpression: No key attribute specified")
		case l.args[0].path == nil && l.op != "=" && l.op != "<" && l.op != "<=" && l.op != ">" && l.op != ">=":
			return keyCondError("Invalid condition in KeyConditionExpression: The attribute name must be the first operand of " + l.op)
		}
	}
	// A real DynamoDB answer, quoted in awslabs/aws-athena-query-federation
	// issue 1089.
	for i := range names {
		if slices.Contains(names[:i], names[i]) {
			return validation("KeyConditionExpressions must only contain one condition per key")
		}
	}
	if len(leaves) > len(keys) {
		return validation(fmt.Sprintf("The number of query conditions (%d) exceeds the number of key attributes defined in the schema (%d)", len(leaves), len(keys)))
	}
	hash := slices.Index(names, keys[0].name)
	if hash < 0 {
		return validation("Query condition missed key schema element: " + keys[0].name)
	}
	if leaves[hash].op != "=" {
		return validation("Query key condition not supported")
	}
	for i, l := range leaves {
		if i != hash && (len(keys) < 2 || names[i] != keys[1].name) {
			missing := keys[0].name
			if len(keys) > 1 {
				missing = keys[1].name
			}
			return validation("Query condition missed key schema element: " + missing)
		}
		k := keys[0]
		if i != hash {
			k = keys[1]
		}
		for _, a := range l.args {
			if a.val == nil {
				continue
			}
			if a.val.kind != k.kind {
				return validation("One or more parameter values were invalid: Condition parameter type does not match schema type")
			}
			if a.val.s == "" && a.val.kind != kindN {
				return validation("One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: " + k.name)
			}
		}
	}
	return nil
}

// checkFilterKeys refuses a Query filter on the key attributes of what is
// queried (Developer Guide, "Filter expressions for Query": "A filter
// expression cannot contain partition key or sort key attributes. You
// need to specify those attributes in the key condition expression, not
// the filter expression").
func checkFilterKeys(c *cond, keys []keyDef) error {
	var bad string
	var walkOperand func(o operand)
	walkOperand = func(o operand) {
		if o.path != nil && bad == "" {
			for _, k := range keys {
				if o.path[0].name == k.name {
					bad = k.name
				}
			}
		}
		for _, a := range o.args {
			walkOperand(a)
		}
	}
	var walk func(c *cond)
	walk = func(c *cond) {
		for _, k := range c.kids {
			walk(k)
		}
		for _, a := range c.args {
			walkOperand(a)
		}
	}
	walk(c)
	if bad != "" {
		return validation("Filter Expression can only contain non-primary key attributes: Primary key attribute: " + bad)
	}
	return nil
}

// row is one item as a Query or Scan sees it: the index's entry (the item
// itself on a table) and the table's item.
type row struct {
	entry item
	full  item
}

// order compares two items by the given key attributes, in order, as
// DynamoDB sorts keys: numbers by value, strings and binary by their
// bytes (API reference Query, ScanIndexForward: "If the data type is
// Number, the results are stored in numeric order. For type String, the
// results are stored in order of UTF-8 bytes. For type Binary, DynamoDB
// treats each byte of the binary data as unsigned").
func order(a, b item, keys []keyDef) int {
	for _, k := range keys {
		if c, _ := compare(a[k.name], b[k.name]); c != 0 {
			return c
		}
	}
	return 0
}

// segmentOf is the parallel-scan segment of a partition key value: items
// of one partition are in one segment, as they are on DynamoDB.
func segmentOf(v value, segments int) int {
	h := fnv.New32a()
	h.Write([]byte(keyString(v)))
	return int(h.Sum32() % uint32(segments))
}

func (s *regionDB) run(r *read) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tableLocked(r.tableName)
	if err != nil {
		return nil, err
	}
	var ix *index
	keys := t.keys()
	if r.indexName != nil {
		if ix = t.index(*r.indexName); ix == nil {
			return nil, validation("The table does not have the specified index: " + *r.indexName)
		}
		keys = ix.keys()
		// API reference Query, ConsistentRead: "Strongly consistent reads
		// are not supported on global secondary indexes. If you query a
		// global secondary index with ConsistentRead set to true, you will
		// receive a ValidationException."
		if ix.global && r.consistent {
			return nil, validation("Consistent reads are not supported on global secondary indexes")
		}
	}
	sel := r.sel
	switch {
	case sel == "" && r.proj != nil:
		sel = "SPECIFIC_ATTRIBUTES"
	case sel == "" && ix != nil:
		// API reference Query, Select: "If neither Select nor
		// ProjectionExpression are specified, DynamoDB defaults to
		// ALL_ATTRIBUTES when accessing a table, and
		// ALL_PROJECTED_ATTRIBUTES when accessing an index."
		sel = "ALL_PROJECTED_ATTRIBUTES"
	case sel == "":
		sel = "ALL_ATTRIBUTES"
	case sel == "ALL_PROJECTED_ATTRIBUTES" && ix == nil:
		verb := "Querying"
		if r.op == "Scan" {
			verb = "Scanning"
		}
		return nil, validation("One or more parameter values were invalid: ALL_PROJECTED_ATTRIBUTES can be used only when " + verb + " using an IndexName")
	case sel == "ALL_ATTRIBUTES" && ix != nil && ix.global && ix.proj.ProjectionType != "ALL":
		// API reference Query, Select: "ALL_ATTRIBUTES - Returns all of
		// the item attributes from the specified table or index. If you
		// query a local secondary index, then for each matching item in
		// the index, DynamoDB fetches the entire item from the parent
		// table."; a global index has no parent table to fetch from.
		return nil, validation(fmt.Sprintf("One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global secondary index %s because its projection type is not ALL", ix.name))
	}
	if r.keyCond != nil {
		if err := checkKeyCondition(r.keyCond, keys); err != nil {
			return nil, err
		}
		if r.filter != nil {
			if err := checkFilterKeys(r.filter, keys); err != nil {
				return nil, err
			}
		}
	}
	// The order of a page: the index's keys, then the table's (an index
	// may hold several items under one key).
	orderKeys := keys
	if ix != nil {
		for _, k := range t.keys() {
			if !slices.ContainsFunc(orderKeys, func(o keyDef) bool { return o.name == k.name }) {
				orderKeys = append(slices.Clone(orderKeys), k)
			}
		}
	}
	if r.start != nil {
		if err := checkStartKey(r.start, orderKeys); err != nil {
			return nil, err
		}
		// A Query resumes inside what its key condition selects; the key
		// condition reads only key attributes, which the start key has.
		if r.keyCond != nil && !r.keyCond.eval(r.start) {
			return nil, validation("The provided starting key is outside query boundaries based on provided conditions")
		}
	}
	var rows []row
	for _, it := range t.items {
		if ix != nil && !ix.holds(it) {
			continue
		}
		if r.keyCond != nil && !r.keyCond.eval(it) {
			continue
		}
		if r.segments > 1 && segmentOf(it[keys[0].name], r.segments) != r.segment {
			continue
		}
		e := it
		if ix != nil {
			e = ix.entry(t, it)
		}
		rows = append(rows, row{entry: e, full: it})
	}
	slices.SortFunc(rows, func(a, b row) int { return order(a.entry, b.entry, orderKeys) })
	if !r.forward {
		slices.Reverse(rows)
	}
	if r.start != nil {
		i := 0
		for i < len(rows) {
			c := order(rows[i].entry, r.start, orderKeys)
			if r.forward && c > 0 || !r.forward && c < 0 {
				break
			}
			i++
		}
		rows = rows[i:]
	}
	items := []item{}
	scanned, size := 0, 0
	var last item
	for i, rw := range rows {
		n := itemSize(rw.entry)
		if scanned > 0 && size+n > maxPageBytes || r.limit > 0 && scanned == r.limit {
			last = rows[i-1].entry
			break
		}
		scanned++
		size += n
		// A local index fetches what it does not hold from its table.
		local := ix != nil && !ix.global
		seen := rw.entry
		if local {
			seen = rw.full
		}
		if r.filter != nil && !r.filter.eval(seen) {
			continue
		}
		src := rw.entry
		if local && sel != "ALL_PROJECTED_ATTRIBUTES" {
			src = rw.full
		}
		switch sel {
		case "COUNT":
			items = append(items, nil)
		case "SPECIFIC_ATTRIBUTES":
			items = append(items, project(src, r.proj))
		default:
			items = append(items, cloneItem(src))
		}
	}
	out := map[string]any{"Count": len(items), "ScannedCount": scanned}
	if sel != "COUNT" {
		out["Items"] = items
	}
	if last != nil {
		lek := item{}
		for _, k := range orderKeys {
			lek[k.name] = last[k.name]
		}
		out["LastEvaluatedKey"] = lek
	}
	// Developer Guide, "Read consumption for Query": DynamoDB "computes
	// the total size of all items and then rounds up to the next 4 KB
	// boundary"; Scan likewise.
	units := readUnits(size, r.consistent)
	r.capacity.addRead(out, t.name, ix, units)
	return out, nil
}

// checkStartKey requires ExclusiveStartKey to name exactly the key
// attributes of what is read, with their types.
func checkStartKey(start map[string]value, keys []keyDef) error {
	bad := validation("The provided starting key is invalid: The provided key element does not match the schema")
	if len(start) != len(keys) {
		return bad
	}
	for _, k := range keys {
		if v, ok := start[k.name]; !ok || v.kind != k.kind {
			return bad
		}
	}
	return nil
}

// addRead puts a Query's or Scan's ConsumedCapacity in out when c asks for
// it; INDEXES names the index read (API reference ConsumedCapacity:
// GlobalSecondaryIndexes, LocalSecondaryIndexes, "The amount of
// throughput consumed on each ... index affected by the operation").
func (c capacity) addRead(out map[string]any, table string, ix *index, units float64) {
	if ix == nil || c != "INDEXES" {
		c.add(out, table, units)
		return
	}
	member := "LocalSecondaryIndexes"
	if ix.global {
		member = "GlobalSecondaryIndexes"
	}
	out["ConsumedCapacity"] = map[string]any{
		"TableName": table, "CapacityUnits": units, "Table": map[string]any{"CapacityUnits": 0.0},
		member: map[string]any{ix.name: map[string]any{"CapacityUnits": units}},
	}
}
