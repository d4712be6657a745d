//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"math"
	"os/exec"
	"testing"

	"github.com/vipd/vipd/internal/demo"
)

// TestDemoAllScenarios runs `vipd demo --scenario all --rounds 3 --json` as
// a user would and checks the numbers it reports (issue 5).
func TestDemoAllScenarios(t *testing.T) {
	rounds, _ := runDemo(t, "--scenario", "all", "--rounds", "3")
	perScenario := map[string]int{}
	servedBy := map[string]bool{}
	for _, r := range rounds {
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
		// The parts add up to the failover, and the AWS part covers every
		// attempt of the acquire (issue 20).
		if sum := r.DetectionMS + r.AWSMS + r.ClientMS; math.Abs(sum-r.FailoverMS) > 0.01 {
			t.Errorf("%s round %d: detection_ms %.3f + aws_ms %.3f + client_ms %.3f = %.3f, want failover_ms %.3f",
				r.Scenario, r.Round, r.DetectionMS, r.AWSMS, r.ClientMS, sum, r.FailoverMS)
		}
		if r.DetectionMS < 0 || r.AWSMS < 0 || r.ClientMS < 0 {
			t.Errorf("%s round %d: a negative part: detection %.3f, aws %.3f, client %.3f", r.Scenario, r.Round, r.DetectionMS, r.AWSMS, r.ClientMS)
		}
		if r.Scenario == demo.ScenarioAPIFaults {
			failed := 0
			for _, n := range r.AWSErrors {
				failed += n
			}
			// The faults are taken by the first calls after the fault;
			// the broken primary may have taken one before it died.
			if failed < 3 || r.AWSAttempts <= failed {
				t.Errorf("api-faults round %d: aws_attempts %d, aws_errors %v; want the retried faults counted and calls that went through",
					r.Round, r.AWSAttempts, r.AWSErrors)
			}
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

// runDemo runs `vipd demo ARGS --json` as a user would and returns the
// rounds that succeeded, with the demo's stderr; a failed round is a test
// error.
func runDemo(t *testing.T, args ...string) ([]demo.Round, string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), vipdBin(t), append(append([]string{"demo"}, args...), "--json")...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("vipd demo: %v\nstderr:\n%s\nstdout:\n%s", err, errb.String(), out.String())
	}
	dec := json.NewDecoder(&out)
	var rounds []demo.Round
	for dec.More() {
		var r demo.Round
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("decode a round: %v", err)
		}
		if r.Error != "" {
			t.Errorf("%s round %d failed: %s", r.Scenario, r.Round, r.Error)
			continue
		}
		rounds = append(rounds, r)
	}
	return rounds, errb.String()
}
