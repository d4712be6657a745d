// Package simcluster is the one simulated cluster that `vipd demo`, the
// fault-schedule suite (internal/chaos) and the benchmarks (bench) drive,
// and what the end-to-end tests share with them.
//
// Cluster runs a host per simulated instance on a Fabric: Loopback (vpcsim
// and its proxy fabric in this process, no root), netnscluster's (a
// network namespace per instance, real packets; root), or one a harness
// brings (the storm's: fifty clusters in one shared account, each
// instance on a loopback address of its own). A host has its
// member's directory and configuration (built as config.Config or
// config.Controller values and
// written through the schema's own encoder, so a schema change breaks the
// harnesses at compile time, not when end-to-end tests run), its service
// (a tiny server that answers with its name), and its daemon (vipd, or
// what a harness puts there instead), which the cluster starts, kills,
// stops, pauses and asks for its status. The cluster says who holds the
// lease and who owns the address in vpcsim, and reaches the address as a
// client would (Prober).
//
// Faults come from one named catalogue (Faults, Cluster.Inject): each
// fault is an entry and the function that injects it and returns how to
// heal it; a fault the fabric cannot make is unavailable there
// (errors.ErrUnsupported). The fault-schedule suite's kinds, the demo's
// scenarios and the benchmarks' faults are its names.
//
// The package also holds the cluster's worlds (World, SameZoneWorld),
// the environment a member's process gets, pointed at vpcsim, and the
// dynamodb election's table.
//
// It ships in the vipd binary (through the demo), so it imports no test
// helpers; only internal/demo and the harnesses import it
// (internal/layering holds both rules).
package simcluster
