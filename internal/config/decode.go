package config

import (
	"fmt"
	"math"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// The decoder walks the yaml.Node tree itself instead of using
// yaml.Decoder.KnownFields: yaml reports unknown keys with a line but no
// column or path, accepts duplicate keys when decoding into a Node, and
// stops at the first problem, while vipd names file:line:column and the
// YAML path of every problem.

var (
	durationType    = reflect.TypeFor[time.Duration]()
	prefixType      = reflect.TypeFor[netip.Prefix]()
	routeTablesType = reflect.TypeFor[RouteTables]()
	checkType       = reflect.TypeFor[Check]()
)

// maxNodes bounds the nodes one document may expand to, aliases included:
// a config has a few hundred, and a "billion laughs" alias chain would
// otherwise decode for ever.
const maxNodes = 100_000

// maxDepth bounds nesting; the schema is six levels deep.
const maxDepth = 32

type decoder struct {
	idx   *index
	errs  []error
	nodes int
	// stop is set when the node budget is spent; decoding unwinds.
	stop bool
}

func (d *decoder) errorAt(n *yaml.Node, path, format string, args ...any) {
	d.errs = append(d.errs, &Error{
		Source: d.idx.source,
		Line:   n.Line,
		Column: n.Column,
		Path:   path,
		Msg:    fmt.Sprintf(format, args...),
	})
}

// decode stores n into v (addressable), recording where path was written.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string, depth int) {
	if d.stop {
		return
	}
	d.idx.values[path] = pos{n.Line, n.Column}
	for n.Kind == yaml.AliasNode {
		n = n.Alias
		d.nodes++
	}
	d.nodes++
	if d.nodes > maxNodes {
		d.errorAt(n, path, "document expands to more than %d nodes (aliases?)", maxNodes)
		d.stop = true
		return
	}
	if depth > maxDepth {
		d.errorAt(n, path, "nested deeper than %d levels", maxDepth)
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		// `key:` or `key: null` clears lists and pointers and leaves
		// everything else at its default, as the yaml package does.
		switch v.Kind() {
		case reflect.Pointer, reflect.Slice:
			v.SetZero()
		}
		return
	}

	switch v.Type() {
	case durationType:
		d.decodeDuration(n, v, path)
		return
	case prefixType:
		d.decodePrefix(n, v, path)
		return
	case routeTablesType:
		if m := unalias(n); m.Kind == yaml.MappingNode {
			// {tags: [...]}: decoded as a struct, so that unknown keys and
			// every tag's fields are placed as anywhere else.
			var sel routeTableTags
			d.decodeStruct(m, reflect.ValueOf(&sel).Elem(), path, depth)
			if sel.Tags == nil {
				sel.Tags = []Tag{}
			}
			v.Set(reflect.ValueOf(RouteTables{Tags: sel.Tags}))
			return
		}
		rt, err := decodeRouteTables(n)
		if err != nil {
			d.errorAt(n, path, "%s", err.Msg)
			return
		}
		for i := range rt.IDs {
			e := n
			for e.Kind == yaml.AliasNode {
				e = e.Alias
			}
			d.idx.values[indexPath(path, i)] = pos{e.Content[i].Line, e.Content[i].Column}
		}
		v.Set(reflect.ValueOf(rt))
		return
	}

	switch v.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, v, path, depth)
	case reflect.Pointer:
		if v.IsNil() {
			p := reflect.New(v.Type().Elem())
			if p.Elem().Type() == reflect.TypeFor[Check]() {
				// A single check (election.primary-check) takes the same
				// defaults as the elements of the health list.
				p.Elem().Set(reflect.ValueOf(DefaultCheck()))
			}
			v.Set(p)
		}
		d.decode(n, v.Elem(), path, depth+1)
	case reflect.Slice:
		d.decodeSlice(n, v, path, depth)
	case reflect.String:
		if !d.want(n, path, yaml.ScalarNode, "a string") {
			return
		}
		if n.ShortTag() != "!!str" {
			d.errorAt(n, path, "want a string, got %s (quote it if it is meant as text)", describe(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Int:
		if !d.want(n, path, yaml.ScalarNode, "an integer") {
			return
		}
		if n.ShortTag() != "!!int" {
			d.errorAt(n, path, "want an integer, got %s", describe(n))
			return
		}
		i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
		if err != nil || i < math.MinInt32 || i > math.MaxInt32 {
			d.errorAt(n, path, "integer %s is out of range", n.Value)
			return
		}
		v.SetInt(i)
	case reflect.Bool:
		if !d.want(n, path, yaml.ScalarNode, "true or false") {
			return
		}
		var b bool
		if n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
			d.errorAt(n, path, "want true or false, got %s", describe(n))
			return
		}
		v.SetBool(b)
	default:
		panic(fmt.Sprintf("config: no decoder for %s at %s", v.Type(), path))
	}
}

// want reports whether n is of kind k, and records an error if not.
func (d *decoder) want(n *yaml.Node, path string, k yaml.Kind, what string) bool {
	if n.Kind == k {
		return true
	}
	d.errorAt(n, path, "want %s, got %s", what, describe(n))
	return false
}

