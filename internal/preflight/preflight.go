// Package preflight is `vipd check`: it proves, before the service is
// enabled, that this host can do everything a failover will ask of it —
// instance metadata, credentials, the configured route tables, ENIs,
// volumes and Elastic IPs (in the right VPC and zone), the source/dest
// check, IAM permission for every mutating EC2 call that has a DryRun (so
// nothing changes), cluster TLS, the cluster's peers, the local interface.
//
// Each check yields one Result with what was found and, when it failed, the
// fix. A Fail blocks a failover; a Warn is worth knowing but does not.
//
// Imported by cmd/vipd only.
package preflight

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/config"
	electionraft "github.com/vipd/vipd/internal/election/raft"
)

// EC2 is the part of the EC2 API the checks call; *ec2.Client fits. The
// mutating calls are only ever sent with DryRun set.
type EC2 interface {
	DescribeRouteTables(ctx context.Context, in *ec2.DescribeRouteTablesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeRouteTablesOutput, error)
	DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
	CreateRoute(ctx context.Context, in *ec2.CreateRouteInput, optFns ...func(*ec2.Options)) (*ec2.CreateRouteOutput, error)
	ReplaceRoute(ctx context.Context, in *ec2.ReplaceRouteInput, optFns ...func(*ec2.Options)) (*ec2.ReplaceRouteOutput, error)
	DeleteRoute(ctx context.Context, in *ec2.DeleteRouteInput, optFns ...func(*ec2.Options)) (*ec2.DeleteRouteOutput, error)
	ModifyInstanceAttribute(ctx context.Context, in *ec2.ModifyInstanceAttributeInput, optFns ...func(*ec2.Options)) (*ec2.ModifyInstanceAttributeOutput, error)
	KindsEC2
}

// Metadata is the IMDS call the identity check needs; *imds.Client fits.
type Metadata interface {
	GetMetadata(ctx context.Context, in *imds.GetMetadataInput, optFns ...func(*imds.Options)) (*imds.GetMetadataOutput, error)
}

// Route53 is the Route 53 call the checks make; *route53.Client fits.
type Route53 interface {
	ListResourceRecordSets(ctx context.Context, in *route53.ListResourceRecordSetsInput, optFns ...func(*route53.Options)) (*route53.ListResourceRecordSetsOutput, error)
}

// AWS is what the AWS checks run against once the region is known.
type AWS struct {
	EC2 EC2
	// Route53 is needed only for route53 resources; nil skips their check.
	Route53 Route53
	// DynamoDB is needed only for the dynamodb election.
	DynamoDB    DynamoDB
	Credentials aws.CredentialsProvider
}

// Deps are the outside world the checks look at.
type Deps struct {
	// IMDS reads the instance identity.
	IMDS Metadata
	// Connect builds the AWS clients for region (the instance's, or the
	// configured one). It is called once, after the identity check.
	Connect func(ctx context.Context, region string) (AWS, error)
	// Dial connects to a peer; nil means TCP.
	Dial func(ctx context.Context, address string) (net.Conn, error)
	// Interfaces lists the host's interfaces with their addresses; nil
	// means the host's (net.Interfaces).
	Interfaces func() ([]Interface, error)
	// Timeout bounds each check (default 3s); a peer dial gets a third of it.
	Timeout time.Duration
}

// Interface is a host network interface and its addresses.
type Interface struct {
	Name  string
	Addrs []netip.Addr
}

// Status is a check's outcome.
type Status int

const (
	// Pass: as needed.
	Pass Status = iota
	// Warn: worth fixing, but a failover would still work.
	Warn
	// Fail: a failover would not work (or could not be proven to).
	Fail
	// Skip: not applicable to this configuration.
	Skip
)

func (s Status) String() string {
	switch s {
	case Pass:
		return "pass"
	case Warn:
		return "warn"
	case Fail:
		return "fail"
	case Skip:
		return "skip"
	}
	return fmt.Sprintf("status(%d)", int(s))
}

// Result is one check's outcome.
type Result struct {
	// Check names what was checked: "imds", "credentials",
	// "route-table rtb-...", "permission ec2:ReplaceRoute rtb-...".
	Check  string
	Status Status
	// Detail says what was found.
	Detail string
	// Fix says what to do; set when Status is Warn or Fail.
	Fix string
}

