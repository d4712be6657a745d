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
	// FaultLateWrite holds a mutating call (any action but Describe*) until
	// the client gives up (its deadline or cancel), the fault is cleared,
	// Timeout passes or the server closes, answers 503 Unavailable, and
	// then applies the mutation Delay later all the same. AWS may apply a
	// request after its client timed out: an API call is not a
	// transaction the client can take back, and EC2's documentation tells
	// callers to check the result of a timed-out mutation before retrying
	// (https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html).
	// The call is checked (authentication, action, throttling, IAM, DryRun)
	// before it is held, as AWS checks it before accepting it; a call that
	// fails a check answers its error at once and changes nothing. The
	// effect is recorded in the call history as a second call with Late set
	// and Applied the time it took effect; a world reload or reset drops
	// the writes still waiting.
	FaultLateWrite FaultKind = "late-write"
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
	// Timeout bounds how long a FaultHang or FaultLateWrite holds a call
	// (default Options.MaxHang).
	Timeout Duration `json:"timeout,omitempty"`
	// Delay is how long after the client gave up a FaultLateWrite applies
	// the mutation; 0 applies it at once.
	Delay Duration `json:"delay,omitempty"`
	// Count limits the fault to the next Count matching calls; 0 means
	// every matching call.
	Count int `json:"count,omitempty"`
	// Duration limits the fault to this long after injection; 0 means until
	// cleared.
	Duration Duration `json:"duration,omitempty"`
	// Held is how many calls a FaultHang or FaultLateWrite holds right now
	// (read-only).
	Held int `json:"held,omitempty"`
}

// spent holding faults (hang, late-write) whose count ran out still hold
// their calls until cleared; they are kept in Server.spent so ClearFaults
// releases them.
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
	case FaultLateWrite:
		if isDescribe(f.Action) {
			return fmt.Errorf("fault kind late-write applies to mutating actions, and %s only reads", f.Action)
		}
	case FaultHang, FaultCutoff:
	default:
		return fmt.Errorf("fault kind %q is not one of error, latency, hang, cutoff, late-write", f.Kind)
	}
	if f.Count < 0 || f.Duration < 0 || f.Timeout < 0 || f.Delay < 0 {
		return fmt.Errorf("fault count, duration, timeout and delay must not be negative")
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

// holds reports whether the fault holds the calls it matches.
func (f *fault) holds() bool { return f.Kind == FaultHang || f.Kind == FaultLateWrite }

// takeFault finds the first fault matching the call and uses up one of
// its count. A late-write fault matches only mutating calls: a read that
// takes effect late changes nothing.
func (s *Server) takeFault(action, caller string, mutating bool) *fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.faults) == 0 {
		return nil
	}
	s.expireFaultsLocked(time.Now())
	for i, f := range s.faults {
		if (f.Action != "" && f.Action != action) || (f.Caller != "" && f.Caller != caller) ||
			(f.Kind == FaultLateWrite && !mutating) {
			continue
		}
		if f.Count > 0 {
			f.Count--
			if f.Count == 0 {
				s.faults = slices.Delete(s.faults, i, i+1)
				if f.holds() {
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
		s.hold(ctx, f)
		return false, unavailable()
	}
	return false, nil
}

func unavailable() *apiError {
	return errorf(http.StatusServiceUnavailable, "Unavailable", "The service is unavailable. Please try again shortly.")
}

// hold blocks until the fault is cleared or expires, ctx ends (the client
// gave up), the fault's timeout passes, or the server closes.
func (s *Server) hold(ctx context.Context, f *fault) {
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
}

// lateWrite is a mutation accepted under a late-write fault, to be applied
// after its caller's request ended.
type lateWrite struct {
	f    *fault
	req  *request
	spec actionSpec
}

// applyLate applies w.Delay after now, unless the server closes or the
// world is replaced first, and records the effect as a Late call. call is
// the record of the request the client saw end. It runs on its own
// goroutine, which Close waits for; none starts once the server is
// closing.
func (s *Server) applyLate(w *lateWrite, call Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	worldGone := s.worldGone
	s.wg.Go(func() {
		t := time.NewTimer(time.Duration(w.f.Delay))
		defer t.Stop()
		select {
		case <-t.C:
		case <-s.done:
			return
		case <-worldGone:
			s.log.Debug("late write dropped by a world reload", "op", call.Action, "caller", call.Caller, "token", call.Token)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := s.apply(ctx, w.req, w.spec)
		call.Seq, call.Late, call.Applied = 0, true, w.req.applied
		call.Status, call.Code = http.StatusOK, ""
		if err != nil {
			ae := s.asAPIError(w.req, err)
			call.Status, call.Code = ae.Status, ae.Code
		}
		call.Latency = Duration(time.Since(call.Time))
		if !call.Applied.IsZero() {
			call.Latency = Duration(call.Applied.Sub(call.Time))
		}
		s.log.Debug("ec2 late write", "op", call.Action, "caller", call.Caller, "aws_code", call.Code, "token", call.Token)
		s.hist.add(call)
	})
}
