package health

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/config"
)

// freeAddr returns a loopback address nothing listens on: a port the
// system handed out and that was closed again.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func newChecker(t *testing.T, c config.Check) Checker {
	t.Helper()
	if c.Timeout == 0 {
		c.Timeout = 2 * time.Second
	}
	ch, err := NewChecker(c)
	if err != nil {
		t.Fatalf("NewChecker(%+v): %v", c, err)
	}
	return ch
}

func TestTCPCheck(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// The kernel completes the handshake into the backlog; nothing needs
	// to Accept for the probe to pass.
	if err := newChecker(t, config.Check{TCP: l.Addr().String()}).Check(t.Context()); err != nil {
		t.Errorf("Check(listening %s) = %v, want nil", l.Addr(), err)
	}

	closed := freeAddr(t)
	err = newChecker(t, config.Check{TCP: closed}).Check(t.Context())
	if err == nil || !strings.HasPrefix(err.Error(), "connect "+closed+": ") || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("Check(closed %s) = %v, want a wrapped connection refused", closed, err)
	}
	if errors.Is(err, ErrTimeout) {
		t.Errorf("Check(closed) = %v, reported as a timeout", err)
	}
}

func TestHTTPCheck(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/redirect":
			http.Redirect(w, r, "/200", http.StatusFound)
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-release:
			}
		default:
			code, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
			if err != nil {
				code = http.StatusBadRequest
			}
			w.WriteHeader(code)
			fmt.Fprintln(w, "body")
		}
	}))
	defer srv.Close()
	defer close(release)

	tests := []struct {
		name    string
		path    string
		status  string
		timeout time.Duration
		wantErr string // "" for healthy
		timeOut bool
	}{
		{name: "200 passes the default range", path: "/200"},
		{name: "204 passes the default range", path: "/204"},
		{name: "503 fails the default range", path: "/503", wantErr: "get URL/503: status 503 not in 200-299"},
		{name: "a redirect is not followed", path: "/redirect", wantErr: "get URL/redirect: status 302 not in 200-299"},
		{name: "a redirect passes a range that includes it", path: "/redirect", status: "200-399"},
		{name: "a single status must match exactly", path: "/201", status: "200", wantErr: "get URL/201: status 201 not in 200-200"},
		{name: "a custom range passes its statuses", path: "/503", status: "500-503"},
		{name: "a slow answer times out", path: "/slow", timeout: 200 * time.Millisecond, timeOut: true,
			wantErr: `get URL/slow: timed out after 200ms: Get "URL/slow": context deadline exceeded`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newChecker(t, config.Check{Timeout: tt.timeout, HTTP: &config.HTTPCheck{URL: srv.URL + tt.path, Status: tt.status}})
			err := c.Check(t.Context())
			got := ""
			if err != nil {
				got = strings.ReplaceAll(err.Error(), srv.URL, "URL")
			}
			if got != tt.wantErr {
				t.Errorf("Check(%s) = %q, want %q", tt.path, got, tt.wantErr)
			}
			if errors.Is(err, ErrTimeout) != tt.timeOut {
				t.Errorf("errors.Is(%v, ErrTimeout) = %v, want %v", err, !tt.timeOut, tt.timeOut)
			}
		})
	}

	closed := freeAddr(t)
	err := newChecker(t, config.Check{HTTP: &config.HTTPCheck{URL: "http://" + closed + "/"}}).Check(t.Context())
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("Check(nothing listening) = %v, want connection refused", err)
	}
}

