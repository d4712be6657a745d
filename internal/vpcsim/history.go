package vpcsim

import (
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"
)

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

// Call is one EC2 API call as the server saw it.
type Call struct {
	// Seq numbers calls from 1 in arrival order of their completion.
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
	// Caller is "admin", the calling instance's ID, or "unknown".
	Caller string `json:"caller"`
	Action string `json:"action"`
	// Params are the form parameters except Action and Version.
	Params map[string]string `json:"params,omitempty"`
	// Status is the HTTP status; 0 when the connection was cut.
	Status int `json:"status"`
	// Code is the EC2 error code, "" on success, "ConnectionCut" for a
	// cut-off caller.
	Code    string   `json:"code,omitempty"`
	Latency Duration `json:"latency"`
	// Token is the fencing token from the caller's User-Agent
	// (vipd-token/N); 0 when absent.
	Token uint64 `json:"token"`
	// Applied is when the call's mutation took effect; zero for reads and
	// for calls that changed nothing. Calls are recorded when they end, so
	// two concurrent writes may be recorded in the other order than they
	// took effect; Applied orders them.
	Applied time.Time `json:"applied,omitzero"`
	// Late marks the record of a mutation that a late-write fault applied
	// after its caller's request had ended (recorded before as a call of
	// its own, answered 503 Unavailable); Status and Code are the action's
	// outcome, Latency runs from the request's arrival to Applied.
	Late bool `json:"late,omitempty"`
}

// history is a bounded log of calls with its own lock, so recording never
// waits for the state lock.
type history struct {
	mu    sync.Mutex
	limit int
	seq   uint64
	calls []Call
}

func (h *history) add(c Call) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	c.Seq = h.seq
	if len(h.calls) >= h.limit {
		// Drop the oldest tenth at once, so that a full history costs one
		// copy per limit/10 calls, not one per call.
		drop := min(len(h.calls), len(h.calls)-h.limit+1+h.limit/10)
		h.calls = append(h.calls[:0], h.calls[drop:]...)
	}
	h.calls = append(h.calls, c)
}

// since returns copies of the calls with Seq > seq.
func (h *history) since(seq uint64) []Call {
	h.mu.Lock()
	defer h.mu.Unlock()
	// Calls are in Seq order.
	i := sort.Search(len(h.calls), func(i int) bool { return h.calls[i].Seq > seq })
	out := make([]Call, len(h.calls)-i)
	copy(out, h.calls[i:])
	return out
}

// Calls returns the recorded calls with Seq greater than since, oldest
// first.
func (s *Server) Calls(since uint64) []Call { return s.hist.since(since) }
