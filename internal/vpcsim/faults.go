package vpcsim

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// FaultKind names what an injected fault does to a matching call.
type FaultKind string

const (
	// FaultError answers Code with HTTP Status (default 503 for
	// RequestLimitExceeded and Unavailable, 500 for InternalError and
	// 400 otherwise) without running the action.
	FaultError FaultKind = "error"
	// FaultLatency delays the call by Latency, then runs it.
	FaultLatency FaultKind = "latency"
	// FaultHang holds the call until the fault is cleared or expires, the
	// client gives up, Timeout passes, or the server closes; then answers
	// 503 Unavailable. The action never runs.
	FaultHang FaultKind = "hang"
	// FaultCutoff drops the connection without an answer, as a caller cut
	// off from the endpoint sees it.
	FaultCutoff FaultKind = "cutoff"
)

// Fault is an injected failure for calls matching Action and Caller.
type Fault struct {
	// ID is assigned by the server.
	ID int64 `json:"id,omitempty"`
	// Action matches the EC2 action ("ReplaceRoute"); "" matches any.
	Action string `json:"action,omitempty"`
	// Caller matches an instance ID or "admin"; "" matches any.
	Caller string    `json:"caller,omitempty"`
	Kind   FaultKind `json:"kind"`
	// Code, Status and Message shape a FaultError answer.
	Code    string `json:"code,omitempty"`
	Status  int    `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
	// Latency is FaultLatency's delay.
	Latency Duration `json:"latency,omitempty"`
	// Timeout bounds a FaultHang (default Options.MaxHang).
	Timeout Duration `json:"timeout,omitempty"`
	// Count limits the fault to the next Count matching calls; 0 means
	// every matching call.
	Count int `json:"count,omitempty"`
	// Duration limits the fault to this long after injection; 0 means until
	// cleared.
	Duration Duration `json:"duration,omitempty"`
	// Held is how many calls a FaultHang holds right now (read-only).
	Held int `json:"held,omitempty"`
}

// spent hang faults whose count ran out still hold their calls until
// cleared; they are kept in Server.spent so ClearFaults releases them.
type fault struct {
	Fault
	expires time.Time     // zero: never
	cleared chan struct{} // closed when the fault is removed
}

func (f Fault) validate() error {
	switch f.Kind {
	case FaultError:
		if f.Code == "" {
			return fmt.Errorf("fault kind error needs a code")
		}
	case FaultLatency:
		if f.Latency <= 0 {
			return fmt.Errorf("fault kind latency needs a positive latency")
		}
	case FaultHang, FaultCutoff:
	default:
		return fmt.Errorf("fault kind %q is not one of error, latency, hang, cutoff", f.Kind)
	}
	if f.Count < 0 || f.Duration < 0 || f.Timeout < 0 {
		return fmt.Errorf("fault count, duration and timeout must not be negative")
	}
	return nil
}

// InjectFault adds a fault and returns its ID. Faults are matched in
// injection order; the first match applies.
func (s *Server) InjectFault(f Fault) (int64, error) {
	if err := f.validate(); err != nil {
		return 0, fmt.Errorf("inject fault: %w", err)
	}
	if f.Kind == FaultError && f.Status == 0 {
		switch f.Code {
		case "RequestLimitExceeded", "Unavailable", "ServiceUnavailable":
			f.Status = http.StatusServiceUnavailable
		case "InternalError", "InternalFailure":
			f.Status = http.StatusInternalServerError
		case "UnauthorizedOperation", "AuthFailure":
			f.Status = http.StatusForbidden
		default:
			f.Status = http.StatusBadRequest
		}
	}
	if f.Kind == FaultError && f.Message == "" {
		f.Message = "Injected by vpcsim."
		if f.Code == "RequestLimitExceeded" {
			f.Message = "Request limit exceeded."
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faultSeq++
	f.ID = s.faultSeq
	f.Held = 0
	x := &fault{Fault: f, cleared: make(chan struct{})}
	if f.Duration > 0 {
		x.expires = time.Now().Add(time.Duration(f.Duration))
	}
	s.faults = append(s.faults, x)
	return f.ID, nil
}

// ClearFaults removes every fault (id 0) or the one with that id, releasing
// calls they hold.
func (s *Server) ClearFaults(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	release := func(f *fault) bool {
		if id != 0 && f.ID != id {
			return false
		}
		close(f.cleared)
		return true
	}
	s.faults = slices.DeleteFunc(s.faults, release)
	s.spent = slices.DeleteFunc(s.spent, release)
}

// Faults lists the active faults.
func (s *Server) Faults() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireFaultsLocked(time.Now())
	out := make([]Fault, len(s.faults))
	for i, f := range s.faults {
		out[i] = f.Fault
	}
	return out
}

func (s *Server) expireFaultsLocked(now time.Time) {
	s.faults = slices.DeleteFunc(s.faults, func(f *fault) bool {
		if !f.expires.IsZero() && now.After(f.expires) {
			close(f.cleared)
			return true
		}
		return false
	})
}

// takeFault finds the first fault matching the call and uses up one of
// its count.
func (s *Server) takeFault(action, caller string) *fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.faults) == 0 {
		return nil
	}
	s.expireFaultsLocked(time.Now())
	for i, f := range s.faults {
		if (f.Action != "" && f.Action != action) || (f.Caller != "" && f.Caller != caller) {
			continue
		}
		if f.Count > 0 {
			f.Count--
			if f.Count == 0 {
				s.faults = slices.Delete(s.faults, i, i+1)
				if f.Kind == FaultHang {
					// It no longer matches but still holds this call until
					// cleared or timed out.
					s.spent = append(s.spent, f)
				} else {
					close(f.cleared)
				}
			}
		}
		return f
	}
	return nil
}

// applyFault performs f on the current call. It returns an error to answer
// instead of running the action, or cut when the connection must drop.
func (s *Server) applyFault(ctx context.Context, f *fault) (cut bool, err error) {
	switch f.Kind {
	case FaultError:
		return false, &apiError{Status: f.Status, Code: f.Code, Message: f.Message}
	case FaultLatency:
		if err := s.wait(ctx, time.Duration(f.Latency)); err != nil {
			return false, errorf(http.StatusServiceUnavailable, "Unavailable", "The request was interrupted.")
		}
		return false, nil
	case FaultCutoff:
		return true, nil
	case FaultHang:
		timeout := time.Duration(f.Timeout)
		if timeout <= 0 {
			timeout = s.opts.MaxHang
		}
		if !f.expires.IsZero() {
			timeout = min(timeout, time.Until(f.expires))
		}
		t := time.NewTimer(timeout)
		defer t.Stop()
		s.mu.Lock()
		f.Held++
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			f.Held--
			s.mu.Unlock()
		}()
		select {
		case <-f.cleared:
		case <-t.C:
		case <-ctx.Done():
		case <-s.done:
		}
		return false, errorf(http.StatusServiceUnavailable, "Unavailable", "The service is unavailable. Please try again shortly.")
	}
	return false, nil
}
