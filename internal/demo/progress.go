package demo

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"
)

// progress prints what the demo is doing on stderr, with a live "waiting"
// line when stderr is a terminal.
type progress struct {
	w   io.Writer
	tty bool
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) say(format string, args ...any) {
	fmt.Fprintf(p.w, "• "+format+"\n", args...)
}

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// wait polls cond every 10 ms until it holds, ctx is done or timeout passes,
// showing what it waits for.
func (p *progress) wait(ctx context.Context, timeout time.Duration, what string, cond func() bool) error {
	start := time.Now()
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	defer func() {
		if p.tty {
			fmt.Fprint(p.w, "\r\033[K")
		}
	}()
	for i := 0; ; i++ {
		if cond() {
			return nil
		}
		if time.Since(start) > timeout {
			return fmt.Errorf("%s: %w after %s", what, errTimeout, timeout)
		}
		if p.tty && i%10 == 0 {
			fmt.Fprintf(p.w, "\r\033[K  %s %s… %.1fs", spinner[(i/10)%len(spinner)], what, time.Since(start).Seconds())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