// Blocking reports whether any result blocks a failover.
func Blocking(rs []Result) bool {
	return slices.ContainsFunc(rs, func(r Result) bool { return r.Status == Fail })
}

// Run runs every check that applies to cfg, in order, and returns their
// results. A check whose prerequisite failed (no identity, no AWS clients)
// is reported as failed with that reason rather than left out, so the output
// always lists everything a failover needs.
func Run(ctx context.Context, cfg *config.Config, d Deps) []Result {
	if d.Timeout <= 0 {
		d.Timeout = 3 * time.Second
	}
	if d.Dial == nil {
		d.Dial = func(ctx context.Context, address string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, "tcp", address)
		}
	}
	if d.Interfaces == nil {
		d.Interfaces = hostInterfaces
	}
	r := &runner{cfg: cfg, d: d}
	r.add(Result{Check: "config", Status: Pass, Detail: configDetail(cfg)})
	if !cfg.Node.Witness {
		r.aws(ctx)
	}
	if cfg.Election.Backend == config.BackendDynamoDB {
		r.add(Result{Check: "peers", Status: Skip, Detail: "not contacted: with the dynamodb backend the nodes talk only to DynamoDB"})
	} else {
		r.clusterTLS()
		r.peers(ctx)
	}
	if !cfg.Node.Witness {
		r.localInterface()
	}
	return r.out
}

type runner struct {
	cfg *config.Config
	d   Deps
	out []Result
	id  awsapi.Identity
	ec2 EC2
	r53 Route53
	// tlsDial dials peers with cluster TLS when it is configured.
	tlsDial func(ctx context.Context, address string) (net.Conn, error)
	// tables memoizes the route table checks by name.
	tables map[string][]string
}

func (r *runner) add(res Result) { r.out = append(r.out, res) }

func (r *runner) fail(check, detail, fix string) {
	r.add(Result{Check: check, Status: Fail, Detail: detail, Fix: fix})
}

func configDetail(cfg *config.Config) string {
	role := "node"
	if cfg.Node.Witness {
		role = "witness"
	}
	src := cfg.Source
	if src == "" {
		src = "configuration"
	}
	return fmt.Sprintf("%s valid: %s %s of cluster %s, %d peer(s), %d resource(s)",
		src, role, cfg.Node.Name, cfg.Cluster, len(cfg.Peers), len(cfg.Resources))
}

// aws runs the checks that need instance metadata and the EC2 API.
func (r *runner) aws(ctx context.Context) {
	tctx, cancel := context.WithTimeout(ctx, r.d.Timeout)
	id, err := awsapi.ReadIdentity(tctx, r.d.IMDS)
	cancel()
	if err != nil {
		r.fail("imds", err.Error(),
			"run on the EC2 instance with IMDSv2 enabled (aws ec2 modify-instance-metadata-options --http-endpoint enabled --http-tokens required --http-put-response-hop-limit 1), or set aws.imds-endpoint")
		r.fail("credentials", "not checked: no instance identity", "fix the imds check first")
		return
	}
	r.id = id
	r.add(Result{Check: "imds", Status: Pass,
		Detail: fmt.Sprintf("IMDSv2: instance %s in %s (%s), %s, eni %s, address %s", id.InstanceID, id.AZ, id.Region, id.VPCID, id.ENIID, id.PrivateIP)})

	region := r.cfg.AWS.Region
	if region == "" || region == "auto" {
		region = id.Region
	} else if region != id.Region {
		r.add(Result{Check: "region", Status: Fail,
			Detail: fmt.Sprintf("aws.region is %s but the instance is in %s", region, id.Region),
			Fix:    "set aws.region: auto (or " + id.Region + ")"})
	}
	tctx, cancel = context.WithTimeout(ctx, r.d.Timeout)
	defer cancel()
	c, err := r.d.Connect(tctx, region)
	if err != nil {
		r.fail("credentials", err.Error(), "check aws.endpoint and the environment's AWS_* settings")
		return
	}
	creds, err := c.Credentials.Retrieve(tctx)
	if err != nil {
		r.fail("credentials", fmt.Sprintf("no AWS credentials found: %v", err),
			"attach an instance profile (IAM role) to "+id.InstanceID+" with the policy printed by `vipd iam-policy`")
		return
	}
	r.add(Result{Check: "credentials", Status: Pass, Detail: "found, from " + credentialSource(creds.Source)})
	r.ec2, r.r53 = c.EC2, c.Route53

	r.overlayRoutes(ctx)
	r.kinds(ctx)
	r.leaseTable(ctx, c.DynamoDB)
}

