package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vipd/vipd/internal/simcluster"
	"github.com/vipd/vipd/internal/vpcsim/netns"
)

// The second baseline: Pacemaker with the ClusterLabs resource agent
// aws-vpc-move-ip (Debian's resource-agents package), as AWS's SAP guides
// set it up for an overlay IP. The agent runs unchanged in the new owner's
// namespace: it reads IMDS at 169.254.169.254 with curl and calls the
// real AWS CLI, which reaches vpcsim through AWS_ENDPOINT_URL.
//
// Only the agent's start action is measured. Pacemaker calls it once
// corosync has declared the old owner lost and formed a new membership,
// and (not modelled here) once the lost node has been fenced; that
// detection is modelled from the corosync settings AWS's SAP guides
// recommend, not waited for: each round starts the agent at the moment
// of the fault and reports the detection beside it.

// MoveIPAgent is where Debian's resource-agents installs the agent.
const (
	ocfRoot     = "/usr/lib/ocf"
	MoveIPAgent = ocfRoot + "/resource.d/heartbeat/aws-vpc-move-ip"
)

// The corosync totem timeouts AWS's SAP guides recommend for Pacemaker
// clusters on EC2 (SAP HANA on AWS, "Cluster Node Setup",
// https://docs.aws.amazon.com/sap/latest/sap-hana/sap-hana-pacemaker-rhel-cluster-node-setup.html,
// and the SLES guide's corosync.conf): token 30000 ms, consensus 36000 ms.
// Token is the time "until a token loss is declared after not receiving a
// token", consensus the time "to wait for consensus to be achieved before
// starting a new round of membership configuration" (Red Hat, High
// Availability Add-On Reference, 4.2 "Configuring Timeout Values for a
// Cluster"). A node that died never agrees, so the survivor forms the new
// membership only when consensus runs out after the token loss; Pacemaker
// then recovers the resource (after fencing, which this model leaves out).
const (
	CorosyncToken     = 30 * time.Second
	CorosyncConsensus = 36 * time.Second
	// PacemakerDetection is the modelled time from a node's death to
	// Pacemaker starting the resource elsewhere: token + consensus.
	PacemakerDetection = CorosyncToken + CorosyncConsensus
)

// AgentRound is one run of the agent's start action on the surviving node
// after the owner died (its service stopped answering), all times from
// the fault, the agent started at the fault.
type AgentRound struct {
	Tables int `json:"tables"`
	// Served is the fault to the client's first answer from the new
	// owner; OK false if that did not happen within the agent's timeout.
	Served time.Duration `json:"served_ns"`
	OK     bool          `json:"ok"`
	// AllRouted is the fault to every table routing to the new owner.
	AllRouted time.Duration `json:"all_routed_ns"`
	// Done is the fault to the start action's return; Exit is its status
	// (0: OCF_SUCCESS).
	Done  time.Duration `json:"done_ns"`
	Exit  int           `json:"exit"`
	Calls callCount     `json:"calls"`
	Err   string        `json:"error,omitempty"`
}

// agentTimeout is the start action's timeout in the agent's own metadata
// (and AWS's SAP guides' op start timeout=180).
const agentTimeout = 180 * time.Second

// pacemakerSystem is the agent on the two nodes of an env.
type pacemakerSystem struct {
	e      *env
	aws    string // the AWS CLI
	dir    string
	tables []string
}

// awsCLI finds the AWS CLI; a pyenv shim re-executes through pyenv on
// every call, so the interpreter's script is called directly as an
// installed package would be.
func awsCLI() (string, error) {
	p, err := exec.LookPath("aws")
	if err != nil {
		return "", fmt.Errorf("find the AWS CLI: %w", err)
	}
	if real, err := exec.Command("pyenv", "which", "aws").Output(); err == nil {
		p = strings.TrimSpace(string(real))
	}
	return p, nil
}

