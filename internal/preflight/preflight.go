// Package preflight is `vipd check`: it proves, before the service is
// enabled, that this host can do everything a failover will ask of it —
// instance metadata, credentials, cluster TLS, the cluster's peers, the
// local interface, and what each configured resource kind checks for its
// own resources (the route tables, ENIs, volumes and Elastic IPs in the
// right VPC and zone, the source/dest check, IAM permission for every
// mutating EC2 call that has a DryRun, so nothing changes; see
// resource.Kind.Preflight), and the election's store: the DynamoDB lease
// table, or the etcd the etcd backend or Patroni uses.
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
	"github.com/aws/aws-sdk-go-v2/service/route53"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/config"
	electionraft "github.com/vipd/vipd/internal/election/raft"
	"github.com/vipd/vipd/internal/preflight/probe"
	"github.com/vipd/vipd/internal/resource/kinds"
)

// Metadata is the IMDS call the identity check needs; *imds.Client fits.
type Metadata interface {
	GetMetadata(ctx context.Context, in *imds.GetMetadataInput, optFns ...func(*imds.Options)) (*imds.GetMetadataOutput, error)
}

// AWS is what the AWS checks run against once the region is known.
type AWS struct {
	EC2 *ec2.Client
	// Route53 is needed only for route53 resources; nil skips their check.
	Route53 *route53.Client
	// DynamoDB is needed only for the dynamodb election.
	DynamoDB    DynamoDB
	Credentials aws.CredentialsProvider
	// STS, when set, names the instance's principal when a role cannot be
	// assumed (GetCallerIdentity).
	STS STS
	// Role returns the clients whose calls carry role's credentials, from
	// the credentials cache the daemon uses (FromClients); nil when the
	// caller offers none, and the resources with a role are reported
	// unchecked.
	Role func(role awsapi.Role) AWS
}

// Deps are the outside world the checks look at.
type Deps struct {
	// IMDS reads the instance identity.
	IMDS Metadata
	// Connect builds the AWS clients for region (the instance's, or the
	// configured one). It is called once, after the identity check.
	Connect func(ctx context.Context, region string) (AWS, error)
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
type Status = probe.Status

// The outcomes of a check.
const (
	// Pass: as needed.
	Pass = probe.Pass
	// Warn: worth fixing, but a failover would still work.
	Warn = probe.Warn
	// Fail: a failover would not work (or could not be proven to).
	Fail = probe.Fail
	// Skip: not applicable to this configuration.
	Skip = probe.Skip
)

// Result is one check's outcome.
type Result = probe.Result

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
	if d.Interfaces == nil {
		d.Interfaces = hostInterfaces
	}
	r := &runner{cfg: cfg, d: d}
	r.add(Result{Check: "config", Status: Pass, Detail: configDetail(cfg)})
	if !cfg.Node.Witness {
		r.aws(ctx)
	}
	if b := cfg.Election.Backend; b == config.BackendDynamoDB || b == config.BackendEtcd || b == config.BackendFollow {
		r.add(Result{Check: "peers", Status: Skip, Detail: "not contacted: with the " + b + " backend the nodes talk only to " + map[string]string{
			config.BackendDynamoDB: "DynamoDB", config.BackendEtcd: "etcd",
			config.BackendFollow: "what they follow (Patroni's etcd, or their primary-check)"}[b]})
	} else {
		r.clusterTLS()
		r.peers(ctx)
	}
	r.etcd(ctx) // etcd.go: the etcd backend's or Patroni's etcd
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
	// source is the credentials provider's name, once found.
	source string
	// network reaches the peers' cluster ports: nil (TCP), or with
	// cluster TLS configured the mutual TLS network.
	network electionraft.Network
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
	r.source = creds.Source
	if !r.credentialsAccepted(ctx, c.EC2, creds.Source) {
		return
	}
	// Each resource kind checks its own resources (resource.Kind.Preflight),
	// with the credentials the daemon's calls for them carry: the
	// instance's, or an assumed role's.
	for _, cs := range r.resourceCredentials() {
		a := c
		if cs.role.ARN != "" {
			if c.Role == nil {
				r.notChecked(cs, "this build of vipd check cannot assume "+cs.role.ARN)
				continue
			}
			a = c.Role(cs.role)
			if !r.assume(ctx, c, a, cs.role, cs.what()) {
				r.notChecked(cs, "role "+cs.role.ARN+" could not be assumed")
				continue
			}
		}
		p := &probe.Probe{Identity: id, EC2: a.EC2, Route53: a.Route53, Timeout: r.d.Timeout, Role: cs.role.ARN}
		kinds.Registry().Preflight(ctx, p, r.cfg.Resources, cs.has)
		r.out = append(r.out, p.Results()...)
	}
	if r.cfg.Fence.StopInstance {
		// STONITH stops another node's instance with the instance's
		// credentials; a DryRun on this one proves the permission where
		// the policy scopes it to the nodes' instances, without stopping
		// anything.
		p := &probe.Probe{Identity: id, EC2: c.EC2, Timeout: r.d.Timeout}
		p.DryRun(ctx, "ec2:StopInstances", "instance", id.InstanceID, func(ctx context.Context) error {
			_, err := c.EC2.StopInstances(ctx, &ec2.StopInstancesInput{DryRun: aws.Bool(true), InstanceIds: []string{id.InstanceID}, Force: aws.Bool(true)})
			return err
		})
		r.out = append(r.out, p.Results()...)
	}
	r.leaseTable(ctx, c)
}

