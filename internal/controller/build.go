package controller

import (
	"context"
	"fmt"
	"log/slog"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/config"
	leaseddb "github.com/vipd/vipd/internal/election/dynamodb"
	"github.com/vipd/vipd/internal/hooks"
	"github.com/vipd/vipd/internal/resource/dnsrecord"
	"github.com/vipd/vipd/internal/resource/elasticip"
	"github.com/vipd/vipd/internal/resource/overlayroute"
	"github.com/vipd/vipd/internal/resource/secondaryip"
)

// BuildResources turns the configured cloud-side resources into a set of
// the controller's, in design.md's acquire order (secondary-ip and
// elastic-ip, then overlay-route, then route53; config order within a
// kind). Deps.Resources calls it once per candidate.
func BuildResources(cfg *config.Controller, clients *awsapi.Clients, log *slog.Logger) ([]Resource, error) {
	c := clients.EC2
	rs := slices.Clone(cfg.Resources)
	slices.SortStableFunc(rs, func(a, b config.Resource) int {
		return slices.Index(config.KindOrder, a.Kind()) - slices.Index(config.KindOrder, b.Kind())
	})
	var out []Resource
	for i, r := range rs {
		switch {
		case r.OverlayRoute != nil:
			out = append(out, overlayroute.New(*r.OverlayRoute, c, overlayroute.Options{CallTimeout: cfg.AWS.CallTimeout}, log))
		case r.SecondaryIP != nil:
			// No host binding: the controller runs elsewhere; the
			// candidates bind the address themselves.
			out = append(out, secondaryip.New(*r.SecondaryIP, c, secondaryip.Options{CallTimeout: cfg.AWS.CallTimeout}, log))
		case r.ElasticIP != nil:
			out = append(out, elasticip.New(*r.ElasticIP, c, elasticip.Options{CallTimeout: cfg.AWS.CallTimeout}, log))
		case r.Route53 != nil:
			out = append(out, dnsrecord.New(*r.Route53, clients.Route53, c, dnsrecord.Options{CallTimeout: cfg.AWS.CallTimeout}, log))
		default:
			return nil, fmt.Errorf("resources[%d]: %s is not available to the controller in this build", i, r.Kind())
		}
	}
	return out, nil
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
	aopts := awsapi.Options{Region: region, Endpoint: cfg.AWS.Endpoint, IMDSEndpoint: cfg.AWS.IMDSEndpoint}
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
		EC2:       clients.EC2,
		SSM:       ssmc,
		Lease:     lease,
		Resources: func() ([]Resource, error) { return BuildResources(cfg, clients, log) },
		Hooks:     hooks.New(cfg.Notify, cfg.Cluster, log),
		Metrics:   metrics,
		Log:       log,
	})
}
