package config

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

const referencePath = "../../docs/configuration.md"

// TestReference keeps docs/configuration.md, the configuration reference,
// generated from the schema: every key of vipd run's and vipd controller's
// files with its type, default and the doc comment of its field. A key
// added, renamed or re-documented without `go test ./internal/config -run
// TestReference -update` fails here.
func TestReference(t *testing.T) {
	docs := fieldDocs(t)
	var b strings.Builder
	b.WriteString(referenceHeader)
	for _, s := range []struct {
		title, intro string
		v            any
	}{
		{"vipd run (nodes and witnesses)", "`vipd run --config FILE`; examples: `examples/a.vipd.yaml`, `examples/witness.vipd.yaml`, `examples/two-node-dynamodb.vipd.yaml`, `examples/etcd.vipd.yaml`, `deploy/vipd.yaml`.", Default()},
		{"vipd controller", "`vipd controller --config FILE` and the Lambda function; see docs/controller.md for an example.", DefaultController()},
	} {
		fmt.Fprintf(&b, "\n## %s\n\n%s\n\n| key | type | default | meaning |\n|---|---|---|---|\n", s.title, s.intro)
		writeKeys(&b, docs, "", reflect.ValueOf(s.v).Elem(), true)
	}
	got := b.String()
	if *update {
		if err := os.WriteFile(referencePath, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(referencePath)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/config -run TestReference -update)", err)
	}
	if string(want) != got {
		t.Errorf("docs/configuration.md is not the schema's reference: run go test ./internal/config -run TestReference -update")
	}
	if regexp.MustCompile(`(?i)\bseeds?\b`).MatchString(got) {
		t.Errorf("the reference speaks of seeds: reword the field comments")
	}
}

const referenceHeader = `# Configuration reference

Every key of vipd's configuration files, generated from the schema in
internal/config (its field comments, types and defaults) by
` + "`go test ./internal/config -run TestReference -update`" + `, which also fails when
this file falls behind. Durations are Go durations (` + "`1.5s`, `200ms`" + `);
addresses and prefixes are IP notation. Unknown keys are errors, reported with
file:line:column. ` + "`vipd run --config FILE --validate`" + ` checks a file offline;
` + "`vipd check --config FILE`" + ` checks it against the instance and its VPC.

A key written ` + "`a[].b`" + ` is the key ` + "`b`" + ` of every element of the list ` + "`a`" + `.
An empty default means none (or one derived from another key, as its meaning says).
`

var (
	refDuration = reflect.TypeFor[time.Duration]()
	refPrefix   = reflect.TypeFor[netip.Prefix]()
	refAddr     = reflect.TypeFor[netip.Addr]()
	refAddrPort = reflect.TypeFor[netip.AddrPort]()
)

// writeKeys writes a row per key of the struct v under prefix; defaults
// are shown where v holds them (not inside lists).
func writeKeys(b *strings.Builder, docs map[string]string, prefix string, v reflect.Value, withDefaults bool) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		key := prefix + name
		fv := v.Field(i)
		ft := f.Type
		doc := docs[t.Name()+"."+f.Name]
		switch {
		case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct && !leaf(ft.Elem()):
			row(b, key, "map", "", doc)
			writeKeys(b, docs, key+".", reflect.New(ft.Elem()).Elem(), false)
		case ft.Kind() == reflect.Struct && !leaf(ft):
			row(b, key, "map", "", doc)
			writeKeys(b, docs, key+".", fv, withDefaults)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct && !leaf(ft.Elem()):
			row(b, key, "list of maps", "", doc)
			writeKeys(b, docs, key+"[].", reflect.New(ft.Elem()).Elem(), false)
		default:
			def := ""
			if withDefaults && fv.Kind() == reflect.Pointer && !fv.IsNil() {
				fv = fv.Elem()
			}
			if withDefaults && fv.IsValid() && !fv.IsZero() {
				def = "`" + strings.ReplaceAll(fmt.Sprint(fv.Interface()), "|", "\\|") + "`"
			}
			row(b, key, typeName(ft), def, doc)
		}
	}
}

// leaf reports struct types written as one scalar (or a scalar-or-list)
// in YAML.
func leaf(t reflect.Type) bool {
	switch t {
	case refDuration, refPrefix, refAddr, refAddrPort, reflect.TypeFor[RouteTables]():
		return true
	}
	return false
}

func typeName(t reflect.Type) string {
	switch t {
	case refDuration:
		return "duration"
	case refPrefix:
		return "IP prefix"
	case refAddr:
		return "IP address"
	case refAddrPort:
		return "IP:port"
	case reflect.TypeFor[RouteTables]():
		return "`all` or list of strings"
	}
	switch t.Kind() {
	case reflect.Slice:
		return "list of " + strings.TrimPrefix(typeName(t.Elem()), "list of ") + "s"
	case reflect.Pointer:
		return typeName(t.Elem())
	case reflect.Map:
		return "map of " + typeName(t.Elem())
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint, reflect.Uint64, reflect.Uint32, reflect.Uint16, reflect.Uint8:
		return "integer"
	case reflect.Float64, reflect.Float32:
		return "number"
	}
	return "string"
}

func row(b *strings.Builder, key, typ, def, doc string) {
	fmt.Fprintf(b, "| `%s` | %s | %s | %s |\n", key, typ, def, strings.ReplaceAll(doc, "|", "\\|"))
}

// internalRef drops what a field comment says to the code's readers only:
// references to source files, functions and the recipes vipd came from.
var internalRef = regexp.MustCompile(`\s*\((?:[^()]*\b(?:seeds?|[a-z_]+\.go|DeriveDefaults|design\.md)\b[^()]*)\)`)

// fieldDocs reads the doc comments of the schema's fields from the
// package's source: "Type.Field" → the comment as one line.
func fieldDocs(t *testing.T) map[string]string {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]string{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				return false
			}
			for _, fld := range st.Fields.List {
				if fld.Doc == nil {
					continue
				}
				text := internalRef.ReplaceAllString(strings.Join(strings.Fields(fld.Doc.Text()), " "), "")
				for _, id := range fld.Names {
					docs[ts.Name.Name+"."+id.Name] = text
				}
			}
			return false
		})
	}
	return docs
}
