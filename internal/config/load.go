package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// maxFileSize bounds what Load reads; a vipd config is a few kilobytes.
const maxFileSize = 1 << 20

// Load reads and parses the configuration file at path; see Parse. Errors
// name path as given.
func Load(path string) (*Config, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(data, path)
}

// Lint reads and parses the configuration file at path like Load, and also
// returns warnings: problems that leave the configuration valid but will
// fail on this host, each an *Error naming its line (a notify script that
// does not exist or is not executable). vipd run --validate prints them;
// vipd check fails on them.
func Lint(path string) (*Config, []error, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, nil, err
	}
	c, idx, err := parse(data, path)
	if err != nil {
		return nil, nil, err
	}
	return c, checkScripts(idx, c.Notify, ""), nil
}

// readFile reads a configuration file of at most maxFileSize bytes.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("read config %s: larger than %d bytes", path, maxFileSize)
	}
	return data, nil
}

// Parse decodes one YAML document over Default, fills derived defaults and
// validates the result. source names the input in errors ("" for none).
//
// Decoding is strict: unknown and duplicate keys, values of the wrong type,
// durations without a unit and malformed CIDRs are errors. Every problem is
// reported, each as an *Error with file:line:column and YAML path, joined
// with errors.Join. Validation runs only when decoding succeeded, because a
// value that failed to decode would make the cross-field rules report
// follow-on problems that are not real.
func Parse(data []byte, source string) (*Config, error) {
	c, _, err := parse(data, source)
	return c, err
}

// parse is Parse that also returns the index of where each value was
// written.
func parse(data []byte, source string) (*Config, *index, error) {
	c := Default()
	c.Source = source
	idx, err := decodeStrict(data, source, c)
	if err != nil {
		return nil, nil, err
	}
	c.DeriveDefaults()
	if err := c.validate(idx); err != nil {
		return nil, nil, err
	}
	c.Places = Places{idx}
	return c, idx, nil
}

// decodeStrict decodes the single YAML document in data over v, a pointer
// to a struct that already holds the defaults, and returns the position
// index that validation uses to give its errors a line.
func decodeStrict(data []byte, source string, v any) (*index, error) {
	idx := newIndex(source)
	root, err := parseYAML(data, source)
	if err != nil {
		return nil, err
	}
	d := &decoder{idx: idx}
	d.decode(root, reflect.ValueOf(v).Elem(), "", 0)
	if len(d.errs) > 0 {
		return nil, errors.Join(d.errs...)
	}
	return idx, nil
}

// yamlLine matches the position yaml puts in its syntax errors.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML returns the content of the single document in data.
func parseYAML(data []byte, source string) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{Source: source, Msg: "empty configuration"}
		}
		return nil, syntaxError(err, source)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, syntaxError(err, source)
		}
		return nil, &Error{Source: source, Line: extra.Line, Column: extra.Column,
			Msg: "more than one YAML document; a config file holds one"}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, &Error{Source: source, Msg: "empty configuration"}
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return nil, &Error{Source: source, Line: root.Line, Column: root.Column, Msg: "empty configuration"}
	}
	return root, nil
}

// parserProblems are the messages of yaml's parser (parserc.go), as
// opposed to its scanner. yaml reports a parser error's line 0-based (a
// scanner error's 1-based), so these need one added.
var parserProblems = map[string]bool{
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected '-' indicator":    true,
	"did not find expected <document start>": true,
	"did not find expected key":              true,
	"did not find expected node content":     true,
	"found undefined tag handle":             true,
}

func syntaxError(err error, source string) error {
	e := &Error{Source: source, Msg: err.Error()}
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Msg = m[2]
		if parserProblems[e.Msg] {
			e.Line++
		}
	}
	return e
}
