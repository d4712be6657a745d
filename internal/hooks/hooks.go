// Package hooks runs keepalived-compatible notify scripts when a node changes
// state, so that sites moving from keepalived keep their notify_master,
// notify_backup, notify_fault, notify_stop and notify scripts unchanged.
//
// A script string is split as keepalived splits it (config.SplitScript).
// The state's own script receives exactly the arguments written, as
// keepalived's notify_master does; the generic script (notify.any, keepalived's
// notify) runs after it and receives the arguments written followed by
// keepalived's four: INSTANCE NAME STATE PRIORITY, e.g.
// "INSTANCE orders-db MASTER 100". Beyond keepalived, every script receives
// the event as one JSON object on stdin and VIPD_* environment variables
// (see Runner.Notify). Scripts run with a clean environment, in their own
// process group, under a timeout after which the whole group is killed. A
// failing script is reported as an error; the caller logs and counts it and
// never lets it hold up a failover.
//
// Only internal/node (and tests, the demo) import hooks.
package hooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vipd/vipd/internal/config"
)

// State is the node state a script is run for.
type State string

// The four keepalived notify kinds.
const (
	Master State = "master"
	Backup State = "backup"
	Fault  State = "fault"
	Stop   State = "stop"
)

// keepalived is the state as keepalived spells it in a script's third argument.
func (s State) keepalived() string { return strings.ToUpper(string(s)) }

// Event describes one transition. It is encoded as the JSON object a script
// reads on stdin; the JSON field names are a contract that may grow but
// never change.
type Event struct {
	// State is the state entered; it picks the script.
	State State `json:"state"`
	// PreviousState is the state left ("" at start-up).
	PreviousState State `json:"previous_state"`
	// Reason says why, e.g. "lease_granted", "unhealthy", "switchover".
	Reason string `json:"reason"`
	// Node is this node's name.
	Node string `json:"node"`
	// Holder is the lease holder as this node knows it ("" when none).
	Holder string `json:"holder"`
	// Token is the fencing token of the holder's grant (0 when none).
	Token uint64 `json:"token"`
	// Priority is this node's priority (keepalived's fourth argument).
	Priority int `json:"priority"`
	// Time is when the transition happened.
	Time time.Time `json:"timestamp"`
	// Resources are the node's resources and their state at the transition.
	Resources []Resource `json:"resources"`
}

// Resource is one resource's state as reported to a script.
type Resource struct {
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	State string `json:"state"`
}

// scriptPath is the PATH a script sees; the daemon's own environment is not
// passed on, so a script behaves the same under systemd, a shell or a test.
const scriptPath = "/usr/sbin:/usr/bin:/sbin:/bin"

// outputLimit bounds how much of a script's combined stdout and stderr is
// kept (the tail, where errors usually are).
const outputLimit = 4 << 10

// fallbackTimeout bounds a script when Notify.Timeout is zero. config.Default
// sets the configured default; this only guards a hand-built config so that
// no script can run unbounded.
const fallbackTimeout = 10 * time.Second

// waitDelay is how long Wait waits for the output pipes to close after the
// process group was killed or the script exited; a daemon the script started
// in another session (setsid) could otherwise hold them open forever.
const waitDelay = 2 * time.Second

// Runner runs the notify scripts of one vipd instance. Its methods are safe
// for concurrent use; each call runs one script.
type Runner struct {
	scripts  map[State]script
	generic  script // notify.any: run after the state's own script
	timeout  time.Duration
	instance string
	logger   *slog.Logger
}

// script is one configured script string, split into words.
type script struct {
	text  string   // as configured, for messages
	argv  []string // program and the arguments written; nil when none
	split error    // why text could not be split (a config not validated)
}

func newScript(text string) script {
	argv, err := config.SplitScript(text)
	return script{text: text, argv: argv, split: err}
}

// New returns a Runner for the scripts in n. instance is the NAME argument
// of the generic script (the vipd cluster name, as keepalived passes the
// VRRP instance name).
func New(n config.Notify, instance string, logger *slog.Logger) *Runner {
	timeout := n.Timeout
	if timeout <= 0 {
		timeout = fallbackTimeout
	}
	return &Runner{
		scripts: map[State]script{
			Master: newScript(n.Master),
			Backup: newScript(n.Backup),
			Fault:  newScript(n.Fault),
			Stop:   newScript(n.Stop),
		},
		generic:  newScript(n.Any),
		timeout:  timeout,
		instance: instance,
		logger:   logger.With("component", "hooks"),
	}
}

// ScriptError reports a script that could not be started, exited non-zero,
// or was killed on timeout. Output is the tail of its stdout and stderr.
type ScriptError struct {
	State  State
	Path   string
	Output string
	Err    error
}