func newPacemaker(e *env, tables []string) (*pacemakerSystem, error) {
	if _, err := os.Stat(MoveIPAgent); err != nil {
		return nil, fmt.Errorf("find the aws-vpc-move-ip agent (apt-get install resource-agents): %w", err)
	}
	awsPath, err := awsCLI()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(e.c.Dir, "pacemaker")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	// The agent calls the CLI with --profile default (its "profile"
	// parameter), which needs the profile to exist: what `aws configure`
	// writes, the region only (credentials come from IMDS).
	cfg := fmt.Sprintf("[default]\nregion = %s\noutput = text\n", e.srv.Region())
	if err := os.WriteFile(filepath.Join(dir, "aws-config"), []byte(cfg), 0o600); err != nil {
		return nil, fmt.Errorf("write the AWS CLI profile: %w", err)
	}
	return &pacemakerSystem{e: e, aws: awsPath, dir: dir, tables: tables}, nil
}

// admin is an EC2 client with vpcsim's administrator key, for the setup
// an operator does once (outside the measured window).
func (s *pacemakerSystem) admin() *awsec2.Client {
	ak, sk := s.e.srv.AdminKey()
	return awsec2.New(awsec2.Options{Region: s.e.srv.Region(), BaseEndpoint: aws.String(s.e.srv.URL()),
		Credentials: credentials.NewStaticCredentialsProvider(ak, sk, "")})
}

// setup turns the source/dest check off on both nodes (AWS's SAP guides
// list it as a prerequisite of the overlay IP) and routes the VIP to
// owner's ENI in every table, with the VIP bound on owner's eth0: the
// state the agent's start on owner leaves.
func (s *pacemakerSystem) setup(ctx context.Context, owner string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	c := s.admin()
	for _, n := range s.e.c.Nodes() {
		if _, err := c.ModifyInstanceAttribute(ctx, &awsec2.ModifyInstanceAttributeInput{
			InstanceId: aws.String(n.InstanceID), SourceDestCheck: &ec2types.AttributeBooleanValue{Value: aws.Bool(false)},
		}); err != nil {
			return fmt.Errorf("disable source/dest check of %s: %w", n.InstanceID, err)
		}
	}
	dst := netip.PrefixFrom(s.e.vip, 32).String()
	eni := s.e.node(owner).ENI
	for _, rtb := range s.tables {
		_, err := c.CreateRoute(ctx, &awsec2.CreateRouteInput{RouteTableId: aws.String(rtb),
			DestinationCidrBlock: aws.String(dst), NetworkInterfaceId: aws.String(eni)})
		if err != nil {
			return fmt.Errorf("route %s in %s to %s: %w", dst, rtb, eni, err)
		}
	}
	return s.ip(ctx, owner, "add")
}

// ip adds or deletes the VIP on a node's eth0.
func (s *pacemakerSystem) ip(ctx context.Context, node, op string) error {
	cmd := exec.CommandContext(ctx, "ip", "addr", op, netip.PrefixFrom(s.e.vip, 32).String(), "dev", "eth0")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = time.Second
	if err := s.e.c.Fab.Starter(s.e.node(node).InstanceID)(cmd); err != nil {
		return err
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("ip addr %s %s on %s: %w: %s", op, s.e.vip, node, err, strings.TrimSpace(out.String()))
	}
	return nil
}

// agentEnv is the environment Pacemaker gives the agent (OCF_ROOT and the
// resource's parameters as OCF_RESKEY_*, as in AWS's SAP guides:
// ip, routing_table, interface; region and awscli for this host), plus
// what the instance's AWS CLI setup provides: the profile and, in place
// of the real endpoint, vpcsim's inside the namespace.
func (s *pacemakerSystem) agentEnv() []string {
	return []string{
		"PATH=" + filepath.Dir(s.aws) + ":/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + s.dir,
		"OCF_ROOT=" + ocfRoot,
		"OCF_RESOURCE_INSTANCE=res_AWS_IP", "OCF_RESOURCE_TYPE=aws-vpc-move-ip",
		"OCF_RESKEY_ip=" + s.e.vip.String(),
		"OCF_RESKEY_routing_table=" + strings.Join(s.tables, ","),
		"OCF_RESKEY_interface=eth0",
		"OCF_RESKEY_region=" + s.e.srv.Region(),
		"OCF_RESKEY_awscli=" + s.aws,
		"AWS_ENDPOINT_URL=http://" + netns.APIAddr,
		"AWS_CONFIG_FILE=" + filepath.Join(s.dir, "aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(s.dir, "aws-credentials"),
	}
}

// start runs the agent's start action on node and waits for it, within
// the agent's start timeout. It returns the action's exit status and its
// output (the agent logs through ocf_log to stderr).
func (s *pacemakerSystem) start(ctx context.Context, node string) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, agentTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, MoveIPAgent, "start")
	cmd.Env = s.agentEnv()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	if err := s.e.c.Fab.Starter(s.e.node(node).InstanceID)(cmd); err != nil {
		return -1, "", err
	}
	err := cmd.Wait()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String(), nil
	case errors.As(err, &exit) && ctx.Err() == nil:
		return exit.ExitCode(), out.String(), nil
	}
	return -1, out.String(), fmt.Errorf("aws-vpc-move-ip start on %s: %w", node, err)
}

