package controller

import (
	"context"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
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
	env := resource.Env{Clients: clients, Member: member, CallTimeout: cfg.AWS.CallTimeout, Log: log}
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

// Build wires a controller from its configuration: the SDK clients (EC2,
// SSM and DynamoDB, each with its endpoint override), the DynamoDB lease,
// the resources, hooks and metrics. It is the one constructor `vipd
// controller` and the Lambda function share.
func Build(ctx context.Context, cfg *config.Controller, o BuildOptions) (*Controller, error) {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var metrics *Metrics
	if o.Registerer != nil {
		metrics = NewMetrics(o.Registerer)
	}
	region := cfg.AWS.Region
	if o.Region != "" {
		region = o.Region
	}
	aopts := awsapi.Options{Region: region, Endpoint: cfg.AWS.Endpoint, IMDSEndpoint: cfg.AWS.IMDSEndpoint, AttemptTimeout: cfg.AWS.CallTimeout}
	if metrics != nil {
		aopts.Observer = metrics.ObserveAWS
	}
	clients, err := awsapi.Load(ctx, aopts)
	if err != nil {
		return nil, err
	}
	ssmc := ssm.NewFromConfig(clients.Config, func(so *ssm.Options) {
		if cfg.AWS.SSMEndpoint != "" {
			so.BaseEndpoint = aws.String(cfg.AWS.SSMEndpoint)
		}
	})
	ddb := dynamodb.NewFromConfig(clients.Config, func(do *dynamodb.Options) {
		if cfg.AWS.DynamoDBEndpoint != "" {
			do.BaseEndpoint = aws.String(cfg.AWS.DynamoDBEndpoint)
		}
	})
	ccfg := FromConfig(cfg, o.Name)
	lease, err := leaseddb.New(leaseddb.Config{
		Self:         ccfg.Name,
		Table:        cfg.Lease.Table,
		KeyAttribute: cfg.Lease.KeyAttribute,
		Key:          cfg.Lease.Key,
		Lease:        cfg.Lease.Duration,
		Renew:        cfg.Lease.Renew,
		CallTimeout:  cfg.AWS.CallTimeout,
	}, ddb, log)
	if err != nil {
		return nil, err
	}
	return New(ccfg, Deps{
		EC2:     clients.EC2,
		SSM:     ssmc,
		Lease:   lease,
		Plan:    func() (*resource.Plan, error) { return NewPlan(cfg, clients, log) },
		Hooks:   hooks.New(cfg.Notify, cfg.Cluster, log),
		Metrics: metrics,
		Log:     log,
	})
}
