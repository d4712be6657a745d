package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
	"time"
)

// Handler is what the server needs from the daemon.
type Handler interface {
	Status(ctx context.Context) (Status, error)
	Switchover(ctx context.Context, to string) error
	// Standby puts node ("" = this one) in standby or takes it out.
	Standby(ctx context.Context, node string, on bool) error
}

// Bounds of the admin server. Every request of the API is a few hundred
// bytes from a local CLI that sends it at once, so these only stop a
// misbehaving client from growing the daemon: a body over MaxBody is
// refused, a connection that does not send its request in ReadTimeout (or
// stays idle past IdleTimeout) is closed, and at most MaxConns are open
// (connLimit).
const (
	MaxBody           = 1 << 20
	ReadHeaderTimeout = 2 * time.Second
	ReadTimeout       = 5 * time.Second
	// WriteTimeout covers the handler: a switchover waits up to 10 s for
	// the lease to move.
	WriteTimeout = 20 * time.Second
	IdleTimeout  = 30 * time.Second
	MaxConns     = 64
)

// ErrSocketInUse is returned by Serve when another process answers on the
// socket path.
var ErrSocketInUse = errors.New("admin socket in use by a running process")

// Serve listens on the unix socket path (mode 0600, replacing a stale
// socket but never one another process still answers on) and serves h
// until ctx is done. It returns after the listener and all in-flight
// requests are finished, removing the socket if it is still its own.
func Serve(ctx context.Context, path string, h Handler, log *slog.Logger) error {
	if err := removeStale(ctx, path); err != nil {
		return err
	}
	// The socket is created with the process umask; restrict it before the
	// first Accept. (The systemd unit sets UMask=0077, closing the window.)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("listen on admin socket %s: %w", path, err)
	}
	// net.UnixListener removes the path on Close; a successor that replaced
	// it must keep its own, so the path is removed below only while it is
	// still this listener's file.
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	own, err := os.Stat(path)
	if err != nil {
		ln.Close()
		return fmt.Errorf("stat admin socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		os.Remove(path)
		return fmt.Errorf("restrict admin socket %s: %w", path, err)
	}
	srv := newServer(h)
	lim := newConnLimit(ln, MaxConns, log)
	srv.ConnState = lim.track
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(lim) }()
	select {
	case err = <-errc:
		err = fmt.Errorf("serve admin socket %s: %w", path, err)
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		serr := srv.Shutdown(sctx)
		cancel()
		<-errc
		if serr != nil {
			log.Warn("admin socket shutdown", "err", serr)
		}
	}
	if cur, serr := os.Stat(path); serr == nil && os.SameFile(own, cur) {
		os.Remove(path)
	}
	return err
}

// removeStale removes a socket file left by a process that is gone. A
// socket something still accepts on belongs to a running daemon: removing
// it would leave that daemon unreachable.
func removeStale(ctx context.Context, path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("inspect admin socket %s: %w", path, err)
	}
	if fi.Mode().Type() != os.ModeSocket {
		return fmt.Errorf("admin socket %s: exists and is not a socket", path)
	}
	dctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(dctx, "unix", path)
	if err == nil {
		c.Close()
		return fmt.Errorf("%w: %s", ErrSocketInUse, path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, os.ErrNotExist) {
		// A full backlog or a timeout is a live listener too.
		return fmt.Errorf("%w: %s: %v", ErrSocketInUse, path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove stale admin socket %s: %w", path, err)
	}
	return nil
}

func newServer(h Handler) *http.Server {
	return &http.Server{
		Handler:           http.MaxBytesHandler(Mux(h), MaxBody),
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    64 << 10,
	}
}

// connLimit keeps at most max connections open. When a new one arrives
// at the limit, a connection idle between requests (a client that keeps
// it alive for reuse) is closed to make room; only when all are busy or
// have not sent their request yet is the new one closed, so that a CLI
// call is not queued in the backlog behind stalled connections.
type connLimit struct {
	net.Listener
	max int
	log *slog.Logger

	mu       sync.Mutex
	conns    map[net.Conn]http.ConnState
	lastWarn time.Time
}

func newConnLimit(ln net.Listener, max int, log *slog.Logger) *connLimit {
	return &connLimit{Listener: ln, max: max, log: log, conns: map[net.Conn]http.ConnState{}}
}

func (l *connLimit) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.admit(c) {
			return c, nil
		}
		c.Close()
	}
}

// admit registers c, making room by closing an idle connection if needed.
func (l *connLimit) admit(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.conns) >= l.max {
		for old, st := range l.conns {
			if st == http.StateIdle {
				// The server sees the close and reports StateClosed.
				old.Close()
				delete(l.conns, old)
				break
			}
		}
	}
	if len(l.conns) >= l.max {
		if time.Since(l.lastWarn) >= time.Minute {
			l.lastWarn = time.Now()
			l.log.Warn("admin socket: too many connections; closing new ones", "reason", fmt.Sprintf("%d open", len(l.conns)))
		}
		return false
	}
	l.conns[c] = http.StateNew
	return true
}

// track is the server's ConnState hook.
func (l *connLimit) track(c net.Conn, st http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch st {
	case http.StateClosed, http.StateHijacked:
		delete(l.conns, c)
	default:
		if _, ok := l.conns[c]; ok {
			l.conns[c] = st
		}
	}
}

// Mux returns the admin API's HTTP handler.
func Mux(h Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		st, err := h.Status(r.Context())
		reply(w, st, err)
	})
	mux.HandleFunc("POST /v1/switchover", func(w http.ResponseWriter, r *http.Request) {
		var req SwitchoverRequest
		if !decode(w, r, "switchover", &req) {
			return
		}
		reply(w, struct{}{}, h.Switchover(r.Context(), req.To))
	})
	mux.HandleFunc("POST /v1/maintenance", func(w http.ResponseWriter, r *http.Request) {
		var req MaintenanceRequest
		if !decode(w, r, "maintenance", &req) {
			return
		}
		reply(w, struct{}{}, h.Standby(r.Context(), "", req.On))
	})
	mux.HandleFunc("POST /v1/standby", func(w http.ResponseWriter, r *http.Request) {
		var req StandbyRequest
		if !decode(w, r, "standby", &req) {
			return
		}
		reply(w, struct{}{}, h.Standby(r.Context(), req.Node, req.On))
	})
	return mux
}

// decode reads a request body into v, answering 413 for one over MaxBody
// and 400 for one that is not the expected JSON.
func decode(w http.ResponseWriter, r *http.Request, what string, v any) bool {
	err := json.NewDecoder(r.Body).Decode(v)
	if err == nil {
		return true
	}
	code := http.StatusBadRequest
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		code = http.StatusRequestEntityTooLarge
	}
	replyError(w, code, fmt.Errorf("decode %s request: %w", what, err))
	return false
}

func reply(w http.ResponseWriter, v any, err error) {
	if err != nil {
		replyError(w, http.StatusConflict, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func replyError(w http.ResponseWriter, code int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(errorBody{Error: err.Error()})
}
