package dynamodb

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Secondary indexes: global (GSI) and local (LSI), as CreateTable declares
// them and UpdateTable's GlobalSecondaryIndexUpdates change them. An index
// is not stored apart from its table: Query and Scan read it from the
// table's items when they run, so an index is always as current as its
// table (on AWS a GSI is eventually consistent).

// Limits from the Developer Guide, "Service, account, and table quotas in
// Amazon DynamoDB": "You can define a maximum of 5 local secondary indexes"
// per table, a default quota of 20 global secondary indexes per table, and
// NonKeyAttributes summed over a table's indexes "must not exceed 100"
// (API reference Projection).
const (
	maxGSIs             = 20
	maxLSIs             = 5
	maxProjectedAttrs   = 100
	maxNonKeyAttributes = 20
)

type projection struct {
	ProjectionType   string   `json:"ProjectionType,omitempty"`
	NonKeyAttributes []string `json:"NonKeyAttributes,omitempty"`
}

// indexRequest is one element of CreateTable's GlobalSecondaryIndexes or
// LocalSecondaryIndexes, or UpdateTable's Create action.
type indexRequest struct {
	IndexName             string          `json:"IndexName"`
	KeySchema             []keySchemaElem `json:"KeySchema"`
	Projection            *projection     `json:"Projection"`
	ProvisionedThroughput *throughput     `json:"ProvisionedThroughput"`
	WarmThroughput        *warmThroughput `json:"WarmThroughput"`
	// OnDemandThroughput (maximum request units) is not modelled and is
	// refused rather than ignored.
	OnDemandThroughput json.RawMessage `json:"OnDemandThroughput"`
}

type index struct {
	name     string
	global   bool
	hashKey  keyDef
	rangeKey *keyDef
	proj     projection
	// rcu and wcu are a GSI's provisioned throughput, zero on an
	// on-demand table.
	rcu, wcu            int64
	warmRead, warmWrite int64
}

// keys are the index's key attributes, hash first.
func (ix *index) keys() []keyDef {
	if ix.rangeKey == nil {
		return []keyDef{ix.hashKey}
	}
	return []keyDef{ix.hashKey, *ix.rangeKey}
}

func (ix *index) keySchema() []keySchemaElem {
	ks := []keySchemaElem{{ix.hashKey.name, "HASH"}}
	if ix.rangeKey != nil {
		ks = append(ks, keySchemaElem{ix.rangeKey.name, "RANGE"})
	}
	return ks
}

// holds reports whether it appears in the index: only items that have
// every index key attribute do (Developer Guide, "Take advantage of sparse
// indexes": "If the sort key doesn't appear in every table item, the index
// is said to be sparse").
func (ix *index) holds(it item) bool {
	for _, k := range ix.keys() {
		if v, ok := it[k.name]; !ok || v.kind != k.kind {
			return false
		}
	}
	return true
}

// entry is what the index stores of it: the table's and the index's key
// attributes and the projected attributes (API reference Projection:
// "KEYS_ONLY - Only the index and primary keys are projected into the
// index. INCLUDE - In addition to the attributes described in KEYS_ONLY,
// the secondary index will include other non-key attributes that you
// specify. ALL - All of the table attributes are projected into the
// index."). The entry shares values with it: callers clone what they hand
// out.
func (ix *index) entry(t *table, it item) item {
	if ix.proj.ProjectionType == "ALL" {
		return it
	}
	out := item{}
	keep := func(name string) {
		if v, ok := it[name]; ok {
			out[name] = v
		}
	}
	for _, k := range slices.Concat(t.keys(), ix.keys()) {
		keep(k.name)
	}
	for _, n := range ix.proj.NonKeyAttributes {
		keep(n)
	}
	return out
}

// keys are the table's key attributes, hash first.
func (t *table) keys() []keyDef {
	if t.rangeKey == nil {
		return []keyDef{t.hashKey}
	}
	return []keyDef{t.hashKey, *t.rangeKey}
}

func (t *table) index(name string) *index {
	for _, ix := range t.indexes {
		if ix.name == name {
			return ix
		}
	}
	return nil
}

