package awsapi

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"
)

// Options selects region, endpoints and observers for the SDK clients.
type Options struct {
	// Region is a region name, or "" / "auto" to read it from IMDS.
	Region string
	// Endpoint overrides every service's endpoint (vpcsim); "" uses AWS.
	// Precedence, highest first: Endpoints, Endpoint, then the SDK's
	// environment (AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL), then
	// the regional endpoint: the SDK ranks an endpoint set in code over
	// its environment variables.
	Endpoint string
	// Endpoints override single services' endpoints (VPC interface
	// endpoints).
	Endpoints Endpoints
	// IMDSEndpoint overrides the instance metadata endpoint (vpcsim).
	IMDSEndpoint string
	// Credentials replaces the SDK's default credential chain (env,
	// shared files, instance role via IMDS); tests pass a simulated
	// instance's role provider.
	Credentials aws.CredentialsProvider
	// WrapHTTPClient, if set, wraps the SDK's HTTP client (tests against
	// vpcsim on loopback pass vpcsimtest.BodyRaceFix).
	WrapHTTPClient func(aws.HTTPClient) aws.HTTPClient
	// Observer, if set, is told about every call.
	Observer CallObserver
	// MaxAttempts bounds the attempts of one call that fails otherwise
	// than throttled (default 4). Throttled calls are retried until the
	// caller's context ends (retryer); the context bounds every retry.
	MaxAttempts int
	// MaxBackoff caps the pause between retries (default 800ms): a failover
	// cannot wait out the SDK's default 20 s.
	MaxBackoff time.Duration
	// ThrottleBackoff caps the random pause before retrying a throttled
	// call (default 1s).
	ThrottleBackoff time.Duration
	// ThrottledAttempts, if set, bounds the attempts of a throttled call
	// too; 0 retries it until the caller's context ends, as a failover
	// must.
	ThrottledAttempts int
	// AttemptTimeout, if set, bounds each attempt of a call: the time AWS
	// has to answer it.
	AttemptTimeout time.Duration
	// Buckets, if set, paces every attempt of an EC2 call by a copy of
	// the account's throttling buckets (a controller serving many
	// clusters); nil sends each attempt at once.
	Buckets *Buckets
}

// Endpoints are per-service endpoint URLs; "" leaves a service to the
// SDK's resolution (Options.Endpoint, AWS_ENDPOINT_URL_<SERVICE>,
// AWS_ENDPOINT_URL, the regional endpoint).
type Endpoints struct {
	EC2, STS, Route53, DynamoDB, SSM string
}

// Clients are the SDK clients vipd uses, built from one aws.Config, each
// with its endpoint override. Creating them makes no call.
type Clients struct {
	Config   aws.Config
	EC2      *ec2.Client
	IMDS     *imds.Client
	Route53  *route53.Client
	DynamoDB *dynamodb.Client
	SSM      *ssm.Client
	// STS assumes roles (Roles) with Config's credentials.
	STS *sts.Client

	endpoints Endpoints
	base      *Clients  // the instance's set, from Load
	roles     *roleSets // shared by every set derived from base
}

// NewIMDS returns an IMDSv2 client for endpoint ("" = the SDK default, which
// honours AWS_EC2_METADATA_SERVICE_ENDPOINT).
func NewIMDS(endpoint string) *imds.Client {
	return imds.New(imds.Options{
		Endpoint: endpoint,
		// IMDS answers in milliseconds; a slow answer means it is down.
		HTTPClient: &http.Client{Timeout: 2 * time.Second},
		Retryer:    retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = 2 }),
	})
}

// Load builds the clients. With Region "auto" it asks IMDS for the region,
// through our own IMDS client so that the endpoint override is honoured
// (config.WithEC2IMDSRegion would build its own client and ignore it).
func Load(ctx context.Context, o Options) (*Clients, error) {
	if o.MaxAttempts == 0 {
		o.MaxAttempts = 4
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = 800 * time.Millisecond
	}
	if o.ThrottleBackoff == 0 {
		o.ThrottleBackoff = time.Second
	}
	md := NewIMDS(o.IMDSEndpoint)
	region := o.Region
	if region == "" || region == "auto" {
		out, err := md.GetRegion(ctx, &imds.GetRegionInput{})
		if err != nil {
			return nil, fmt.Errorf("read region from instance metadata: %w", err)
		}
		region = out.Region
	}
	apiOptions := []func(*middleware.Stack) error{addTokenUserAgent, addFenceAttempt, keepThrottle}
	if o.Observer != nil {
		apiOptions = append(apiOptions, observe(o.Observer))
	}
	if o.AttemptTimeout > 0 {
		apiOptions = append(apiOptions, attemptTimeout(o.AttemptTimeout))
	}
	if o.Buckets != nil {
		// Last, so that it sits first after the retry middleware.
		apiOptions = append(apiOptions, o.Buckets.middleware)
	}
	opts := []func(*config.LoadOptions) error{
		config.WithRegion(region),
		config.WithAPIOptions(apiOptions),
		config.WithRetryer(func() aws.Retryer {
			return newRetryer(o.MaxAttempts, o.ThrottledAttempts, o.MaxBackoff, o.ThrottleBackoff)
		}),
	}
	if o.Endpoint != "" {
		opts = append(opts, config.WithBaseEndpoint(o.Endpoint))
	}
	if o.IMDSEndpoint != "" {
		opts = append(opts, config.WithEC2IMDSEndpoint(o.IMDSEndpoint))
	}
	if o.Credentials != nil {
		opts = append(opts, config.WithCredentialsProvider(o.Credentials))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if o.WrapHTTPClient != nil {
		// LoadDefaultConfig leaves HTTPClient nil (each service client
		// then builds the default) unless something such as AWS_CA_BUNDLE
		// made it build one: wrap the default explicitly.
		if cfg.HTTPClient == nil {
			cfg.HTTPClient = awshttp.NewBuildableClient()
		}
		cfg.HTTPClient = o.WrapHTTPClient(cfg.HTTPClient)
	}
	seed := &Clients{IMDS: md, STS: newSTS(cfg, o.Endpoints.STS), endpoints: o.Endpoints, roles: &roleSets{sets: map[Role]*Clients{}}}
	base := seed.derive(cfg)
	base.base = base
	return base, nil
}
