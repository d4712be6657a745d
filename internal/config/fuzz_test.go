package config

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

// FuzzParse feeds arbitrary bytes to Parse, which reads operator-written
// input: it must never panic, an error must come without a config, and a
// config it accepts must survive MarshalYAML and Parse unchanged. The seed
// corpus is testdata/fuzz/FuzzParse plus the example configs.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "examples", "*.vipd.yaml"))
	files = append(files, filepath.Join("testdata", "full.yaml"))
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		watchdog := time.AfterFunc(5*time.Second, func() { panic(fmt.Sprintf("Parse hangs on %q", data)) })
		defer watchdog.Stop()
		c, err := Parse(data, "fuzz.yaml")
		if err != nil {
			if c != nil {
				t.Fatalf("Parse returned a config with error %v", err)
			}
			if err.Error() == "" {
				t.Fatalf("empty error text")
			}
			return
		}
		out, err := yaml.Marshal(c)
		if err != nil {
			t.Fatalf("Marshal(%+v): %v", c, err)
		}
		back, err := Parse(out, "fuzz.yaml")
		if err != nil {
			t.Fatalf("Parse(Marshal(c)): %v\ninput:\n%s\nmarshalled:\n%s", err, data, out)
		}
		if diff := cmp.Diff(c, back, cmp.Comparer(prefixEqual)); diff != "" {
			t.Fatalf("round trip mismatch (-parsed +reparsed):\n%s", diff)
		}
	})
}
