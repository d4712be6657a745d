package dynamodb

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"slices"
	"strings"
)

// kind is a DynamoDB attribute type descriptor.
type kind string

const (
	kindS    kind = "S"
	kindN    kind = "N"
	kindB    kind = "B"
	kindBOOL kind = "BOOL"
	kindNULL kind = "NULL"
	kindM    kind = "M"
	kindL    kind = "L"
	kindSS   kind = "SS"
	kindNS   kind = "NS"
	kindBS   kind = "BS"
)

// value is one attribute value. s holds S, the canonical text of N, and the
// raw bytes of B; set holds SS, NS (canonical) and BS (raw bytes).
type value struct {
	kind kind
	s    string
	b    bool
	m    map[string]value
	l    []value
	set  []string
}

type item = map[string]value

// exprValues is a request's ExpressionAttributeValues; a value DynamoDB
// refuses is reported with its placeholder, as DynamoDB words it
// ("ExpressionAttributeValues contains invalid value: ... for key :v").
type exprValues map[string]value

func (e *exprValues) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	if raw == nil {
		*e = nil
		return nil
	}
	out := make(exprValues, len(raw))
	for k, r := range raw {
		var v value
		if err := json.Unmarshal(r, &v); err != nil {
			var ae *apiError
			if errors.As(err, &ae) {
				return validation("ExpressionAttributeValues contains invalid value: " + ae.message + " for key " + k)
			}
			return err
		}
		out[k] = v
	}
	*e = out
	return nil
}

func (v value) MarshalJSON() ([]byte, error) {
	var inner any
	switch v.kind {
	case kindS, kindN:
		inner = v.s
	case kindB:
		inner = []byte(v.s)
	case kindBOOL:
		inner = v.b
	case kindNULL:
		inner = true
	case kindM:
		m := v.m
		if m == nil {
			m = map[string]value{}
		}
		inner = m
	case kindL:
		l := v.l
		if l == nil {
			l = []value{}
		}
		inner = l
	case kindSS, kindNS:
		inner = v.set
	case kindBS:
		bs := make([][]byte, len(v.set))
		for i, s := range v.set {
			bs[i] = []byte(s)
		}
		inner = bs
	}
	return json.Marshal(map[kind]any{v.kind: inner})
}

// UnmarshalJSON decodes and validates an AttributeValue; problems are
// ValidationExceptions with DynamoDB's wording.
func (v *value) UnmarshalJSON(data []byte) error {
	var raw map[kind]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	switch len(raw) {
	case 0:
		return validation("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")
	case 1:
	default:
		return validation("Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes")
	}
	for k, r := range raw {
		*v = value{kind: k}
		switch k {
		case kindS:
			return json.Unmarshal(r, &v.s)
		case kindN:
			var s string
			if err := json.Unmarshal(r, &s); err != nil {
				return err
			}
			n, err := canonicalNumber(s)
			if err != nil {
				return err
			}
			v.s = n
		case kindB:
			var b []byte
			if err := json.Unmarshal(r, &b); err != nil {
				return err
			}
			v.s = string(b)
		case kindBOOL:
			return json.Unmarshal(r, &v.b)
		case kindNULL:
			var b bool
			if err := json.Unmarshal(r, &b); err != nil {
				return err
			}
			if !b {
				return validation("One or more parameter values were invalid: Null attribute value types must have the value of true")
			}
		case kindM:
			v.m = map[string]value{}
			return json.Unmarshal(r, &v.m)
		case kindL:
			v.l = []value{}
			return json.Unmarshal(r, &v.l)
		case kindSS, kindNS, kindBS:
			return v.unmarshalSet(r)
		default:
			return validation("Supplied AttributeValue has an unsupported datatype: " + string(k))
		}
	}
	return nil
}

func (v *value) unmarshalSet(r json.RawMessage) error {
	if v.kind == kindBS {
		var bs [][]byte
		if err := json.Unmarshal(r, &bs); err != nil {
			return err
		}
		for _, b := range bs {
			v.set = append(v.set, string(b))
		}
	} else if err := json.Unmarshal(r, &v.set); err != nil {
		return err
	}
	if len(v.set) == 0 {
		// Sic: "An number set  may not be empty", two spaces and all
		// (moto's aws_verified test_put_item_empty_set).
		return validation("One or more parameter values were invalid: An " + setNames[v.kind] + " set  may not be empty")
	}
	if v.kind == kindNS {
		for i, s := range v.set {
			n, err := canonicalNumber(s)
			if err != nil {
				return err
			}
			v.set[i] = n
		}
	}
	sorted := slices.Clone(v.set)
	slices.Sort(sorted)
	if len(slices.Compact(sorted)) != len(v.set) {
		return validation("One or more parameter values were invalid: Input collection " + setString(v) + " contains duplicates.")
	}
	return nil
}

var setNames = map[kind]string{kindSS: "string", kindNS: "number", kindBS: "binary"}

