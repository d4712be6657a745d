// Package chaos is vipd's fault-schedule suite: it runs two vipd nodes and
// a witness as real processes inside network namespaces of the netns fabric
// (internal/vpcsim/netns), injects a seeded, reproducible schedule of
// faults, records what happened, and checks the history against the
// invariants that matter for failover: never two owners, always converge.
// Its shape follows etcd's robustness tests: cluster → traffic and faults →
// history → validation → report (a timeline that names the seed).
//
// # Cluster
//
// Start brings up the shared simulated cluster (internal/simcluster) on
// the netns fabric: vpcsim, the fabric, and vipd in each member's instance
// namespace with `local-address: {interface: auto}` (netlink, for real),
// raft between the members' private addresses, and AWS reached only through
// the namespace's proxies for the EC2 API and IMDS (credentials come from
// the simulated instance role, as on EC2). A service in each node's
// namespace answers with the node's name; the client dials the mode's
// address from its own namespace. Three modes: overlay-route (a VIP outside
// the VPC routed in every table), secondary-ip (reassigned within one
// subnet) and eni (a floating ENI attached to the holder, with the policy
// routing vipd installs; the fabric drops replies that leave by the wrong
// interface, as EC2's source/destination check does).
//
// # Faults
//
// Every fault is one of the simulated cluster's catalogue
// (simcluster.Faults), which injects and heals it; the suite adds when,
// where and for how long. Generate draws a Schedule from a seed: kill -9 of any member (restarted
// when the step ends), partitions between any pair (the fabric's blackhole
// rules), the node's EC2 API path cut (the fabric's proxy) or the node cut
// off by vpcsim itself (FaultCutoff), the node's IMDS cut or slowed, and
// vpcsim's EC2 latency, InternalError, RequestLimitExceeded, hangs and late
// writes (a mutation applied after its client gave up, within
// LateWriteMax), for one caller or all, one action or any. On the processes: SIGSTOP longer
// than the lease then SIGCONT (stop-cont), SIGTERM and start again
// (restart, often aimed right after a kill or stop-cont of the holder,
// when raft has just truncated its log), notify hooks that hang (the
// nodes run a hook that waits while a flag file exists), with or without
// a planned stop meanwhile, a second `vipd run` with the same config,
// hundreds of idle connections to a member's cluster port from the other
// namespaces, and busy loops that take most of the CPU vipd is pinned to.
// A node may also be cut off (cut-off: from every member and the EC2 API,
// its vipd running on, unable to let go). With Options.Fence (the eni mode
// of the suite's test) the nodes run STONITH: a holder that keeps the
// interface past detach-timeout — cut off, killed, paused — is stopped
// with StopInstances Force before the interface is force-detached; the
// harness records the stopped time as a "fenced" fault on that member and
// starts the instance, and its vipd, again once the interface has left it.
// Targets may be symbolic (the holder, the other node, the target of an
// earlier step), resolved when the step starts. Each schedule carries its
// share of a rotation through every kind, so Rotation() consecutive seeds
// inject them all. In eni mode attachments linger in attaching/detaching
// for up to 3 s. Clock jumps are not injected: the members share one
// kernel clock.
//
// # History and invariants
//
// A run records every member's `vipd status` every 100 ms, a client request
// through the service address every 100 ms, each fault's start and end, each
// process's end, the lease lines of every node's JSON log ("lease granted",
// "lease lost", "election started") and vpcsim's call log (every EC2 call
// with its caller and fencing token). Check then asserts:
//
//   - two-holders: the holds rebuilt from the logs (granted → lost, death,
//     restart or the end of the run; a pause longer than the lease ends a
//     hold where it began) of different nodes never overlap by more than
//     DriftBound; token-order: each grant's token exceeds every earlier
//     one; unlogged-hold: every status answer claiming a hold lies inside a
//     logged hold, so the logs cannot hide one and a node resumed after a
//     long pause cannot claim its old one;
//   - stale-write: no fenced EC2 write that took effect carries a token
//     lower than one that took effect before it (in the order vpcsim
//     applied them, late writes included);
//   - no-convergence / slow-convergence: within ConvergeBound of the faults
//     ending, one node holds the lease, vpcsim gives it the address, only it
//     has the address bound, and the client reaches it — continuously for
//     2 s;
//   - no-rejoin: every member started or resumed answers as backup,
//     primary or witness within RejoinBound (counted from the end of the
//     last fault on it), with no operator action;
//   - owner-gap: the client reaches some node again within OwnerBound
//     whenever a healthy node exists (running, unpaused, no fault on it
//     but idle connections, hung hooks or a second daemon, which vipd must
//     shrug off, and a quorum partner);
//   - stop-hang: a SIGTERMed vipd exits within simcluster.StopBound; duplicate-ran: a
//     second daemon with the same config refuses to run rather than run
//     alongside the first (its lease lines count as a holder of its own);
//   - fence-self / fence-order (with Options.Fence): no node stops its own
//     instance, every stop is forced, and every forced detach of the
//     interface from another instance comes after a forced stop of it took
//     effect, with the instance not seen running again in between (vpcsim's
//     state is read every 50 ms);
//   - crash: no vipd process ended unless the harness killed it (or its
//     instance was stopped by a fence); and the
//     fabric's namespaces are all gone after the run.
package chaos
