package dynamodb

import (
	"fmt"
	"maps"
	"slices"
)

// attributeValueUpdate is one entry of UpdateItem's legacy AttributeUpdates
// (API reference AttributeValueUpdate; Developer Guide, "AttributeUpdates
// (legacy)").
type attributeValueUpdate struct {
	Value  *value `json:"Value"`
	Action string `json:"Action"`
}

// update turns AttributeUpdates into the update expression that does the
// same, so that both run through update.apply:
//   - PUT (the default) "Adds the specified attribute to the item. If the
//     attribute already exists, it is replaced by the new value": SET.
//   - DELETE "If no value is specified, the attribute and its value are
//     removed from the item": REMOVE; "If a set of values is specified,
//     then those values are subtracted from the old set": DELETE.
//   - ADD adds a number to a number and a set to a set, creating the
//     attribute when missing; "This action is only valid for an existing
//     attribute whose data type is Number or is a set; do not use ADD for
//     other data types": ADD.
func (l legacy) update() (*update, error) {
	u := &update{}
	for _, name := range slices.Sorted(maps.Keys(l.AttributeUpdates)) {
		a := l.AttributeUpdates[name]
		p := docPath{{name: name}}
		switch a.Action {
		case "", "PUT":
			if a.Value == nil {
				return nil, validation("One or more parameter values were invalid: Only DELETE action is allowed when no attribute value is specified")
			}
			u.set = append(u.set, setAction{path: p, val: operand{val: a.Value, label: name}})
		case "DELETE":
			switch {
			case a.Value == nil:
				u.remove = append(u.remove, p)
			case !isSet(a.Value.kind):
				return nil, validation(fmt.Sprintf("One or more parameter values were invalid: DELETE action with value is not supported for the type %s", a.Value.kind))
			default:
				u.add = append(u.add, addAction{path: p, val: *a.Value, del: true})
			}
		case "ADD":
			switch {
			case a.Value == nil:
				return nil, validation("One or more parameter values were invalid: Only DELETE action is allowed when no attribute value is specified")
			case a.Value.kind != kindN && !isSet(a.Value.kind):
				return nil, validation(fmt.Sprintf("One or more parameter values were invalid: ADD action is not supported for the type %s", a.Value.kind))
			}
			u.add = append(u.add, addAction{path: p, val: *a.Value})
		default:
			return nil, validation(fmt.Sprintf("1 validation error detected: Value '%s' at 'attributeUpdates.%s.member.action' failed to satisfy constraint: Member must satisfy enum value set: [ADD, PUT, DELETE]", a.Action, name))
		}
	}
	return u, nil
}

func isSet(k kind) bool { return k == kindSS || k == kindNS || k == kindBS }
