// Package faults is vpcsim's per-call middleware: it wraps every simulated
// AWS service (EC2, Route 53, DynamoDB, SSM) with the same injected faults
// (errors, latency, hangs, cut connections, late writes), the service's
// answer latency and throttling, and one call history that records each
// call's caller, outcome and fencing token.
//
// A Service tells the middleware what it must know of one protocol: how
// to identify the caller, name the action, answer an error, and check a
// call before accepting it. The middleware knows nothing of any service's
// state.
//
// Only package vpcsim imports faults; tests and tools use its types through
// vpcsim's aliases (vpcsim.Fault, vpcsim.Call).
package faults
