//go:build e2e

package e2e

import (
	"testing"

	"github.com/vipd/vipd/internal/demo"
)

// TestDemoSpot runs `vipd demo --scenario switchover,spot --rounds 3 --json`
// as a user would (issue 22): EC2 announces a Spot interruption of the
// primary's instance in its metadata; the address moves as a planned
// switchover does, before EC2 stops the instance, in a planned
// switchover's time (design.md: at most 1 s) and with no more client
// errors than the switchover rounds of the same run.
func TestDemoSpot(t *testing.T) {
	all, stderr := runDemo(t, "--scenario", "switchover,spot", "--rounds", "3")
	rounds := map[string][]demo.Round{}
	for _, r := range all {
		rounds[r.Scenario] = append(rounds[r.Scenario], r)
	}
	if len(rounds[demo.ScenarioSpot]) != 3 || len(rounds[demo.ScenarioSwitchover]) != 3 {
		t.Fatalf("successful rounds: %d spot, %d switchover; want 3 each\nstderr:\n%s",
			len(rounds[demo.ScenarioSpot]), len(rounds[demo.ScenarioSwitchover]), stderr)
	}
	switchoverErrors := 0
	for _, r := range rounds[demo.ScenarioSwitchover] {
		switchoverErrors += r.ClientErrors
	}
	spotErrors := 0
	for _, r := range rounds[demo.ScenarioSpot] {
		spotErrors += r.ClientErrors
		if r.From == r.To {
			t.Errorf("spot round %d: from %q to %q", r.Round, r.From, r.To)
		}
		// The demo's nodes read notices every second.
		if r.NoticeMS < 0 || r.NoticeMS > 3000 {
			t.Errorf("spot round %d: notice_ms %.0f, want the notice acted on within the 1 s poll (3 s with slack)", r.Round, r.NoticeMS)
		}
		if r.FailoverMS <= 0 || r.FailoverMS > 1000 {
			t.Errorf("spot round %d: failover_ms %.0f, want a planned switchover's (at most 1000)", r.Round, r.FailoverMS)
		}
		// The instance stopped after the address had moved.
		if r.StoppedMS <= r.NoticeMS+r.FailoverMS {
			t.Errorf("spot round %d: instance stopped %.0f ms after the notice, before the address moved (%.0f + %.0f ms)",
				r.Round, r.StoppedMS, r.NoticeMS, r.FailoverMS)
		}
		if r.AWSWrites < 1 || r.Token == 0 {
			t.Errorf("spot round %d: aws_writes %d, token %d; want the new owner's write under a token", r.Round, r.AWSWrites, r.Token)
		}
	}
	if spotErrors > max(switchoverErrors, 1) {
		t.Errorf("client errors: %d in the spot rounds, %d in the switchover rounds; want no more than a switchover's", spotErrors, switchoverErrors)
	}
}
