package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vipd/vipd/internal/version"
)

// runLong is the --help text of tree's run command: prose with characters
// Markdown reads as markup, and a table laid out by hand.
const runLong = `Run it, then record the owner as "<instance-id> <token>" in a
parameter; 5 * 2 tries at most, __init__ excluded.

  first     what comes first
  second    what comes
            after it

The end.`

// TestManPages runs "tool man DIR" on a tree like vipd's: it writes one page
// per command that --help lists (not help, not man itself), each with a
// header naming the program's version and the date SOURCE_DATE_EPOCH
// gives, and the --help text intact: markup characters shown as typed, a
// table laid out by hand kept as written.
func TestManPages(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1780000000") // 2026-05-28
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	if got := Run(t.Context(), tree(&stdout), []string{"man", dir}, &stderr); got != 0 {
		t.Fatalf("tool man %s: exit status %d; stderr %q", dir, got, stderr.String())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	want := []string{
		"tool-completion-bash.1", "tool-completion-fish.1", "tool-completion-powershell.1", "tool-completion-zsh.1",
		"tool-completion.1", "tool-group-leaf.1", "tool-group.1", "tool-run.1", "tool.1",
	}
	if !slices.Equal(got, want) {
		t.Errorf("pages %q, want %q", got, want)
	}

	b, err := os.ReadFile(filepath.Join(dir, "tool-run.1"))
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, want := range []string{
		`.TH "TOOL-RUN" "1" "May 2026" "tool ` + version.Get().Version + `" "User Commands"`,
		"tool-run - Run *it*\n",
		`record the owner as "<instance-id> <token>" in a`,
		`5 * 2 tries at most, __init__ excluded\&.`, // \& keeps roff from reading "." as a request
		".EX\n  first     what comes first\n  second    what comes\n            after it\n.EE",
		`The end\&.`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("tool-run.1 lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, "cobra") {
		t.Errorf("tool-run.1 mentions cobra:\n%s", page)
	}
}
