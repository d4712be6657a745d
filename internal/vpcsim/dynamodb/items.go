package dynamodb

import (
	"fmt"
	"slices"
	"strings"
)

// maxItemSize is DynamoDB's item size limit, 400 KB.
const maxItemSize = 400 * 1024

// placeholders are a request's ExpressionAttributeNames and
// ExpressionAttributeValues with the set of those its expressions used.
type placeholders struct {
	names  map[string]string
	values map[string]value
	used   map[string]bool
	exprs  int
}

// newPlaceholders refuses an empty map before any expression is parsed:
// DynamoDB reports "must not be empty" ahead of an undefined placeholder
// (moto's aws_verified test_update_item_with_empty_values).
func newPlaceholders(names map[string]string, values map[string]value) (*placeholders, error) {
	if names != nil && len(names) == 0 {
		return nil, validation("ExpressionAttributeNames must not be empty")
	}
	if values != nil && len(values) == 0 {
		return nil, validation("ExpressionAttributeValues must not be empty")
	}
	return &placeholders{names: names, values: values, used: map[string]bool{}}, nil
}

func (p *placeholders) condition(src *string) (*cond, error) {
	return p.conditionAs("ConditionExpression", src)
}

// conditionAs parses the condition in the parameter what, nil when absent.
func (p *placeholders) conditionAs(what string, src *string) (*cond, error) {
	if src == nil {
		return nil, nil
	}
	p.exprs++
	return parseConditionAs(what, *src, p.names, p.values, p.used)
}

// check applies DynamoDB's rules on placeholders once every expression of
// the request is parsed.
func (p *placeholders) check() error {
	if p.exprs == 0 {
		if p.names != nil {
			return validation("ExpressionAttributeNames can only be specified when using expressions")
		}
		if p.values != nil {
			return validation("ExpressionAttributeValues can only be specified when using expressions")
		}
	}
	if unused := p.unused(p.names); unused != "" {
		return validation("Value provided in ExpressionAttributeNames unused in expressions: keys: {" + unused + "}")
	}
	if unused := p.unused(p.values); unused != "" {
		return validation("Value provided in ExpressionAttributeValues unused in expressions: keys: {" + unused + "}")
	}
	return nil
}

