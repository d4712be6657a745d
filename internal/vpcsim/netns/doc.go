// Package netns is vpcsim's second data plane: real Linux network
// namespaces programmed from the simulator's state, so that real packets
// prove what the route tables, private IP assignments and ENI attachments
// say. It needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) and the ip(8) tool.
//
// # Topology
//
// Each VPC is a router namespace with ip_forward on. Each subnet is a Linux
// bridge in the router namespace holding the subnet's router address (the
// first host, 10.0.1.1 in 10.0.1.0/24), as AWS's VPC router does. Each ENI
// is a veth pair whose router end is a port of its subnet's bridge and whose
// other end carries the ENI's MAC: while the ENI is attached (status
// "attached") that end lives in the instance's namespace, named eth<device
// index>, holding the ENI's private IP with the subnet's prefix length;
// otherwise it is parked, down, in the router namespace. Attach and detach
// therefore move the very interface between instance namespaces, with its
// MAC, as seed 000 part a's policy routing expects. Each instance is a
// namespace whose eth0 (its primary ENI) has a default route via the
// subnet router.
//
// # Routing
//
// The router has one kernel routing table per route table and one policy
// rule per subnet, "iif <subnet bridge> lookup <table>": a packet is routed
// by the table of the subnet it came from, as in AWS. The rule matches the
// incoming bridge rather than the source address so that replies sourced
// from an overlay address (a VIP outside the VPC) are routed by the
// sender's subnet too. Every table holds the VPC's local routes (each
// subnet on its bridge), a /32 for every secondary private IP and Elastic
// IP via its owner ENI's primary address (AWS's local route delivers to
// whoever holds the address), every route table route whose target is an
// ENI via that ENI's primary address, and an unreachable default. A route
// whose target is detached, whose instance is not running, or whose ENI
// keeps its source/destination check on while not holding the destination
// becomes a blackhole route, matching what vpcsim's Resolve answers.
// Elastic IPs are routed but not translated (no NAT is installed), so a
// packet to an Elastic IP arrives with the public address as destination.
//
// # Partitions and cut-offs
//
// Partition installs two "from A to B blackhole" policy rules (and the
// reverse) ahead of the subnet rules in the router, for the primary
// addresses of both instances' ENIs: no netfilter, and packets vanish
// silently, so TCP sees timeouts as across a real partition. Only routed
// traffic can be cut this way; two instances in the same subnet talk over
// the bridge, and Partition refuses them.
//
// Each instance namespace has two proxies on its loopback interface: IMDS at
// 169.254.169.254:80, forwarding to the instance's own vpcsim IMDS listener,
// and the EC2 API at 169.254.169.250:80, forwarding to vpcsim. The fabric's
// process owns their sockets (opened on a thread switched into the
// namespace), so no helper process runs in the namespace. CutIMDS and CutAPI
// cut them: open connections drop and new ones hang unanswered.
//
// # Names and cleanup
//
// Every namespace is named vt<pid>x<n>-<role>: parallel runs never collide,
// and Sweep removes what a killed run left behind. Nothing is created in the
// caller's namespace: links are made inside the router namespace. Close (and
// Run, when its context ends) kills the processes Exec started and deletes
// every namespace.
package netns