// indexPath is where a validation message points at an index's members,
// e.g. globalSecondaryIndexes.1.member.
func indexPath(global bool, i int) string {
	if global {
		return fmt.Sprintf("globalSecondaryIndexes.%d.member.", i+1)
	}
	return fmt.Sprintf("localSecondaryIndexes.%d.member.", i+1)
}

// buildIndex checks one index of a table whose keys, attribute types and
// billing mode are set, as DynamoDB checks it, and returns it.
func (t *table) buildIndex(req indexRequest, global bool, at string, defs map[string]kind) (*index, error) {
	const head = "One or more parameter values were invalid: "
	if len(req.IndexName) < 3 || len(req.IndexName) > 255 {
		return nil, validation(fmt.Sprintf("1 validation error detected: Value '%s' at '%sindexName' failed to satisfy constraint: Member must have length greater than or equal to 3", req.IndexName, at))
	}
	for _, c := range req.IndexName {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return nil, validation(fmt.Sprintf("1 validation error detected: Value '%s' at '%sindexName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+", req.IndexName, at))
		}
	}
	if len(req.KeySchema) == 0 || len(req.KeySchema) > 2 {
		return nil, validation(fmt.Sprintf("1 validation error detected: Value '%s' at '%skeySchema' failed to satisfy constraint: Member must have length less than or equal to 2", keySchemaString(req.KeySchema), at))
	}
	if set(req.OnDemandThroughput) {
		return nil, validation("vpcsim does not model an index's OnDemandThroughput")
	}
	if req.Projection == nil {
		return nil, validation(fmt.Sprintf("1 validation error detected: Value null at '%sprojection' failed to satisfy constraint: Member must not be null", at))
	}
	ix := &index{name: req.IndexName, global: global, proj: *req.Projection}
	for i, k := range req.KeySchema {
		kd := keyDef{k.AttributeName, defs[k.AttributeName]}
		switch {
		case i == 0 && k.KeyType == "HASH":
			ix.hashKey = kd
		case i == 1 && k.KeyType == "RANGE":
			ix.rangeKey = &kd
		default:
			return nil, validation("Invalid KeySchema: The first KeySchemaElement is not a HASH key type")
		}
	}
	switch ix.proj.ProjectionType {
	case "ALL", "KEYS_ONLY":
		if len(ix.proj.NonKeyAttributes) > 0 {
			return nil, validation(head + "ProjectionType is " + ix.proj.ProjectionType + ", but NonKeyAttributes is specified")
		}
	case "INCLUDE":
		if len(ix.proj.NonKeyAttributes) > maxNonKeyAttributes {
			return nil, validation(fmt.Sprintf("1 validation error detected: Value '[%s]' at '%sprojection.nonKeyAttributes' failed to satisfy constraint: Member must have length less than or equal to %d", strings.Join(ix.proj.NonKeyAttributes, ", "), at, maxNonKeyAttributes))
		}
	case "":
		return nil, validation(head + "Unknown ProjectionType: null")
	default:
		return nil, validation(fmt.Sprintf("1 validation error detected: Value '%s' at '%sprojection.projectionType' failed to satisfy constraint: Member must satisfy enum value set: [ALL, INCLUDE, KEYS_ONLY]", ix.proj.ProjectionType, at))
	}
	if !global {
		// Developer Guide, "Local secondary indexes": "A local secondary
		// index has the same partition key as its base table, but a
		// different sort key."
		if t.rangeKey == nil {
			return nil, validation(head + "Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex")
		}
		if ix.hashKey.name != t.hashKey.name {
			return nil, validation(fmt.Sprintf(head+"Index KeySchema does not have the same leading hash key as table KeySchema for index: %s. index hash key: %s, table hash key: %s", ix.name, ix.hashKey.name, t.hashKey.name))
		}
		if ix.rangeKey == nil {
			return nil, validation(head + "Index KeySchema does not have a range key for index: " + ix.name)
		}
		return ix, nil
	}
	pt := req.ProvisionedThroughput
	switch t.billing {
	case "PAY_PER_REQUEST":
		// API reference ProvisionedThroughput: "You must use
		// ProvisionedThroughput or OnDemandThroughput based on your
		// table's capacity mode"; "If read/write capacity mode is
		// PAY_PER_REQUEST the value is set to 0."
		if pt != nil {
			return nil, validation(head + "ProvisionedThroughput should not be specified for index: " + ix.name + " when BillingMode is PAY_PER_REQUEST")
		}
		ix.warmRead, ix.warmWrite = onDemandWarmRead, onDemandWarmWrite
	default:
		if pt == nil || pt.ReadCapacityUnits == nil || pt.WriteCapacityUnits == nil {
			return nil, validation(head + "ProvisionedThroughput must be specified for index: " + ix.name)
		}
		ix.rcu, ix.wcu = *pt.ReadCapacityUnits, *pt.WriteCapacityUnits
		if ix.rcu < 1 || ix.wcu < 1 {
			return nil, validation(head + "Provisioned throughput values must be at least 1")
		}
	}
	if w := req.WarmThroughput; w != nil {
		if w.ReadUnitsPerSecond != nil {
			if t.billing == "PAY_PER_REQUEST" && *w.ReadUnitsPerSecond < onDemandWarmRead {
				return nil, validation(head + "Requested ReadUnitsPerSecond for WarmThroughput for index " + ix.name + " is lower than initial throughput for OnDemand")
			}
			ix.warmRead = *w.ReadUnitsPerSecond
		}
		if w.WriteUnitsPerSecond != nil {
			if t.billing == "PAY_PER_REQUEST" && *w.WriteUnitsPerSecond < onDemandWarmWrite {
				return nil, validation(head + "Requested WriteUnitsPerSecond for WarmThroughput for index " + ix.name + " is lower than initial throughput for OnDemand")
			}
			ix.warmWrite = *w.WriteUnitsPerSecond
		}
	}
	return ix, nil
}

