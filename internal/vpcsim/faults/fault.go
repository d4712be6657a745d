package faults

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Kind names what an injected fault does to a matching call.
type Kind string

const (
	// Error answers Code with HTTP Status (default 503 for
	// RequestLimitExceeded and Unavailable, 500 for InternalError and
	// 400 otherwise) without running the action.
	Error Kind = "error"
	// Latency delays the call by Latency, then runs it.
	Latency Kind = "latency"
	// Hang holds the call until the fault is cleared or expires, the
	// client gives up, Timeout passes, or the server closes; then answers
	// 503 Unavailable. The action never runs.
	Hang Kind = "hang"
	// Cutoff drops the connection without an answer, as a caller cut off
	// from the endpoint sees it.
	Cutoff Kind = "cutoff"
	// LateWrite holds a mutating call until the client gives up (its
	// deadline or cancel), the fault is cleared, Timeout passes or the
	// server closes, answers 503 Unavailable, and then applies the
	// mutation Delay later all the same. AWS may apply a request after its
	// client timed out: an API call is not a transaction the client can
	// take back, and EC2's documentation tells callers to check the result
	// of a timed-out mutation before retrying
	// (https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html).
	// The call is checked (authentication, action, throttling, IAM, DryRun)
	// before it is held, as AWS checks it before accepting it; a call that
	// fails a check answers its error at once and changes nothing. The
	// effect is recorded in the call history as a second call with Late set
	// and Applied the time it took effect; a world reload or reset drops
	// the writes still waiting.
	LateWrite Kind = "late-write"
)

// Fault is an injected failure for calls matching Action and Caller.
type Fault struct {
	// ID is assigned by the server.
	ID int64 `json:"id,omitempty"`
	// Action matches the action ("ReplaceRoute", "ChangeResourceRecordSets",
	// "PutItem"); "" matches any.
	Action string `json:"action,omitempty"`
	// Caller matches an instance ID or "admin"; "" matches any.
	Caller string `json:"caller,omitempty"`
	Kind   Kind   `json:"kind"`
	// Code, Status and Message shape an Error answer.
	Code    string `json:"code,omitempty"`
	Status  int    `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
	// Latency is a Latency fault's delay.
	Latency Duration `json:"latency,omitempty"`
	// Timeout bounds how long a Hang or LateWrite holds a call (default
	// Options.MaxHang).
	Timeout Duration `json:"timeout,omitempty"`
	// Delay is how long after the client gave up a LateWrite applies the
	// mutation; 0 applies it at once.
	Delay Duration `json:"delay,omitempty"`
	// Count limits the fault to the next Count matching calls; 0 means
	// every matching call.
	Count int `json:"count,omitempty"`
	// Duration limits the fault to this long after injection; 0 means until
	// cleared.
	Duration Duration `json:"duration,omitempty"`
	// Held is how many calls a Hang or LateWrite holds right now
	// (read-only).
	Held int `json:"held,omitempty"`
}

// isRead reports an action that only reads, in the naming of the services
// vpcsim models: EC2's Describe*, Route 53's Get* and List*, DynamoDB's
// GetItem, Query, Scan and Describe*, SSM's GetParameter*.
func isRead(action string) bool {
	if action == "Query" || action == "Scan" {
		return true
	}
	for _, p := range []string{"Describe", "Get", "List", "BatchGet"} {
		if len(action) > len(p) && action[:len(p)] == p {
			return true
		}
	}
	return false
}

func (f Fault) validate() error {
	switch f.Kind {
	case Error:
		if f.Code == "" {
			return fmt.Errorf("fault kind error needs a code")
		}
	case Latency:
		if f.Latency <= 0 {
			return fmt.Errorf("fault kind latency needs a positive latency")
		}
	case LateWrite:
		if isRead(f.Action) {
			return fmt.Errorf("fault kind late-write applies to mutating actions, and %s only reads", f.Action)
		}
	case Hang, Cutoff:
	default:
		return fmt.Errorf("fault kind %q is not one of error, latency, hang, cutoff, late-write", f.Kind)
	}
	if f.Count < 0 || f.Duration < 0 || f.Timeout < 0 || f.Delay < 0 {
		return fmt.Errorf("fault count, duration, timeout and delay must not be negative")
	}
	return nil
}

// withDefaults fills an Error fault's status and message as AWS words them.
func (f Fault) withDefaults() Fault {
	if f.Kind != Error {
		return f
	}
	if f.Status == 0 {
		switch f.Code {
		case "RequestLimitExceeded", "Unavailable", "ServiceUnavailable", "ThrottlingException", "Throttling":
			f.Status = http.StatusServiceUnavailable
		case "InternalError", "InternalFailure", "InternalServerError":
			f.Status = http.StatusInternalServerError
		case "UnauthorizedOperation", "AuthFailure", "AccessDenied", "AccessDeniedException":
			f.Status = http.StatusForbidden
		default:
			f.Status = http.StatusBadRequest
		}
	}
	if f.Message == "" {
		f.Message = "Injected by vpcsim."
		if f.Code == "RequestLimitExceeded" {
			f.Message = "Request limit exceeded."
		}
	}
	return f
}

// fault is an active Fault. Holding faults whose count ran out still hold
// their calls until cleared; they are kept in Injector.spent so Clear
// releases them.
type fault struct {
	Fault
	expires time.Time     // zero: never
	cleared chan struct{} // closed when the fault is removed
}

// holds reports whether the fault holds the calls it matches.
func (f *fault) holds() bool { return f.Kind == Hang || f.Kind == LateWrite }

// Duration is a time.Duration written as a string ("1.5s") in JSON.
type Duration time.Duration

// MarshalJSON writes the duration as time.Duration.String does.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "1.5s"-style strings.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"1.5s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("parse duration: %w", err)
	}
	*d = Duration(v)
	return nil
}
