package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/election"
	"github.com/vipd/vipd/internal/election/follow"
	electionraft "github.com/vipd/vipd/internal/election/raft"
	"github.com/vipd/vipd/internal/fence"
	"github.com/vipd/vipd/internal/health"
	"github.com/vipd/vipd/internal/hooks"
	"github.com/vipd/vipd/internal/lockfile"
	"github.com/vipd/vipd/internal/logging"
	"github.com/vipd/vipd/internal/node"
	"github.com/vipd/vipd/internal/osnet"
	"github.com/vipd/vipd/internal/resource"
	"github.com/vipd/vipd/internal/resource/kinds"
	"github.com/vipd/vipd/internal/stonith"
)

func newLogger(cfg config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level))
	return logging.New(w, logging.Format(cfg.Format), level)
}

// Run builds a node (or a witness) from cfg and runs it, with the admin
// socket, the metrics listener, SIGHUP reload and systemd notification,
// until ctx is done or the node fails. It logs to logw in cfg's format. It
// returns after every goroutine it started has exited, with the node's
// error or why it could not start; a second Run of the same configuration
// fails at once with a *lockfile.HeldError.
func Run(ctx context.Context, cfg *config.Config, logw io.Writer) error {
	log := newLogger(cfg.Log, logw).With("cluster", cfg.Cluster)
	// One daemon per configuration: before anything is touched (socket,
	// addresses, raft log), so that a second `vipd run` of the same file
	// exits without harming the running one.
	lock, err := lockInstance(cfg.API.Socket)
	if err != nil {
		return err
	}
	defer lock.Release()
	reg := newRegistry()
	metrics := node.NewMetrics(reg)

	ncfg := node.Config{
		Cluster:           cfg.Cluster,
		Self:              resource.Self{Name: cfg.Node.Name},
		Witness:           cfg.Node.Witness,
		Priority:          cfg.Node.Priority,
		ReconcileInterval: cfg.Reconcile.Interval,
		ReleaseOnStop:     cfg.Shutdown.ReleaseOnStop(),
		StopTimeout:       cfg.Shutdown.Timeout,
		HookTimeout:       cfg.Notify.Timeout,
		FenceMargin:       fence.Margin(cfg.Election.Lease),
		StandbyFile:       filepath.Join(cfg.Node.DataDir, "standby"),
	}
	deps := node.Deps{Metrics: metrics, Log: log,
		Hooks: hooks.New(cfg.Notify, cfg.Cluster, log)}

	var clients *awsapi.Clients // nil on a witness: it makes no AWS call
	if !cfg.Node.Witness {
		start := time.Now()
		ictx, cancel := context.WithTimeout(ctx, 15*time.Second)
		var err error
		clients, err = awsapi.Load(ictx, awsapi.Options{
			Region: cfg.AWS.Region, Endpoint: cfg.AWS.Endpoint, IMDSEndpoint: cfg.AWS.IMDSEndpoint,
			Endpoints: awsapi.Endpoints(cfg.AWS.Endpoints),
			Observer:  metrics.ObserveAWS, AttemptTimeout: cfg.AWS.CallTimeout,
		})
		if err != nil {
			cancel()
			return err
		}
		id, err := awsapi.ReadIdentity(ictx, clients.IMDS)
		cancel()
		if err != nil {
			return err
		}
		log.Info("instance identity read", "instance_id", id.InstanceID, "eni_id", id.ENIID,
			"reason", id.VPCID+" "+id.AZ, "duration", time.Since(start).Round(time.Millisecond))
		ncfg.Self.Identity = id
		ncfg.YieldContested = cfg.Election.Backend == config.BackendFollow && cfg.Election.OnConflict != config.ConflictRepair
		var popts resource.PlanOptions
		if cfg.LocalAddress.CIDR.IsValid() {
			popts.Local = osnet.NewBinder(cfg.LocalAddress.Interface, id.PrivateIP, cfg.LocalAddress.CIDR)
		}
		env := resource.Env{Clients: clients, AssumeRole: cfg.AWS.AssumeRole, Member: cfg.Node.Name,
			CallTimeout: cfg.AWS.CallTimeout, OnOwner: true, LocalAddress: cfg.LocalAddress, Log: log}
		mon, err := health.NewMonitor(cfg.Health, log)
		if err != nil {
			return err
		}
		deps.Health = mon
		if cfg.Fence.StopInstance {
			f := stonith.New(clients.EC2, stonith.Options{Timeout: cfg.Fence.Timeout, CallTimeout: cfg.AWS.CallTimeout, Log: log,
				// deps.Health, read at the call: reload swaps the monitor.
				Healthy: func() bool { return deps.Health.Healthy() }})
			env.Fencer = f
			if cfg.Fence.Takeover() {
				deps.Fencer = f
			}
		}
		if deps.Plan, err = kinds.Registry().Plan(cfg.Resources, env, popts); err != nil {
			return err
		}
		assumeRoles(ctx, cfg, clients, log)
		if p := newNotices(cfg, clients.IMDS, metrics, log); p != nil {
			deps.Notices = p
		}
	}
	lease, err := newLease(cfg, clients, log)
	if err != nil {
		return err
	}
	deps.Lease = lease
	stopReload := watchReload(ctx, cfg, &deps, log)
	defer stopReload()
	n := node.New(ncfg, deps)
	srv, err := serve(ctx, cfg.API, nodeAdmin{n}, reg, log)
	if err != nil {
		return err
	}
	defer srv.stop()
	log.Info("vipd started", "node", cfg.Node.Name, "reason", "config "+cfg.Source)
	stopNotify := notifySystemd(ctx, nodeAdmin{n}, log)
	defer stopNotify()
	return n.Run(ctx)
}

