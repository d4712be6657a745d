package dynamodb

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// TransactWriteItems and TransactGetItems. A transaction runs under s.mu
// like every other request, so it is isolated from them all; what is
// modelled is the rest of the API reference's contract: all actions or
// none, the per-action cancellation reasons, one action per item, the
// limit of 100 actions and ClientRequestToken idempotency.

// maxTransactItems is the most actions one transaction may hold (API
// reference TransactWriteItems, TransactItems: "An ordered array of up to
// 100 TransactWriteItem objects"; TransactGetItems: "A TransactGetItems
// call can contain up to 100 TransactGetItem objects").
const maxTransactItems = 100

// tokenTTL is how long a ClientRequestToken makes TransactWriteItems
// idempotent (API reference TransactWriteItems, ClientRequestToken: "A
// client request token is valid for 10 minutes after the first request
// that uses it is completed").
const tokenTTL = 10 * time.Minute

type conditionCheckRequest struct {
	TableName                           string            `json:"TableName"`
	Key                                 map[string]value  `json:"Key"`
	ConditionExpression                 *string           `json:"ConditionExpression"`
	ExpressionAttributeNames            map[string]string `json:"ExpressionAttributeNames"`
	ExpressionAttributeValues           exprValues        `json:"ExpressionAttributeValues"`
	ReturnValuesOnConditionCheckFailure string            `json:"ReturnValuesOnConditionCheckFailure"`
}

// transactWriteItem is one TransactWriteItem: exactly one of its members
// is set. Put, Update and Delete have the members of PutItem, UpdateItem
// and DeleteItem they share, so they decode into those requests.
type transactWriteItem struct {
	ConditionCheck *conditionCheckRequest `json:"ConditionCheck"`
	Put            *putItemRequest        `json:"Put"`
	Update         *updateItemRequest     `json:"Update"`
	Delete         *deleteItemRequest     `json:"Delete"`
}

type transactWriteRequest struct {
	TransactItems               []transactWriteItem `json:"TransactItems"`
	ReturnConsumedCapacity      capacity            `json:"ReturnConsumedCapacity"`
	ReturnItemCollectionMetrics string              `json:"ReturnItemCollectionMetrics"`
	ClientRequestToken          *string             `json:"ClientRequestToken"`
}

// txToken is what a ClientRequestToken remembers of the transaction that
// first used it.
type txToken struct {
	items  string // the TransactItems, re-encoded
	done   time.Time
	tables []string
}

// transactionCanceled is TransactionCanceledException with one reason
// per action, in the actions' order.
type transactionCanceled struct {
	apiError
	reasons []map[string]any
}

func checkTransactCount(n int) error {
	switch {
	case n == 0:
		return validation("1 validation error detected at 'transactItems' failed to satisfy constraint: Member must have length greater than or equal to 1")
	case n > maxTransactItems:
		return validation(fmt.Sprintf("1 validation error detected at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to %d.", maxTransactItems))
	}
	return nil
}

// write parses a ConditionCheck into a write that changes nothing.
func (req *conditionCheckRequest) write() (*itemWrite, error) {
	if err := checkOnFailure(req.ReturnValuesOnConditionCheckFailure); err != nil {
		return nil, err
	}
	if req.ConditionExpression == nil {
		// API reference ConditionCheck: ConditionExpression is required.
		return nil, validation("1 validation error detected: Value null at 'transactItems.1.member.conditionCheck.conditionExpression' failed to satisfy constraint: Member must not be null")
	}
	// A ConditionCheck has no legacy parameters: the zero legacy.
	c, err := writeCondition(req.ExpressionAttributeNames, req.ExpressionAttributeValues, req.ConditionExpression, legacy{})
	if err != nil {
		return nil, err
	}
	return &itemWrite{
		tableName: req.TableName,
		key:       func(t *table) (string, error) { return t.key(req.Key) },
		cond:      c,
		onFailure: req.ReturnValuesOnConditionCheckFailure,
	}, nil
}

