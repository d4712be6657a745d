package faults

import (
	"regexp"
	"sort"
	"strconv"
	"sync"
	"time"
)

// Call is one API call as the server saw it.
type Call struct {
	// Seq numbers calls from 1 in arrival order of their completion.
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
	// Service is the service called: "ec2", "route53", "dynamodb" or "ssm".
	Service string `json:"service"`
	// Caller is "admin", the calling instance's ID, or "unknown". A call
	// signed with a role session's credentials (sts:AssumeRole) is named
	// by the instance that assumed the role; Principal names the session.
	Caller string `json:"caller"`
	// Principal is the signer's ARN when it is not the admin:
	// arn:aws:sts::<account>:assumed-role/<role>/<session> (an instance's
	// own role's session is named by its instance ID), as CloudTrail's
	// userIdentity.arn shows it.
	Principal string `json:"principal,omitempty"`
	Action    string `json:"action"`
	// Params are EC2's form parameters except Action and Version.
	Params map[string]string `json:"params,omitempty"`
	// Status is the HTTP status; 0 when the connection was cut.
	Status int `json:"status"`
	// Code is the service's error code, "" on success, "ConnectionCut" for
	// a cut-off caller.
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

var fenceRE = regexp.MustCompile(`vipd-token/(\d+)`)

// Token reads the fencing token vipd appends to its User-Agent
// (internal/awsapi); 0 when absent.
func Token(userAgent string) uint64 {
	m := fenceRE.FindStringSubmatch(userAgent)
	if m == nil {
		return 0
	}
	n, _ := strconv.ParseUint(m[1], 10, 64)
	return n
}

// history is a bounded log of calls with its own lock, so recording never
// waits for a service's lock.
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