// runPacemaker measures the agent's start action rounds times with tables
// route tables: each round the owner dies (its service stops answering)
// and the agent's start runs on the other node at once; then the dead
// node comes back without the VIP, as after a reboot, and the next round
// fails the new owner.
func runPacemaker(ctx context.Context, o Options, tables, rounds int) ([]AgentRound, error) {
	ids := simcluster.TableIDs(tables)
	e, err := newEnv(ctx, o, tables, failoverVIP, false)
	if err != nil {
		return nil, fmt.Errorf("build the world: %w", err)
	}
	defer e.close()
	s, err := newPacemaker(e, ids)
	if err != nil {
		return nil, err
	}
	owner := "a"
	if err := s.setup(ctx, owner); err != nil {
		return nil, err
	}
	dst := netip.PrefixFrom(failoverVIP, 32)
	var out []AgentRound
	for range rounds {
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		since := time.Now()
		if err := waitFor(ctx, stableLimit, "the client served by "+owner, func() bool {
			_, ok := e.servedBy(owner, since)
			return ok && e.routeOwner(dst, ids) == owner
		}); err != nil {
			return out, err
		}
		to := e.peer(owner)
		r := AgentRound{Tables: tables}
		seq := e.lastSeq()
		t0 := time.Now()
		dead, err := e.c.Inject(ctx, simcluster.FaultUnhealthy, simcluster.Target{Host: owner})
		if err != nil {
			return out, err
		}
		type result struct {
			exit int
			log  string
			err  error
		}
		done := make(chan result, 1)
		go func() {
			exit, log, err := s.start(ctx, to)
			done <- result{exit, log, err}
		}()
		var res result
		finished, routed := false, time.Time{}
		_ = waitFor(ctx, agentTimeout+10*time.Second, "the agent's start", func() bool {
			if routed.IsZero() && e.routeOwner(dst, ids) == to {
				routed = time.Now()
			}
			if !r.OK {
				var served time.Time
				if served, r.OK = e.servedBy(to, t0); r.OK {
					r.Served = served.Sub(t0)
				}
			}
			if !finished {
				select {
				case res = <-done:
					finished = true
					r.Done = time.Since(t0)
				default:
				}
			}
			return finished && r.OK && !routed.IsZero()
		})
		if !finished {
			res = <-done
			r.Done = time.Since(t0)
		}
		if !routed.IsZero() {
			r.AllRouted = routed.Sub(t0)
		}
		r.Exit = res.exit
		switch {
		case res.err != nil:
			r.Err = res.err.Error()
		case res.exit != 0:
			r.Err = fmt.Sprintf("start exited %d: %s", res.exit, lastLines(res.log, 5))
		case !r.OK:
			r.Err = "the client was not served by " + to
		}
		r.Calls = e.countCalls(seq, t0, time.Now())
		o.Log.Info("pacemaker round", "tables", tables, "from", owner, "to", to, "ok", r.OK, "exit", r.Exit,
			"served_ms", r.Served.Milliseconds(), "all_routed_ms", r.AllRouted.Milliseconds(), "done_ms", r.Done.Milliseconds(),
			"calls", r.Calls.All, "writes", r.Calls.Writes, "err", r.Err)
		out = append(out, r)
		if r.Err != "" {
			return out, fmt.Errorf("aws-vpc-move-ip with %d tables: %s", tables, r.Err)
		}
		// The dead node comes back without the address (a reboot), its
		// service running; it is the next round's survivor.
		if err := s.ip(ctx, owner, "del"); err != nil {
			return out, err
		}
		if err := dead.Heal(); err != nil {
			return out, err
		}
		owner = to
	}
	return out, nil
}

// lastLines is the last n lines of s, joined with " | ".
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], " | ")
}