func TestExecCheck(t *testing.T) {
	tests := []struct {
		name    string
		argv    []string
		wantErr string
	}{
		{name: "exit 0 passes", argv: []string{"/bin/sh", "-c", "exit 0"}},
		{name: "a non-zero exit fails", argv: []string{"/bin/sh", "-c", "exit 3"}, wantErr: "exec /bin/sh: exit status 3"},
		{name: "the output tail is reported", argv: []string{"/bin/sh", "-c", "echo starting; echo replica lagging >&2; exit 1"},
			wantErr: `exec /bin/sh: exit status 1; output: "starting\nreplica lagging"`},
		{name: "the program is looked up in PATH", argv: []string{"true"}},
		{name: "a missing program fails", argv: []string{"/nonexistent/vipd-check"},
			wantErr: "exec /nonexistent/vipd-check: fork/exec /nonexistent/vipd-check: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := newChecker(t, config.Check{Exec: &config.ExecCheck{Command: tt.argv}}).Check(t.Context())
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.wantErr {
				t.Errorf("Check(%q) = %q, want %q", tt.argv, got, tt.wantErr)
			}
		})
	}
}

func TestExecCheckOutputIsBounded(t *testing.T) {
	err := newChecker(t, config.Check{Exec: &config.ExecCheck{Command: []string{"/bin/sh", "-c", "i=0; while [ $i -lt 200 ]; do echo line $i; i=$((i+1)); done; exit 1"}}}).Check(t.Context())
	if err == nil {
		t.Fatal("Check() = nil, want exit status 1")
	}
	if len(err.Error()) > outputLimit+100 || !strings.Contains(err.Error(), `line 199"`) {
		t.Errorf("Check() = %q (%d bytes): want the tail of the output, at most %d bytes of it", err, len(err.Error()), outputLimit)
	}
}

// TestExecCheckTimeoutKillsProcessGroup: a check that runs past its timeout
// is killed with everything it started, so probes cannot pile up children.
func TestExecCheckTimeoutKillsProcessGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	script := fmt.Sprintf("sleep 30 & echo $! > %s; wait", pidFile)
	c := newChecker(t, config.Check{Timeout: 300 * time.Millisecond, Exec: &config.ExecCheck{Command: []string{"/bin/sh", "-c", script}}})
	start := time.Now()
	err := c.Check(t.Context())
	took := time.Since(start)
	if !errors.Is(err, ErrTimeout) || !strings.HasPrefix(err.Error(), "exec /bin/sh: timed out after 300ms: ") {
		t.Fatalf("Check() = %v, want a timeout", err)
	}
	// The probe returns once the group is killed, not after sleep 30.
	if took > 300*time.Millisecond+waitDelay+2*time.Second {
		t.Errorf("Check() took %s with a 300ms timeout", took)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("the script did not record its child: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("child %d of the timed-out check is still running", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// alive reports whether pid runs (a zombie awaiting its reaper is dead).
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	// The state follows the parenthesised command name.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func TestNewCheckerRejects(t *testing.T) {
	tests := []struct {
		name string
		c    config.Check
		want string
	}{
		{"no probe", config.Check{Name: "x", Timeout: time.Second}, `check "x": want exactly one of tcp, http, exec; got 0`},
		{"two probes", config.Check{Name: "x", Timeout: time.Second, TCP: "127.0.0.1:1", Exec: &config.ExecCheck{Command: []string{"true"}}},
			`check "x": want exactly one of tcp, http, exec; got 2`},
		{"no timeout", config.Check{Name: "x", TCP: "127.0.0.1:1"}, `check "x": timeout 0s is not positive`},
		{"empty command", config.Check{Name: "x", Timeout: time.Second, Exec: &config.ExecCheck{}}, `check "x": exec: empty command`},
		{"bad status", config.Check{Name: "x", Timeout: time.Second, HTTP: &config.HTTPCheck{URL: "http://127.0.0.1/", Status: "2xx"}},
			`http check http://127.0.0.1/: "2xx" is not a status or range of statuses from 100 to 599, like 200 or 200-299`},
		{"bad url", config.Check{Name: "x", Timeout: time.Second, HTTP: &config.HTTPCheck{URL: "http://[::1"}},
			`http check: parse "http://[::1": missing ']' in host`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewChecker(tt.c)
			if err == nil || err.Error() != tt.want {
				t.Errorf("NewChecker() = %v, want %q", err, tt.want)
			}
		})
	}
}
