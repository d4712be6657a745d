//go:build e2e

package e2e

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/chaos"
)

// envInt reads a non-negative integer from the environment.
func envInt(t *testing.T, name string, def uint64) uint64 {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, s, err)
	}
	return n
}

// TestChaos runs randomized fault schedules against two nodes and a
// witness on the netns fabric and checks every history (internal/chaos).
//
//	CHAOS_SEEDS=N   run N schedules (default 2; `make chaos SEEDS=N`);
//	                any chaos.Rotation() consecutive ones inject every
//	                fault kind, and the test fails if they did not
//	CHAOS_SEED=S    replay exactly seed S (`make chaos SEED=S`)
//	CHAOS_BASE=B    first seed of the N (default: random, printed)
//	CHAOS_LENGTH=D  how long each schedule injects faults (default 10s)
//	CHAOS_MODE=M    overlay-route, secondary-ip or eni (default: the
//	                seed picks one, so a set of seeds covers all three)
func TestChaos(t *testing.T) {
	needRoot(t)
	bin := vipdBin(t)
	length := 10 * time.Second
	if s := os.Getenv("CHAOS_LENGTH"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("CHAOS_LENGTH: %v", err)
		}
		length = d
	}
	var seeds []uint64
	if s := os.Getenv("CHAOS_SEED"); s != "" {
		seeds = append(seeds, envInt(t, "CHAOS_SEED", 0))
	} else {
		n := envInt(t, "CHAOS_SEEDS", 2)
		base := envInt(t, "CHAOS_BASE", rand.Uint64N(1_000_000))
		t.Logf("seeds %d..%d (CHAOS_BASE=%d)", base, base+n-1, base)
		for i := range n {
			seeds = append(seeds, base+i)
		}
	}
	modes := []chaos.Mode{chaos.ModeOverlay, chaos.ModeSecondaryIP, chaos.ModeENI}
	faults := map[chaos.Kind]int{}
	var runs, violations int
	var conv []time.Duration
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
			keep := os.Getenv("VIPD_E2E_KEEP") != ""
			mode := chaos.Mode(os.Getenv("CHAOS_MODE"))
			if mode == "" {
				mode = modes[seed%uint64(len(modes))]
			}
			// The eni mode runs with STONITH: a holder cut off or killed
			// with the interface attached is stopped before it is taken.
			rep, err := chaos.Run(interruptible(t), chaos.RunOptions{Cluster: chaos.Options{VipdBin: bin, Log: log, Keep: keep, Mode: mode, Fence: mode == chaos.ModeENI},
				Seed: seed, Length: length})
			if err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			runs++
			for k, n := range rep.Faults {
				faults[k] += n
			}
			violations += len(rep.Violations)
			if rep.ConvergedIn > 0 {
				conv = append(conv, rep.ConvergedIn)
			}
			t.Log(rep.Summary())
			if rep.Failed() || os.Getenv("CHAOS_VERBOSE") != "" {
				out := t.Logf
				if rep.Failed() {
					out = t.Errorf
				}
				out("seed %d\n%s\ntimeline:\n%s", seed, rep.Schedule, rep.Timeline)
			}
		})
	}
	var kinds, never []string
	for _, k := range chaos.Kinds {
		kinds = append(kinds, fmt.Sprintf("%s=%d", k, faults[k]))
		if faults[k] == 0 {
			never = append(never, string(k))
		}
	}
	var worst time.Duration
	for _, d := range conv {
		worst = max(worst, d)
	}
	// One line that says what the run covered, printed whatever failed.
	fmt.Printf("chaos: %d schedules, injected %s, %d violations, slowest convergence %s\n",
		runs, strings.Join(kinds, " "), violations, worst.Round(time.Millisecond))
	// Consecutive seeds rotate through every kind: a full rotation that
	// left one out means a fault could not be injected.
	if runs >= chaos.Rotation() && len(seeds) == runs && len(never) > 0 {
		t.Errorf("%d schedules never injected %s", runs, strings.Join(never, ", "))
	}
}