// credentialsAccepted proves that AWS accepts the credentials, not only
// that a provider handed some out: a DryRun DescribeInstances of this
// instance is answered DryRunOperation or UnauthorizedOperation once EC2
// has verified the signature, whatever the role allows, and AuthFailure
// when it has not. It reports the credentials check and whether the checks
// that call AWS can run.
func (r *runner) credentialsAccepted(ctx context.Context, ec2c *ec2.Client, source string) bool {
	const check = "credentials"
	from := credentialSource(source)
	err := r.call(ctx, func(ctx context.Context) error {
		_, err := ec2c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{DryRun: aws.Bool(true), InstanceIds: []string{r.id.InstanceID}})
		return err
	})
	switch {
	case awsapi.IsCode(err, awsapi.CodeDryRunOperation), awsapi.IsCode(err, awsapi.CodeUnauthorizedOperation):
		r.add(Result{Check: check, Status: Pass, Detail: "found, from " + from + ", and accepted by EC2"})
		return true
	case awsapi.IsAuthFailure(err):
		r.fail(check, fmt.Sprintf("rejected by AWS (%s): the credentials from %s do not authenticate", awsapi.Code(err), from),
			credentialsFix(awsapi.Code(err), source, r.id.InstanceID))
		r.add(Result{Check: "resources", Status: Fail, Detail: "not checked: AWS rejects the credentials", Fix: "fix the credentials check first"})
		return false
	case err == nil:
		r.fail(check, "found, from "+from+", but the endpoint ignored DryRun and ran DescribeInstances", "point aws.endpoint at EC2")
		return false
	case awsapi.Code(err) != "":
		// EC2 answered, but neither accepted nor refused the
		// credentials: throttled, a server error, an instance it does not
		// know (credentials of another account).
		r.fail(check, "found, from "+from+", but EC2 answered the verifying DryRun call with "+awsapi.Code(err)+": "+err.Error(),
			"run vipd check again; if it persists, check aws.region and that the credentials belong to "+r.id.InstanceID+"'s account")
		r.add(Result{Check: "resources", Status: Fail, Detail: "not checked: the credentials could not be verified", Fix: "fix the credentials check first"})
		return false
	default:
		r.fail(check, "found, from "+from+", but could not be verified: "+err.Error(),
			"check aws.endpoint and the network path to EC2 (a route to the internet or an ec2 interface VPC endpoint, security group egress on 443)")
		r.add(Result{Check: "resources", Status: Fail, Detail: "not checked: EC2 did not answer", Fix: "fix the credentials check first"})
		return false
	}
}