// credentialSource names the SDK provider that found the credentials.
func credentialSource(src string) string {
	switch {
	case src == "":
		return "an unnamed provider"
	case strings.HasPrefix(src, "EC2RoleProvider"):
		return "the instance profile (EC2RoleProvider)"
	case strings.HasPrefix(src, "EnvConfigCredentials"):
		return "the environment (AWS_ACCESS_KEY_ID; EnvConfigCredentials)"
	case strings.HasPrefix(src, "SharedConfigCredentials"):
		return "the shared credentials file (" + src + ")"
	}
	return src
}

// call bounds one AWS call by the check timeout.
func (r *runner) call(ctx context.Context, f func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, r.d.Timeout)
	defer cancel()
	return f(ctx)
}

// overlayRoutes checks the route tables of the overlay-route resources,
// the source/dest check, and the permission for every write vipd makes for
// them, each table and action once however many resources share it.
func (r *runner) overlayRoutes(ctx context.Context) {
	type write struct {
		table  string
		prefix string
		delete bool
	}
	var writes []write
	seen := map[string]int{} // table -> index in writes
	some, srcDst := false, false
	for i, res := range r.cfg.Resources {
		o := res.OverlayRoute
		if o == nil || len(o.Prefixes()) == 0 {
			continue
		}
		some = true
		srcDst = srcDst || o.DisableSourceDestCheck
		for _, t := range r.routeTables(ctx, i, o) {
			if j, ok := seen[t]; ok {
				writes[j].delete = writes[j].delete || o.DeleteOnRelease
				continue
			}
			seen[t] = len(writes)
			// One prefix proves the permission: IAM decides on the
			// table, not the destination.
			writes = append(writes, write{table: t, prefix: o.Prefixes()[0].String(), delete: o.DeleteOnRelease})
		}
	}
	if !some {
		return
	}
	r.sourceDestCheck(ctx, srcDst)
	for _, w := range writes {
		t, dst := aws.String(w.table), aws.String(w.prefix)
		r.dryRun(ctx, "ec2:ReplaceRoute", w.table, func(ctx context.Context) error {
			_, err := r.ec2.ReplaceRoute(ctx, &ec2.ReplaceRouteInput{DryRun: aws.Bool(true),
				RouteTableId: t, DestinationCidrBlock: dst, NetworkInterfaceId: aws.String(r.id.ENIID)})
			return err
		})
		r.dryRun(ctx, "ec2:CreateRoute", w.table, func(ctx context.Context) error {
			_, err := r.ec2.CreateRoute(ctx, &ec2.CreateRouteInput{DryRun: aws.Bool(true),
				RouteTableId: t, DestinationCidrBlock: dst, NetworkInterfaceId: aws.String(r.id.ENIID)})
			return err
		})
		if w.delete {
			r.dryRun(ctx, "ec2:DeleteRoute", w.table, func(ctx context.Context) error {
				_, err := r.ec2.DeleteRoute(ctx, &ec2.DeleteRouteInput{DryRun: aws.Bool(true),
					RouteTableId: t, DestinationCidrBlock: dst})
				return err
			})
		}
	}
	if srcDst {
		r.dryRun(ctx, "ec2:ModifyInstanceAttribute", r.id.InstanceID, func(ctx context.Context) error {
			_, err := r.ec2.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{DryRun: aws.Bool(true),
				InstanceId: aws.String(r.id.InstanceID), SourceDestCheck: &types.AttributeBooleanValue{Value: aws.Bool(false)}})
			return err
		})
	}
}