func (e *ScriptError) Error() string {
	msg := fmt.Sprintf("run %s notify script %s: %v", e.State, e.Path, e.Err)
	if e.Output != "" {
		msg += fmt.Sprintf("; output: %q", e.Output)
	}
	return msg
}

func (e *ScriptError) Unwrap() error { return e.Err }

// Notify runs the script configured for ev.State, then the generic script,
// each waiting for the one before to exit (keepalived's order); it does
// nothing and returns nil when neither is configured.
//
// The state's script is run with exactly the words configured; the generic
// one with the words configured followed by
//
//	INSTANCE <instance> <STATE> <priority>
//
// (STATE in upper case: MASTER, BACKUP, FAULT, STOP). Both get ev as JSON
// on stdin, working directory /, and only these environment variables:
// PATH=/usr/sbin:/usr/bin:/sbin:/bin, VIPD_STATE, VIPD_PREVIOUS_STATE,
// VIPD_NODE, VIPD_HOLDER, VIPD_TOKEN, VIPD_REASON, VIPD_PRIORITY and
// VIPD_INSTANCE (states in lower case, as in the JSON).
//
// Each script runs in its own process group. When the configured timeout
// passes or ctx is done, the whole group (the script and anything it started
// in the background) is killed with SIGKILL and the run returns promptly. A
// non-zero exit, a kill or a start failure is returned as a *ScriptError
// carrying the tail of the script's output; on a timeout it wraps
// context.DeadlineExceeded. A failure of the state's script does not keep
// the generic one from running; both errors are returned, joined.
func (r *Runner) Notify(ctx context.Context, ev Event) error {
	sc, ok := r.scripts[ev.State]
	if !ok {
		return fmt.Errorf("run notify script: unknown state %q", ev.State)
	}
	if sc.text == "" && r.generic.text == "" {
		return nil
	}
	input, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encode %s notify event: %w", ev.State, err)
	}
	var errs []error
	if sc.text != "" {
		errs = append(errs, r.run(ctx, ev, sc, nil, input))
	}
	if r.generic.text != "" {
		extra := []string{"INSTANCE", r.instance, ev.State.keepalived(), strconv.Itoa(ev.Priority)}
		errs = append(errs, r.run(ctx, ev, r.generic, extra, input))
	}
	return errors.Join(errs...)
}

// run runs one script with extra appended to its configured arguments.
func (r *Runner) run(ctx context.Context, ev Event, sc script, extra []string, input []byte) error {
	if sc.split != nil || len(sc.argv) == 0 {
		err := sc.split
		if err == nil {
			err = errors.New("no program named")
		}
		return &ScriptError{State: ev.State, Path: sc.text, Err: err}
	}
	path := sc.argv[0]
	args := append(append([]string(nil), sc.argv[1:]...), extra...)

	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()

	out := &tailBuffer{limit: outputLimit}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir = "/"
	cmd.Env = []string{
		"PATH=" + scriptPath,
		"VIPD_STATE=" + string(ev.State),
		"VIPD_PREVIOUS_STATE=" + string(ev.PreviousState),
		"VIPD_NODE=" + ev.Node,
		"VIPD_HOLDER=" + ev.Holder,
		"VIPD_TOKEN=" + strconv.FormatUint(ev.Token, 10),
		"VIPD_REASON=" + ev.Reason,
		"VIPD_PRIORITY=" + strconv.Itoa(ev.Priority),
		"VIPD_INSTANCE=" + r.instance,
	}
	cmd.Stdin = bytes.NewReader(input)
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.WaitDelay = waitDelay
	setProcessGroup(cmd)

	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	output := out.String()
	r.logger.Debug("notify script finished",
		"state", string(ev.State), "path", path, "args", args, "duration", elapsed,
		"output", output, "err", err)
	if errors.Is(err, exec.ErrWaitDelay) && ctx.Err() == nil {
		// The script exited 0 but left a background child holding its
		// output open; that is how some scripts start a daemon, so it is not
		// a failure, but the output is cut off.
		r.logger.Warn("notify script left a child holding its output",
			"state", string(ev.State), "path", path)
		return nil
	}
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		// The kill's own error ("signal: killed") says less than why it came.
		err = fmt.Errorf("killed after %s: %w", elapsed.Round(time.Millisecond), errors.Join(ctxErr, err))
	}
	return &ScriptError{State: ev.State, Path: path, Output: output, Err: err}
}

// tailBuffer keeps the last limit bytes written to it. exec.Cmd writes
// stdout and stderr from separate goroutines, hence the mutex.
type tailBuffer struct {
	mu    sync.Mutex
	limit int
	buf   []byte
	cut   bool
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.limit; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
		b.cut = true
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := strings.TrimRight(string(b.buf), "\n")
	if b.cut {
		s = "..." + s
	}
	return s
}
