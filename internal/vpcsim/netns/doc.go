// Package netns is vpcsim's second data plane: real Linux network
// namespaces programmed from the simulator's state, so that real packets
// prove what the route tables, private IP assignments and ENI attachments
// say. It needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) and the ip(8) tool.
//
// # Topology
//
// Each VPC is a router namespace with ip_forward on. Each ENI is a veth
// pair: the router end holds the subnet router's address (the first host,
// 10.0.1.1 in 10.0.1.0/24) as a /32 and answers ARP for every other address
// of the subnet by proxy ARP, so every packet, even between two instances
// of one subnet, is routed by the router, as the VPC does. The other end
// carries the ENI's MAC: while the ENI is attached (status "attached") it
// lives in the instance's namespace, named eth<device index>, holding the
// ENI's private IP with the subnet's prefix length; otherwise it is parked,
// down, in the router namespace. Attach and detach therefore move the very
// interface between instance namespaces, with its MAC. Each instance is a
// namespace whose eth0 (its primary ENI) has a default route via the subnet
// router.
//
// # Routing
//
// The router has one kernel routing table per route table. Every table
// holds the VPC's local route as /32s (every primary and secondary private
// IP, and every Elastic IP, via the ENI holding it), every route table
// route whose target is an ENI, via that ENI's primary address, and an
// unreachable default. A route whose target is detached, whose instance is
// not running, or whose ENI keeps its source/destination check on while not
// holding the destination becomes a blackhole, matching what vpcsim's
// Resolve answers. Elastic IPs are routed but not translated (no NAT is
// installed), so a packet to an Elastic IP arrives with the public address
// as destination.
//
// Policy rules pick the table by where a packet came from: "iif <router
// end of the ENI> lookup <table of its subnet>". For an ENI with its
// source/destination check on, one such rule per address it holds (with
// "from <address>"), then a blackhole rule for that interface: a packet
// sent from an address the ENI does not hold is dropped, as EC2 drops it.
// This is what makes the policy routing of an ENI-move failover necessary
// for real:
// a reply from a moved ENI's address that leaves by eth0 vanishes.
//
// # Partitions and cut-offs
//
// Partition installs "from A to B blackhole" policy rules (and the reverse)
// ahead of the others, for the primary addresses of both instances' ENIs:
// no netfilter (none is installed on CI), and packets vanish silently, so
// TCP sees timeouts as across a real partition.
//
// Each instance namespace has two proxies on its loopback interface: IMDS at
// 169.254.169.254:80, forwarding to the instance's own vpcsim IMDS listener,
// and the EC2 API at 169.254.169.250:80, forwarding to vpcsim. The fabric's
// process owns their sockets (opened on a thread switched into the
// namespace), so no helper process runs in the namespace. CutIMDS and CutAPI
// cut them: open connections drop and new ones hang unanswered. SlowIMDS
// holds every request to the metadata service for a while before passing
// it on.
//
// # Names and cleanup
//
// Every namespace is named vt<pid>x<n>-<role>: parallel runs never collide,
// and Sweep removes what a killed run left behind. Nothing is created in the
// caller's namespace: links are made inside the router namespace. Close (and
// Run, when its context ends) kills the processes Exec started and deletes
// every namespace.
package netns
