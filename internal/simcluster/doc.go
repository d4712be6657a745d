// Package simcluster is what the simulated clusters of `vipd demo`, the
// fault-schedule suite (internal/chaos), the benchmarks (bench) and the
// end-to-end tests share: the cluster's VPC as a vpcsim.World (World,
// SameZoneWorld); the members of a cluster and their vipd configurations,
// built as config.Config values and written through the schema's own
// encoder (a schema change breaks the harnesses at compile time, not when
// end-to-end tests run); the environment a member's process gets, pointed at vpcsim;
// the processes themselves, in a fabric's namespace or on loopback; the
// tiny service each node fronts; a prober that connects to the service
// address as a client would; who the simulator says owns the address;
// and the dynamodb election's table.
//
// It ships in the vipd binary (through the demo), so it imports no test
// helpers; only internal/demo and the harnesses import it
// (internal/layering holds both rules).
package simcluster
