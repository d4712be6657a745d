package dynamodb

import (
	"bytes"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"unicode/utf8"
)

// describe writes a value for an error message, close to DynamoDB's
// "{N: 5}" style.
func describe(v value) string {
	switch v.kind {
	case kindS, kindN:
		return fmt.Sprintf("{%s:%s}", v.kind, v.s)
	case kindBOOL:
		return fmt.Sprintf("{BOOL:%t}", v.b)
	}
	return fmt.Sprintf("{%s}", v.kind)
}

// lookup follows a document path; ok is false when any step is missing or
// of the wrong type.
func lookup(it item, p docPath) (value, bool) {
	v, ok := it[p[0].name]
	if !ok || p[0].isIdx {
		return value{}, false
	}
	for _, e := range p[1:] {
		switch {
		case e.isIdx && v.kind == kindL && e.index < len(v.l):
			v = v.l[e.index]
		case !e.isIdx && v.kind == kindM:
			if v, ok = v.m[e.name]; !ok {
				return value{}, false
			}
		default:
			return value{}, false
		}
	}
	return v, true
}

// conditionOperand evaluates an operand of a condition; ok is false for a
// missing attribute or a size() of a type without a size.
func conditionOperand(it item, o operand) (value, bool) {
	switch {
	case o.val != nil:
		return *o.val, true
	case o.fn == "size":
		v, ok := lookup(it, o.args[0].path)
		if !ok {
			return value{}, false
		}
		var n int
		switch v.kind {
		case kindS:
			n = utf8.RuneCountInString(v.s)
		case kindB:
			n = len(v.s)
		case kindM:
			n = len(v.m)
		case kindL:
			n = len(v.l)
		case kindSS, kindNS, kindBS:
			n = len(v.set)
		default:
			return value{}, false
		}
		return value{kind: kindN, s: fmt.Sprint(n)}, true
	default:
		return lookup(it, o.path)
	}
}

// eval decides a condition against an item (empty when there is none).
func (c *cond) eval(it item) bool {
	switch c.op {
	case "AND":
		return c.kids[0].eval(it) && c.kids[1].eval(it)
	case "OR":
		return c.kids[0].eval(it) || c.kids[1].eval(it)
	case "NOT":
		return !c.kids[0].eval(it)
	case "attribute_exists":
		_, ok := lookup(it, c.args[0].path)
		return ok
	case "attribute_not_exists":
		_, ok := lookup(it, c.args[0].path)
		return !ok
	}
	vals := make([]value, len(c.args))
	present := make([]bool, len(c.args))
	for i, a := range c.args {
		vals[i], present[i] = conditionOperand(it, a)
	}
	switch c.op {
	case "=":
		return present[0] && present[1] && equal(vals[0], vals[1])
	case "<>":
		// A missing attribute is unequal to every value.
		return !(present[0] && present[1] && equal(vals[0], vals[1]))
	case "<", "<=", ">", ">=":
		if !present[0] || !present[1] {
			return false
		}
		n, ok := compare(vals[0], vals[1])
		if !ok {
			return false
		}
		return map[string]bool{"<": n < 0, "<=": n <= 0, ">": n > 0, ">=": n >= 0}[c.op]
	case "BETWEEN":
		if !present[0] || !present[1] || !present[2] {
			return false
		}
		lo, ok1 := compare(vals[0], vals[1])
		hi, ok2 := compare(vals[0], vals[2])
		return ok1 && ok2 && lo >= 0 && hi <= 0
	case "IN":
		if !present[0] {
			return false
		}
		for i := 1; i < len(vals); i++ {
			if present[i] && equal(vals[0], vals[i]) {
				return true
			}
		}
		return false
	case "attribute_type":
		return present[0] && present[1] && string(vals[0].kind) == vals[1].s
	case "begins_with":
		return present[0] && present[1] && (vals[0].kind == kindS || vals[0].kind == kindB) &&
			vals[0].kind == vals[1].kind && strings.HasPrefix(vals[0].s, vals[1].s)
	case "contains":
		if !present[0] || !present[1] {
			return false
		}
		return contains(vals[0], vals[1])
	}
	return false
}

func contains(hay, needle value) bool {
	switch hay.kind {
	case kindS, kindB:
		return hay.kind == needle.kind && strings.Contains(hay.s, needle.s)
	case kindSS:
		return needle.kind == kindS && slices.Contains(hay.set, needle.s)
	case kindBS:
		return needle.kind == kindB && slices.Contains(hay.set, needle.s)
	case kindNS:
		return needle.kind == kindN && slices.ContainsFunc(hay.set, func(s string) bool {
			return equal(value{kind: kindN, s: s}, needle)
		})
	case kindL:
		return slices.ContainsFunc(hay.l, func(e value) bool { return equal(e, needle) })
	}
	return false
}