func setString(v *value) string {
	parts := slices.Clone(v.set)
	if v.kind == kindBS {
		for i, p := range parts {
			parts[i] = base64.StdEncoding.EncodeToString([]byte(p))
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// maxNumberDigits is DynamoDB's precision: 38 significant digits.
const maxNumberDigits = 38

// DynamoDB numbers range over magnitudes from 1E-130 to below 1E+126.
var (
	minMagnitude, _ = new(big.Rat).SetString("1e-130")
	maxMagnitude, _ = new(big.Rat).SetString("1e126")
)

// canonicalNumber parses a DynamoDB number and returns it the way DynamoDB
// stores and returns it: no exponent, no leading or trailing zeros
// ("1.50" → "1.5", "1E2" → "100", "-0" → "0").
func canonicalNumber(s string) (string, error) {
	r, ok := parseNumber(s)
	if !ok {
		return "", validation("The parameter cannot be converted to a numeric value: " + s)
	}
	if abs := new(big.Rat).Abs(r); abs.Sign() != 0 {
		if abs.Cmp(minMagnitude) < 0 {
			return "", validation("Number underflow. Attempting to store a number with magnitude smaller than supported range")
		}
		if abs.Cmp(maxMagnitude) >= 0 {
			return "", validation("Number overflow. Attempting to store a number with magnitude larger than supported range")
		}
	}
	out := formatNumber(r)
	digits := strings.TrimLeft(strings.NewReplacer("-", "", ".", "").Replace(out), "0")
	if len(strings.TrimRight(digits, "0")) > maxNumberDigits {
		return "", validation("Attempting to store more than 38 significant digits in a Number")
	}
	return out, nil
}

func parseNumber(s string) (*big.Rat, bool) {
	// Leading or trailing whitespace makes a number invalid (moto's
	// test_put_item_invalid_number_types: "fail validation on the AWS side").
	t := s
	if t == "" || strings.TrimSpace(t) != t || strings.ContainsAny(t, "/xXpP_") || strings.EqualFold(strings.TrimLeft(t, "+-"), "inf") || strings.EqualFold(t, "nan") {
		return nil, false
	}
	// Exponents beyond DynamoDB's range (1E-130 to 1E+126) are rejected
	// before big.Rat tries to build a huge number.
	if i := strings.IndexAny(t, "eE"); i >= 0 {
		if len(t)-i > 5 {
			return nil, false
		}
	}
	r, ok := new(big.Rat).SetString(t)
	return r, ok
}

// formatNumber writes r, a finite decimal, exactly.
func formatNumber(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	den := new(big.Int).Set(r.Denom())
	prec := 0
	ten := big.NewInt(10)
	for p := new(big.Int).Set(den); prec < 400; prec++ {
		if new(big.Int).Mod(new(big.Int).Exp(ten, big.NewInt(int64(prec)), nil), p).Sign() == 0 {
			break
		}
	}
	out := r.FloatString(prec)
	if strings.Contains(out, ".") {
		out = strings.TrimRight(strings.TrimRight(out, "0"), ".")
	}
	return out
}

func numberOf(v value) *big.Rat {
	r, _ := new(big.Rat).SetString(v.s) // canonical numbers always parse
	return r
}

// equal is DynamoDB's = : same type and same value; sets compare as sets.
func equal(a, b value) bool {
	if a.kind != b.kind {
		return false
	}
	switch a.kind {
	case kindN:
		return numberOf(a).Cmp(numberOf(b)) == 0
	case kindS, kindB:
		return a.s == b.s
	case kindBOOL:
		return a.b == b.b
	case kindNULL:
		return true
	case kindM:
		if len(a.m) != len(b.m) {
			return false
		}
		for k, av := range a.m {
			bv, ok := b.m[k]
			if !ok || !equal(av, bv) {
				return false
			}
		}
		return true
	case kindL:
		return slices.EqualFunc(a.l, b.l, equal)
	default:
		x, y := slices.Clone(a.set), slices.Clone(b.set)
		slices.Sort(x)
		slices.Sort(y)
		return slices.Equal(x, y)
	}
}

// compare orders two values of one scalar type (S, N or B); ok is false
// for any other pair, which makes <, <=, >, >= and BETWEEN false.
func compare(a, b value) (c int, ok bool) {
	if a.kind != b.kind {
		return 0, false
	}
	switch a.kind {
	case kindN:
		return numberOf(a).Cmp(numberOf(b)), true
	case kindS, kindB:
		return bytes.Compare([]byte(a.s), []byte(b.s)), true
	}
	return 0, false
}

func (v value) clone() value {
	c := v
	if v.m != nil {
		c.m = make(map[string]value, len(v.m))
		for k, e := range v.m {
			c.m[k] = e.clone()
		}
	}
	if v.l != nil {
		c.l = make([]value, len(v.l))
		for i, e := range v.l {
			c.l[i] = e.clone()
		}
	}
	c.set = slices.Clone(v.set)
	return c
}

func cloneItem(it item) item {
	if it == nil {
		return nil
	}
	c := make(item, len(it))
	for k, v := range it {
		c[k] = v.clone()
	}
	return c
}