// credentialsFix says what to do about credentials AWS rejected with code,
// by where they came from.
func credentialsFix(code, source, instance string) string {
	switch {
	case code == awsapi.CodeRequestExpired:
		return "this host's clock is more than 5 minutes off: synchronise it (timedatectl; chronyc makestep) and run vipd check again"
	case code == awsapi.CodeExpiredToken || code == awsapi.CodeExpiredTokenException:
		return "the session token has expired: use the instance profile (unset AWS_SESSION_TOKEN and the static keys) rather than temporary keys copied into the configuration"
	case strings.HasPrefix(source, "EnvConfigCredentials"):
		return "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in vipd's environment are wrong, deactivated or deleted: remove them (systemctl edit vipd) so that vipd uses the instance profile, or set a valid key pair"
	case strings.HasPrefix(source, "SharedConfigCredentials"):
		return "the key in the shared credentials file is wrong, deactivated or deleted: remove the file (or its profile) so that vipd uses the instance profile, or correct the key (aws configure)"
	case strings.HasPrefix(source, "EC2RoleProvider"):
		return "the instance profile's credentials were refused: check this host's clock (timedatectl), that aws.endpoint is EC2 of this region, and that " + instance + "'s profile has a role (aws ec2 describe-iam-instance-profile-associations)"
	}
	return "use the instance profile: remove static keys from vipd's environment and configuration, and attach a role to " + instance + " with the policy printed by `vipd iam-policy`"
}

// call bounds one AWS call by the check timeout.
func (r *runner) call(ctx context.Context, f func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, r.d.Timeout)
	defer cancel()
	return f(ctx)
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

// clusterTLS loads the cluster TLS files as vipd run will, and makes the
// peer checks dial with mutual TLS, so that they prove the peers trust this
// member's certificate (and it theirs).
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
	r.network = n
}

// peers proves that a vipd member answers on every peer's cluster port:
// a peer RPC ping (electionraft.Ping), over mutual TLS when cluster-tls is
// configured, so that a port some other program holds, or a member that
// refuses this one's certificate, does not pass as reachable.
func (r *runner) peers(ctx context.Context) {
	for _, p := range r.cfg.Peers {
		what, unit := "peer", "vipd"
		if p.Witness {
			what, unit = "witness", "vipd-witness"
		}
		check := what + " " + p.Name
		pctx, cancel := context.WithTimeout(ctx, max(r.d.Timeout/3, 200*time.Millisecond))
		start := time.Now()
		err := electionraft.Ping(pctx, r.network, p.Address, r.cfg.Node.Name)
		cancel()
		var remote *net.OpError
		var handshake *electionraft.HandshakeError
		var noAnswer *electionraft.NoAnswerError
		switch {
		case err == nil:
			r.add(Result{Check: check, Status: Pass, Detail: fmt.Sprintf("%s answered as a vipd member (%s)", p.Address, time.Since(start).Round(time.Millisecond))})
		case errors.Is(err, syscall.ECONNREFUSED):
			// The host answered: the network path is open and vipd is
			// not running there yet, which is normal while setting up.
			r.add(Result{Check: check, Status: Warn, Detail: p.Address + " refused the connection: vipd is not running there",
				Fix: "start vipd on " + p.Name + " (systemctl start " + unit + ")"})
		case errors.As(err, &handshake):
			r.fail(check, handshake.Error(), "give every member a certificate from the same cluster CA, each for its node name")
		case errors.As(err, &remote) && remote.Op == "remote error":
			// TLS 1.3: the client's handshake completes before the
			// server has checked the client's certificate; its refusal
			// arrives as an alert on the first read.
			r.fail(check, fmt.Sprintf("cluster tls: %s at %s refused this member's certificate: %v", p.Name, p.Address, remote.Err),
				"give every member a certificate from the same cluster CA, each for its node name, and list this member ("+r.cfg.Node.Name+") in "+p.Name+"'s peers")
		case errors.As(err, &noAnswer):
			r.fail(check, fmt.Sprintf("%s accepted the connection but did not answer as a vipd member: %v", p.Address, noAnswer.Err),
				"check that "+p.Address+" is "+p.Name+"'s cluster port (node.advertise there) and that "+unit+" runs there ("+
					"systemctl status "+unit+"); with cluster-tls, every member needs it")
		default:
			r.fail(check, fmt.Sprintf("%s unreachable: %v", p.Address, err),
				"allow TCP "+portOf(p.Address)+" between the cluster's members (security groups, NACLs, host firewall)")
		}
	}
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
