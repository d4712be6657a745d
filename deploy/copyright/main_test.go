package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestNoticeNamesEveryModuleWithANotice keeps NOTICE true as go.mod
// changes: Apache-2.0 section 4(d) asks that the NOTICE of every
// Apache-licensed work be passed on with it, and MPL-2.0 section 3.2 that
// recipients of a binary learn where its MPL source is.
func TestNoticeNamesEveryModuleWithANotice(t *testing.T) {
	mods, err := modules("../..", []string{"./cmd/..."})
	if err != nil {
		t.Fatal(err)
	}
	notice, err := os.ReadFile("../../NOTICE")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mods {
		names, _, _, err := licence(m)
		if err != nil {
			t.Errorf("licence of %s: %v", m.Path, err)
			continue
		}
		why := ""
		if n, _ := filepath.Glob(filepath.Join(m.Dir, "NOTICE*")); len(n) > 0 {
			why = "has a NOTICE file"
		}
		for _, n := range names {
			if n == "MPL-2.0" {
				why = "is under MPL-2.0"
			}
		}
		// The path whole: github.com/coreos/go-systemd is not named by
		// github.com/coreos/go-systemd/v22.
		named := regexp.MustCompile(`(^|[^\w./-])` + regexp.QuoteMeta(m.Path) + `($|[^\w./-])`)
		if why != "" && !named.Match(notice) {
			t.Errorf("module %s %s, but NOTICE does not name it", m.Path, why)
		}
	}
}

// TestCopyrightFile checks the copyright file the .deb ships for
// /usr/bin/vipd: machine-readable, vipd under Apache-2.0 first, and every
// module in the binary with a recognised licence and a holder.
func TestCopyrightFile(t *testing.T) {
	mods, err := modules("../..", []string{"./cmd/vipd"})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := write(&b, "../..", mods); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.HasPrefix(out, "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n") {
		t.Errorf("copyright file does not start with the DEP-5 Format line:\n%.200s", out)
	}
	files := strings.Index(out, "\nFiles: ")
	if files < 0 || !strings.HasPrefix(out[files:], "\nFiles: *\nCopyright: 2026 The vipd Authors\nLicense: Apache-2.0\n") {
		t.Errorf("the first Files paragraph is not vipd's own under Apache-2.0")
	}
	for _, m := range mods {
		if !strings.Contains(out, "\nFiles: "+m.Path+"/*\nCopyright: ") {
			t.Errorf("copyright file lacks module %s", m.Path)
		}
	}
	for _, want := range []string{
		"License: Apache-2.0\n On Debian systems, the complete text of this licence is in\n /usr/share/common-licenses/Apache-2.0.",
		"License: MPL-2.0\n On Debian systems",
		// Expat and BSD texts carry their holders and are copied whole.
		"Files: github.com/spf13/pflag/*\nCopyright: 2012 Alex Ogier. All rights reserved\n 2012 The Go Authors. All rights reserved\nLicense: BSD-3-clause\n Copyright (c) 2012 Alex Ogier.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("copyright file lacks %q", want)
		}
	}
	// Lintian (copyright-file-contains-full-apache-2-license) wants the
	// Apache text referred to, not copied.
	if strings.Contains(out, "TERMS AND CONDITIONS FOR USE, REPRODUCTION") {
		t.Errorf("copyright file contains the full Apache-2.0 text")
	}
}

func TestClassify(t *testing.T) {
	for _, tt := range []struct{ text, want string }{
		{"Permission is hereby granted, free of charge, to any person", "Expat"},
		{"Redistribution and use in source and binary forms ... Neither the name of Google", "BSD-3-clause"},
		{"Redistribution and use in source and binary forms, with or without\nmodification", "BSD-2-clause"},
		{"Apache License\n  Version 2.0, January 2004", "Apache-2.0"},
		{"Mozilla Public License, version 2.0", "MPL-2.0"},
		{"This project is covered by two licenses. Permission is hereby granted, free of charge ... Apache License, Version 2.0", "Expat Apache-2.0"},
		{"All rights reserved. Do not copy.", ""},
	} {
		if got := strings.Join(classify(tt.text), " "); got != tt.want {
			t.Errorf("classify(%.40q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}
