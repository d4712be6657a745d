//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"testing"

	"github.com/vipd/vipd/internal/demo"
)

// TestDemoAllScenarios runs `vipd demo --scenario all --rounds 3 --json` as
// a user would and checks the numbers it reports (issue 5).
func TestDemoAllScenarios(t *testing.T) {
	cmd := exec.CommandContext(t.Context(), vipdBin(t), "demo", "--scenario", "all", "--rounds", "3", "--json")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("vipd demo: %v\nstderr:\n%s\nstdout:\n%s", err, errb.String(), out.String())
	}
	dec := json.NewDecoder(&out)
	perScenario := map[string]int{}
	servedBy := map[string]bool{}
	for dec.More() {
		var r demo.Round
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("decode a round: %v", err)
		}
		if r.Error != "" {
			t.Errorf("%s round %d failed: %s", r.Scenario, r.Round, r.Error)
			continue
		}
		perScenario[r.Scenario]++
		servedBy[r.To] = true
		if r.From == r.To || (r.To != "a" && r.To != "b") {
			t.Errorf("%s round %d: from %q to %q", r.Scenario, r.Round, r.From, r.To)
		}
		if r.FailoverMS <= 0 || r.FailoverMS > 30000 {
			t.Errorf("%s round %d: failover_ms %.0f out of (0, 30000]", r.Scenario, r.Round, r.FailoverMS)
		}
		if r.RoutedMS > r.FailoverMS+1 {
			t.Errorf("%s round %d: routed_ms %.0f after failover_ms %.0f", r.Scenario, r.Round, r.RoutedMS, r.FailoverMS)
		}
		if r.AWSWrites < 1 || r.AWSCalls < r.AWSWrites {
			t.Errorf("%s round %d: aws_calls %d, aws_writes %d; want at least one write", r.Scenario, r.Round, r.AWSCalls, r.AWSWrites)
		}
		if r.Token == 0 {
			t.Errorf("%s round %d: token 0", r.Scenario, r.Round)
		}
	}
	for _, s := range demo.Scenarios {
		if perScenario[s] != 3 {
			t.Errorf("scenario %s: %d successful rounds, want 3", s, perScenario[s])
		}
	}
	if !servedBy["a"] || !servedBy["b"] {
		t.Errorf("the client was served by %v, want both a and b", servedBy)
	}
}