var errBadOperandType = validation("An operand in the update expression has an incorrect data type")

// updateOperands evaluates the two operands of a binary SET function
// (list_append, + and -), the first one's error first.
func updateOperands(old item, args []operand) (a, b value, err error) {
	if a, err = updateOperand(old, args[0]); err != nil {
		return value{}, value{}, err
	}
	if b, err = updateOperand(old, args[1]); err != nil {
		return value{}, value{}, err
	}
	return a, b, nil
}

// updateOperand evaluates the right side of a SET action against the item
// as it was before the update.
func updateOperand(old item, o operand) (value, error) {
	switch {
	case o.val != nil:
		return *o.val, nil
	case o.fn == "if_not_exists":
		if v, ok := lookup(old, o.args[0].path); ok {
			return v, nil
		}
		return updateOperand(old, o.args[1])
	case o.fn == "list_append":
		a, b, err := updateOperands(old, o.args)
		if err != nil {
			return value{}, err
		}
		if a.kind != kindL || b.kind != kindL {
			return value{}, errBadOperandType
		}
		return value{kind: kindL, l: append(slices.Clone(a.l), b.l...)}, nil
	case o.fn == "+" || o.fn == "-":
		a, b, err := updateOperands(old, o.args)
		if err != nil {
			return value{}, err
		}
		if a.kind != kindN || b.kind != kindN {
			return value{}, errBadOperandType
		}
		r := new(big.Rat)
		if o.fn == "+" {
			r.Add(numberOf(a), numberOf(b))
		} else {
			r.Sub(numberOf(a), numberOf(b))
		}
		n, err := canonicalNumber(formatNumber(r))
		if err != nil {
			return value{}, err
		}
		return value{kind: kindN, s: n}, nil
	default:
		v, ok := lookup(old, o.path)
		if !ok {
			return value{}, validation("The provided expression refers to an attribute that does not exist in the item")
		}
		return v, nil
	}
}

var errBadPath = validation("The document path provided in the update expression is invalid for update")

// container returns a pointer to the map or list holding the last step of
// p, creating nothing.
func assign(it item, p docPath, v value) error {
	if len(p) == 1 {
		it[p[0].name] = v
		return nil
	}
	parent, ok := it[p[0].name]
	if !ok {
		return errBadPath
	}
	nv, err := assignIn(parent, p[1:], v)
	if err != nil {
		return err
	}
	it[p[0].name] = nv
	return nil
}

// assignIn returns cur with v stored at p; cur is already a private copy.
func assignIn(cur value, p docPath, v value) (value, error) {
	e := p[0]
	switch {
	case e.isIdx && cur.kind == kindL:
		if len(p) == 1 {
			if e.index >= len(cur.l) {
				cur.l = append(cur.l, v) // DynamoDB appends past the end
			} else {
				cur.l[e.index] = v
			}
			return cur, nil
		}
		if e.index >= len(cur.l) {
			return value{}, errBadPath
		}
		nv, err := assignIn(cur.l[e.index], p[1:], v)
		if err != nil {
			return value{}, err
		}
		cur.l[e.index] = nv
		return cur, nil
	case !e.isIdx && cur.kind == kindM:
		if len(p) == 1 {
			cur.m[e.name] = v
			return cur, nil
		}
		child, ok := cur.m[e.name]
		if !ok {
			return value{}, errBadPath
		}
		nv, err := assignIn(child, p[1:], v)
		if err != nil {
			return value{}, err
		}
		cur.m[e.name] = nv
		return cur, nil
	}
	return value{}, errBadPath
}

// remove deletes the attribute at p; a missing one is no error.
func remove(it item, p docPath) {
	if len(p) == 1 {
		delete(it, p[0].name)
		return
	}
	parent, ok := it[p[0].name]
	if !ok {
		return
	}
	it[p[0].name] = removeIn(parent, p[1:])
}

func removeIn(cur value, p docPath) value {
	e := p[0]
	switch {
	case e.isIdx && cur.kind == kindL && e.index < len(cur.l):
		if len(p) == 1 {
			cur.l = slices.Delete(cur.l, e.index, e.index+1)
		} else {
			cur.l[e.index] = removeIn(cur.l[e.index], p[1:])
		}
	case !e.isIdx && cur.kind == kindM:
		if len(p) == 1 {
			delete(cur.m, e.name)
		} else if child, ok := cur.m[e.name]; ok {
			cur.m[e.name] = removeIn(child, p[1:])
		}
	}
	return cur
}

