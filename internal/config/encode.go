package config

import (
	"net/netip"
	"reflect"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// MarshalYAML encodes c in the schema's own spelling (durations as 1.5s,
// CIDRs as text, route tables as `all` or a list), so that Parse reads the
// output back to an equal Config: `vipd run --validate` can print the
// effective configuration, defaults included.
func (c Config) MarshalYAML() (any, error) {
	return encodeValue(reflect.ValueOf(c)), nil
}

// MarshalYAML encodes c as Config's does, so that ParseController reads the
// output back to an equal Controller.
func (c Controller) MarshalYAML() (any, error) {
	return encodeValue(reflect.ValueOf(c)), nil
}

// encodeValue mirrors decoder.decode. It returns nil for values that are
// left out: nil struct pointers and slices and invalid prefixes, whose
// defaults are the same zero values, so leaving them out round-trips.
func encodeValue(v reflect.Value) *yaml.Node {
	switch v.Type() {
	case durationType:
		return scalar(time.Duration(v.Int()).String())
	case prefixType:
		p := v.Interface().(netip.Prefix)
		if !p.IsValid() {
			return nil
		}
		return scalar(p.String())
	case routeTablesType:
		return encodeRouteTables(v.Interface().(RouteTables))
	}
	switch v.Kind() {
	case reflect.Struct:
		m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if key == "" || key == "-" || !f.IsExported() {
				continue
			}
			e := encodeValue(v.Field(i))
			if e == nil || (f.Type.Kind() == reflect.Struct && e.Kind == yaml.MappingNode && len(e.Content) == 0) {
				continue
			}
			m.Content = append(m.Content, scalar(key), e)
		}
		return m
	case reflect.Pointer:
		if v.IsNil() {
			if v.Type().Elem().Kind() == reflect.Struct {
				return nil
			}
			// A nil *bool (shutdown.release) is not its default (true):
			// write null so that it reads back as nil.
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
		}
		return encodeValue(v.Elem())
	case reflect.Slice:
		if v.IsNil() {
			return nil
		}
		s := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for i := range v.Len() {
			e := encodeValue(v.Index(i))
			if e == nil {
				e = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
			}
			s.Content = append(s.Content, e)
		}
		return s
	}
	n := &yaml.Node{}
	if err := n.Encode(v.Interface()); err != nil {
		// Only strings, ints and bools reach here; yaml encodes them all.
		panic("config: encode " + v.Type().String() + ": " + err.Error())
	}
	return n
}

func encodeRouteTables(r RouteTables) *yaml.Node {
	if r.All {
		return scalar(routeTablesAll)
	}
	if r.Tags != nil {
		return encodeValue(reflect.ValueOf(routeTableTags{Tags: r.Tags}))
	}
	if r.IDs == nil {
		return nil
	}
	s := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
	for _, id := range r.IDs {
		s.Content = append(s.Content, scalar(id))
	}
	return s
}

// scalar is a string node, quoted by the emitter when it would otherwise
// read back as another type.
func scalar(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}
