// Command copyright writes the Debian copyright file of the vipd package
// (/usr/share/doc/vipd/copyright): vipd's own licence, read from LICENSE and
// NOTICE, then the licence and copyright notices of every Go module linked
// into the packages named on the command line, read from the module cache
// as `go list -deps` finds them. make dist runs it:
//
//	go run ./deploy/copyright -o dist/copyright ./cmd/vipd
//
// The file follows the machine-readable format
// (https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/).
// Licences shipped in /usr/share/common-licenses (Apache-2.0, MPL-2.0) are
// referred to there, as Debian policy 12.5 asks; the others (Expat, BSD)
// are copied whole, since their texts carry their copyright holders. A
// module whose licence is not recognised is an error: nothing ships under a
// licence nobody looked at.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

func main() {
	out := flag.String("o", "", "file to write (default stdout)")
	root := flag.String("root", ".", "the vipd source tree (LICENSE, NOTICE, go.mod)")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: go run ./deploy/copyright [-o FILE] [-root DIR] PACKAGE...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*root, *out, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "copyright:", err)
		os.Exit(1)
	}
}

func run(root, out string, pkgs []string) error {
	mods, err := modules(root, pkgs)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := write(&b, root, mods); err != nil {
		return err
	}
	if out == "" {
		_, err := os.Stdout.Write(b.Bytes())
		return err
	}
	return os.WriteFile(out, b.Bytes(), 0o644)
}

// module is one dependency linked into the binaries.
type module struct {
	Path, Version, Dir string
}

// modules lists the modules other than the main one that pkgs link, sorted
// by path.
func modules(root string, pkgs []string) ([]module, error) {
	cmd := exec.Command("go", append([]string{"list", "-deps", "-f",
		"{{with .Module}}{{if not .Main}}{{.Path}}\t{{.Version}}\t{{.Dir}}{{end}}{{end}}"}, pkgs...)...)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list -deps %s: %w\n%s", strings.Join(pkgs, " "), err, stderr.Bytes())
	}
	seen := map[string]bool{}
	var mods []module
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 3 || seen[f[0]] {
			continue
		}
		if f[2] == "" {
			return nil, fmt.Errorf("module %s@%s is not in the module cache: run go mod download", f[0], f[1])
		}
		seen[f[0]] = true
		mods = append(mods, module{Path: f[0], Version: f[1], Dir: f[2]})
	}
	slices.SortFunc(mods, func(a, b module) int { return strings.Compare(a.Path, b.Path) })
	return mods, nil
}

// Licences Debian ships in /usr/share/common-licenses, by DEP-5 short name.
var common = map[string]bool{"Apache-2.0": true, "MPL-2.0": true}

// licenceFiles are the names a module's licence goes by, most specific
// first.
var licenceFile = regexp.MustCompile(`(?i)^(licen[cs]e|copying)([.-].*)?$`)

// copyrightLine finds copyright notices; the Apache template line
// "Copyright [yyyy] [name of copyright owner]" is not one.
var copyrightLine = regexp.MustCompile(`(?m)^\s*Copyright\s+(?:\([cC]\)\s*|©\s*)?([0-9].*|[A-Z].*)$`)

// classify names the licence of text by DEP-5 short name, or "" if unknown.
func classify(text string) []string {
	var names []string
	t := strings.Join(strings.Fields(text), " ")
	if strings.Contains(t, "Permission is hereby granted, free of charge") {
		names = append(names, "Expat")
	}
	if strings.Contains(t, "Redistribution and use in source and binary forms") {
		if strings.Contains(t, "Neither the name") || strings.Contains(t, "names of its contributors") {
			names = append(names, "BSD-3-clause")
		} else {
			names = append(names, "BSD-2-clause")
		}
	}
	if strings.Contains(t, "Apache License") && strings.Contains(t, "Version 2.0") {
		names = append(names, "Apache-2.0")
	}
	if strings.Contains(t, "Mozilla Public License") && (strings.Contains(t, "Version 2.0") || strings.Contains(t, "version 2.0")) {
		names = append(names, "MPL-2.0")
	}
	return names
}

// licence reads the licence files of m.
func licence(m module) (names []string, texts []string, copyrights []string, err error) {
	ents, err := os.ReadDir(m.Dir)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("read module %s: %w", m.Path, err)
	}
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		isLicence := licenceFile.MatchString(e.Name())
		isNotice := strings.HasPrefix(strings.ToUpper(e.Name()), "NOTICE")
		if !isLicence && !isNotice {
			continue
		}
		b, err := os.ReadFile(filepath.Join(m.Dir, e.Name()))
		if err != nil {
			return nil, nil, nil, fmt.Errorf("read licence of %s: %w", m.Path, err)
		}
		for _, c := range copyrightLine.FindAllStringSubmatch(string(b), -1) {
			if strings.Contains(c[1], "[yyyy]") || strings.Contains(c[1], "{yyyy}") || strings.HasPrefix(strings.ToLower(c[1]), "notice") {
				continue
			}
			c := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(c[1]), "."))
			if !slices.Contains(copyrights, c) {
				copyrights = append(copyrights, c)
			}
		}
		if !isLicence {
			continue
		}
		n := classify(string(b))
		if len(n) == 0 {
			continue // a summary or a readme-like file; the licence is elsewhere
		}
		for _, name := range n {
			if !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
		// Texts of licences Debian does not ship go in whole; the
		// common ones are referred to.
		if !allCommon(n) {
			texts = append(texts, string(b))
		}
	}
	if len(names) == 0 {
		return nil, nil, nil, fmt.Errorf("module %s@%s: no licence recognised in %s", m.Path, m.Version, m.Dir)
	}
	return names, texts, copyrights, nil
}

