package controller

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/config"
	leaseddb "github.com/vipd/vipd/internal/election/dynamodb"
	"github.com/vipd/vipd/internal/hooks"
	"github.com/vipd/vipd/internal/resource"
	"github.com/vipd/vipd/internal/resource/kinds"
)

// NewPlan builds the configured cloud-side resources as the controller
// drives them: away from the owner (no host changes), in the registry's
// acquire order. Deps.Plan calls it once per candidate.
func NewPlan(cfg *config.Controller, clients *awsapi.Clients, log *slog.Logger) (*resource.Plan, error) {
	member := cfg.Name
	if member == "" {
		member = "controller"
	}
	env := resource.Env{Clients: clients, AssumeRole: cfg.AWS.AssumeRole, Member: member, CallTimeout: cfg.AWS.CallTimeout, Log: log}
	return kinds.Registry().Plan(cfg.Resources, env, resource.PlanOptions{})
}

// BuildOptions are the inputs of Build besides the configuration.
type BuildOptions struct {
	// Name is the controller's name when the configuration sets none.
	Name string
	// Region, when set, overrides aws.region (the Lambda function passes
	// AWS_REGION, as it has no instance metadata).
	Region string
	// Registerer receives the controller's metrics; nil registers none.
	Registerer prometheus.Registerer
	// Log is the logger; nil discards.
	Log *slog.Logger
}

// Build wires a controller from a single-cluster configuration; see
// BuildFleet.
func Build(ctx context.Context, cfg *config.Controller, o BuildOptions) (*Controller, error) {
	if len(cfg.Clusters) > 0 {
		return nil, fmt.Errorf("build controller: %s serves %d clusters: use BuildFleet", cfg.Source, len(cfg.Clusters))
	}
	f, err := BuildFleet(ctx, cfg, o)
	if err != nil {
		return nil, err
	}
	return f.ctls[0], nil
}

// BuildFleet wires the controllers of every cluster cfg serves (one for a
// single-cluster file) into a fleet: one set of SDK clients (EC2, SSM and
// DynamoDB, each with its endpoint override), and for each cluster its
// DynamoDB lease (keyed by the cluster), resources, hooks and metrics
// (labelled cluster when cfg has clusters). It is the one constructor
// `vipd controller` and the Lambda function share.
func BuildFleet(ctx context.Context, cfg *config.Controller, o BuildOptions) (*Fleet, error) {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var calls *awsapi.CallMetrics
	if o.Registerer != nil {
		calls = awsapi.NewCallMetrics(o.Registerer)
	}
	region := cfg.AWS.Region
	if o.Region != "" {
		region = o.Region
	}
	aopts := awsapi.Options{Region: region, Endpoint: cfg.AWS.Endpoint, IMDSEndpoint: cfg.AWS.IMDSEndpoint,
		Endpoints: awsapi.Endpoints(cfg.AWS.Endpoints), AttemptTimeout: cfg.AWS.CallTimeout}
	if calls != nil {
		aopts.Observer = calls.Observe
	}
	if eb := cfg.EC2Buckets; !eb.Off {
		size := func(b, def config.Bucket) awsapi.BucketSize {
			if b.Size == 0 {
				b.Size = def.Size
			}
			if b.Refill == 0 {
				b.Refill = def.Refill
			}
			return awsapi.BucketSize{Size: b.Size, Refill: float64(b.Refill)}
		}
		aopts.Buckets = awsapi.NewBuckets(size(eb.Write, config.DefaultWriteBucket), size(eb.Read, config.DefaultReadBucket))
	}
	clients, err := awsapi.Load(ctx, aopts)
	if err != nil {
		return nil, err
	}
	var ctls []*Controller
	for _, cc := range cfg.PerCluster() {
		clog := log
		var metrics *Metrics
		if len(cfg.Clusters) > 0 {
			clog = log.With("cluster", cc.Cluster)
			if o.Registerer != nil {
				metrics = newMetrics(prometheus.WrapRegistererWith(prometheus.Labels{"cluster": cc.Cluster}, o.Registerer), calls)
			}
		} else if o.Registerer != nil {
			metrics = newMetrics(o.Registerer, calls)
		}
		ccfg := FromConfig(cc, o.Name)
		lease, err := leaseddb.New(leaseddb.Config{
			Self:         ccfg.Name,
			Table:        cc.Lease.Table,
			KeyAttribute: cc.Lease.KeyAttribute,
			Key:          cc.Lease.Key,
			Lease:        cc.Lease.Duration,
			Renew:        cc.Lease.Renew,
			CallTimeout:  cc.AWS.CallTimeout,
		}, clients.DynamoDB, clog)
		if err != nil {
			return nil, fmt.Errorf("cluster %s: %w", cc.Cluster, err)
		}
		c, err := New(ccfg, Deps{
			EC2:     clients.EC2,
			SSM:     clients.SSM,
			Lease:   lease,
			Plan:    func() (*resource.Plan, error) { return NewPlan(cc, clients, clog) },
			Hooks:   hooks.New(cc.Notify, cc.Cluster, clog),
			Metrics: metrics,
			Log:     clog,
		})
		if err != nil {
			return nil, fmt.Errorf("cluster %s: %w", cc.Cluster, err)
		}
		ctls = append(ctls, c)
	}
	return NewFleet(ctls, FleetOptions{EC2: clients.EC2, Interval: cfg.Interval, CallTimeout: cfg.AWS.CallTimeout,
		WriteConcurrency: cfg.WriteConcurrency, Log: log})
}
