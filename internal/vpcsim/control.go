package vpcsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// Reset returns the account to the world last loaded (or given to New),
// removes every fault and drops the late writes still waiting. The call history and IMDS listeners of instances
// that still exist are kept; instance credentials stay valid.
func (s *Server) Reset(ctx context.Context) error {
	return s.LoadWorld(ctx, s.ec2.LoadedWorld())
}

// LoadWorld replaces the account with w (which becomes what Reset returns
// to), removes every fault, drops the late writes still waiting, and opens or closes IMDS listeners so that
// each instance has one.
func (s *Server) LoadWorld(ctx context.Context, w *World) error {
	err := s.ec2.Load(w, func() {
		// Late writes and sessions were meant for the world that goes.
		s.inj.Reset()
		s.imds.Reset()
	})
	if err != nil {
		return fmt.Errorf("load world: %w", err)
	}
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	if started {
		if err := s.syncIMDS(ctx); err != nil {
			return fmt.Errorf("load world: %w", err)
		}
	}
	return nil
}

// routeControl registers the /_sim/ endpoints (JSON in and out).
func (s *Server) routeControl(mux *http.ServeMux) {
	mux.HandleFunc("GET /_sim/state", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Snapshot())
	})
	mux.HandleFunc("POST /_sim/reset", func(w http.ResponseWriter, r *http.Request) {
		if err := s.Reset(r.Context()); err != nil {
			writeJSONError(w, http.StatusInternalServerError, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	// moto's reset endpoint, so suites written for moto_server can run
	// against vpcsim unchanged: a fresh account with its default VPC.
	mux.HandleFunc("POST /moto-api/reset", func(w http.ResponseWriter, r *http.Request) {
		fresh := &World{Region: s.ec2.Region(), AccountID: s.ec2.AccountID(), DefaultVPC: true, Source: "moto-api reset"}
		if err := s.LoadWorld(r.Context(), fresh); err != nil {
			writeJSONError(w, http.StatusInternalServerError, err)
			return
		}
		s.mu.Lock()
		s.newServices()
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("POST /_sim/world", func(w http.ResponseWriter, r *http.Request) {
		data, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
		if err != nil {
			writeJSONError(w, http.StatusBadRequest, err)
			return
		}
		name := r.URL.Query().Get("name")
		if name == "" {
			name = "posted world"
		}
		world, err := ParseWorld(data, name)
		if err != nil {
			writeJSONError(w, http.StatusBadRequest, err)
			return
		}
		if err := s.LoadWorld(r.Context(), world); err != nil {
			writeJSONError(w, http.StatusInternalServerError, err)
			return
		}
		writeJSON(w, http.StatusOK, s.Snapshot())
	})
	mux.HandleFunc("GET /_sim/world", func(w http.ResponseWriter, r *http.Request) {
		b, err := MarshalWorld(s.World())
		if err != nil {
			writeJSONError(w, http.StatusInternalServerError, err)
			return
		}
		w.Header().Set("Content-Type", "application/yaml")
		w.Write(b)
	})
	mux.HandleFunc("GET /_sim/calls", func(w http.ResponseWriter, r *http.Request) {
		since, err := parseUintParam(r, "since")
		if err != nil {
			writeJSONError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusOK, s.Calls(since))
	})
	mux.HandleFunc("GET /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Faults())
	})
	mux.HandleFunc("POST /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		var f Fault
		if err := decodeJSON(r, &f); err != nil {
			writeJSONError(w, http.StatusBadRequest, err)
			return
		}
		id, err := s.InjectFault(f)
		if err != nil {
			writeJSONError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]int64{"id": id})
	})
	mux.HandleFunc("DELETE /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		id, err := parseUintParam(r, "id")
		if err != nil {
			writeJSONError(w, http.StatusBadRequest, err)
			return
		}
		s.ClearFaults(int64(id))
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	mux.HandleFunc("POST /_sim/instances/{id}/imds", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			State string `json:"state"`
		}
		if err := decodeJSON(r, &body); err != nil {
			writeJSONError(w, http.StatusBadRequest, err)
			return
		}
		if body.State != "up" && body.State != "down" {
			writeJSONError(w, http.StatusBadRequest, fmt.Errorf("imds state %q is not up or down", body.State))
			return
		}
		if err := s.SetIMDS(r.PathValue("id"), body.State == "up"); err != nil {
			writeJSONError(w, statusOf(err), err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	mux.HandleFunc("POST /_sim/instances/{id}/state", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			State string `json:"state"`
		}
		if err := decodeJSON(r, &body); err != nil {
			writeJSONError(w, http.StatusBadRequest, err)
			return
		}
		if err := s.SetInstanceState(r.PathValue("id"), body.State); err != nil {
			writeJSONError(w, statusOf(err), err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	s.routeEvents(mux)
}

func statusOf(err error) int {
	if errors.Is(err, ErrNotFound) {
		return http.StatusNotFound
	}
	return http.StatusBadRequest
}

func parseUintParam(r *http.Request, name string) (uint64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parameter %s: %w", name, err)
	}
	return n, nil
}

func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode request body: %w", err)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func writeJSONError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}
