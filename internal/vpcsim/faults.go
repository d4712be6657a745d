package vpcsim

import "github.com/vipd/vipd/internal/vpcsim/faults"

// The fault and call-history types live in package faults, the middleware
// that wraps every service; these names keep vpcsim's API.
type (
	// Fault is an injected failure; see faults.Fault.
	Fault = faults.Fault
	// FaultKind names what a fault does; see faults.Kind.
	FaultKind = faults.Kind
	// Call is one recorded API call; see faults.Call.
	Call = faults.Call
	// Duration is a time.Duration written as "1.5s" in JSON.
	Duration = faults.Duration
)

// The fault kinds; see the faults package for what each does.
const (
	FaultError     = faults.Error
	FaultLatency   = faults.Latency
	FaultHang      = faults.Hang
	FaultCutoff    = faults.Cutoff
	FaultLateWrite = faults.LateWrite
)

// InjectFault adds a fault for calls to any service (EC2, Route 53,
// DynamoDB, SSM) and returns its ID. Faults are matched in injection
// order; the first match applies.
func (s *Server) InjectFault(f Fault) (int64, error) { return s.inj.Inject(f) }

// ClearFaults removes every fault (id 0) or the one with that id, releasing
// calls they hold.
func (s *Server) ClearFaults(id int64) { s.inj.Clear(id) }

// Faults lists the active faults.
func (s *Server) Faults() []Fault { return s.inj.Faults() }

// Calls returns the recorded calls of every service with Seq greater than
// since, oldest first.
func (s *Server) Calls(since uint64) []Call { return s.inj.Calls(since) }
