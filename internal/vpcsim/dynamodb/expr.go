package dynamodb

import (
	_ "embed"
	"fmt"
	"strconv"
	"strings"
)

// This file parses DynamoDB's ConditionExpression, UpdateExpression and
// ProjectionExpression. Placeholders are resolved while parsing, so the
// trees refer to real attribute names and values, and every placeholder
// used is recorded for DynamoDB's "unused in expressions" check.

// maxExprLen is DynamoDB's limit on an expression string (4 KB).
const maxExprLen = 4096

// maxDepth bounds nesting so hostile input cannot exhaust the stack.
const maxDepth = 64

//go:embed reserved_words.txt
var reservedWordsText string

// reservedWords are the names DynamoDB refuses in expressions without a
// placeholder (the list in the DynamoDB developer guide, "Reserved words").
var reservedWords = func() map[string]bool {
	m := map[string]bool{}
	for w := range strings.FieldsSeq(reservedWordsText) {
		m[w] = true
	}
	return m
}()

type tokKind int

const (
	tokEOF tokKind = iota
	tokName
	tokNamePH  // #name
	tokValuePH // :value
	tokNumber
	tokPunct
)

type token struct {
	kind tokKind
	text string
	pos  int // offset of text in the expression
}

func lex(s string) ([]token, string) {
	var toks []token
	i := 0
	isWord := func(c byte) bool {
		return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#' || c == ':':
			j := i + 1
			for j < len(s) && isWord(s[j]) {
				j++
			}
			if j == i+1 {
				return toks, s[i : i+1]
			}
			k := tokNamePH
			if c == ':' {
				k = tokValuePH
			}
			toks = append(toks, token{k, s[i:j], i})
			i = j
		case c >= '0' && c <= '9':
			j := i
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			toks = append(toks, token{tokNumber, s[i:j], i})
			i = j
		case isWord(c):
			j := i
			for j < len(s) && isWord(s[j]) {
				j++
			}
			toks = append(toks, token{tokName, s[i:j], i})
			i = j
		case c == '<' && i+1 < len(s) && (s[i+1] == '=' || s[i+1] == '>'), c == '>' && i+1 < len(s) && s[i+1] == '=':
			toks = append(toks, token{tokPunct, s[i : i+2], i})
			i += 2
		case strings.IndexByte("()[],.=<>+-", c) >= 0:
			toks = append(toks, token{tokPunct, s[i : i+1], i})
			i++
		default:
			// Report the whole rune, as DynamoDB names the offending token.
			r := []rune(s[i:])[0]
			return toks, string(r)
		}
	}
	return append(toks, token{kind: tokEOF, text: "<EOF>", pos: len(s)}), ""
}

// pathElem is one step of a document path: a map key or a list index.
type pathElem struct {
	name  string
	index int
	isIdx bool
}

type docPath []pathElem