func (p *placeholders) unused(m any) string {
	var keys []string
	switch m := m.(type) {
	case map[string]string:
		for k := range m {
			if !p.used[k] {
				keys = append(keys, k)
			}
		}
	case map[string]value:
		for k := range m {
			if !p.used[k] {
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	return strings.Join(keys, ", ")
}

type putItemRequest struct {
	legacy
	TableName                           string            `json:"TableName"`
	Item                                map[string]value  `json:"Item"`
	ConditionExpression                 *string           `json:"ConditionExpression"`
	ExpressionAttributeNames            map[string]string `json:"ExpressionAttributeNames"`
	ExpressionAttributeValues           exprValues        `json:"ExpressionAttributeValues"`
	ReturnValues                        string            `json:"ReturnValues"`
	ReturnValuesOnConditionCheckFailure string            `json:"ReturnValuesOnConditionCheckFailure"`
	ReturnConsumedCapacity              capacity          `json:"ReturnConsumedCapacity"`
}

type getItemRequest struct {
	legacy
	TableName                string            `json:"TableName"`
	Key                      map[string]value  `json:"Key"`
	ConsistentRead           bool              `json:"ConsistentRead"`
	ProjectionExpression     *string           `json:"ProjectionExpression"`
	ExpressionAttributeNames map[string]string `json:"ExpressionAttributeNames"`
	ReturnConsumedCapacity   capacity          `json:"ReturnConsumedCapacity"`
}

type updateItemRequest struct {
	legacy
	TableName                           string            `json:"TableName"`
	Key                                 map[string]value  `json:"Key"`
	UpdateExpression                    *string           `json:"UpdateExpression"`
	ConditionExpression                 *string           `json:"ConditionExpression"`
	ExpressionAttributeNames            map[string]string `json:"ExpressionAttributeNames"`
	ExpressionAttributeValues           exprValues        `json:"ExpressionAttributeValues"`
	ReturnValues                        string            `json:"ReturnValues"`
	ReturnValuesOnConditionCheckFailure string            `json:"ReturnValuesOnConditionCheckFailure"`
	ReturnConsumedCapacity              capacity          `json:"ReturnConsumedCapacity"`
}

type deleteItemRequest struct {
	legacy
	TableName                           string            `json:"TableName"`
	Key                                 map[string]value  `json:"Key"`
	ConditionExpression                 *string           `json:"ConditionExpression"`
	ExpressionAttributeNames            map[string]string `json:"ExpressionAttributeNames"`
	ExpressionAttributeValues           exprValues        `json:"ExpressionAttributeValues"`
	ReturnValues                        string            `json:"ReturnValues"`
	ReturnValuesOnConditionCheckFailure string            `json:"ReturnValuesOnConditionCheckFailure"`
	ReturnConsumedCapacity              capacity          `json:"ReturnConsumedCapacity"`
}

// conditionFailed is ConditionalCheckFailedException, carrying the item
// when ReturnValuesOnConditionCheckFailure is ALL_OLD.
type conditionFailed struct {
	apiError
	item item
}

func checkReturnValues(rv string, allowed ...string) error {
	if rv == "" || slices.Contains(allowed, rv) {
		return nil
	}
	return validation("Return values set to invalid value")
}

func checkOnFailure(rv string) error {
	if rv == "" || rv == "NONE" || rv == "ALL_OLD" {
		return nil
	}
	return validation(fmt.Sprintf("1 validation error detected: Value '%s' at 'returnValuesOnConditionCheckFailure' failed to satisfy constraint: Member must satisfy enum value set: [ALL_OLD, NONE]", rv))
}

func (s *Service) tableLocked(name string) (*table, error) {
	name = s.resolveTableName(name)
	if err := validTableName(name); err != nil {
		return nil, err
	}
	t, ok := s.tables[name]
	if !ok {
		return nil, &apiError{"ResourceNotFoundException", "Requested resource not found"}
	}
	return t, nil
}

// DynamoDB's key size limits (Developer Guide, "Quotas": partition key
// value up to 2048 bytes, sort key value up to 1024 bytes).
const (
	maxHashKeyBytes  = 2048
	maxRangeKeyBytes = 1024
)

// itemKey validates a full item's key attributes and returns its key.
func (t *table) itemKey(it item) (string, error) {
	return t.keyOf(it, validation, "One or more parameter values were invalid: An AttributeValue may not contain an empty string. Key: ")
}

// key validates a Key parameter, which must name exactly the key
// attributes; a missing or mistyped one is a schema mismatch.
func (t *table) key(k map[string]value) (string, error) {
	n := 1
	if t.rangeKey != nil {
		n = 2
	}
	mismatch := func(string) *apiError { return validation("The provided key element does not match the schema") }
	if len(k) != n {
		return "", mismatch("")
	}
	return t.keyOf(k, mismatch, "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: ")
}

// keyOf validates the key attributes of it. schema answers a missing or
// mistyped key attribute; emptyMsg words an empty string or binary key
// value, which differs between an item and a Key parameter.
func (t *table) keyOf(it item, schema func(string) *apiError, emptyMsg string) (string, error) {
	defs := []keyDef{t.hashKey}
	if t.rangeKey != nil {
		defs = append(defs, *t.rangeKey)
	}
	vals := make([]value, 0, len(defs))
	for i, d := range defs {
		v, ok := it[d.name]
		if !ok {
			return "", schema("One or more parameter values were invalid: Missing the key " + d.name + " in the item")
		}
		if v.kind != d.kind {
			return "", schema(fmt.Sprintf("One or more parameter values were invalid: Type mismatch for key %s expected: %s actual: %s", d.name, d.kind, v.kind))
		}
		if v.s == "" && v.kind != kindN {
			return "", validation(emptyMsg + d.name)
		}
		// Sic: no space in "limit of2048" (moto's aws_verified
		// test_update_item_with_long_string_hash_key_exception).
		if i == 0 && len(v.s) > maxHashKeyBytes {
			return "", validation(fmt.Sprintf("One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of%d bytes", maxHashKeyBytes))
		}
		if i == 1 && len(v.s) > maxRangeKeyBytes {
			return "", validation(fmt.Sprintf("One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of %d bytes", maxRangeKeyBytes))
		}
		vals = append(vals, v)
	}
	return keyString(vals...), nil
}

func (s *Service) putItem(req *putItemRequest) (any, error) {
	if err := req.ReturnConsumedCapacity.check(); err != nil {
		return nil, err
	}
	if err := checkWrite(req.legacy, exprNames(map[string]*string{"ConditionExpression": req.ConditionExpression}), req.ReturnValues, req.ReturnValuesOnConditionCheckFailure, "NONE", "ALL_OLD"); err != nil {
		return nil, err
	}
	ph, err := newPlaceholders(req.ExpressionAttributeNames, req.ExpressionAttributeValues)
	if err != nil {
		return nil, err
	}
	c, err := ph.condition(req.ConditionExpression)
	if err != nil {
		return nil, err
	}
	if c == nil {
		if c, err = req.legacy.condition(); err != nil {
			return nil, err
		}
	}
	if err := ph.check(); err != nil {
		return nil, err
	}
	if itemSize(req.Item) > maxItemSize {
		return nil, validation("Item size has exceeded the maximum allowed size")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, k, old, err := s.conditionalLocked(req.TableName, func(t *table) (string, error) {
		k, err := t.itemKey(req.Item)
		if err != nil {
			return "", err
		}
		return k, t.checkIndexKeys(req.Item, false)
	}, c, req.ReturnValuesOnConditionCheckFailure)
	if err != nil {
		return nil, err
	}
	t.items[k] = cloneItem(req.Item)
	out := req.ReturnConsumedCapacity.add(map[string]any{}, t.name, writeUnits(itemSize(old), itemSize(req.Item)))
	if req.ReturnValues == "ALL_OLD" && old != nil {
		out["Attributes"] = old
	}
	return out, nil
}

// checkWrite checks what PutItem, UpdateItem and DeleteItem share before
// their expressions are parsed: no legacy parameters, ReturnValues among
// allowed, a valid ReturnValuesOnConditionCheckFailure.
func checkWrite(l legacy, exprs []string, returnValues, onFailure string, allowed ...string) error {
	if err := l.check(exprs...); err != nil {
		return err
	}
	if err := checkReturnValues(returnValues, allowed...); err != nil {
		return err
	}
	return checkOnFailure(onFailure)
}

// conditionalLocked finds, with s.mu held, the table a write names, the
// key keyOf reads from the request and the item stored there (nil when
// none), and answers ConditionalCheckFailedException when c does not hold
// for that item.
func (s *Service) conditionalLocked(tableName string, keyOf func(*table) (string, error), c *cond, onFailure string) (*table, string, item, error) {
	t, err := s.tableLocked(tableName)
	if err != nil {
		return nil, "", nil, err
	}
	k, err := keyOf(t)
	if err != nil {
		return nil, "", nil, err
	}
	old := t.items[k]
	if c != nil && !c.eval(old) {
		return nil, "", nil, failed(old, onFailure)
	}
	return t, k, old, nil
}

func failed(old item, onFailure string) error {
	e := &conditionFailed{apiError: apiError{"ConditionalCheckFailedException", "The conditional request failed"}}
	if onFailure == "ALL_OLD" {
		e.item = cloneItem(old)
	}
	return e
}

func (s *Service) getItem(req *getItemRequest) (any, error) {
	if err := req.ReturnConsumedCapacity.check(); err != nil {
		return nil, err
	}
	if err := req.legacy.check(exprNames(map[string]*string{"ProjectionExpression": req.ProjectionExpression})...); err != nil {
		return nil, err
	}
	ph, err := newPlaceholders(req.ExpressionAttributeNames, nil)
	if err != nil {
		return nil, err
	}
	var proj []docPath
	if req.ProjectionExpression != nil {
		ph.exprs++
		var err error
		if proj, err = parseProjection(*req.ProjectionExpression, req.ExpressionAttributeNames, ph.used); err != nil {
			return nil, err
		}
	}
	if err := ph.check(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tableLocked(req.TableName)
	if err != nil {
		return nil, err
	}
	k, err := t.key(req.Key)
	if err != nil {
		return nil, err
	}
	// Every read is strongly consistent: ConsistentRead changes nothing.
	it, ok := t.items[k]
	out := req.ReturnConsumedCapacity.add(map[string]any{}, t.name, readUnits(itemSize(it), req.ConsistentRead))
	switch {
	case !ok:
	case proj != nil:
		out["Item"] = project(it, proj)
	default:
		out["Item"] = cloneItem(it)
	}
	return out, nil
}

func (s *Service) updateItem(req *updateItemRequest) (any, error) {
	if err := req.ReturnConsumedCapacity.check(); err != nil {
		return nil, err
	}
	if err := checkWrite(req.legacy, exprNames(map[string]*string{"UpdateExpression": req.UpdateExpression, "ConditionExpression": req.ConditionExpression}), req.ReturnValues, req.ReturnValuesOnConditionCheckFailure, "NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"); err != nil {
		return nil, err
	}
	ph, err := newPlaceholders(req.ExpressionAttributeNames, req.ExpressionAttributeValues)
	if err != nil {
		return nil, err
	}
	u := &update{}
	if req.UpdateExpression != nil {
		ph.exprs++
		var err error
		if u, err = parseUpdate(*req.UpdateExpression, ph.names, ph.values, ph.used); err != nil {
			return nil, err
		}
	}
	c, err := ph.condition(req.ConditionExpression)
	if err != nil {
		return nil, err
	}
	if c == nil {
		if c, err = req.legacy.condition(); err != nil {
			return nil, err
		}
	}
	if err := ph.check(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, k, old, err := s.conditionalLocked(req.TableName, func(t *table) (string, error) { return t.key(req.Key) }, c, req.ReturnValuesOnConditionCheckFailure)
	if err != nil {
		return nil, err
	}
	keys := []string{t.hashKey.name}
	if t.rangeKey != nil {
		keys = append(keys, t.rangeKey.name)
	}
	next, err := u.apply(old, keys)
	if err != nil {
		return nil, err
	}
	for name, v := range req.Key {
		next[name] = v
	}
	if itemSize(next) > maxItemSize {
		return nil, validation("Item size to update has exceeded the maximum allowed size")
	}
	if err := t.checkIndexKeys(next, true); err != nil {
		return nil, err
	}
	t.items[k] = next
	var attrs item
	switch req.ReturnValues {
	case "ALL_OLD":
		attrs = cloneItem(old)
	case "ALL_NEW":
		attrs = cloneItem(next)
	case "UPDATED_OLD", "UPDATED_NEW":
		// Only the updated paths, nested parts as a projection returns
		// them (API reference UpdateItem, ReturnValues: "UPDATED_NEW -
		// Returns only the updated attributes, as they appear after the
		// UpdateItem operation").
		src := old
		if req.ReturnValues == "UPDATED_NEW" {
			src = next
		}
		attrs = project(src, updatedPaths(u.paths()))
	}
	out := req.ReturnConsumedCapacity.add(map[string]any{}, t.name, writeUnits(itemSize(old), itemSize(next)))
	if len(attrs) > 0 {
		out["Attributes"] = attrs
	}
	return out, nil
}

// updatedPaths are the paths UPDATED_OLD and UPDATED_NEW return: a path
// into a map as written, one into a list as the whole list, since an
// update may shift the list's elements.
func updatedPaths(paths []docPath) []docPath {
	out := make([]docPath, 0, len(paths))
	for _, p := range paths {
		if i := slices.IndexFunc(p, func(e pathElem) bool { return e.isIdx }); i > 0 {
			p = p[:i]
		}
		out = append(out, p)
	}
	return out
}

func (s *Service) deleteItem(req *deleteItemRequest) (any, error) {
	if err := req.ReturnConsumedCapacity.check(); err != nil {
		return nil, err
	}
	if err := checkWrite(req.legacy, exprNames(map[string]*string{"ConditionExpression": req.ConditionExpression}), req.ReturnValues, req.ReturnValuesOnConditionCheckFailure, "NONE", "ALL_OLD"); err != nil {
		return nil, err
	}
	ph, err := newPlaceholders(req.ExpressionAttributeNames, req.ExpressionAttributeValues)
	if err != nil {
		return nil, err
	}
	c, err := ph.condition(req.ConditionExpression)
	if err != nil {
		return nil, err
	}
	if c == nil {
		if c, err = req.legacy.condition(); err != nil {
			return nil, err
		}
	}
	if err := ph.check(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, k, old, err := s.conditionalLocked(req.TableName, func(t *table) (string, error) { return t.key(req.Key) }, c, req.ReturnValuesOnConditionCheckFailure)
	if err != nil {
		return nil, err
	}
	delete(t.items, k)
	out := req.ReturnConsumedCapacity.add(map[string]any{}, t.name, writeUnits(itemSize(old), 0))
	if req.ReturnValues == "ALL_OLD" && old != nil {
		out["Attributes"] = old
	}
	return out, nil
}

// itemSize approximates DynamoDB's item size: attribute names plus values
// (UTF-8 bytes for strings, about one byte per two digits for numbers, one
// byte for BOOL and NULL, three bytes of overhead per map or list element).
func itemSize(it item) int {
	n := 0
	for k, v := range it {
		n += len(k) + valueSize(v)
	}
	return n
}

func valueSize(v value) int {
	switch v.kind {
	case kindS, kindB:
		return len(v.s)
	case kindN:
		return (len(v.s)+1)/2 + 1
	case kindBOOL, kindNULL:
		return 1
	case kindM:
		n := 3
		for k, e := range v.m {
			n += len(k) + valueSize(e) + 1
		}
		return n
	case kindL:
		n := 3
		for _, e := range v.l {
			n += valueSize(e) + 1
		}
		return n
	}
	n := 0
	for _, e := range v.set {
		n += len(e)
	}
	return n
}
