package dynamodb

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// legacy are the pre-expression parameters of the item operations
// (Developer Guide, "Legacy DynamoDB conditional parameters"). Expected,
// ConditionalOperator and AttributeUpdates (attrupdates.go) are modelled;
// AttributesToGet of the item operations is refused as unmodelled.
type legacy struct {
	Expected            map[string]expectedAttr         `json:"Expected"`
	ConditionalOperator *string                         `json:"ConditionalOperator"`
	AttributeUpdates    map[string]attributeValueUpdate `json:"AttributeUpdates"`
	AttributesToGet     json.RawMessage                 `json:"AttributesToGet"`
	// param names Expected in messages: "expected", or "queryFilter" and
	// "scanFilter" when Query and Scan reuse it for their filters.
	param string
}

// expectedAttr is one ExpectedAttributeValue.
type expectedAttr struct {
	Value              *value  `json:"Value"`
	Exists             *bool   `json:"Exists"`
	ComparisonOperator string  `json:"ComparisonOperator"`
	AttributeValueList []value `json:"AttributeValueList"`
}

func set(raw json.RawMessage) bool { return len(raw) > 0 && string(raw) != "null" }

// check refuses legacy parameters beside expression parameters, as
// DynamoDB does ("DynamoDB does not allow mixing legacy conditional
// parameters and expression parameters in a single call", Developer
// Guide, "Legacy DynamoDB conditional parameters"), worded as DynamoDB
// words it; then the legacy parameters vpcsim does not model. exprs names
// the expression parameters the request has.
func (l legacy) check(exprs ...string) error {
	var non []string
	if set(l.AttributesToGet) {
		non = append(non, "AttributesToGet")
	}
	if l.AttributeUpdates != nil {
		non = append(non, "AttributeUpdates")
	}
	if l.ConditionalOperator != nil {
		non = append(non, "ConditionalOperator")
	}
	if l.Expected != nil {
		non = append(non, "Expected")
	}
	if len(non) > 0 && len(exprs) > 0 {
		return validation("Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {" +
			strings.Join(non, ", ") + "} Expression parameters: {" + strings.Join(exprs, ", ") + "}")
	}
	for _, n := range non {
		if n == "AttributesToGet" {
			return validation("vpcsim models expressions only; the legacy parameter " + n + " is not supported")
		}
	}
	return nil
}

// exprNames lists the expression parameters among src that are set, for
// legacy.check.
func exprNames(src map[string]*string) []string {
	var out []string
	for _, n := range []string{"UpdateExpression", "ConditionExpression", "ProjectionExpression"} {
		if src[n] != nil {
			out = append(out, n)
		}
	}
	return out
}

// argCounts is how many AttributeValueList elements each legacy
// ComparisonOperator takes (-1: one or more). Developer Guide, "Expected
// (legacy)".
var argCounts = map[string]int{
	"EQ": 1, "NE": 1, "LE": 1, "LT": 1, "GE": 1, "GT": 1,
	"NOT_NULL": 0, "NULL": 0, "CONTAINS": 1, "NOT_CONTAINS": 1,
	"BEGINS_WITH": 1, "IN": -1, "BETWEEN": 2,
}

// condition turns Expected and ConditionalOperator into the condition tree
// ConditionExpression would give (nil when there is no Expected). Each
// element is one test on its attribute: Value alone is equality (Exists
// defaults to true), Exists false is attribute_not_exists, and
// ComparisonOperator applies to AttributeValueList; the tests are ANDed,
// or ORed under ConditionalOperator OR (Developer Guide, "Expected
// (legacy)", "ConditionalOperator (legacy)"; API reference
// ExpectedAttributeValue).
func (l legacy) condition() (*cond, error) {
	join := "AND"
	if l.ConditionalOperator != nil {
		switch *l.ConditionalOperator {
		case "AND", "OR":
			join = *l.ConditionalOperator
		default:
			return nil, validation(fmt.Sprintf("1 validation error detected: Value '%s' at 'conditionalOperator' failed to satisfy constraint: Member must satisfy enum value set: [AND, OR]", *l.ConditionalOperator))
		}
	}
	if l.Expected == nil {
		return nil, nil
	}
	var out *cond
	for _, name := range slices.Sorted(maps.Keys(l.Expected)) {
		param := l.param
		if param == "" {
			param = "expected"
		}
		c, err := l.Expected[name].conditionAt(param, name)
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = c
		} else {
			out = &cond{op: join, kids: []*cond{out, c}}
		}
	}
	return out, nil
}

// conditionAt is the condition an element of the parameter param
// (expected, keyConditions, queryFilter, scanFilter) states on the
// attribute name; messages name the parameter.
func (e expectedAttr) conditionAt(param, name string) (*cond, error) {
	path := operand{path: docPath{{name: name}}, label: name}
	val := func(v value) operand { return operand{val: &v} }
	exists := e.Exists == nil || *e.Exists
	if e.ComparisonOperator == "" {
		if e.AttributeValueList != nil {
			return nil, validation("One or more parameter values were invalid: AttributeValueList can only be used with a ComparisonOperator for Attribute: " + name)
		}
		switch {
		case e.Value != nil && exists:
			return &cond{op: "=", args: []operand{path, val(*e.Value)}}, nil
		case e.Value != nil:
			return nil, validation("One or more parameter values were invalid: Value cannot be used when Exists is false for Attribute: " + name)
		case exists:
			return nil, validation("One or more parameter values were invalid: Value must be provided when Exists is true for Attribute: " + name)
		default:
			return &cond{op: "attribute_not_exists", args: []operand{path}}, nil
		}
	}
	if e.Value != nil || e.Exists != nil {
		return nil, validation("One or more parameter values were invalid: Value or Exists cannot be used with ComparisonOperator for Attribute: " + name)
	}
	n, ok := argCounts[e.ComparisonOperator]
	if !ok {
		return nil, validation(fmt.Sprintf("1 validation error detected: Value '%s' at '%s.%s.member.comparisonOperator' failed to satisfy constraint: Member must satisfy enum value set: [IN, NULL, BETWEEN, LT, NOT_CONTAINS, EQ, GT, NOT_NULL, NE, LE, BEGINS_WITH, GE, CONTAINS]", e.ComparisonOperator, param, name))
	}
	if n >= 0 && len(e.AttributeValueList) != n || n < 0 && len(e.AttributeValueList) == 0 {
		return nil, validation("One or more parameter values were invalid: Invalid number of argument(s) for the " + e.ComparisonOperator + " ComparisonOperator")
	}
	args := []operand{path}
	for _, v := range e.AttributeValueList {
		args = append(args, val(v))
	}
	switch e.ComparisonOperator {
	case "NULL":
		return &cond{op: "attribute_not_exists", args: args}, nil
	case "NOT_NULL":
		return &cond{op: "attribute_exists", args: args}, nil
	case "NOT_CONTAINS":
		return &cond{op: "NOT", kids: []*cond{{op: "contains", args: args}}}, nil
	}
	op := map[string]string{"EQ": "=", "NE": "<>", "LE": "<=", "LT": "<", "GE": ">=", "GT": ">",
		"CONTAINS": "contains", "BEGINS_WITH": "begins_with", "IN": "IN", "BETWEEN": "BETWEEN"}[e.ComparisonOperator]
	return &cond{op: op, args: args}, nil
}