// write parses one action. The actions take only expressions: the legacy
// parameters are not members of Put, Update, Delete or ConditionCheck.
func (a *transactWriteItem) write() (*itemWrite, error) {
	n := 0
	for _, set := range []bool{a.ConditionCheck != nil, a.Put != nil, a.Update != nil, a.Delete != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, validation("TransactItems can only contain one of Check, Put, Update or Delete")
	}
	switch {
	case a.ConditionCheck != nil:
		return a.ConditionCheck.write()
	case a.Put != nil:
		if err := checkOnFailure(a.Put.ReturnValuesOnConditionCheckFailure); err != nil {
			return nil, err
		}
		return a.Put.write()
	case a.Update != nil:
		if err := checkOnFailure(a.Update.ReturnValuesOnConditionCheckFailure); err != nil {
			return nil, err
		}
		if a.Update.UpdateExpression == nil {
			// API reference Update: UpdateExpression is required.
			return nil, validation("1 validation error detected: Value null at 'transactItems.1.member.update.updateExpression' failed to satisfy constraint: Member must not be null")
		}
		w, _, err := a.Update.write()
		return w, err
	}
	if err := checkOnFailure(a.Delete.ReturnValuesOnConditionCheckFailure); err != nil {
		return nil, err
	}
	return a.Delete.write()
}