// routeTables checks that every named table exists in the instance's VPC
// (or that the VPC has tables, for `all`) and returns the ids usable for
// the permission checks. A table (or `all`) named by several resources is
// checked once.
func (r *runner) routeTables(ctx context.Context, i int, o *config.OverlayRoute) []string {
	where := fmt.Sprintf("resources[%d].overlay-route.route-tables", i)
	if o.RouteTables.All {
		return r.memo("route-tables all of "+r.id.VPCID, func(check string) []string {
			var tables []types.RouteTable
			err := r.call(ctx, func(ctx context.Context) error {
				out, err := r.ec2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{
					Filters: []types.Filter{{Name: aws.String("vpc-id"), Values: []string{r.id.VPCID}}}})
				if err == nil {
					tables = out.RouteTables
				}
				return err
			})
			switch {
			case err != nil:
				r.describeFailed(check, "ec2:DescribeRouteTables", err)
				return nil
			case len(tables) == 0:
				r.fail(check, "no route table found in "+r.id.VPCID, "create the route tables, or name them in "+where)
				return nil
			}
			ids := make([]string, len(tables))
			for j, t := range tables {
				ids[j] = aws.ToString(t.RouteTableId)
			}
			r.add(Result{Check: check, Status: Pass, Detail: fmt.Sprintf("%d table(s): %s", len(ids), strings.Join(ids, ", "))})
			return ids
		})
	}
	var ok []string
	for _, id := range o.RouteTables.IDs {
		ok = append(ok, r.memo("route-table "+id, func(check string) []string {
			var tables []types.RouteTable
			err := r.call(ctx, func(ctx context.Context) error {
				out, err := r.ec2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{RouteTableIds: []string{id}})
				if err == nil {
					tables = out.RouteTables
				}
				return err
			})
			switch {
			case awsapi.IsCode(err, awsapi.CodeRouteTableNotFound) || (err == nil && len(tables) == 0):
				r.fail(check, "does not exist in "+r.id.Region,
					"correct the id in "+where+" (aws ec2 describe-route-tables --filters Name=vpc-id,Values="+r.id.VPCID+" lists this VPC's)")
			case err != nil:
				r.describeFailed(check, "ec2:DescribeRouteTables", err)
			case aws.ToString(tables[0].VpcId) != r.id.VPCID:
				r.fail(check, fmt.Sprintf("is in %s, but this instance is in %s", aws.ToString(tables[0].VpcId), r.id.VPCID),
					"name only tables of "+r.id.VPCID+" in "+where+": a route to this instance's ENI cannot be created in another VPC")
			default:
				r.add(Result{Check: check, Status: Pass, Detail: "exists in " + r.id.VPCID})
				return []string{id}
			}
			return nil
		})...)
	}
	return ok
}

// memo runs the check once and returns its first answer ever after.
func (r *runner) memo(check string, f func(check string) []string) []string {
	if ids, ok := r.tables[check]; ok {
		return ids
	}
	if r.tables == nil {
		r.tables = map[string][]string{}
	}
	ids := f(check)
	r.tables[check] = ids
	return ids
}

// describeFailed reports a failed Describe call: a missing permission
// names the action, anything else is the error.
func (r *runner) describeFailed(check, action string, err error) {
	if awsapi.IsCode(err, awsapi.CodeUnauthorizedOperation) {
		r.fail(check, "not allowed: "+action+" is missing from the instance's role",
			"add "+action+" on resource \"*\" to the role (see `vipd iam-policy`)")
		return
	}
	r.fail(check, err.Error(), "check the EC2 endpoint and network path to it")
}

// sourceDestCheck reports the instance's source/dest check: on, traffic to
// an overlay address (not the instance's own) is dropped by EC2.
func (r *runner) sourceDestCheck(ctx context.Context, disable bool) {
	const check = "source/dest check"
	var inst *types.Instance
	err := r.call(ctx, func(ctx context.Context) error {
		out, err := r.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{r.id.InstanceID}})
		if err != nil {
			return err
		}
		for _, res := range out.Reservations {
			for _, in := range res.Instances {
				if aws.ToString(in.InstanceId) == r.id.InstanceID {
					inst = &in
				}
			}
		}
		return nil
	})
	switch {
	case err != nil:
		r.describeFailed(check, "ec2:DescribeInstances", err)
	case inst == nil:
		r.fail(check, "instance "+r.id.InstanceID+" not found by DescribeInstances", "check that the credentials belong to this instance's account")
	case inst.SourceDestCheck == nil || !*inst.SourceDestCheck:
		r.add(Result{Check: check, Status: Pass, Detail: "off on " + r.id.InstanceID})
	case disable:
		r.add(Result{Check: check, Status: Pass, Detail: "on for " + r.id.InstanceID + "; vipd turns it off when it takes the address (disable-source-dest-check)"})
	default:
		r.fail(check, "on for "+r.id.InstanceID+": EC2 drops traffic to the overlay address",
			"set disable-source-dest-check: true on the overlay-route, or run aws ec2 modify-instance-attribute --instance-id "+r.id.InstanceID+" --no-source-dest-check")
	}
}

