// Package vpcsim simulates the part of one AWS account that vipd moves
// addresses in: EC2's Query API (VPCs, subnets, route tables, internet
// gateways, instances, network interfaces, secondary addresses, Elastic IPs,
// volumes, tags), one IMDSv2 endpoint per instance, and a JSON control
// endpoint (/_sim/) for tests. It speaks the real wire protocols, so the AWS SDK for
// Go v2 and the AWS CLI work against it unchanged with an endpoint override.
//
// Route 53 (package route53, under /2013-04-01/), DynamoDB and SSM Parameter
// Store (packages dynamodb and ssm, on POST / told apart by X-Amz-Target)
// share the listener, as in moto's server mode, so one endpoint URL serves
// every SDK client; a private hosted zone's VPC is checked against this
// server's VPCs. A request for any other service (by X-Amz-Target or by the
// SigV4 scope's service) answers an error naming it. Those services keep
// their own state. Every service is wrapped in the same faults middleware
// (package faults): injected faults, late writes and the call history
// apply to all four, matched by the action's AWS name
// ("ChangeResourceRecordSets", "PutItem") and the caller, which is named by
// its access key. IAM (signatures and role policies, Callers and IAM
// below) applies to all four too, through one path for Route 53, DynamoDB
// and SSM (access.go) beside EC2's own; /_sim/ reset applies to EC2 only.
//
// For suites written for moto_server: Options.AnyAccessKey lets unknown
// keys act as the admin, and POST /moto-api/reset (moto's endpoint) makes
// a fresh account with a default VPC (World.DefaultVPC: 172.31.0.0/16, a
// default /20 subnet per zone, a main table routing 0.0.0.0/0 to an
// internet gateway) and empty Route 53, DynamoDB and SSM services.
//
// vpcsim exists so that vipd's failover is tested end to end, with the real
// SDK, without an AWS account: tests start one with vpcsimtest.NewServer,
// `vipd demo` embeds one, cmd/vpcsim runs one standalone. Only tests, the
// demo, the fabric and cmd/vpcsim import it; vipd's production code never
// does.
//
// # Parts
//
// Server composes the parts, each a package of its own: ec2 (the
// account's EC2 state, its lock, the transitions and the Query API
// handlers, one file per noun), imds (the metadata listeners and session
// tokens), iam (signatures, instance credentials, allow lists), faults
// (the middleware that wraps every service with injected faults, latency,
// throttling and the call history), and route53, dynamodb and ssm. The
// types of world files, snapshots and faults are aliases of theirs.
//
// # State and concurrency
//
// One struct (ec2's state) owns the account and is guarded by the
// Account's lock. Every
// action locks it once, reads or mutates, and unlocks before any I/O
// (responses are encoded after the lock is released). After a successful
// mutation Server.Changes receives a hint. Asynchronous transitions
// (attaching, stopping, ...) are stored with their due time: every reader
// applies those that are due when it locks, and one goroutine applies them
// on time so that Changes fires without a caller. The faults middleware
// has its own lock and runs before a service takes its lock: faults that
// delay or hold a call wait outside every service's lock, and a late-write
// fault's mutation is replayed on a goroutine of its own that Close waits
// for.
//
// SDK clients pointed at vpcsim on loopback should wrap their HTTP client
// with vpcsimtest.BodyRaceFix (vpcsimtest's configs do): vpcsim answers
// fast enough to expose a race between smithy-go and net/http that drops
// about one connection in a hundred (the SDK retries it).
//
// # Wire protocol
//
// Requests are form-encoded (POST body or GET query) with Action= and
// Version=; lists are flattened (RouteTableId.1, Filter.1.Name,
// Filter.1.Value.1) as the SDK's ec2query serializer and botocore send them.
// Responses are <ActionResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
// with <requestId> first; lists are <fooSet><item>..</item></fooSet> and are
// written even when empty, as EC2 does. Errors are
// <Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>
// with HTTP 400 for client errors, 401 AuthFailure (EC2 answers 401 for an
// unknown key, not 403), 403 UnauthorizedOperation, 412 DryRunOperation,
// 500 InternalError and 503 RequestLimitExceeded/Unavailable. Pagination is
// not modelled: MaxResults and NextToken are ignored and every match is
// returned in one page.
//
// # Callers and IAM
//
// The caller is identified by the access key ID in the SigV4 Authorization
// header (or X-Amz-Credential when presigned). The configured admin key may
// do anything. Each instance with a role gets credentials from its IMDS whose
// access key identifies the instance; a call signed with them must carry the
// matching session token (else AuthFailure) and is checked against the
// role's Allow statements: action patterns with * and ?, matched without
// case as IAM does, and resource ARN patterns. As in AWS, Describe actions
// support no resource-level permissions: their resource is "*", so only a
// statement whose resources match "*" allows them. CreateRoute, ReplaceRoute
// and DeleteRoute are evaluated on the route table's ARN, ModifyInstanceAttribute
// on the instance's, other calls on their main resource. There are no Deny
// statements or conditions. SigV4 signatures are verified against the
// key's secret (a wrong secret or an altered body is AuthFailure, as EC2
// answers) unless Options.SkipSignatureCheck; request age and presigned
// URLs are not checked.
// UnauthorizedOperation messages carry an "Encoded authorization failure
// message" that is base64url JSON rather than AWS's encrypted blob.
//
// # Shared VPCs, other accounts and STS
//
// A VPC may belong to another account (World.VPCs[].OwnerID): the world's
// account is then a participant, as in AWS VPC sharing, whose instances
// run in the owner's subnets but whose principals neither see (in
// DescribeRouteTables) nor change the owner's route tables: a route table's
// ARN is in its owner's account, and an identity policy allows nothing on
// another account's EC2 resource. Roles may belong to another account
// (Role.Account) and carry a trust policy (Role.Trust: principals, external
// ID); package sts serves AssumeRole and GetCallerIdentity on POST / for
// requests signed for the sts service. AssumeRole needs both the caller's
// own sts:AssumeRole on the role's ARN and the role's trust (AccessDenied
// otherwise), and issues temporary credentials that act as the role in
// its account until they expire (Role.SessionLifetime shortens them);
// then EC2 answers RequestExpired, STS and Route 53 ExpiredToken,
// DynamoDB and SSM ExpiredTokenException. The call log names a session's
// calls by the instance that assumed the role (Caller, so that faults
// aimed at the instance cover them) and by the session's ARN
// (Principal). Other objects of the owner's VPC (the VPC, subnets,
// gateways) are treated as the participant's.
//
// Route 53, DynamoDB and SSM check the same keys and roles for
// route53:<Action>, dynamodb:<Action> and ssm:<Action>: a table's calls
// on arn:aws:dynamodb:<region>:<account>:table/<name>, a parameter's on
// arn:aws:ssm:<region>:<account>:parameter/<name>, a hosted zone's on
// arn:aws:route53:::hostedzone/<id> and GetChange on
// arn:aws:route53:::change/<id>; a call that names no single resource
// (ListTables, BatchWriteItem, GetParameters) on "*". They answer an
// unknown key or a bad signature with UnrecognizedClientException (400;
// Route 53: InvalidClientTokenId, 403), not telling the two apart as AWS
// does, and a denial with AccessDeniedException (400; Route 53:
// AccessDenied, 403).
// DryRun=true answers DryRunOperation (412) after authorization, or
// UnauthorizedOperation, and never runs the action.
//
// # Semantics chosen after AWS
//
//   - Every route table has its VPC's local route (origin CreateRouteTable,
//     gateway "local"), which cannot be replaced or deleted
//     (InvalidParameterValue). A table declared main: true is the VPC's main
//     table; a VPC without one gets an empty main table.
//   - CreateRoute takes exactly one target (MissingParameter without,
//     InvalidParameterCombination with several). InstanceId resolves to the
//     instance's network interface; an instance with several interfaces is
//     refused with InvalidInstanceID "There are multiple interfaces attached
//     to instance ..." as AWS words it. Routes report NetworkInterfaceId and,
//     while the interface is attached, InstanceId and InstanceOwnerId,
//     whichever target created them. A route's state is blackhole while its
//     interface is detached or its instance is not running.
//   - Destinations must be canonical IPv4 CIDR blocks (10.0.0.5/24 is
//     InvalidParameterValue "... This is not a valid CIDR block.", the
//     wording EC2 and moto use for malformed blocks; that EC2 also refuses
//     host bits is believed, not confirmed — moto masks them);
//     an existing destination, the local one included, is RouteAlreadyExists.
//     A destination more specific than the local route (inside the VPC
//     CIDR) must match the entire CIDR block of one of the VPC's subnets
//     and target an interface or instance, in CreateRoute and ReplaceRoute
//     alike (Amazon VPC User Guide, "Subnet route tables", rules and
//     considerations; AWS's "more specific routing", August 2021): a /32
//     inside the VPC is InvalidParameterValue, in vpcsim's words. A gateway
//     target for such a destination is refused.
//   - ReplaceRoute of a missing destination answers InvalidParameterValue
//     "There is no route defined for '...' in the route table. Use
//     CreateRoute instead."; DeleteRoute of one answers InvalidRoute.NotFound.
//   - Unknown IDs answer Invalid<Kind>ID.NotFound ("The routeTable ID
//     'rtb-..' does not exist"), IDs without the right prefix
//     Invalid<Kind>ID.Malformed, unknown filter names InvalidParameterValue.
//   - Filters: several filters AND, several values OR, values may use * and
//     ?; a filter on a list member (association.main, route.*,
//     addresses.private-ip-address) matches if any member matches, so
//     association.main=false selects every table with an explicit subnet
//     association, as in AWS.
//   - ModifyInstanceAttribute SourceDestCheck sets the primary interface's
//     flag; an instance with several interfaces is refused with
//     InvalidInstanceID, as AWS does for interface-level attributes.
//   - The first four addresses and the last of every subnet are reserved.
//   - StopInstances moves running → stopping → stopped (Force shortens the
//     wait to a quarter: no OS shutdown), StartInstances stopped → pending →
//     running; starting a stopping instance is IncorrectInstanceState. While
//     not running an instance receives no traffic and its IMDS is silent; on
//     the netns fabric its namespace also sends nothing and reaches no API,
//     as a stopped instance runs nothing (STONITH's fence relies on it).
//   - Network interfaces: AttachNetworkInterface starts an attachment in
//     state attaching, DetachNetworkInterface one in detaching (Force halves
//     the wait); the interface's own status is in-use for as long as an
//     attachment exists, so an ENI-move script's loop waiting for in-use to
//     end works.
//     An attached interface answers InvalidNetworkInterface.InUse
//     ("Interface: [eni-..] in use."), a different zone
//     InvalidParameterCombination, a taken device index InvalidParameterValue
//     ("Instance '..' already has an interface attached at device index
//     '1'."), device index 0 cannot be detached (OperationNotPermitted).
//   - AssignPrivateIpAddresses without AllowReassignment refuses an address
//     held by another interface with InvalidIPAddress.InUse (the code
//     CreateNetworkInterface uses; AWS's wording for this call is not
//     documented); with it the address moves, and an Elastic IP associated
//     with it moves along. Another interface's primary address never moves.
//   - Elastic IPs come from 203.0.113.0/24 and 198.51.100.0/24 (RFC 5737).
//     AssociateAddress with an instance that has several interfaces is
//     InvalidInstanceID; with an associated address and no
//     AllowReassociation Resource.AlreadyAssociated; a private address that
//     already has an Elastic IP loses it. Releasing an associated address is
//     InvalidIPAddress.InUse. Resolve delivers an Elastic IP's traffic to the
//     instance its interface is attached to.
//   - Volumes: CreateVolume answers creating, then available; AttachVolume
//     in another zone is InvalidVolume.ZoneMismatch, of an attached volume
//     VolumeInUse, at a taken device InvalidParameterValue; attach and detach
//     pass through attaching and detaching.
//   - Instance types (issue 23): DescribeInstanceTypes and
//     DescribeInstanceTypeOfferings (region, availability-zone,
//     availability-zone-id) over a small catalogue of common types, each
//     offered in every zone. DescribeInstanceCreditSpecifications answers
//     a burstable instance's launch default (standard for T2, unlimited
//     for T3/T3a/T4g) and InstanceCreditSpecification.NotSupported for
//     other types; the option cannot be changed.
//   - Volume modifications (issue 23): ModifyVolume passes through
//     modifying, optimizing (the new size shows) and completed; another
//     waits for completed, at most four a day (IncorrectModificationState);
//     DescribeVolumesModifications lists each volume's latest.
//   - Images (issue 23): CreateImage snapshots the instance's volumes and
//     is pending until they complete; DescribeImages lists such images
//     beside the built-in ones; DeregisterImage keeps the snapshots.
//   - Snapshots (issue 23): CreateSnapshot and CreateSnapshots answer
//     pending, then completed after Timing.Snapshot; a snapshot keeps its
//     volume's size and encryption, which CreateVolume SnapshotId and a
//     launch's block device mapping inherit (a smaller size is
//     InvalidParameterValue). CopySnapshot copies across regions with the
//     arbitrary volume ID vol-ffffffff; createVolumePermission takes the
//     group all and account IDs.
//   - Route tables: a subnet has at most one explicit association
//     (Resource.AlreadyAssociated); the main association cannot be
//     disassociated, only moved with ReplaceRouteTableAssociation; a table
//     that is main or associated cannot be deleted (DependencyViolation).
//   - Building over the API (issue 13): CreateVpc (/16 to /28, else
//     InvalidVpc.Range) creates the VPC's main route table with its local
//     route; CreateSubnet refuses blocks outside the VPC
//     (InvalidSubnet.Range) or overlapping another (InvalidSubnet.Conflict)
//     and defaults to the region's first zone; DeleteVpc and DeleteSubnet
//     refuse while something depends on them (DependencyViolation).
//     ModifyVpcAttribute takes exactly one of enableDnsSupport (default on)
//     and enableDnsHostnames (default off). RunInstances accepts any ami-
//     image, needs a subnet (there is no default VPC: VPCIdNotSpecified),
//     gives each instance a primary interface, the role named by
//     IamInstanceProfile and an IMDS endpoint before answering, and passes
//     pending → running. KeyName must name a key pair
//     (InvalidKeyPair.NotFound); Placement.HostId is recorded and reported,
//     never checked: Dedicated Hosts are not modelled. A LaunchTemplate
//     fills in what the call does not give. The primary interface takes the addresses of
//     NetworkInterface.1.PrivateIpAddresses and, with
//     AssociatePublicIpAddress (else when its subnet maps public
//     addresses), an Amazon-owned public IPv4 address that an Elastic IP
//     replaces and a stop or termination releases; DeleteOnTermination=false
//     keeps it after termination. TerminateInstances passes shutting-down →
//     terminated, deletes primary interfaces, detaches the rest and keeps
//     the instance visible. DescribeImages answers a built-in list of three
//     images; DescribeInstanceStatus reports passing checks for running
//     instances.
//   - Internet gateways: Create/Attach/Detach/Delete/DescribeInternetGateways;
//     a VPC has at most one (Resource.AlreadyAssociated); a route to an
//     unknown igw- is InvalidGatewayID.NotFound, to one not attached to the
//     table's VPC InvalidParameterValue; an attached gateway cannot be
//     deleted (DependencyViolation). Other gateway IDs (vgw-...) are kept as
//     opaque targets. DescribeNetworkInterfaceAttribute answers
//     sourceDestCheck, description, attachment and groupSet.
//   - Regions: every region of the aws, aws-us-gov and aws-cn partitions
//     the SDKs have an EC2 endpoint for. A call acts in the region of its
//     SigV4 credential scope (unsigned calls in the world's region); each
//     region is separate, made on its first call with a default VPC when
//     the world has one. Only the world's region has IMDS, the fabric and
//     snapshots. DescribeRegions lists the caller's partition, regions
//     launched after March 2019 as not-opted-in (only with AllRegions or by
//     name); calls to them are served all the same. DescribeAvailabilityZones
//     lists the zones one real account sees (us-east-1 a to f, us-west-1 a
//     and b, ap-northeast-1 a, c and d ...) with its zone IDs (us-east-1b is
//     use1-az1); another account may see other letters for the same IDs.
//   - Security groups: Create/Delete/DescribeSecurityGroups,
//     DescribeSecurityGroupRules, Authorize/RevokeSecurityGroupIngress and
//     Egress. Every VPC has a "default" group (all traffic from itself in,
//     all out) that cannot be deleted (CannotDelete) and that interfaces
//     get when none is named; a new group allows all traffic out. Names are
//     unique per VPC (InvalidGroup.Duplicate); a repeated rule is
//     InvalidPermission.Duplicate, more than 60 rules a direction
//     RulesPerSecurityGroupLimitExceeded, more than 5 groups on an
//     interface SecurityGroupsPerInterfaceLimitExceeded; revoking an
//     unknown rule is InvalidPermission.NotFound outside the default VPC
//     and listed in unknownIpPermissionSet inside it; a group in use or
//     referenced is DependencyViolation. RunInstances (SecurityGroupId.N,
//     SecurityGroup.N), CreateNetworkInterface, ModifyNetworkInterfaceAttribute
//     and ModifyInstanceAttribute (GroupId.N) set groups; instances show
//     their primary interface's.
//   - Pagination: DescribeSecurityGroups and DescribeSecurityGroupRules
//     take MaxResults (5 to 1000) and NextToken, so the SDK's paginators
//     walk them; without MaxResults everything is one page.
//
// # Timing and throttling
//
// Options.Timing delays answers (Describe and mutating calls separately)
// and the asynchronous transitions above; each is a capped log-normal
// distribution, and TimingProfile("realistic") gives the demo's values. The
// zero Timing answers at once and completes transitions before the next call
// is served. Timing.StaleRoutes (off in every profile) models EC2's eventual
// consistency for route tables: after a route change DescribeRouteTables
// may show the table as it was for a while, while the data plane (Resolve)
// and the control endpoint see the change at once. Options.Throttle enables EC2's token bucket per action: 100
// burst / 20 per s for Describe calls, 50 / 10 for Describe calls without
// filters, IDs or pagination, 50 / 5 for mutating calls, 100 / 5 for private
// IP assignment; an empty bucket answers RequestLimitExceeded (503), which
// the SDK's retryer treats as throttling.
//
// # IMDS
//
// Each instance's metadata service listens on its own 127.0.0.1 port.
// IMDSv2 is enforced (401 without a valid token) unless the world sets
// imds-v1; token TTLs must be 1..21600 s and a token PUT with
// X-Forwarded-For is refused (403). It serves instance-id, placement,
// mac, local-ipv4, network/interfaces/macs/<mac>/..., iam/info,
// iam/security-credentials/<role> and dynamic/instance-identity/document
// from the current state. While an instance is stopped or its IMDS is set
// down, connections are dropped without an answer.
//
// It also announces an instance's end as EC2 does, once a control call
// (Server.AnnounceEvent, POST /_sim/instances/{id}/events) says so:
// spot/instance-action (and spot/termination-time for a termination),
// events/recommendations/rebalance, events/maintenance/scheduled (always
// served, [] when nothing is scheduled) and
// autoscaling/target-lifecycle-state; each is 404 until announced. A Spot
// interruption is carried out at its time: the instance stops (stop,
// hibernate) or terminates after Timing.InstanceStop, and the notice goes.
// Scheduled events and Auto Scaling states change nothing by themselves:
// no reboot at NotBefore, no lifecycle hook or termination.
//
// # Snapshots
//
// Server.World (GET /_sim/world) writes the current state as a world file
// with the same IDs, MACs and addresses; loading it gives the same state
// except association IDs, which are generated again.
//
// # Checked against
//
// The AWS CLI runs the seeds' commands unchanged (cli_test.go), and a
// differential test (moto_test.go) runs one call sequence against moto in
// server mode and vpcsim, listing each intended difference with its reason.
//
// # Omitted
//
// Prefix lists, gateways other than as opaque route targets (no gateway
// route tables), Elastic IP recovery and address pools, NACLs,
// eventual consistency, NAT gateways, peering; security group rules are
// kept but do not filter the fabric's traffic, and world files and
// snapshots do not carry groups (each VPC gets its default group on load).
package vpcsim