// fields returns the yaml key → field index map of struct type t, and the
// keys in declaration order for suggestions.
func fields(t reflect.Type) (map[string]int, []string) {
	m := map[string]int{}
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		m[tag] = i
		keys = append(keys, tag)
	}
	return m, keys
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string, depth int) {
	if !d.want(n, path, yaml.MappingNode, "a mapping") {
		return
	}
	byKey, keys := fields(v.Type())
	seen := map[string]int{} // key → line first written
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], n.Content[i+1]
		if kn.ShortTag() == "!!merge" {
			// Merge keys (<<) would let a key come from two places; the
			// schema is small enough to spell out.
			d.errorAt(kn, path, "merge keys (<<) are not supported; write the keys out")
			continue
		}
		if kn.Kind != yaml.ScalarNode {
			d.errorAt(kn, path, "want a key, got %s", describe(kn))
			continue
		}
		key := kn.Value
		p := joinPath(path, key)
		if line, dup := seen[key]; dup {
			d.errorAt(kn, p, "duplicate key (first written on line %d)", line)
			continue
		}
		seen[key] = kn.Line
		fi, ok := byKey[key]
		if !ok {
			d.errorAt(kn, p, "unknown key%s", didYouMean(key, keys))
			continue
		}
		d.idx.keys[p] = pos{kn.Line, kn.Column}
		d.decode(vn, v.Field(fi), p, depth+1)
	}
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string, depth int) {
	if !d.want(n, path, yaml.SequenceNode, "a list") {
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, en := range n.Content {
		e := s.Index(i)
		if e.Type() == checkType {
			// Each check starts from the check defaults, so `rise: 0`
			// written out stays 0 (and is refused) while an omitted rise
			// is 2.
			e.Set(reflect.ValueOf(DefaultCheck()))
		}
		d.decode(en, e, indexPath(path, i), depth+1)
	}
	v.Set(s)
}

func (d *decoder) decodeDuration(n *yaml.Node, v reflect.Value, path string) {
	if !d.want(n, path, yaml.ScalarNode, "a duration") {
		return
	}
	dur, err := time.ParseDuration(n.Value)
	if err != nil {
		hint := ""
		if _, ierr := strconv.ParseFloat(n.Value, 64); ierr == nil {
			hint = fmt.Sprintf(" (add a unit: %ss or %sms)", n.Value, n.Value)
		}
		d.errorAt(n, path, "%q is not a duration like 1.5s or 500ms%s", n.Value, hint)
		return
	}
	v.SetInt(int64(dur))
}

func (d *decoder) decodePrefix(n *yaml.Node, v reflect.Value, path string) {
	if !d.want(n, path, yaml.ScalarNode, "a CIDR") {
		return
	}
	p, err := netip.ParsePrefix(n.Value)
	if err != nil {
		hint := ""
		if a, aerr := netip.ParseAddr(n.Value); aerr == nil {
			hint = fmt.Sprintf(" (for one address write %s/%d)", a, a.BitLen())
		}
		d.errorAt(n, path, "%q is not a CIDR%s", n.Value, hint)
		return
	}
	v.Set(reflect.ValueOf(p))
}

func unalias(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// routeTablesAll is the scalar form of RouteTables.
const routeTablesAll = "all"

// decodeRouteTables reads `all` or a list of ids. Ids are checked by
// Validate, which knows their positions through the index.
func decodeRouteTables(n *yaml.Node) (RouteTables, *Error) {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.ShortTag() == "!!str" && n.Value == routeTablesAll {
			return RouteTables{All: true}, nil
		}
		return RouteTables{}, &Error{Line: n.Line, Column: n.Column,
			Msg: fmt.Sprintf("want %q, a list of route table ids or {tags: [...]}, got %s%s", routeTablesAll, describe(n), didYouMean(n.Value, []string{routeTablesAll}))}
	case yaml.SequenceNode:
		ids := make([]string, 0, len(n.Content))
		for _, e := range n.Content {
			for e.Kind == yaml.AliasNode {
				e = e.Alias
			}
			if e.Kind != yaml.ScalarNode || e.ShortTag() != "!!str" {
				return RouteTables{}, &Error{Line: e.Line, Column: e.Column,
					Msg: fmt.Sprintf("want a route table id, got %s", describe(e))}
			}
			ids = append(ids, e.Value)
		}
		return RouteTables{IDs: ids}, nil
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; k.Value != "tags" {
				return RouteTables{}, &Error{Line: k.Line, Column: k.Column,
					Msg: fmt.Sprintf("unknown key %q; want tags", k.Value)}
			}
		}
		var sel routeTableTags
		if err := n.Decode(&sel); err != nil {
			return RouteTables{}, &Error{Line: n.Line, Column: n.Column, Msg: err.Error()}
		}
		if sel.Tags == nil {
			sel.Tags = []Tag{}
		}
		return RouteTables{Tags: sel.Tags}, nil
	}
	return RouteTables{}, &Error{Line: n.Line, Column: n.Column,
		Msg: fmt.Sprintf("want %q, a list of route table ids or {tags: [...]}, got %s", routeTablesAll, describe(n))}
}

// UnmarshalYAML decodes `all`, a list of route table ids or {tags: [...]}, for callers
// that decode a RouteTables with the yaml package directly.
func (r *RouteTables) UnmarshalYAML(n *yaml.Node) error {
	rt, err := decodeRouteTables(n)
	if err != nil {
		return err
	}
	*r = rt
	return nil
}

// MarshalYAML encodes r as `all` or a list of ids.
func (r RouteTables) MarshalYAML() (any, error) {
	return encodeRouteTables(r), nil
}

// describe names what n is for "want X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	}
	switch n.ShortTag() {
	case "!!str":
		return fmt.Sprintf("the string %q", n.Value)
	case "!!int":
		return "the integer " + n.Value
	case "!!float":
		return "the number " + n.Value
	case "!!bool":
		return "the boolean " + n.Value
	case "!!null":
		return "null"
	}
	return fmt.Sprintf("%s %q", n.ShortTag(), n.Value)
}