// buildIndexes checks CreateTable's indexes against t (keys, attribute
// types and billing mode set) and records them.
func (t *table) buildIndexes(req *createTableRequest) error {
	const head = "One or more parameter values were invalid: "
	if len(req.GlobalSecondaryIndexes) > maxGSIs {
		return validation(fmt.Sprintf(head+"GlobalSecondaryIndex count exceeds the per-table limit of %d", maxGSIs))
	}
	if len(req.LocalSecondaryIndexes) > maxLSIs {
		return validation(fmt.Sprintf(head+"LocalSecondaryIndex count exceeds the per-table limit of %d", maxLSIs))
	}
	defs := map[string]kind{}
	for _, d := range req.AttributeDefinitions {
		defs[d.AttributeName] = d.AttributeType
	}
	seen := map[string]bool{}
	for _, global := range []bool{false, true} {
		list := req.LocalSecondaryIndexes
		if global {
			list = req.GlobalSecondaryIndexes
		}
		for i, r := range list {
			ix, err := t.buildIndex(r, global, indexPath(global, i), defs)
			if err != nil {
				return err
			}
			if seen[ix.name] {
				return validation(head + "Duplicate index name: " + ix.name)
			}
			seen[ix.name] = true
			t.indexes = append(t.indexes, ix)
		}
	}
	return checkProjectedCount(t.indexes)
}

func checkProjectedCount(ixs []*index) error {
	n := 0
	for _, ix := range ixs {
		n += len(ix.proj.NonKeyAttributes)
	}
	if n > maxProjectedAttrs {
		return validation(fmt.Sprintf("One or more parameter values were invalid: Number of projected attributes in all indexes exceeds limit of %d, number of projected attributes: %d", maxProjectedAttrs, n))
	}
	return nil
}

