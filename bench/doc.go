// Package bench measures vipd against the approach it replaces — keepalived
// with unicast VRRP and a notify_master script calling the AWS CLI, as the
// published overlay-IP and keepalived recipes do — side by side on one simulated VPC, and measures
// vipd alone at scale, idle, in a planned switchover, and in the storm of
// an Availability Zone outage, where every cluster of the account fails
// over at once against EC2's per-account request limits (storm.go). A
// second baseline is Pacemaker's: the ClusterLabs aws-vpc-move-ip resource
// agent's start action, run unchanged, with corosync's failure detection
// modelled from the settings AWS's SAP guides recommend (pacemaker.go).
//
// Everything runs on vpcsim's netns data plane (internal/vpcsim/netns):
// each node is a network namespace, the client connects to the service
// address from its own namespace, and a failover counts only once that
// client is answered by the new owner. It needs root, ip(8), keepalived,
// resource-agents (the Pacemaker agent) and the AWS CLI v1; cmd/vipdbench is the runner behind `make bench`, and
// bench/RESULTS.md holds the numbers of a real run. Each system's configs,
// logs and data live in a temporary directory, removed when it is done
// unless its daemon crashed or BENCH_KEEP is set in the environment.
//
// Numbers are ratios against the baseline measured in the same run, never
// thresholds in tests: the machine is shared and slow, and a ratio survives
// that where an absolute number does not.
package bench
