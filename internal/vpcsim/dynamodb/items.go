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
	// A key must be written as its placeholder, :name or #name (moto's
	// aws_verified test_scan_with_missing_value).
	for _, k := range sortedKeys(values) {
		if !placeholderKey(k, ':') {
			return nil, validation(fmt.Sprintf("ExpressionAttributeValues contains invalid key: Syntax error; key: %q", k))
		}
	}
	for _, k := range sortedKeys(names) {
		if !placeholderKey(k, '#') {
			return nil, validation(fmt.Sprintf("ExpressionAttributeNames contains invalid key: Syntax error; key: %q", k))
		}
	}
	return &placeholders{names: names, values: values, used: map[string]bool{}}, nil
}

// placeholderKey reports whether k is a placeholder with the given sigil
// followed by one or more letters, digits or underscores.
func placeholderKey(k string, sigil byte) bool {
	if len(k) < 2 || k[0] != sigil {
		return false
	}
	for _, c := range []byte(k[1:]) {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
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

func (s *regionDB) tableLocked(name string) (*table, error) {
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
	return t.keyOf(k, mismatch, emptyKeyParam)
}

// emptyKeyParam words an empty string or binary key value in a Key
// parameter (and in BatchWriteItem's PutRequest).
const emptyKeyParam = "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: "

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

func (s *regionDB) putItem(req *putItemRequest) (any, error) {
	return s.putOrDelete(req.ReturnConsumedCapacity, req.legacy, req.ConditionExpression, req.ReturnValues, req.ReturnValuesOnConditionCheckFailure, req.write)
}

// putOrDelete makes a PutItem or a DeleteItem, which differ only in the
// write they parse: both take a ConditionExpression and no other
// expression, allow ReturnValues NONE or ALL_OLD, and answer with
// ConsumedCapacity when asked and the item before the write under ALL_OLD.
func (s *regionDB) putOrDelete(cc capacity, l legacy, condition *string, returnValues, onFailure string, parse func() (*itemWrite, error)) (any, error) {
	if err := cc.check(); err != nil {
		return nil, err
	}
	if err := checkWrite(l, exprNames(map[string]*string{"ConditionExpression": condition}), returnValues, onFailure, "NONE", "ALL_OLD"); err != nil {
		return nil, err
	}
	w, err := parse()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.writeLocked(w)
	if err != nil {
		return nil, err
	}
	out := cc.addWrite(map[string]any{}, r.t, r.old, r.next)
	if returnValues == "ALL_OLD" && r.old != nil {
		out["Attributes"] = r.old
	}
	return out, nil
}

// write parses a PutItem request, or a transaction's Put, into the write
// it makes.
func (req *putItemRequest) write() (*itemWrite, error) {
	c, err := writeCondition(req.ExpressionAttributeNames, req.ExpressionAttributeValues, req.ConditionExpression, req.legacy)
	if err != nil {
		return nil, err
	}
	if itemSize(req.Item) > maxItemSize {
		return nil, validation("Item size has exceeded the maximum allowed size")
	}
	return &itemWrite{
		tableName: req.TableName,
		key: func(t *table) (string, error) {
			k, err := t.itemKey(req.Item)
			if err != nil {
				return "", err
			}
			return k, t.checkIndexKeys(req.Item, false)
		},
		cond:      c,
		onFailure: req.ReturnValuesOnConditionCheckFailure,
		change:    func(*table, item) (item, error) { return cloneItem(req.Item), nil },
	}, nil
}

// writeCondition parses the condition of a write that takes no expression
// but its ConditionExpression (PutItem, DeleteItem, a transaction's
// ConditionCheck): the expression or, without one, the legacy Expected and
// ConditionalOperator in l; then it refuses unused placeholders.
func writeCondition(names map[string]string, values map[string]value, expr *string, l legacy) (*cond, error) {
	ph, err := newPlaceholders(names, values)
	if err != nil {
		return nil, err
	}
	c, err := ph.condition(expr)
	if err != nil {
		return nil, err
	}
	if c == nil {
		if c, err = l.condition(); err != nil {
			return nil, err
		}
	}
	if err := ph.check(); err != nil {
		return nil, err
	}
	return c, nil
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

// itemWrite is what one PutItem, UpdateItem or DeleteItem, or one action of
// TransactWriteItems, does to one item, parsed and validated as far as it
// can be without the table.
type itemWrite struct {
	tableName string
	// key validates the request's key against the table's schema.
	key       func(*table) (string, error)
	cond      *cond
	onFailure string
	// change makes the item after the write from the one before (nil when
	// there is none); a nil item deletes it. A nil change writes nothing
	// (a transaction's ConditionCheck).
	change func(t *table, old item) (item, error)
}

// locatedWrite is an itemWrite with its table, key and the item stored
// there (nil when none), and after evaluation the item it leaves.
type locatedWrite struct {
	w    *itemWrite
	t    *table
	k    string
	old  item
	next item
}

// locateLocked finds, with s.mu held, the table and the item w names.
func (s *regionDB) locateLocked(w *itemWrite) (*locatedWrite, error) {
	t, err := s.tableLocked(w.tableName)
	if err != nil {
		return nil, err
	}
	k, err := w.key(t)
	if err != nil {
		return nil, err
	}
	return &locatedWrite{w: w, t: t, k: k, old: t.items[k]}, nil
}

// evaluate answers ConditionalCheckFailedException when the write's
// condition does not hold for the stored item, and otherwise computes the
// item the write leaves.
func (r *locatedWrite) evaluate() error {
	if r.w.cond != nil && !r.w.cond.eval(r.old) {
		return failed(r.old, r.w.onFailure)
	}
	if r.w.change == nil {
		r.next = r.old
		return nil
	}
	next, err := r.w.change(r.t, r.old)
	if err != nil {
		return err
	}
	r.next = next
	return nil
}

// commit stores the item the write leaves.
func (r *locatedWrite) commit() {
	switch {
	case r.w.change == nil:
	case r.next == nil:
		delete(r.t.items, r.k)
	default:
		r.t.items[r.k] = r.next
	}
}

// writeLocked makes one write with s.mu held.
func (s *regionDB) writeLocked(w *itemWrite) (*locatedWrite, error) {
	r, err := s.locateLocked(w)
	if err != nil {
		return nil, err
	}
	if err := r.evaluate(); err != nil {
		return nil, err
	}
	r.commit()
	return r, nil
}

func failed(old item, onFailure string) error {
	e := &conditionFailed{apiError: apiError{"ConditionalCheckFailedException", "The conditional request failed"}}
	if onFailure == "ALL_OLD" {
		e.item = cloneItem(old)
	}
	return e
}

func (s *regionDB) getItem(req *getItemRequest) (any, error) {
	if err := req.ReturnConsumedCapacity.check(); err != nil {
		return nil, err
	}
	if err := req.legacy.check(exprNames(map[string]*string{"ProjectionExpression": req.ProjectionExpression})...); err != nil {
		return nil, err
	}
	proj, err := readProjection(req.ProjectionExpression, req.ExpressionAttributeNames)
	if err != nil {
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
	out := req.ReturnConsumedCapacity.add(map[string]any{}, t.name, readUnits(itemSize(t.items[k]), req.ConsistentRead))
	if it := t.read(k, proj); it != nil {
		out["Item"] = it
	}
	return out, nil
}

// readProjection parses the ProjectionExpression of a read with its
// ExpressionAttributeNames; nil when the read has none.
func readProjection(src *string, names map[string]string) ([]docPath, error) {
	ph, err := newPlaceholders(names, nil)
	if err != nil {
		return nil, err
	}
	var proj []docPath
	if src != nil {
		ph.exprs++
		if proj, err = parseProjection(*src, names, ph.used); err != nil {
			return nil, err
		}
	}
	return proj, ph.check()
}

// read returns the item of t at k as a read with projection proj returns
// it; nil when there is none.
func (t *table) read(k string, proj []docPath) item {
	it, ok := t.items[k]
	switch {
	case !ok:
		return nil
	case proj != nil:
		return project(it, proj)
	}
	return cloneItem(it)
}

func (s *regionDB) updateItem(req *updateItemRequest) (any, error) {
	if err := req.ReturnConsumedCapacity.check(); err != nil {
		return nil, err
	}
	if err := checkWrite(req.legacy, exprNames(map[string]*string{"UpdateExpression": req.UpdateExpression, "ConditionExpression": req.ConditionExpression}), req.ReturnValues, req.ReturnValuesOnConditionCheckFailure, "NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"); err != nil {
		return nil, err
	}
	w, u, err := req.write()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.writeLocked(w)
	if err != nil {
		return nil, err
	}
	old, next := r.old, r.next
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
	out := req.ReturnConsumedCapacity.addWrite(map[string]any{}, r.t, old, next)
	if len(attrs) > 0 {
		out["Attributes"] = attrs
	}
	return out, nil
}

// write parses an UpdateItem request, or a transaction's Update, into the
// write it makes and its update expression.
func (req *updateItemRequest) write() (*itemWrite, *update, error) {
	ph, err := newPlaceholders(req.ExpressionAttributeNames, req.ExpressionAttributeValues)
	if err != nil {
		return nil, nil, err
	}
	u := &update{}
	switch {
	case req.UpdateExpression != nil:
		ph.exprs++
		if u, err = parseUpdate(*req.UpdateExpression, ph.names, ph.values, ph.used); err != nil {
			return nil, nil, err
		}
	case req.AttributeUpdates != nil:
		if u, err = req.legacy.update(); err != nil {
			return nil, nil, err
		}
	}
	c, err := ph.condition(req.ConditionExpression)
	if err != nil {
		return nil, nil, err
	}
	if c == nil {
		if c, err = req.legacy.condition(); err != nil {
			return nil, nil, err
		}
	}
	if err := ph.check(); err != nil {
		return nil, nil, err
	}
	change := func(t *table, old item) (item, error) {
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
		return next, nil
	}
	return &itemWrite{
		tableName: req.TableName,
		key:       func(t *table) (string, error) { return t.key(req.Key) },
		cond:      c,
		onFailure: req.ReturnValuesOnConditionCheckFailure,
		change:    change,
	}, u, nil
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

// deleteItem is putOrDelete with a write that leaves no item, so the
// capacity it reports is that of the old item alone.
func (s *regionDB) deleteItem(req *deleteItemRequest) (any, error) {
	return s.putOrDelete(req.ReturnConsumedCapacity, req.legacy, req.ConditionExpression, req.ReturnValues, req.ReturnValuesOnConditionCheckFailure, req.write)
}

// write parses a DeleteItem request, or a transaction's Delete, into the
// write it makes.
func (req *deleteItemRequest) write() (*itemWrite, error) {
	c, err := writeCondition(req.ExpressionAttributeNames, req.ExpressionAttributeValues, req.ConditionExpression, req.legacy)
	if err != nil {
		return nil, err
	}
	return &itemWrite{
		tableName: req.TableName,
		key:       func(t *table) (string, error) { return t.key(req.Key) },
		cond:      c,
		onFailure: req.ReturnValuesOnConditionCheckFailure,
		change:    func(*table, item) (item, error) { return nil, nil },
	}, nil
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
