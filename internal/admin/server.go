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
	"time"
)

// Handler is what the server needs from the daemon.
type Handler interface {
	Status(ctx context.Context) (Status, error)
	Switchover(ctx context.Context, to string) error
	Maintenance(ctx context.Context, on bool) error
}

// Serve listens on the unix socket path (mode 0600, replacing a stale
// socket) and serves h until ctx is done. It returns after the listener and
// all in-flight requests are finished.
func Serve(ctx context.Context, path string, h Handler, log *slog.Logger) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove stale admin socket %s: %w", path, err)
	}
	// The socket is created with the process umask; restrict it before the
	// first Accept. (The systemd unit sets UMask=0077, closing the window.)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("listen on admin socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return fmt.Errorf("restrict admin socket %s: %w", path, err)
	}
	srv := &http.Server{Handler: Mux(h), ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve admin socket %s: %w", path, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	<-errc
	os.Remove(path)
	if err != nil {
		log.Warn("admin socket shutdown", "err", err)
	}
	return nil
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
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			reply(w, nil, fmt.Errorf("decode switchover request: %w", err))
			return
		}
		reply(w, struct{}{}, h.Switchover(r.Context(), req.To))
	})
	mux.HandleFunc("POST /v1/maintenance", func(w http.ResponseWriter, r *http.Request) {
		var req MaintenanceRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			reply(w, nil, fmt.Errorf("decode maintenance request: %w", err))
			return
		}
		reply(w, struct{}{}, h.Maintenance(r.Context(), req.On))
	})
	return mux
}

func reply(w http.ResponseWriter, v any, err error) {
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		w.WriteHeader(http.StatusConflict)
		json.NewEncoder(w).Encode(errorBody{Error: err.Error()})
		return
	}
	json.NewEncoder(w).Encode(v)
}
