//go:build e2e

package e2e

import (
	"log/slog"
	"testing"

	"github.com/vipd/vipd/internal/chaos"
)

// TestRestartLoop kills the primary with SIGKILL, or pauses it with
// SIGSTOP for longer than the lease, and restarts it, round after round:
// every node must start again and answer as backup or primary, with no
// operator action (issue 16: a raft log whose uncommitted tail was
// truncated must not keep the node from its next start).
//
//	RESTART_KILLS=N  rounds with kill -9 (default 2; `make restart-loop KILLS=N`)
//	RESTART_STOPS=N  rounds with SIGSTOP (default 2; `make restart-loop STOPS=N`)
func TestRestartLoop(t *testing.T) {
	needRoot(t)
	bin := vipdBin(t)
	kills, stops := int(envInt(t, "RESTART_KILLS", 2)), int(envInt(t, "RESTART_STOPS", 2))
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	rep, err := chaos.RestartLoop(interruptible(t), chaos.LoopOptions{
		Cluster: chaos.Options{VipdBin: bin, Log: log},
		Kills:   kills, Stops: stops,
		Progress: func(r chaos.LoopRound) {
			if r.Failed != "" {
				t.Logf("round %d (%s of %s): could not start again: %s", r.N, r.Fault, r.Node, r.Failed)
			} else if testing.Verbose() && r.N%25 == 0 {
				t.Logf("round %d done", r.N)
			}
		},
	})
	if rep != nil {
		t.Log(rep)
		for _, s := range rep.Stalls {
			t.Logf("stalled: %s", s)
		}
	}
	if err != nil {
		t.Fatalf("restart loop: %v", err)
	}
	if len(rep.Unable) > 0 {
		t.Errorf("%d of %d restarted nodes could not start again", len(rep.Unable), rep.Kills+rep.Stops)
	}
	if rep.Kills+rep.Stops < kills+stops {
		t.Errorf("ran %d of %d rounds: %d stalled", rep.Kills+rep.Stops, kills+stops, len(rep.Stalls))
	}
}