// dryRun proves permission for action on resource: DryRunOperation is
// allowed, UnauthorizedOperation is missing.
func (r *runner) dryRun(ctx context.Context, action, resource string, f func(ctx context.Context) error) {
	check := "permission " + action + " " + resource
	err := r.call(ctx, f)
	switch {
	case awsapi.IsCode(err, awsapi.CodeDryRunOperation):
		r.add(Result{Check: check, Status: Pass, Detail: "allowed (DryRun)"})
	case awsapi.IsCode(err, awsapi.CodeUnauthorizedOperation):
		r.fail(check, "missing: the instance's role does not allow "+action+" on "+resource,
			"add "+action+" on "+resourceARN(r.id, resource)+" to the role (see `vipd iam-policy`)")
	case err == nil:
		r.fail(check, "the endpoint ignored DryRun and ran the call", "point aws.endpoint at EC2")
	default:
		r.fail(check, "could not be proven: "+err.Error(), "fix the error above and run vipd check again")
	}
}

func resourceARN(id awsapi.Identity, resource string) string {
	kind := "route-table"
	for prefix, k := range map[string]string{"i-": "instance", "eni-": "network-interface", "eipalloc-": "elastic-ip", "vol-": "volume"} {
		if strings.HasPrefix(resource, prefix) {
			kind = k
		}
	}
	return fmt.Sprintf("arn:aws:ec2:%s:*:%s/%s", id.Region, kind, resource)
}

// clusterTLS loads the cluster TLS files as vipd run will, and makes the
// peer checks dial with mutual TLS, so that they prove the peers trust this
// member's certificate (and it theirs), not only that the port is open.
func (r *runner) clusterTLS() {
	const check = "cluster tls"
	t := r.cfg.ClusterTLS
	if !t.Enabled() {
		r.add(Result{Check: check, Status: Warn, Detail: "off: cluster traffic is plain, unauthenticated TCP",
			Fix: "configure cluster-tls (docs/security.md), or keep the cluster port reachable from the members only"})
		return
	}
	peers := make([]electionraft.Peer, len(r.cfg.Peers))
	for i, p := range r.cfg.Peers {
		peers[i] = electionraft.Peer{Name: p.Name, Address: p.Address, Witness: p.Witness}
	}
	n, err := electionraft.NewTLSNetwork(electionraft.TLSFiles{CA: t.CA, Cert: t.Cert, Key: t.Key}, r.cfg.Node.Name, peers, slog.New(slog.DiscardHandler))
	if err != nil {
		r.fail(check, err.Error(), "issue this member a certificate from the cluster CA for the DNS name "+r.cfg.Node.Name+" (server and client auth), and name it in cluster-tls")
		return
	}
	r.add(Result{Check: check, Status: Pass, Detail: fmt.Sprintf("%s valid for %s until %s, signed by %s",
		t.Cert, r.cfg.Node.Name, n.NotAfter().UTC().Format(time.RFC3339), t.CA)})
	if r.tlsDial == nil {
		r.tlsDial = n.DialContext
	}
}

// peers dials every peer's cluster port.
func (r *runner) peers(ctx context.Context) {
	for _, p := range r.cfg.Peers {
		what := "peer"
		if p.Witness {
			what = "witness"
		}
		check := what + " " + p.Name
		dctx, cancel := context.WithTimeout(ctx, max(r.d.Timeout/3, 200*time.Millisecond))
		start := time.Now()
		dial := r.d.Dial
		if r.tlsDial != nil {
			dial = r.tlsDial
		}
		c, err := dial(dctx, p.Address)
		cancel()
		if err == nil && r.tlsDial != nil {
			err = accepted(c, p, r.d.Timeout/3)
		}
		switch {
		case err == nil:
			c.Close()
			r.add(Result{Check: check, Status: Pass, Detail: fmt.Sprintf("%s reachable (%s)", p.Address, time.Since(start).Round(time.Millisecond))})
		case errors.Is(err, syscall.ECONNREFUSED):
			// The host answered: the network path is open and vipd is
			// not running there yet, which is normal while setting up.
			r.add(Result{Check: check, Status: Warn, Detail: p.Address + " refused the connection: vipd is not running there",
				Fix: "start vipd on " + p.Name + " (systemctl start vipd)"})
		case errors.As(err, new(*electionraft.HandshakeError)):
			r.fail(check, err.Error(), "give every member a certificate from the same cluster CA, each for its node name")
		default:
			r.fail(check, fmt.Sprintf("%s unreachable: %v", p.Address, err),
				"allow TCP "+portOf(p.Address)+" between the cluster's members (security groups, NACLs, host firewall)")
		}
	}
}