func allCommon(names []string) bool {
	for _, n := range names {
		if !common[n] {
			return false
		}
	}
	return true
}

// write renders the copyright file for the tree at root and its modules.
func write(w io.Writer, root string, mods []module) error {
	lic, err := os.ReadFile(filepath.Join(root, "LICENSE"))
	if err != nil {
		return fmt.Errorf("read vipd's licence: %w", err)
	}
	if n := classify(string(lic)); !slices.Equal(n, []string{"Apache-2.0"}) {
		return fmt.Errorf("LICENSE is %v, but this generator describes vipd as Apache-2.0: update it with LICENSE", n)
	}
	notice, err := os.ReadFile(filepath.Join(root, "NOTICE"))
	if err != nil {
		return fmt.Errorf("read vipd's NOTICE: %w", err)
	}
	own := copyrightLine.FindStringSubmatch(string(notice))
	if own == nil {
		return errors.New("NOTICE names no copyright holder of vipd")
	}
	fmt.Fprintf(w, "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n")
	fmt.Fprintf(w, "Upstream-Name: vipd\nSource: https://github.com/vipd/vipd\n")
	fmt.Fprintf(w, "Comment: /usr/bin/vipd is a static Go binary. Besides vipd's own code it\n")
	fmt.Fprintf(w, " contains the Go modules listed below (paths as in go.mod), and the Go\n")
	fmt.Fprintf(w, " standard library (BSD-3-clause, Copyright The Go Authors).\n")
	fmt.Fprintf(w, " .\n%s", indent(string(notice)))
	fmt.Fprintf(w, "\nFiles: *\nCopyright: %s\nLicense: Apache-2.0\n", strings.TrimSpace(own[1]))

	used := map[string]bool{"Apache-2.0": true, "BSD-3-clause": true}
	fmt.Fprintf(w, "\nFiles: go-stdlib/*\nCopyright: The Go Authors\nLicense: BSD-3-clause\n%s", indent(goLicence()))
	type entry struct {
		names, texts, copyrights []string
	}
	entries := make(map[string]entry, len(mods))
	for _, m := range mods {
		names, texts, copyrights, err := licence(m)
		if err != nil {
			return err
		}
		entries[m.Path] = entry{names, texts, copyrights}
	}
	for _, m := range mods {
		e := entries[m.Path]
		names, texts, copyrights := e.names, e.texts, e.copyrights
		for _, n := range names {
			used[n] = true
		}
		// Submodules (github.com/aws/aws-sdk-go-v2/service/ec2) carry
		// only the licence; their holder is the parent module's.
		for p := m.Path; len(copyrights) == 0 && strings.Contains(p, "/"); {
			p = p[:strings.LastIndexByte(p, '/')]
			copyrights = entries[p].copyrights
		}
		if len(copyrights) == 0 {
			copyrights = []string{"the authors of " + m.Path}
		}
		fmt.Fprintf(w, "\nFiles: %s/*\nCopyright: %s\n", m.Path, strings.Join(copyrights, "\n "))
		fmt.Fprintf(w, "License: %s\n", strings.Join(names, " and "))
		for _, t := range texts {
			fmt.Fprint(w, indent(t))
		}
		fmt.Fprintf(w, "Comment: module %s %s\n", m.Path, m.Version)
	}
	for _, n := range []string{"Apache-2.0", "MPL-2.0"} {
		if used[n] {
			fmt.Fprintf(w, "\nLicense: %s\n On Debian systems, the complete text of this licence is in\n /usr/share/common-licenses/%s.\n", n, n)
		}
	}
	return nil
}

// goLicence is the Go distribution's LICENSE, or its usual text when GOROOT
// is not readable.
func goLicence() string {
	if out, err := exec.Command("go", "env", "GOROOT").Output(); err == nil {
		if b, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "LICENSE")); err == nil {
			return string(b)
		}
	}
	return "See https://go.dev/LICENSE.\n"
}

// indent renders text as a DEP-5 continuation: each line after one space,
// empty lines as " .".
func indent(text string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(strings.ReplaceAll(text, "\r\n", "\n")), "\n") {
		l = strings.TrimRight(strings.ReplaceAll(l, "\f", ""), " \t")
		if l == "" {
			b.WriteString(" .\n")
			continue
		}
		b.WriteString(" " + l + "\n")
	}
	return b.String()
}
