package simcluster

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func startLocal(cmd *exec.Cmd) error { return cmd.Start() }

// A killed process and a stopped one are gone, with their children, when
// Kill and Stop return; a process that ignores SIGTERM is killed after the
// grace period.
func TestProcKillAndStop(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatalf("no sh: %v", err)
	}
	log := filepath.Join(t.TempDir(), "proc.log")
	p, err := StartProc(startLocal, nil, log, sh, "-c", "sleep 30 & wait")
	if err != nil {
		t.Fatal(err)
	}
	if !p.Running() || p.Pid() == 0 {
		t.Fatalf("started process: running %v, pid %d", p.Running(), p.Pid())
	}
	p.Kill()
	if p.Running() || p.Err() == nil {
		t.Errorf("after Kill: running %v, err %v; want exited by a signal", p.Running(), p.Err())
	}

	p, err = StartProc(startLocal, nil, log, sh, "-c", "exec sleep 30")
	if err != nil {
		t.Fatal(err)
	}
	if killed := p.Stop(5 * time.Second); killed || p.Running() {
		t.Errorf("Stop of a process that ends on SIGTERM: killed %v, running %v", killed, p.Running())
	}

	trapped := filepath.Join(t.TempDir(), "trapped.log")
	p, err = StartProc(startLocal, nil, trapped, sh, "-c", "trap '' TERM; echo ready; sleep 30 & wait; sleep 30")
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the shell ignores SIGTERM", func() bool {
		b, _ := os.ReadFile(trapped)
		return strings.Contains(string(b), "ready")
	})
	start := time.Now()
	if killed := p.Stop(200 * time.Millisecond); !killed || p.Running() {
		t.Errorf("Stop of a process that ignores SIGTERM: killed %v, running %v", killed, p.Running())
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Stop took %s with a 200ms grace", took)
	}

	var none *Proc
	none.Kill()
	if none.Running() || none.Stop(time.Second) || none.Pid() != 0 {
		t.Error("a nil Proc acts as one that has exited")
	}
}