func (s *regionDB) transactWriteItems(req *transactWriteRequest) (any, error) {
	if err := req.ReturnConsumedCapacity.check(); err != nil {
		return nil, err
	}
	if err := checkTransactCount(len(req.TransactItems)); err != nil {
		return nil, err
	}
	var token string
	if req.ClientRequestToken != nil {
		token = *req.ClientRequestToken
		if len(token) < 1 || len(token) > 36 {
			return nil, validation(fmt.Sprintf("1 validation error detected: Value '%s' at 'clientRequestToken' failed to satisfy constraint: Member must have length less than or equal to 36", token))
		}
	}
	writes := make([]*itemWrite, len(req.TransactItems))
	for i := range req.TransactItems {
		w, err := req.TransactItems[i].write()
		if err != nil {
			return nil, err
		}
		writes[i] = w
	}
	items, err := json.Marshal(req.TransactItems)
	if err != nil {
		return nil, err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	if token != "" {
		if prev, ok := s.txTokens[token]; ok && now.Sub(prev.done) < tokenTTL {
			if prev.items != string(items) {
				// API reference TransactWriteItems, ClientRequestToken: "If
				// you submit a request with the same client token but a
				// change in other parameters within the 10-minute
				// idempotency window, DynamoDB returns an
				// IdempotentParameterMismatch exception."
				return nil, &apiError{"IdempotentParameterMismatchException", "Specified idempotency token has already been used with different request parameters"}
			}
			// The repeat changes nothing; it reads the items ("Subsequent
			// TransactWriteItems calls with the same client token return
			// the number of read capacity units consumed in reading the
			// item").
			var u tableUnits
			for _, name := range prev.tables {
				u.add(name, 2)
			}
			return req.ReturnConsumedCapacity.addList(map[string]any{}, &u, "ReadCapacityUnits"), nil
		}
	}
	located := make([]*locatedWrite, len(writes))
	seen := map[string]bool{}
	for i, w := range writes {
		r, err := s.locateLocked(w)
		if err != nil {
			return nil, err
		}
		id := r.t.name + "\x00" + r.k
		if seen[id] {
			// API reference TransactWriteItems: "no two actions can
			// target the same item. For example, you cannot both
			// ConditionCheck and Update the same item."
			return nil, validation("Transaction request cannot include multiple operations on one item")
		}
		seen[id] = true
		located[i] = r
	}
	reasons := make([]map[string]any, len(located))
	var codes []string
	cancel := false
	for i, r := range located {
		reason := map[string]any{"Code": "None"}
		if err := r.evaluate(); err != nil {
			cancel = true
			reason = cancellationReason(err)
		}
		reasons[i] = reason
		codes = append(codes, reason["Code"].(string))
	}
	if cancel {
		// API reference TransactWriteItems, TransactionCanceledException:
		// the whole request is canceled when "a condition in one of the
		// condition expressions is not met" or "an item size becomes too
		// large ... or a similar validation error occurs because of
		// changes made by the transaction"; CancellationReason: Code
		// None when the action did not fail.
		return nil, &transactionCanceled{
			apiError: apiError{"TransactionCanceledException", "Transaction cancelled, please refer cancellation reasons for specific reasons [" + strings.Join(codes, ", ") + "]"},
			reasons:  reasons,
		}
	}
	var u tableUnits
	var tables []string
	for _, r := range located {
		r.commit()
		// Developer Guide, "Capacity management for transactions":
		// transactional writes consume two write units per 1 KB.
		u.add(r.t.name, 2*writeUnits(itemSize(r.old), itemSize(r.next)))
		tables = append(tables, r.t.name)
	}
	if token != "" {
		if s.txTokens == nil {
			s.txTokens = map[string]txToken{}
		}
		for k, v := range s.txTokens {
			if now.Sub(v.done) >= tokenTTL {
				delete(s.txTokens, k)
			}
		}
		s.txTokens[token] = txToken{items: string(items), done: now, tables: tables}
	}
	return req.ReturnConsumedCapacity.addList(map[string]any{}, &u, "WriteCapacityUnits"), nil
}

// cancellationReason is the CancellationReason of an action that failed
// evaluation: its condition did not hold, or its change was invalid.
func cancellationReason(err error) map[string]any {
	if cf, ok := err.(*conditionFailed); ok {
		r := map[string]any{"Code": "ConditionalCheckFailed", "Message": cf.message}
		if cf.item != nil {
			// API reference CancellationReason, Item: "Item in the request
			// which caused the transaction to get cancelled", returned
			// with ReturnValuesOnConditionCheckFailure ALL_OLD.
			r["Item"] = cf.item
		}
		return r
	}
	msg := err.Error()
	if ae, ok := err.(*apiError); ok {
		msg = ae.message
	}
	return map[string]any{"Code": "ValidationError", "Message": msg}
}

type transactGetItem struct {
	Get *struct {
		TableName                string            `json:"TableName"`
		Key                      map[string]value  `json:"Key"`
		ProjectionExpression     *string           `json:"ProjectionExpression"`
		ExpressionAttributeNames map[string]string `json:"ExpressionAttributeNames"`
	} `json:"Get"`
}

type transactGetRequest struct {
	TransactItems          []transactGetItem `json:"TransactItems"`
	ReturnConsumedCapacity capacity          `json:"ReturnConsumedCapacity"`
}

func (s *regionDB) transactGetItems(req *transactGetRequest) (any, error) {
	if err := req.ReturnConsumedCapacity.check(); err != nil {
		return nil, err
	}
	if err := checkTransactCount(len(req.TransactItems)); err != nil {
		return nil, err
	}
	projs := make([][]docPath, len(req.TransactItems))
	for i, a := range req.TransactItems {
		if a.Get == nil {
			return nil, validation(fmt.Sprintf("1 validation error detected: Value null at 'transactItems.%d.member.get' failed to satisfy constraint: Member must not be null", i+1))
		}
		p, err := readProjection(a.Get.ProjectionExpression, a.Get.ExpressionAttributeNames)
		if err != nil {
			return nil, err
		}
		projs[i] = p
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	responses := make([]map[string]any, len(req.TransactItems))
	var u tableUnits
	for i, a := range req.TransactItems {
		t, err := s.tableLocked(a.Get.TableName)
		if err != nil {
			return nil, err
		}
		k, err := t.key(a.Get.Key)
		if err != nil {
			return nil, err
		}
		// Developer Guide, "Capacity management for transactions":
		// transactional reads consume two read units per 4 KB.
		u.add(t.name, 2*readUnits(itemSize(t.items[k]), true))
		responses[i] = map[string]any{}
		if it := t.read(k, projs[i]); it != nil {
			responses[i]["Item"] = it
		}
	}
	return req.ReturnConsumedCapacity.addList(map[string]any{"Responses": responses}, &u, "ReadCapacityUnits"), nil
}
