package health

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// outputLimit bounds how much of a command's output is kept for the error
// (the tail, where the reason usually is).
const outputLimit = 512

// waitDelay bounds how long a probe waits for the command's output pipes
// to close after it exited or was killed: a grandchild that escaped the
// process group (setsid) could otherwise hold them open for ever.
const waitDelay = time.Second

// execChecker passes when argv exits 0 within the timeout. The command runs
// in its own process group, which is killed as a whole on timeout so that a
// shell script's children do not outlive the probe. It inherits the
// daemon's environment and reads /dev/null.
type execChecker struct {
	argv    []string
	timeout time.Duration
}

func (c *execChecker) Check(ctx context.Context) error {
	probe, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	cmd := exec.CommandContext(probe, c.argv[0], c.argv[1:]...)
	var out tailBuffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.WaitDelay = waitDelay
	ownProcessGroup(cmd)
	err := cmd.Run()
	if err == nil {
		return nil
	}
	err = timeoutErr(ctx, probe, c.timeout, err)
	if tail := strings.TrimSpace(out.String()); tail != "" {
		return fmt.Errorf("exec %s: %w; output: %q", c.argv[0], err, tail)
	}
	return fmt.Errorf("exec %s: %w", c.argv[0], err)
}

// tailBuffer keeps the last outputLimit bytes written to it. os/exec writes
// stdout and stderr from two goroutines, hence the mutex.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - outputLimit; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