// accepted waits briefly for the peer's verdict on this member's
// certificate: in TLS 1.3 the client's handshake completes before the
// server has checked the client certificate, and a refusal arrives as an
// alert on the first read. A peer that accepted waits for the first byte,
// so the read times out.
func accepted(c net.Conn, p config.Peer, wait time.Duration) error {
	_ = c.SetReadDeadline(time.Now().Add(max(wait, 100*time.Millisecond)))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	if err == nil || (errors.As(err, &ne) && ne.Timeout()) {
		return nil
	}
	return &electionraft.HandshakeError{Peer: p.Name, Address: p.Address, Err: fmt.Errorf("the peer refused this member's certificate: %w", err)}
}

func portOf(address string) string {
	if _, port, err := net.SplitHostPort(address); err == nil {
		return port
	}
	return address
}

// localInterface checks that the interface the address is bound on exists.
func (r *runner) localInterface() {
	const check = "local interface"
	la := r.cfg.LocalAddress
	if la.Interface == config.InterfaceNone || !la.CIDR.IsValid() {
		r.add(Result{Check: check, Status: Skip, Detail: "no local address to bind (interface: none)"})
		return
	}
	ifs, err := r.d.Interfaces()
	if err != nil {
		r.fail(check, fmt.Sprintf("list interfaces: %v", err), "run vipd check on the instance itself")
		return
	}
	if la.Interface != config.InterfaceAuto {
		if slices.ContainsFunc(ifs, func(i Interface) bool { return i.Name == la.Interface }) {
			r.add(Result{Check: check, Status: Pass, Detail: la.Interface + " present; " + la.CIDR.String() + " will be bound on it"})
			return
		}
		r.fail(check, "no interface named "+la.Interface, "set local-address.interface to one of: "+ifNames(ifs)+", or auto")
		return
	}
	if !r.id.PrivateIP.IsValid() {
		r.fail(check, "interface auto needs the instance's address, and the imds check failed", "fix the imds check first")
		return
	}
	for _, i := range ifs {
		if slices.Contains(i.Addrs, r.id.PrivateIP) {
			r.add(Result{Check: check, Status: Pass, Detail: fmt.Sprintf("auto: %s holds %s; %s will be bound on it", i.Name, r.id.PrivateIP, la.CIDR)})
			return
		}
	}
	r.fail(check, "auto: no interface holds the instance's address "+r.id.PrivateIP.String(),
		"set local-address.interface to one of: "+ifNames(ifs))
}

func ifNames(ifs []Interface) string {
	names := make([]string, len(ifs))
	for i, f := range ifs {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

func hostInterfaces() ([]Interface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	out := make([]Interface, 0, len(ifs))
	for _, f := range ifs {
		addrs, err := f.Addrs()
		if err != nil {
			return nil, fmt.Errorf("list addresses of %s: %w", f.Name, err)
		}
		i := Interface{Name: f.Name}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(n.IP); ok {
					i.Addrs = append(i.Addrs, ip.Unmap())
				}
			}
		}
		out = append(out, i)
	}
	return out, nil
}

// Write prints one line per result, ✓ for pass, ! for warn, ✗ for fail and
// - for skip, with the fix indented under a warn or fail.
func Write(w io.Writer, rs []Result) error {
	var b strings.Builder
	for _, r := range rs {
		mark := map[Status]string{Pass: "✓", Warn: "!", Fail: "✗", Skip: "-"}[r.Status]
		fmt.Fprintf(&b, "%s %s: %s\n", mark, r.Check, r.Detail)
		if r.Fix != "" && (r.Status == Warn || r.Status == Fail) {
			fmt.Fprintf(&b, "    fix: %s\n", r.Fix)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
