package dynamodb

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

// fuzzItem is what fuzzed expressions are evaluated against: every type,
// nested, so paths and functions meet real values.
func fuzzItem() item {
	return item{
		"id":  {kind: kindS, s: "k"},
		"n":   {kind: kindN, s: "10"},
		"s":   {kind: kindS, s: "hello"},
		"b":   {kind: kindB, s: "\x00\x01"},
		"t":   {kind: kindBOOL, b: true},
		"z":   {kind: kindNULL},
		"m":   {kind: kindM, m: map[string]value{"a": {kind: kindN, s: "1"}, "l": {kind: kindL, l: []value{{kind: kindS, s: "x"}}}}},
		"l":   {kind: kindL, l: []value{{kind: kindN, s: "1"}, {kind: kindM, m: map[string]value{"q": {kind: kindS, s: "r"}}}}},
		"ss":  {kind: kindSS, set: []string{"a", "b"}},
		"ns":  {kind: kindNS, set: []string{"1", "2"}},
		"cnt": {kind: kindN, s: "-3.5"},
	}
}

func fuzzPlaceholders() (map[string]string, map[string]value) {
	names := map[string]string{"#n": "n", "#m": "m", "#a": "a", "#id": "id", "#o": "owner"}
	values := map[string]value{
		":one": {kind: kindN, s: "1"},
		":s":   {kind: kindS, s: "he"},
		":t":   {kind: kindS, s: "N"},
		":b":   {kind: kindBOOL, b: true},
		":l":   {kind: kindL, l: []value{{kind: kindS, s: "w"}}},
		":ss":  {kind: kindSS, set: []string{"c"}},
		":ns":  {kind: kindNS, set: []string{"2", "3"}},
		":m":   {kind: kindM, m: map[string]value{}},
	}
	return names, values
}

// wantValidation fails unless err is nil or a ValidationException.
func wantValidation(t *testing.T, expr string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var ae *apiError
	if !errors.As(err, &ae) || ae.code != "ValidationException" {
		t.Fatalf("expression %q: error %v, want a ValidationException", expr, err)
	}
}

func FuzzConditionExpression(f *testing.F) {
	for _, s := range []string{
		"attribute_not_exists(#o) OR #o = :s",
		"n BETWEEN :one AND :one AND s IN (:s, :t)",
		"NOT (#n <> :one) and begins_with(s, :s)",
		"size(m.l) >= :one OR contains(ss, :s) OR attribute_type(l[1].q, :t)",
		"((((n = :one))))",
		"n = ",
		"#undefined = :one",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		names, values := fuzzPlaceholders()
		c, err := parseCondition(expr, names, values, map[string]bool{})
		wantValidation(t, expr, err)
		if err == nil {
			c.eval(fuzzItem())
			c.eval(nil)
		}
		fuzzHandler(t, "DeleteItem", map[string]any{"ConditionExpression": expr})
	})
}

func FuzzUpdateExpression(f *testing.F) {
	for _, s := range []string{
		"SET #n = #n + :one, m.a = if_not_exists(m.a, :one) REMOVE s",
		"ADD cnt :one, ss :ss DELETE ns :ns",
		"SET l = list_append(l, :l), l[5] = :s, m.l[0] = :b",
		"SET #o = :s REMOVE m.l[0], l[1].q",
		"SET a = :one SET b = :one",
		"REMOVE",
		"SET n = n - cnt - :one",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		names, values := fuzzPlaceholders()
		u, err := parseUpdate(expr, names, values, map[string]bool{})
		wantValidation(t, expr, err)
		if err == nil {
			_, err := u.apply(fuzzItem(), []string{"id"})
			wantValidation(t, expr, err)
			_, err = u.apply(nil, []string{"id"})
			wantValidation(t, expr, err)
		}
		fuzzHandler(t, "UpdateItem", map[string]any{"UpdateExpression": expr})
	})
}

// fuzzHandler sends the expression through the JSON handler against a
// table holding fuzzItem and checks the answer is a success or a client
// error DynamoDB could send.
func fuzzHandler(t *testing.T, op string, fields map[string]any) {
	t.Helper()
	svc := New(Options{})
	svc.in("").tables["tbl"] = &table{name: "tbl", hashKey: keyDef{"id", kindS}, items: map[string]item{keyString(value{kind: kindS, s: "k"}): fuzzItem()}}
	names, values := fuzzPlaceholders()
	req := map[string]any{"TableName": "tbl", "Key": map[string]value{"id": {kind: kindS, s: "k"}}, "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}
	for k, v := range fields {
		req[k] = v
	}
	body, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	r.Header.Set("X-Amz-Target", targetPrefix+op)
	w := httptest.NewRecorder()
	svc.Handler().ServeHTTP(w, r)
	if w.Code == http.StatusOK {
		return
	}
	var resp struct {
		Type string `json:"__type"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		t.Fatalf("%s %v: undecodable error body %q", op, fields, w.Body.String())
	}
	switch resp.Type {
	case "com.amazonaws.dynamodb.v20120810#ValidationException", "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException":
	default:
		t.Fatalf("%s %v: HTTP %d %s, want success, ValidationException or ConditionalCheckFailedException", op, fields, w.Code, w.Body.String())
	}
}