// describeIndexes adds GlobalSecondaryIndexes and LocalSecondaryIndexes to
// a TableDescription; a table without indexes of a kind has no member for
// them (API reference TableDescription).
func (t *table) describeIndexes(d map[string]any, arn string) {
	var gsis, lsis []map[string]any
	for _, ix := range t.indexes {
		n, size := 0, 0
		for _, it := range t.items {
			if ix.holds(it) {
				n++
				size += itemSize(ix.entry(t, it))
			}
		}
		desc := map[string]any{
			"IndexName":      ix.name,
			"KeySchema":      ix.keySchema(),
			"Projection":     ix.proj,
			"IndexSizeBytes": size,
			"ItemCount":      n,
			"IndexArn":       arn + "/index/" + ix.name,
		}
		if !ix.global {
			lsis = append(lsis, desc)
			continue
		}
		// Indexes are ACTIVE as soon as they exist, as tables are: the
		// CREATING phase and backfilling are not modelled.
		desc["IndexStatus"] = "ACTIVE"
		desc["ProvisionedThroughput"] = map[string]any{"NumberOfDecreasesToday": 0, "ReadCapacityUnits": ix.rcu, "WriteCapacityUnits": ix.wcu}
		if ix.warmRead > 0 || ix.warmWrite > 0 {
			desc["WarmThroughput"] = map[string]any{"Status": "ACTIVE", "ReadUnitsPerSecond": ix.warmRead, "WriteUnitsPerSecond": ix.warmWrite}
		}
		gsis = append(gsis, desc)
	}
	if gsis != nil {
		d["GlobalSecondaryIndexes"] = gsis
	}
	if lsis != nil {
		d["LocalSecondaryIndexes"] = lsis
	}
}

// checkIndexKeys refuses an item whose index key attributes the indexes
// cannot hold: of another type than the attribute definition, or an empty
// string or binary. An item without an index key attribute is simply left
// out of that index. update words an empty value as an UpdateItem does.
func (t *table) checkIndexKeys(it item, update bool) error {
	for _, ix := range t.indexes {
		for i, k := range ix.keys() {
			v, ok := it[k.name]
			if !ok {
				continue
			}
			// An index key is held to the limits of its role in the
			// index: a table's partition key may be an index's sort key
			// (Developer Guide, "Quotas": partition key values up to 2048
			// bytes, sort key values up to 1024 bytes).
			if i == 0 && len(v.s) > maxHashKeyBytes {
				return validation(fmt.Sprintf("One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of%d bytes", maxHashKeyBytes))
			}
			if i == 1 && len(v.s) > maxRangeKeyBytes {
				return validation(fmt.Sprintf("One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of %d bytes", maxRangeKeyBytes))
			}
			if k.name == t.hashKey.name || t.rangeKey != nil && k.name == t.rangeKey.name {
				continue // checked as the table's key
			}
			if v.kind != k.kind {
				return validation(fmt.Sprintf("One or more parameter values were invalid: Type mismatch for Index Key %s Expected: %s Actual: %s IndexName: %s", k.name, k.kind, v.kind, ix.name))
			}
			if v.s == "" && v.kind != kindN {
				if update {
					return validation("One or more parameter values are not valid. The update expression attempted to update a secondary index key to a value that is not supported. The AttributeValue for a key attribute cannot contain an empty string value.")
				}
				return validation(fmt.Sprintf("One or more parameter values are not valid. A value specified for a secondary index key is not supported. The AttributeValue for a key attribute cannot contain an empty string value. IndexName: %s, IndexKey: %s", ix.name, k.name))
			}
		}
	}
	return nil
}

// indexUnits are the write units a table write consumes on one index.
type indexUnits struct {
	ix    *index
	units float64
}

// indexWrites is what writing next over old (either nil when absent)
// consumes on each index it touches: one write for an entry added,
// removed or changed, two when the index key changes (Developer Guide,
// "Global secondary indexes", writes: "If an update to the table changes
// the value of an indexed key attribute (from A to B), two writes are
// required, one to delete the previous item from the index and another
// write to put the new item into the index"), none when the entry stays
// as it was.
func (t *table) indexWrites(old, next item) []indexUnits {
	var out []indexUnits
	for _, ix := range t.indexes {
		inOld, inNew := old != nil && ix.holds(old), next != nil && ix.holds(next)
		var eo, en item
		if inOld {
			eo = ix.entry(t, old)
		}
		if inNew {
			en = ix.entry(t, next)
		}
		var u float64
		switch {
		case inOld && inNew && order(eo, en, slices.Concat(ix.keys(), t.keys())) != 0:
			u = writeUnits(itemSize(eo), 0) + writeUnits(0, itemSize(en))
		case inOld && inNew && sameItem(eo, en):
		case inOld || inNew:
			u = writeUnits(itemSize(eo), itemSize(en))
		}
		if u > 0 {
			out = append(out, indexUnits{ix, u})
		}
	}
	return out
}

func sameItem(a, b item) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !equal(v, w) {
			return false
		}
	}
	return true
}
