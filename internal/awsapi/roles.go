package awsapi

import (
	"context"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Role names a role whose temporary credentials make some calls.
type Role struct {
	ARN         string
	ExternalID  string
	SessionName string
}

// Role sessions last the SDK's default 15 minutes; the cache renews them
// RoleRefreshWindow (±half, jittered) before they expire, so that a
// failover rarely waits for STS and a slow STS has a minute to answer.
const (
	RoleRefreshWindow = time.Minute
	roleDuration      = 15 * time.Minute
)

// roleSets holds one client set per distinct role, shared by every
// Clients derived from one Load.
type roleSets struct {
	mu   sync.Mutex
	sets map[Role]*Clients
}

// Role returns the client set of role r: EC2, Route 53, DynamoDB and SSM
// clients whose credentials come from sts:AssumeRole, made with the
// instance's credentials through the STS client (the sts endpoint), and
// cached until RoleRefreshWindow before they expire. IMDS and STS stay the
// instance's. Each distinct role gets one set, built on first use and
// shared by every caller (one credentials cache: one AssumeRole per
// refresh, not per resource). Building makes no call; the first call
// through the set assumes the role. The zero Role returns the instance's
// set. Safe for concurrent use.
func (c *Clients) Role(r Role) *Clients {
	if r.ARN == "" {
		return c.base
	}
	rs := c.roles
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if set, ok := rs.sets[r]; ok {
		return set
	}
	provider := stscreds.NewAssumeRoleProvider(c.STS, r.ARN, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = r.SessionName
		if r.ExternalID != "" {
			o.ExternalID = aws.String(r.ExternalID)
		}
		o.Duration = roleDuration
	})
	cfg := c.base.Config.Copy()
	cfg.Credentials = aws.NewCredentialsCache(provider, func(o *aws.CredentialsCacheOptions) {
		o.ExpiryWindow = RoleRefreshWindow
		o.ExpiryWindowJitterFrac = 0.5
	})
	set := c.base.derive(cfg)
	rs.sets[r] = set
	return set
}

// AssumeRole retrieves role r's credentials now (an AssumeRole call
// unless cached), so that vipd check and start-up report a missing trust
// or permission at once rather than at the first failover.
func (c *Clients) AssumeRole(ctx context.Context, r Role) (aws.Credentials, error) {
	return c.Role(r).Config.Credentials.Retrieve(ctx)
}

// newSTS is base's STS client: regional STS (the SDK v2 default; an
// interface endpoint is regional), at the sts endpoint override.
func newSTS(cfg aws.Config, endpoint string) *sts.Client {
	return sts.NewFromConfig(cfg, func(o *sts.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
}

// derive builds the service clients of cfg with c's endpoint overrides.
func (c *Clients) derive(cfg aws.Config) *Clients {
	e := c.endpoints
	return &Clients{
		Config:    cfg,
		EC2:       ec2.NewFromConfig(cfg, func(o *ec2.Options) { setEndpoint(&o.BaseEndpoint, e.EC2) }),
		IMDS:      c.IMDS,
		Route53:   route53.NewFromConfig(cfg, func(o *route53.Options) { setEndpoint(&o.BaseEndpoint, e.Route53) }),
		DynamoDB:  dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { setEndpoint(&o.BaseEndpoint, e.DynamoDB) }),
		SSM:       ssm.NewFromConfig(cfg, func(o *ssm.Options) { setEndpoint(&o.BaseEndpoint, e.SSM) }),
		STS:       c.STS,
		endpoints: e,
		base:      c.base,
		roles:     c.roles,
	}
}

func setEndpoint(dst **string, url string) {
	if url != "" {
		*dst = aws.String(url)
	}
}