// apply runs an update on a copy of old (nil when the item is new) and
// returns the new item.
func (u *update) apply(old item, keys []string) (item, error) {
	touched := func(p docPath) error {
		if slices.Contains(keys, p[0].name) {
			return validation(fmt.Sprintf("One or more parameter values were invalid: Cannot update attribute %s. This attribute is part of the key", p[0].name))
		}
		return nil
	}
	vals := make([]value, len(u.set))
	for i, s := range u.set {
		if err := touched(s.path); err != nil {
			return nil, err
		}
		v, err := updateOperand(old, s.val)
		if err != nil {
			return nil, err
		}
		vals[i] = v.clone()
	}
	next := cloneItem(old)
	if next == nil {
		next = item{}
	}
	for i, s := range u.set {
		if err := assign(next, s.path, vals[i]); err != nil {
			return nil, err
		}
	}
	// DynamoDB removes list elements by their indexes before the update,
	// so "REMOVE l[0], l[1]" drops the first two: go from the back.
	removes := slices.Clone(u.remove)
	slices.SortStableFunc(removes, comparePaths)
	for _, p := range removes {
		if err := touched(p); err != nil {
			return nil, err
		}
		remove(next, p)
	}
	for _, a := range u.add {
		if err := touched(a.path); err != nil {
			return nil, err
		}
		cur, exists := lookup(next, a.path)
		var nv value
		switch {
		case a.del && !exists:
			continue
		case !exists:
			nv = a.val.clone()
		case cur.kind != a.val.kind:
			return nil, errBadOperandType
		case a.val.kind == kindN:
			n, err := canonicalNumber(formatNumber(new(big.Rat).Add(numberOf(cur), numberOf(a.val))))
			if err != nil {
				return nil, err
			}
			nv = value{kind: kindN, s: n}
		case a.del:
			nv = value{kind: cur.kind, set: slices.DeleteFunc(slices.Clone(cur.set), func(s string) bool {
				return slices.ContainsFunc(a.val.set, func(d string) bool { return sameSetElem(cur.kind, s, d) })
			})}
		default:
			nv = value{kind: cur.kind, set: slices.Clone(cur.set)}
			for _, s := range a.val.set {
				if !slices.ContainsFunc(nv.set, func(e string) bool { return sameSetElem(cur.kind, e, s) }) {
					nv.set = append(nv.set, s)
				}
			}
		}
		if a.del && len(nv.set) == 0 {
			remove(next, a.path)
		} else if err := assign(next, a.path, nv); err != nil {
			return nil, err
		}
	}
	return next, nil
}

// comparePaths orders paths element by element: list indexes descending,
// before map keys, which sort ascending.
func comparePaths(a, b docPath) int {
	for i := range min(len(a), len(b)) {
		x, y := a[i], b[i]
		switch {
		case x == y:
			continue
		case x.isIdx && y.isIdx:
			return y.index - x.index
		case x.isIdx:
			return -1
		case y.isIdx:
			return 1
		default:
			return strings.Compare(x.name, y.name)
		}
	}
	return len(a) - len(b)
}

func sameSetElem(k kind, a, b string) bool {
	if k == kindNS {
		return equal(value{kind: kindN, s: a}, value{kind: kindN, s: b})
	}
	return a == b
}

// project returns the attributes of it named by paths, keeping their
// nesting, as ProjectionExpression does.
func project(it item, paths []docPath) item {
	out := item{}
	for _, p := range paths {
		v, ok := lookup(it, p)
		if !ok {
			continue
		}
		if len(p) == 1 {
			out[p[0].name] = v.clone()
			continue
		}
		// Nested paths keep their parents; list elements are gathered in
		// order, as DynamoDB returns them.
		out[p[0].name] = merge(out[p[0].name], p[1:], v.clone())
	}
	return out
}

func merge(into value, p docPath, v value) value {
	e := p[0]
	if e.isIdx {
		if into.kind != kindL {
			into = value{kind: kindL}
		}
		if len(p) == 1 {
			into.l = append(into.l, v)
		} else {
			into.l = append(into.l, merge(value{}, p[1:], v))
		}
		return into
	}
	if into.kind != kindM {
		into = value{kind: kindM, m: map[string]value{}}
	}
	if len(p) == 1 {
		into.m[e.name] = v
	} else {
		into.m[e.name] = merge(into.m[e.name], p[1:], v)
	}
	return into
}

// keyString identifies an item by its key attributes.
func keyString(vals ...value) string {
	var b bytes.Buffer
	for _, v := range vals {
		fmt.Fprintf(&b, "%s:%d:%s|", v.kind, len(v.s), v.s)
	}
	return b.String()
}