// lockInstance takes the lock file next to the admin socket (which
// validation requires; one socket serves one daemon), creating the socket
// directory.
func lockInstance(socket string) (*lockfile.Lock, error) {
	if err := os.MkdirAll(filepath.Dir(socket), 0o755); err != nil {
		return nil, fmt.Errorf("create admin socket directory: %w", err)
	}
	return lockfile.Acquire(socket + ".lock")
}

// newLease builds the configured election backend; clients is nil on a
// witness.
func newLease(cfg *config.Config, clients *awsapi.Clients, log *slog.Logger) (election.Lease, error) {
	switch cfg.Election.Backend {
	case config.BackendRaft, "":
		peers := make([]electionraft.Peer, 0, len(cfg.Peers))
		for _, p := range cfg.Peers {
			peers = append(peers, electionraft.Peer{Name: p.Name, Address: p.Address, Witness: p.Witness})
		}
		var network electionraft.Network // nil: plain TCP
		if t := cfg.ClusterTLS; t.Enabled() {
			tn, err := electionraft.NewTLSNetwork(electionraft.TLSFiles{CA: t.CA, Cert: t.Cert, Key: t.Key}, cfg.Node.Name, peers, log)
			if err != nil {
				return nil, err
			}
			network = tn
		}
		return electionraft.New(electionraft.Config{
			Self:      cfg.Node.Name,
			Advertise: cfg.Node.Advertise,
			Bind:      cfg.Node.Listen,
			Peers:     peers,
			Witness:   cfg.Node.Witness,
			Priority:  cfg.Node.Priority,
			Preempt:   cfg.Election.Preempt,
			Lease:     cfg.Election.Lease,
			DataDir:   cfg.Node.DataDir,
			Network:   network,
		}, log)
	case config.BackendFollow:
		primary, err := followPrimary(cfg, log)
		if err != nil {
			return nil, err
		}
		peers := make([]election.Peer, 0, len(cfg.Peers))
		for _, p := range cfg.Peers {
			peers = append(peers, election.Peer{Name: p.Name, Address: p.Address, Witness: p.Witness})
		}
		return follow.New(follow.Config{Self: cfg.Node.Name, Peers: peers, Validity: cfg.Election.Lease}, primary, log), nil
	case config.BackendDynamoDB:
		return newDynamoDBLease(cfg, clients, log)
	case config.BackendEtcd:
		return newEtcdLease(cfg, log)
	default:
		return nil, fmt.Errorf("election backend %q is not available in this build", cfg.Election.Backend)
	}
}

// assumeRoles assumes each role the resources name once at start, so that
// a missing trust or sts:AssumeRole shows in the log now rather than at
// the first failover. A failure is not fatal: STS may answer later, and
// the credentials cache asks again on the first call.
func assumeRoles(ctx context.Context, cfg *config.Config, clients *awsapi.Clients, log *slog.Logger) {
	seen := map[awsapi.Role]bool{}
	for _, r := range cfg.Resources {
		a := r.Role(cfg.AWS.AssumeRole)
		if a == nil {
			continue
		}
		role := resource.Role(a, cfg.Node.Name)
		if seen[role] {
			continue
		}
		seen[role] = true
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		start := time.Now()
		_, err := clients.AssumeRole(actx, role)
		cancel()
		if err != nil {
			log.Warn("assume role failed", "role_arn", role.ARN, "aws_code", awsapi.Code(err), "err", err)
			continue
		}
		log.Info("role assumed", "role_arn", role.ARN, "duration", time.Since(start).Round(time.Millisecond))
	}
}
