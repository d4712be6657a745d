// Package logging builds the slog loggers of vipd's commands (vipd run,
// vipd controller, vipd-lambda, vpcsim), so that both formats show values
// the way an operator reads them:
//
//   - durations as Go duration strings ("2s", "150ms") in JSON as in text;
//     slog's JSON handler would write nanoseconds (2000000000);
//   - lists and maps as values, not Go syntax: in text "a, b" and
//     "key: a, b; other: c" instead of "[a b]" and "map[key:[a b]]"; in
//     JSON arrays and objects, with durations inside them as strings too.
//
// Callers log lists and maps as they are (slog.Any or a plain key/value
// pair), never pre-formatted with fmt.Sprint. Only commands import
// logging; libraries take a *slog.Logger.
package logging

import (
	"encoding"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"time"
)

// Format names a handler: "text" (logfmt-like key=value) or "json".
type Format string

// Formats.
const (
	Text Format = "text"
	JSON Format = "json"
)

// New returns a logger writing format to w from level on. An unknown
// format is text.
func New(w io.Writer, format Format, level slog.Leveler) *slog.Logger {
	return slog.New(NewHandler(w, format, level))
}

// NewHandler is New's handler, for callers that wrap it.
func NewHandler(w io.Writer, format Format, level slog.Leveler) slog.Handler {
	if format == JSON {
		return slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: replaceJSON})
	}
	return slog.NewTextHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: replaceText})
}

var durationType = reflect.TypeFor[time.Duration]()

func replaceJSON(_ []string, a slog.Attr) slog.Attr {
	switch a.Value.Kind() {
	case slog.KindDuration:
		a.Value = slog.StringValue(a.Value.Duration().String())
	case slog.KindAny:
		if v, ok := jsonValue(reflect.ValueOf(a.Value.Any())); ok {
			a.Value = slog.AnyValue(v)
		}
	}
	return a
}

func replaceText(_ []string, a slog.Attr) slog.Attr {
	switch a.Value.Kind() {
	case slog.KindDuration:
		// The text handler already writes Duration.String; say so here
		// too, so that both handlers are defined in one place.
		a.Value = slog.StringValue(a.Value.Duration().String())
	case slog.KindAny:
		if s, ok := textValue(reflect.ValueOf(a.Value.Any())); ok {
			a.Value = slog.StringValue(s)
		}
	}
	return a
}

// collection reports whether v is a list or map to render (byte slices are
// data, left to the handler).
func collection(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Slice:
		return v.Type().Elem().Kind() != reflect.Uint8
	case reflect.Array, reflect.Map:
		return true
	}
	return false
}

// textValue renders a list as "a, b" and a map as "k: v; k2: v2" with keys
// sorted, recursively; ok is false for other values. A nil or empty
// collection is "".
func textValue(v reflect.Value) (string, bool) {
	if !v.IsValid() || !collection(v) || isMarshaler(v) {
		return "", false
	}
	return text(v), true
}

func text(v reflect.Value) string {
	if !v.IsValid() {
		return "<nil>"
	}
	if v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return "<nil>"
		}
		if _, ok := v.Interface().(fmt.Stringer); !ok {
			return text(v.Elem())
		}
	}
	if !collection(v) || isMarshaler(v) {
		return fmt.Sprint(v.Interface())
	}
	if v.Kind() == reflect.Map {
		keys := v.MapKeys()
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, text(k)+": "+text(v.MapIndex(k)))
		}
		slices.Sort(parts)
		return strings.Join(parts, "; ")
	}
	parts := make([]string, v.Len())
	for i := range parts {
		parts[i] = text(v.Index(i))
	}
	return strings.Join(parts, ", ")
}

// jsonValue returns v with every time.Duration inside lists and maps
// turned into its string; ok is false when v needs no change.
func jsonValue(v reflect.Value) (any, bool) {
	if !v.IsValid() || !collection(v) || isMarshaler(v) || !holdsDuration(v.Type(), 0) {
		return nil, false
	}
	return jsonOf(v), true
}

func jsonOf(v reflect.Value) any {
	if !v.IsValid() {
		return nil
	}
	if v.Type() == durationType {
		return time.Duration(v.Int()).String()
	}
	if (v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer) && !v.IsNil() {
		return jsonOf(v.Elem())
	}
	if !collection(v) || isMarshaler(v) {
		return v.Interface()
	}
	if v.Kind() == reflect.Map {
		m := make(map[string]any, v.Len())
		for _, k := range v.MapKeys() {
			m[text(k)] = jsonOf(v.MapIndex(k))
		}
		return m
	}
	l := make([]any, v.Len())
	for i := range l {
		l[i] = jsonOf(v.Index(i))
	}
	return l
}

// holdsDuration reports whether lists or maps of type t can hold a
// time.Duration (interfaces might).
func holdsDuration(t reflect.Type, depth int) bool {
	if depth > 8 {
		return false
	}
	switch {
	case t == durationType, t.Kind() == reflect.Interface:
		return true
	case t.Kind() == reflect.Slice, t.Kind() == reflect.Array, t.Kind() == reflect.Pointer:
		return holdsDuration(t.Elem(), depth+1)
	case t.Kind() == reflect.Map:
		return holdsDuration(t.Elem(), depth+1)
	}
	return false
}

// isMarshaler reports whether v renders itself (a type with a String,
// MarshalText or MarshalJSON method, such as netip.Prefix or a named list
// type), which wins over the generic rendering.
func isMarshaler(v reflect.Value) bool {
	if !v.CanInterface() {
		return false
	}
	switch v.Interface().(type) {
	case fmt.Stringer, encoding.TextMarshaler, interface{ MarshalJSON() ([]byte, error) }:
		return true
	}
	return false
}
