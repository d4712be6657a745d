package admin

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// handler answers status and records switchovers.
type handler struct {
	mu  sync.Mutex
	tos []string
}

func (h *handler) Status(context.Context) (Status, error) { return Status{Node: "a"}, nil }
func (h *handler) Switchover(_ context.Context, to string) error {
	h.mu.Lock()
	h.tos = append(h.tos, to)
	h.mu.Unlock()
	return nil
}
func (h *handler) Standby(context.Context, string, bool) error { return nil }
func (h *handler) switchovers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.tos)
}

// serve runs Serve on a socket in a temporary directory until the test ends.
func serve(t *testing.T, h Handler) string {
	t.Helper()
	// A unix socket path is limited to 108 bytes; t.TempDir can be longer.
	dir, err := os.MkdirTemp("", "vipd-admin")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "vipd.sock")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, path, h, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := NewClient(path).Status(t.Context()); err == nil {
			return path
		}
		if time.Now().After(deadline) {
			t.Fatal("admin socket did not answer within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// endless is a JSON body that never ends: {"to":"aaaa...
type endless struct{ sent int64 }

func (e *endless) Read(p []byte) (int, error) {
	if e.sent == 0 {
		n := copy(p, `{"to":"`)
		e.sent += int64(n)
		return n, nil
	}
	for i := range p {
		p[i] = 'a'
	}
	e.sent += int64(len(p))
	return len(p), nil
}

// A 200 MB request body is refused after MaxBody bytes with 413; the
// daemon's heap does not take it in (issue 16: one such request took the
// daemon to 2.4 GB).
func TestLargeBodyIsRefused(t *testing.T) {
	h := &handler{}
	path := serve(t, h)
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const size = 200 << 20
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	fmt.Fprintf(c, "POST /v1/switchover HTTP/1.1\r\nHost: vipd\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", size)
	body := &endless{}
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		// Fails with a reset or broken pipe once the server gives up.
		_, _ = io.Copy(c, io.LimitReader(body, size))
	}()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	c.Close()
	<-wrote

	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status %s, want 413; body %q", resp.Status, msg)
	}
	if n := h.switchovers(); n != 0 {
		t.Errorf("the oversized request reached the handler (%d switchovers)", n)
	}
	// The test writes the body from a fixed buffer, so what the process
	// allocated meanwhile is the server's reading of it.
	t.Logf("a %d MB body: %s after %d MB sent, %d MB allocated meanwhile", size>>20, resp.Status, body.sent>>20, (after.TotalAlloc-before.TotalAlloc)>>20)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
		t.Errorf("allocated %d MB while refusing a %d MB body", grew>>20, size>>20)
	}
}

// Connections that never send a request are closed after ReadTimeout and
// hold at most MaxConns goroutines meanwhile; once they are gone the CLI is
// answered again (issue 16: 500 stalled connections held 543 goroutines).
func TestStalledConnectionsAreBounded(t *testing.T) {
	path := serve(t, &handler{})
	base := runtime.NumGoroutine()
	const stalled = 500
	conns := make([]net.Conn, 0, stalled)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range stalled {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatalf("dial %d: %v", len(conns), err)
		}
		conns = append(conns, c)
	}
	// Give the server time to accept them all.
	time.Sleep(500 * time.Millisecond)
	t.Logf("%d stalled connections: %d more goroutines", stalled, runtime.NumGoroutine()-base)
	if grew := runtime.NumGoroutine() - base; grew > MaxConns+8 {
		t.Errorf("%d stalled connections started %d goroutines, want at most %d", stalled, grew, MaxConns+8)
	}
	// Every stalled connection is closed by the server within the timeout.
	start := time.Now()
	var open int
	for _, c := range conns {
		c.SetReadDeadline(start.Add(ReadTimeout + 2*time.Second))
		if _, err := c.Read(make([]byte, 1)); errors.Is(err, os.ErrDeadlineExceeded) {
			open++
		}
	}
	if open > 0 {
		t.Errorf("%d of %d stalled connections still open after %s", open, stalled, ReadTimeout+2*time.Second)
	}
	if _, err := NewClient(path).Status(t.Context()); err != nil {
		t.Errorf("status after the stalled connections: %v", err)
	}
}

// A client that sends its headers but stalls in the body is cut off too.
func TestStalledBodyIsCutOff(t *testing.T) {
	path := serve(t, &handler{})
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /v1/maintenance HTTP/1.1\r\nHost: vipd\r\nContent-Length: 100\r\n\r\n{\"on\":")
	c.SetReadDeadline(time.Now().Add(ReadTimeout + 2*time.Second))
	got, err := io.ReadAll(c)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("connection with a stalled body still open after %s", ReadTimeout+2*time.Second)
	}
	if strings.Contains(string(got), "200 OK") {
		t.Errorf("a truncated body was answered 200: %q", got)
	}
}

// socketPath is a fresh socket path in a short temporary directory.
func socketPath(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "vipd-admin")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "vipd.sock")
}

// A socket another process still answers on is that daemon's: Serve
// refuses to start instead of removing it (issue 16: a second vipd run
// removed the running daemon's socket).
func TestServeKeepsALiveSocket(t *testing.T) {
	path := serve(t, &handler{})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	err := Serve(ctx, path, &handler{}, slog.New(slog.DiscardHandler))
	if !errors.Is(err, ErrSocketInUse) {
		t.Fatalf("Serve on a live socket: %v, want ErrSocketInUse", err)
	}
	if _, err := NewClient(path).Status(t.Context()); err != nil {
		t.Errorf("the running server's socket no longer answers: %v", err)
	}
}

// A socket file nobody listens on is a crashed daemon's: Serve replaces it.
func TestServeReplacesAStaleSocket(t *testing.T) {
	path := socketPath(t)
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("stale socket file: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, path, &handler{}, slog.New(slog.DiscardHandler)) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := NewClient(path).Status(t.Context()); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Serve did not replace the stale socket within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A file that is not a socket is never removed.
func TestServeRefusesAFileThatIsNotASocket(t *testing.T) {
	path := socketPath(t)
	if err := os.WriteFile(path, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := Serve(t.Context(), path, &handler{}, slog.New(slog.DiscardHandler))
	if err == nil {
		t.Fatal("Serve replaced a regular file")
	}
	if b, _ := os.ReadFile(path); string(b) != "keep me" {
		t.Errorf("file content now %q", b)
	}
}

// Clients that keep their connection alive and then drop it (a program
// that makes a client per call) must not use up the connection limit: an
// idle connection gives its slot to a new one.
func TestIdleConnectionsGiveWay(t *testing.T) {
	path := serve(t, &handler{})
	var transports []*http.Transport
	defer func() {
		for _, tr := range transports {
			tr.CloseIdleConnections()
		}
	}()
	for i := range 3 * MaxConns {
		tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}}
		transports = append(transports, tr)
		resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("http://vipd/v1/status")
		if err != nil {
			t.Fatalf("request %d with %d idle connections left behind: %v", i, i, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}
