package dynamodb

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// BatchGetItem and BatchWriteItem. Every request is served whole under
// s.mu, so nothing is ever unprocessed for throughput; BatchGetItem leaves
// keys unprocessed only past its response size limit.

// Limits of the batch operations (API reference BatchGetItem: "A single
// operation can retrieve up to 16 MB of data, which can contain as many as
// 100 items"; BatchWriteItem: "up to 25 item put or delete operations").
const (
	maxBatchGet      = 100
	maxBatchWrite    = 25
	maxBatchGetBytes = 16 << 20
)

type keysAndAttributes struct {
	legacy
	Keys                     []map[string]value `json:"Keys"`
	ProjectionExpression     *string            `json:"ProjectionExpression"`
	ExpressionAttributeNames map[string]string  `json:"ExpressionAttributeNames"`
	ConsistentRead           *bool              `json:"ConsistentRead"`
}

type batchGetRequest struct {
	RequestItems           map[string]*keysAndAttributes `json:"RequestItems"`
	ReturnConsumedCapacity capacity                      `json:"ReturnConsumedCapacity"`
}

// requestTables checks what BatchGetItem and BatchWriteItem share before
// their tables' requests: ReturnConsumedCapacity, and RequestItems naming
// at least one table. It answers the table names in name order, so that
// what a response leaves unprocessed does not depend on map order.
func requestTables[T any](cc capacity, items map[string]T) ([]string, error) {
	if err := cc.check(); err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, validation("1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	return slices.Sorted(maps.Keys(items)), nil
}

func (s *regionDB) batchGetItem(req *batchGetRequest) (any, error) {
	names, err := requestTables(req.ReturnConsumedCapacity, req.RequestItems)
	if err != nil {
		return nil, err
	}
	total := 0
	projs := map[string][]docPath{}
	for _, name := range names {
		ka := req.RequestItems[name]
		if ka == nil || len(ka.Keys) == 0 {
			return nil, validation(fmt.Sprintf("1 validation error detected: Value at 'requestItems.%s.member.keys' failed to satisfy constraint: Member must have length greater than or equal to 1", name))
		}
		if len(ka.Keys) > maxBatchGet {
			return nil, validation(fmt.Sprintf("1 validation error detected: Value at 'requestItems.%s.member.keys' failed to satisfy constraint: Member must have length less than or equal to %d", name, maxBatchGet))
		}
		total += len(ka.Keys)
	}
	if total > maxBatchGet {
		return nil, validation("Too many items requested for the BatchGetItem call")
	}
	for _, name := range names {
		ka := req.RequestItems[name]
		if err := ka.legacy.check(exprNames(map[string]*string{"ProjectionExpression": ka.ProjectionExpression})...); err != nil {
			return nil, err
		}
		p, err := readProjection(ka.ProjectionExpression, ka.ExpressionAttributeNames)
		if err != nil {
			return nil, err
		}
		projs[name] = p
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	tables := map[string]*table{}
	keys := map[string][]string{}
	for _, name := range names {
		t, err := s.tableLocked(name)
		if err != nil {
			return nil, err
		}
		tables[name] = t
		if err := checkDuplicates(t, req.RequestItems[name].Keys); err != nil {
			return nil, err
		}
		for _, key := range req.RequestItems[name].Keys {
			k, err := t.key(key)
			if err != nil {
				return nil, err
			}
			keys[name] = append(keys[name], k)
		}
	}
	responses := map[string][]item{}
	unprocessed := map[string]any{}
	var u tableUnits
	size := 0
	for _, name := range names {
		ka, t := req.RequestItems[name], tables[name]
		responses[name] = []item{}
		var left []map[string]value
		for i, k := range keys[name] {
			if left != nil {
				left = append(left, ka.Keys[i])
				continue
			}
			n := itemSize(t.items[k])
			if size+n > maxBatchGetBytes {
				// API reference BatchGetItem: "BatchGetItem returns a
				// partial result if the response size limit is exceeded
				// ... and returns an appropriate UnprocessedKeys value".
				left = append(left, ka.Keys[i])
				continue
			}
			size += n
			u.add(t.name, readUnits(n, ka.ConsistentRead != nil && *ka.ConsistentRead))
			if it := t.read(k, projs[name]); it != nil {
				responses[name] = append(responses[name], it)
			}
		}
		if left != nil {
			rest := map[string]any{"Keys": left}
			if ka.ProjectionExpression != nil {
				rest["ProjectionExpression"] = *ka.ProjectionExpression
			}
			if ka.ExpressionAttributeNames != nil {
				rest["ExpressionAttributeNames"] = ka.ExpressionAttributeNames
			}
			if ka.ConsistentRead != nil {
				rest["ConsistentRead"] = *ka.ConsistentRead
			}
			unprocessed[name] = rest
		}
	}
	out := map[string]any{"Responses": responses, "UnprocessedKeys": unprocessed}
	return req.ReturnConsumedCapacity.addList(out, &u, ""), nil
}

type writeRequest struct {
	PutRequest *struct {
		Item map[string]value `json:"Item"`
	} `json:"PutRequest"`
	DeleteRequest *struct {
		Key map[string]value `json:"Key"`
	} `json:"DeleteRequest"`
}

type batchWriteRequest struct {
	RequestItems                map[string][]writeRequest `json:"RequestItems"`
	ReturnConsumedCapacity      capacity                  `json:"ReturnConsumedCapacity"`
	ReturnItemCollectionMetrics string                    `json:"ReturnItemCollectionMetrics"`
}

// checkDuplicates refuses a batch that names one item twice in a table.
// DynamoDB compares the values given for the table's key attributes before
// it checks them against the key schema: two keys with a NULL sort key
// (Dynamoid/dynamoid issue 510) and two keys without the partition key
// (dynamoose/dynamoose issue 1383) are each answered "Provided list of item
// keys contains duplicates", not a schema error.
func checkDuplicates(t *table, keys []map[string]value) error {
	seen := map[string]bool{}
	for _, it := range keys {
		k := t.keyProjection(it)
		if seen[k] {
			return validation("Provided list of item keys contains duplicates")
		}
		seen[k] = true
	}
	return nil
}

// keyProjection encodes the values it gives for t's key attributes, as
// given (an absent one as absent), with numbers normalized as decoded.
func (t *table) keyProjection(it map[string]value) string {
	defs := []keyDef{t.hashKey}
	if t.rangeKey != nil {
		defs = append(defs, *t.rangeKey)
	}
	var b strings.Builder
	for _, d := range defs {
		v, ok := it[d.name]
		if !ok {
			b.WriteString("absent|")
			continue
		}
		j, err := json.Marshal(v)
		if err != nil {
			// A decoded value always encodes.
			panic(err)
		}
		b.Write(j)
		b.WriteByte('|')
	}
	return b.String()
}

// write is the unconditional write of one PutRequest or DeleteRequest.
func (r *writeRequest) write(tableName string) (*itemWrite, error) {
	switch {
	case (r.PutRequest == nil) == (r.DeleteRequest == nil):
		return nil, validation("Supplied WriteRequest must contain exactly one of PutRequest or DeleteRequest")
	case r.PutRequest != nil:
		it := r.PutRequest.Item
		if itemSize(it) > maxItemSize {
			return nil, validation("Item size has exceeded the maximum allowed size")
		}
		return &itemWrite{
			tableName: tableName,
			// An empty key value is worded as in a Key parameter (moto's
			// test_batch_put_item_with_empty_value).
			key: func(t *table) (string, error) {
				k, err := t.keyOf(it, validation, emptyKeyParam)
				if err != nil {
					return "", err
				}
				return k, t.checkIndexKeys(it, false)
			},
			change: func(*table, item) (item, error) { return cloneItem(it), nil },
		}, nil
	}
	key := r.DeleteRequest.Key
	return &itemWrite{
		tableName: tableName,
		key:       func(t *table) (string, error) { return t.key(key) },
		change:    func(*table, item) (item, error) { return nil, nil },
	}, nil
}

func (s *regionDB) batchWriteItem(req *batchWriteRequest) (any, error) {
	names, err := requestTables(req.ReturnConsumedCapacity, req.RequestItems)
	if err != nil {
		return nil, err
	}
	total := 0
	for _, name := range names {
		n := len(req.RequestItems[name])
		if n == 0 || n > maxBatchWrite {
			return nil, validation(fmt.Sprintf("1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to %d, Member must have length greater than or equal to 1]", maxBatchWrite))
		}
		total += n
	}
	if total > maxBatchWrite {
		// API reference BatchWriteItem: rejected when "There are more
		// than 25 requests in the batch".
		return nil, validation("Too many items requested for the BatchWriteItem call")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Every table first: a missing one fails the request before any of
	// its items is looked at (moto's test_batch_write_item_non_existing_table
	// sends an empty Item).
	for _, name := range names {
		if _, err := s.tableLocked(name); err != nil {
			return nil, err
		}
	}
	var located []*locatedWrite
	for _, name := range names {
		writes := make([]*itemWrite, len(req.RequestItems[name]))
		keys := make([]map[string]value, len(writes))
		for i, wr := range req.RequestItems[name] {
			w, err := wr.write(name)
			if err != nil {
				return nil, err
			}
			writes[i] = w
			if wr.PutRequest != nil {
				keys[i] = wr.PutRequest.Item
			} else {
				keys[i] = wr.DeleteRequest.Key
			}
		}
		// API reference BatchWriteItem: DynamoDB rejects the entire batch
		// when "You try to perform multiple operations on the same item
		// in the same BatchWriteItem request".
		t, _ := s.tableLocked(name)
		if err := checkDuplicates(t, keys); err != nil {
			return nil, err
		}
		for _, w := range writes {
			r, err := s.locateLocked(w)
			if err != nil {
				return nil, err
			}
			located = append(located, r)
		}
	}
	var u tableUnits
	for _, r := range located {
		if err := r.evaluate(); err != nil {
			return nil, err
		}
		r.commit()
		u.add(r.t.name, writeUnits(itemSize(r.old), itemSize(r.next)))
	}
	return req.ReturnConsumedCapacity.addList(map[string]any{"UnprocessedItems": map[string]any{}}, &u, ""), nil
}