func (p docPath) String() string {
	var b strings.Builder
	for i, e := range p {
		if e.isIdx {
			fmt.Fprintf(&b, "[%d]", e.index)
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(e.name)
	}
	return b.String()
}

// list writes a path the way DynamoDB's overlap message does: [a, b, [0]].
func (p docPath) list() string {
	parts := make([]string, len(p))
	for i, e := range p {
		if e.isIdx {
			parts[i] = fmt.Sprintf("[%d]", e.index)
		} else {
			parts[i] = e.name
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// operand is a path, a value, or a function of operands.
type operand struct {
	path  docPath
	val   *value
	fn    string    // size, if_not_exists, list_append; or "+"/"-" for arithmetic
	args  []operand // of fn
	label string    // the text it came from, for messages
}

// cond is a condition tree node.
type cond struct {
	op   string // AND OR NOT = <> < <= > >= BETWEEN IN or a function name
	kids []*cond
	args []operand
	// grouped is set on a condition written in parentheses; parentheses
	// around it again are redundant, which DynamoDB refuses.
	grouped bool
}

// parser holds one expression's tokens and the request's placeholders.
type parser struct {
	what   string // "ConditionExpression", "UpdateExpression", ...
	src    string
	toks   []token
	pos    int
	depth  int
	names  map[string]string
	values map[string]value
	used   map[string]bool
}

// exprError is a ValidationException about one expression.
func (p *parser) errorf(format string, args ...any) error {
	return validation(fmt.Sprintf("Invalid %s: ", p.what) + fmt.Sprintf(format, args...))
}

func (p *parser) syntaxError() error {
	t := p.toks[p.pos]
	if t.kind == tokEOF {
		return p.errorf("Syntax error; token: %q, near: %q", t.text, p.toks[max(p.pos-1, 0)].text)
	}
	// near is the expression's text from the token before the bad one to
	// the token after it ("myNum Mystr2 myNum2" in moto's
	// test_update_expression_with_multiple_set_clauses_must_be_comma_separated;
	// 'near: "a-type"', as written, in the DynamoDB answer to the
	// ProjectionExpression a-type quoted in airbytehq/airbyte issue 22508).
	from, to := t.pos, t.pos+len(t.text)
	if p.pos > 0 {
		from = p.toks[p.pos-1].pos
	}
	if n := p.toks[p.pos+1]; n.kind != tokEOF {
		to = n.pos + len(n.text)
	}
	return p.errorf("Syntax error; token: %q, near: %q", t.text, p.src[from:to])
}

func newParser(what, src string, names map[string]string, values map[string]value, used map[string]bool) (*parser, error) {
	p := &parser{what: what, src: src, names: names, values: values, used: used}
	if strings.TrimSpace(src) == "" {
		return nil, p.errorf("The expression can not be empty;")
	}
	if len(src) > maxExprLen {
		return nil, p.errorf("Expression size has exceeded the maximum allowed size; expression size: %d", len(src))
	}
	toks, bad := lex(src)
	if bad != "" {
		return nil, p.errorf("Syntax error; token: %q, near: %q", bad, nearText(src, bad))
	}
	p.toks = toks
	return p, nil
}

func nearText(src, bad string) string {
	i := strings.Index(src, bad)
	start := max(0, i-4)
	return strings.TrimSpace(src[start:min(len(src), i+len(bad)+1)])
}

func (p *parser) peek() token { return p.toks[p.pos] }

func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tokEOF {
		p.pos++
	}
	return t
}

// back undoes next for t.
func (p *parser) back(t token) {
	if t.kind != tokEOF {
		p.pos--
	}
}

func (p *parser) isPunct(s string) bool {
	t := p.peek()
	return t.kind == tokPunct && t.text == s
}

func (p *parser) isKeyword(s string) bool {
	t := p.peek()
	return t.kind == tokName && strings.EqualFold(t.text, s)
}

func (p *parser) expectPunct(s string) error {
	if !p.isPunct(s) {
		return p.syntaxError()
	}
	p.next()
	return nil
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return p.errorf("The expression has too many nested levels; maximum: %d", maxDepth)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

// parseCondition parses a whole condition expression.
func parseCondition(src string, names map[string]string, values map[string]value, used map[string]bool) (*cond, error) {
	return parseConditionAs("ConditionExpression", src, names, values, used)
}

// parseConditionAs parses a condition written in the parameter what
// (ConditionExpression, FilterExpression or KeyConditionExpression, which
// share the grammar), naming that parameter in its errors.
func parseConditionAs(what, src string, names map[string]string, values map[string]value, used map[string]bool) (*cond, error) {
	p, err := newParser(what, src, names, values, used)
	if err != nil {
		return nil, err
	}
	c, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.peek().kind != tokEOF {
		return nil, p.syntaxError()
	}
	return c, nil
}

func (p *parser) or() (*cond, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("OR") {
		p.next()
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = &cond{op: "OR", kids: []*cond{l, r}}
	}
	return l, nil
}

func (p *parser) and() (*cond, error) {
	l, err := p.not()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("AND") {
		p.next()
		r, err := p.not()
		if err != nil {
			return nil, err
		}
		l = &cond{op: "AND", kids: []*cond{l, r}}
	}
	return l, nil
}

func (p *parser) not() (*cond, error) {
	if p.isKeyword("NOT") {
		p.next()
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer p.leave()
		c, err := p.not()
		if err != nil {
			return nil, err
		}
		return &cond{op: "NOT", kids: []*cond{c}}, nil
	}
	return p.predicate()
}

var conditionFuncs = map[string]int{
	"attribute_exists": 1, "attribute_not_exists": 1, "attribute_type": 2, "begins_with": 2, "contains": 2,
}

func (p *parser) predicate() (*cond, error) {
	if p.isPunct("(") {
		p.next()
		c, err := p.or()
		if err != nil {
			return nil, err
		}
		if err := p.expectPunct(")"); err != nil {
			return nil, err
		}
		// "((a < b))" is refused, "((a < b) OR c)" is not (moto's
		// test_condition_expression_parentheses_behavior, which notes
		// "AWS DDB fails this").
		if c.grouped {
			return nil, p.errorf("The expression has redundant parentheses;")
		}
		c.grouped = true
		return c, nil
	}
	if t := p.peek(); t.kind == tokName && p.toks[p.pos+1].text == "(" {
		fn := t.text
		if n, ok := conditionFuncs[fn]; ok {
			p.next()
			args, err := p.args()
			if err != nil {
				return nil, err
			}
			if len(args) != n {
				return nil, p.errorf("Incorrect number of operands for operator or function; operator or function: %s, number of operands: %d", fn, len(args))
			}
			if args[0].path == nil {
				return nil, p.errorf("Operator or function requires a document path; operator or function: %s", fn)
			}
			if err := p.checkFuncArgs(fn, args); err != nil {
				return nil, err
			}
			return &cond{op: fn, args: args}, nil
		}
		if fn != "size" {
			return p.badFunction(fn)
		}
	}
	l, err := p.operand(false)
	if err != nil {
		return nil, err
	}
	switch t := p.peek(); {
	case t.kind == tokPunct && (t.text == "=" || t.text == "<>" || t.text == "<" || t.text == "<=" || t.text == ">" || t.text == ">="):
		p.next()
		r, err := p.operand(false)
		if err != nil {
			return nil, err
		}
		if err := p.checkComparable(t.text, l, r); err != nil {
			return nil, err
		}
		return &cond{op: t.text, args: []operand{l, r}}, nil
	case p.isKeyword("BETWEEN"):
		p.next()
		lo, err := p.operand(false)
		if err != nil {
			return nil, err
		}
		if !p.isKeyword("AND") {
			return nil, p.syntaxError()
		}
		p.next()
		hi, err := p.operand(false)
		if err != nil {
			return nil, err
		}
		if err := p.checkComparable("BETWEEN", l, lo, hi); err != nil {
			return nil, err
		}
		if lo.val != nil && hi.val != nil {
			if c, ok := compare(*lo.val, *hi.val); ok && c > 0 {
				return nil, p.errorf("The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: %s, upper bound operand: AttributeValue: %s", describe(*lo.val), describe(*hi.val))
			}
		}
		return &cond{op: "BETWEEN", args: []operand{l, lo, hi}}, nil
	case p.isKeyword("IN"):
		p.next()
		list, err := p.args()
		if err != nil {
			return nil, err
		}
		if len(list) > 100 {
			return nil, p.errorf("The IN operator is provided with too many operands; number of operands: %d", len(list))
		}
		return &cond{op: "IN", args: append([]operand{l}, list...)}, nil
	}
	return nil, p.syntaxError()
}

func (p *parser) badFunction(fn string) (*cond, error) {
	switch fn {
	case "if_not_exists", "list_append":
		return nil, p.errorf("The function is not allowed in a condition expression; function: %s", fn)
	}
	return nil, p.errorf("Invalid function name; function: %s", fn)
}

// checkFuncArgs rejects constant operands of the wrong type, as DynamoDB
// does before reading the item.
func (p *parser) checkFuncArgs(fn string, args []operand) error {
	switch fn {
	case "attribute_type":
		if args[1].val == nil || args[1].val.kind != kindS {
			return p.errorf("Incorrect operand type for operator or function; operator or function: %s, operand type: %s", fn, operandType(args[1]))
		}
		switch kind(args[1].val.s) {
		case kindS, kindN, kindB, kindBOOL, kindNULL, kindM, kindL, kindSS, kindNS, kindBS:
		default:
			return p.errorf("Invalid attribute type name found; type: %s, valid types: { B,NULL,SS,BOOL,L,BS,N,NS,S,M }", args[1].val.s)
		}
	case "begins_with":
		if v := args[1].val; v != nil && v.kind != kindS && v.kind != kindB {
			return p.errorf("Incorrect operand type for operator or function; operator or function: %s, operand type: %s", fn, v.kind)
		}
	}
	return nil
}

// checkComparable rejects constants no ordering applies to.
func (p *parser) checkComparable(op string, ops ...operand) error {
	if op == "=" || op == "<>" {
		return nil
	}
	for _, o := range ops {
		if o.val != nil && o.val.kind != kindS && o.val.kind != kindN && o.val.kind != kindB {
			return p.errorf("Incorrect operand type for operator or function; operator or function: %s, operand type: %s", op, o.val.kind)
		}
	}
	return nil
}

func operandType(o operand) string {
	if o.val != nil {
		return string(o.val.kind)
	}
	return "PATH"
}

// args parses "( operand {, operand} )".
func (p *parser) args() ([]operand, error) {
	if err := p.expectPunct("("); err != nil {
		return nil, err
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	var out []operand
	for {
		o, err := p.operand(false)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
		if p.isPunct(",") {
			p.next()
			continue
		}
		return out, p.expectPunct(")")
	}
}

// operand parses a path, a :value, or a function call. In update
// expressions (update true) if_not_exists and list_append are allowed and
// size is not.
func (p *parser) operand(update bool) (operand, error) {
	t := p.peek()
	switch t.kind {
	case tokValuePH:
		p.next()
		v, ok := p.values[t.text]
		if !ok {
			return operand{}, p.errorf("An expression attribute value used in expression is not defined; attribute value: %s", t.text)
		}
		p.used[t.text] = true
		return operand{val: &v, label: t.text}, nil
	case tokName:
		if p.toks[p.pos+1].text == "(" {
			return p.function(update)
		}
		fallthrough
	case tokNamePH:
		path, err := p.path()
		if err != nil {
			return operand{}, err
		}
		return operand{path: path, label: path.String()}, nil
	}
	return operand{}, p.syntaxError()
}

func (p *parser) function(update bool) (operand, error) {
	fn := p.next().text
	switch {
	case fn == "size" && !update:
	case (fn == "if_not_exists" || fn == "list_append") && update:
	case update && (fn == "size" || conditionFuncs[fn] > 0):
		return operand{}, p.errorf("The function is not allowed in an update expression; function: %s", fn)
	case !update && conditionFuncs[fn] > 0:
		// A boolean function where a value is needed, e.g. "a = attribute_exists(b)".
		return operand{}, p.syntaxError()
	default:
		_, err := p.badFunction(fn)
		return operand{}, err
	}
	if err := p.enter(); err != nil {
		return operand{}, err
	}
	defer p.leave()
	if err := p.expectPunct("("); err != nil {
		return operand{}, err
	}
	var args []operand
	for {
		var o operand
		var err error
		if update {
			o, err = p.setValue()
		} else {
			o, err = p.operand(false)
		}
		if err != nil {
			return operand{}, err
		}
		args = append(args, o)
		if p.isPunct(",") {
			p.next()
			continue
		}
		if err := p.expectPunct(")"); err != nil {
			return operand{}, err
		}
		break
	}
	want := map[string]int{"size": 1, "if_not_exists": 2, "list_append": 2}[fn]
	if len(args) != want {
		return operand{}, p.errorf("Incorrect number of operands for operator or function; operator or function: %s, number of operands: %d", fn, len(args))
	}
	if (fn == "size" || fn == "if_not_exists") && args[0].path == nil {
		return operand{}, p.errorf("Operator or function requires a document path; operator or function: %s", fn)
	}
	return operand{fn: fn, args: args, label: fn}, nil
}

// path parses name { .name | [n] }.
func (p *parser) path() (docPath, error) {
	var out docPath
	elem := func() error {
		t := p.next()
		switch t.kind {
		case tokName:
			if reservedWords[strings.ToUpper(t.text)] {
				return p.errorf("Attribute name is a reserved keyword; reserved keyword: %s", t.text)
			}
			out = append(out, pathElem{name: t.text})
		case tokNamePH:
			n, ok := p.names[t.text]
			if !ok {
				return p.errorf("An expression attribute name used in the document path is not defined; attribute name: %s", t.text)
			}
			p.used[t.text] = true
			out = append(out, pathElem{name: n})
		default:
			p.back(t)
			return p.syntaxError()
		}
		return nil
	}
	if err := elem(); err != nil {
		return nil, err
	}
	for len(out) <= maxDepth {
		switch {
		case p.isPunct("."):
			p.next()
			if err := elem(); err != nil {
				return nil, err
			}
		case p.isPunct("["):
			p.next()
			t := p.next()
			if t.kind != tokNumber {
				p.back(t)
				return nil, p.syntaxError()
			}
			n, err := strconv.Atoi(t.text)
			if err != nil {
				return nil, p.errorf("List index is out of range; index: %s", t.text)
			}
			if err := p.expectPunct("]"); err != nil {
				return nil, err
			}
			out = append(out, pathElem{index: n, isIdx: true})
		default:
			return out, nil
		}
	}
	return nil, p.errorf("The document path has too many nesting levels; nesting levels: %d", len(out))
}

// update is a parsed UpdateExpression.
type update struct {
	set    []setAction
	remove []docPath
	add    []addAction // ADD, and DELETE (del true) for sets
}

// paths are the document paths the update acts on, in order.
func (u *update) paths() []docPath {
	var out []docPath
	for _, s := range u.set {
		out = append(out, s.path)
	}
	out = append(out, u.remove...)
	for _, a := range u.add {
		out = append(out, a.path)
	}
	return out
}

type setAction struct {
	path docPath
	val  operand
}

type addAction struct {
	path docPath
	val  value
	del  bool
}

func parseUpdate(src string, names map[string]string, values map[string]value, used map[string]bool) (*update, error) {
	p, err := newParser("UpdateExpression", src, names, values, used)
	if err != nil {
		return nil, err
	}
	u := &update{}
	seen := map[string]bool{}
	for p.peek().kind != tokEOF {
		t := p.next()
		section := strings.ToUpper(t.text)
		if t.kind != tokName || !(section == "SET" || section == "REMOVE" || section == "ADD" || section == "DELETE") {
			p.pos--
			return nil, p.syntaxError()
		}
		if seen[section] {
			return nil, p.errorf("The \"%s\" section can only be used once in an update expression;", section)
		}
		seen[section] = true
		for {
			if err := p.updateAction(section, u); err != nil {
				return nil, err
			}
			if !p.isPunct(",") {
				break
			}
			p.next()
		}
	}
	if err := u.checkOverlap(p); err != nil {
		return nil, err
	}
	return u, nil
}

func (p *parser) updateAction(section string, u *update) error {
	path, err := p.path()
	if err != nil {
		return err
	}
	switch section {
	case "SET":
		if err := p.expectPunct("="); err != nil {
			return err
		}
		v, err := p.setValue()
		if err != nil {
			return err
		}
		u.set = append(u.set, setAction{path, v})
	case "REMOVE":
		u.remove = append(u.remove, path)
	case "ADD", "DELETE":
		if p.peek().kind != tokValuePH {
			return p.syntaxError()
		}
		o, err := p.operand(true)
		if err != nil {
			return err
		}
		k := o.val.kind
		if section == "ADD" && k != kindN && k != kindSS && k != kindNS && k != kindBS ||
			section == "DELETE" && k != kindSS && k != kindNS && k != kindBS {
			// The type set DynamoDB checks the operand against is named
			// last (Dynamoid/dynamoid spec/dynamoid/transaction_write/update_fields_spec.rb:
			// "operator: ADD, operand type: STRING, typeSet: ALLOWED_FOR_ADD_OPERAND").
			return p.errorf("Incorrect operand type for operator or function; operator: %s, operand type: %s, typeSet: ALLOWED_FOR_%s_OPERAND", section, typeName(k), section)
		}
		u.add = append(u.add, addAction{path: path, val: *o.val, del: section == "DELETE"})
	}
	return nil
}

// typeName is how DynamoDB names a type in operand-type messages.
func typeName(k kind) string {
	switch k {
	case kindS:
		return "STRING"
	case kindN:
		return "NUMBER"
	case kindB:
		return "BINARY"
	case kindBOOL:
		return "BOOLEAN"
	case kindM:
		return "MAP"
	case kindL:
		return "LIST"
	}
	return string(k)
}

// setValue parses operand [ (+|-) operand ].
func (p *parser) setValue() (operand, error) {
	l, err := p.operand(true)
	if err != nil {
		return operand{}, err
	}
	if p.isPunct("+") || p.isPunct("-") {
		op := p.next().text
		r, err := p.operand(true)
		if err != nil {
			return operand{}, err
		}
		for _, o := range []operand{l, r} {
			if o.val != nil && o.val.kind != kindN {
				return operand{}, p.errorf("Incorrect operand type for operator or function; operator: %s, operand type: %s", op, typeName(o.val.kind))
			}
		}
		return operand{fn: op, args: []operand{l, r}, label: l.label + " " + op + " " + r.label}, nil
	}
	return l, nil
}

// checkOverlap rejects two actions on one path or on a path and its
// prefix, which DynamoDB refuses.
func (u *update) checkOverlap(p *parser) error {
	return p.checkOverlap(u.paths())
}

// checkOverlap rejects two paths of which one is the other or its prefix,
// in an update expression or a projection alike.
func (p *parser) checkOverlap(paths []docPath) error {
	for i := range paths {
		for j := i + 1; j < len(paths); j++ {
			a, b := paths[i], paths[j]
			n := min(len(a), len(b))
			same := true
			for k := range n {
				if a[k] != b[k] {
					same = false
					break
				}
			}
			if same {
				return p.errorf("Two document paths overlap with each other; must remove or rewrite one of these paths; path one: %s, path two: %s", a.list(), b.list())
			}
		}
	}
	return nil
}

// parseProjection parses a comma-separated list of document paths.
func parseProjection(src string, names map[string]string, used map[string]bool) ([]docPath, error) {
	p, err := newParser("ProjectionExpression", src, names, nil, used)
	if err != nil {
		return nil, err
	}
	var out []docPath
	for {
		path, err := p.path()
		if err != nil {
			return nil, err
		}
		out = append(out, path)
		if !p.isPunct(",") {
			break
		}
		p.next()
	}
	if p.peek().kind != tokEOF {
		return nil, p.syntaxError()
	}
	// A projection naming a path twice is refused as an update's would be
	// (moto's TestDuplicateProjectionExpressions).
	if err := p.checkOverlap(out); err != nil {
		return nil, err
	}
	return out, nil
}
