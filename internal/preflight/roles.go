package preflight

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/resource"
)

// STS is the STS call check makes with the instance's credentials to name
// the principal a role's trust policy must name; *sts.Client fits.
type STS interface {
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// FromClients is the AWS of the SDK clients vipd runs with: a role's
// clients come from c.Role, the credentials cache the daemon's resources
// and lease use, so that check proves exactly the calls they will make.
func FromClients(c *awsapi.Clients) AWS {
	a := AWS{EC2: c.EC2, Route53: c.Route53, DynamoDB: c.DynamoDB, STS: c.STS, Credentials: c.Config.Credentials}
	a.Role = func(r awsapi.Role) AWS {
		rc := c.Role(r)
		return AWS{EC2: rc.EC2, Route53: rc.Route53, DynamoDB: rc.DynamoDB, STS: c.STS, Credentials: rc.Config.Credentials}
	}
	return a
}

// credentials is one set of credentials the daemon's calls use and the
// resources whose calls carry it.
type credentials struct {
	role awsapi.Role // zero: the instance's own
	idx  []int
	// resources name them ("resources[0].overlay-route"), from the
	// settings that name the role, with their lines
	// ("resources[0].assume-role at vipd.yaml:52").
	resources, from []string
}

// what names the resources and where their role is set.
func (c *credentials) what() string {
	return strings.Join(c.resources, ", ") + " (" + strings.Join(c.from, ", ") + ")"
}

func (c *credentials) has(i int) bool { return slices.Contains(c.idx, i) }

// resourceCredentials groups the resources by the credentials their calls
// carry, as the daemon chooses them (config.Resource.Role): the
// instance's first, then each role in the order the configuration first
// names it.
func (r *runner) resourceCredentials() []*credentials {
	var out []*credentials
	by := map[awsapi.Role]*credentials{}
	for i, res := range r.cfg.Resources {
		var role awsapi.Role
		path := ""
		if a := res.Role(r.cfg.AWS.AssumeRole); a != nil {
			role = resource.Role(a, r.cfg.Node.Name)
			path = "aws.assume-role"
			if res.AssumeRole != nil {
				path = fmt.Sprintf("resources[%d].assume-role", i)
			}
		}
		c, ok := by[role]
		if !ok {
			c = &credentials{role: role}
			by[role] = c
			out = append(out, c)
		}
		c.idx = append(c.idx, i)
		c.resources = append(c.resources, fmt.Sprintf("resources[%d].%s", i, res.Kind()))
		if path != "" && !slices.Contains(c.from, r.at(path)) {
			c.from = append(c.from, r.at(path))
		}
	}
	slices.SortStableFunc(out, func(a, b *credentials) int {
		switch {
		case a.role.ARN == "" && b.role.ARN != "":
			return -1
		case b.role.ARN == "" && a.role.ARN != "":
			return 1
		}
		return 0
	})
	return out
}

// at is path with the place it was written: "aws.assume-role at
// vipd.yaml:60", or path alone when the place is unknown.
func (r *runner) at(path string) string {
	if p := r.cfg.Places.At(path); p != "" {
		return path + " at " + p
	}
	return path
}

// assume retrieves role's credentials through a's credentials cache (one
// sts:AssumeRole call) and reports it; false when the role's calls cannot
// be checked.
func (r *runner) assume(ctx context.Context, base, a AWS, role awsapi.Role, what string) bool {
	check := "assume-role " + role.ARN
	var creds aws.Credentials
	start := time.Now()
	err := r.call(ctx, func(ctx context.Context) (err error) {
		creds, err = a.Credentials.Retrieve(ctx)
		return err
	})
	if err == nil {
		exp := ""
		if creds.CanExpire {
			exp = ", valid until " + creds.Expires.UTC().Format(time.TimeOnly)
		}
		r.add(Result{Check: check, Status: Pass, Detail: fmt.Sprintf("assumed as session %s%s (%s), for %s",
			role.SessionName, exp, time.Since(start).Round(time.Millisecond), what)})
		return true
	}
	code := awsapi.Code(err)
	switch {
	case code == "AccessDenied":
		// STS gives one answer whether the caller's own policy lacks
		// sts:AssumeRole on the role or the role's trust policy does
		// not name the caller (or wants another external ID): "Troubleshoot
		// IAM roles", IAM user guide. Both fixes are named.
		principal := r.principal(ctx, base)
		ext := ""
		if role.ExternalID != "" {
			ext = " with sts:ExternalId " + role.ExternalID
		}
		r.fail(check, fmt.Sprintf("sts:AssumeRole refused with AccessDenied, for %s: either %s may not assume it, or its trust policy does not trust %s%s (AWS does not say which)",
			what, principal.name, principal.name, ext),
			fmt.Sprintf("in this account, give %s the statement allowing sts:AssumeRole on %s (`vipd iam-policy`); in %s's account, set its trust policy to `vipd iam-policy --trust --role %s --principal %s`",
				principal.name, role.ARN, role.ARN, role.ARN, principal.arn))
	case awsapi.IsAuthFailure(err):
		r.fail(check, fmt.Sprintf("STS rejected the instance's credentials (%s), for %s", code, what),
			credentialsFix(code, r.source, r.id.InstanceID))
	case code != "":
		r.fail(check, fmt.Sprintf("sts:AssumeRole refused with %s, for %s: %v", code, what, err),
			"correct the assume-role settings named above (role-arn, external-id, session-name), and run vipd check again")
	default:
		r.fail(check, fmt.Sprintf("sts:AssumeRole could not be called, for %s: %v", what, err),
			"check aws.endpoints.sts and the network path to STS (the regional endpoint, or an sts interface VPC endpoint)")
	}
	return false
}

// caller names the principal whose credentials assume the roles.
type caller struct {
	name string // "the instance's role arn:aws:iam::...:role/vipd-node"
	arn  string // the role ARN, or a placeholder
}

// principal asks STS who the instance's credentials are
// (GetCallerIdentity needs no permission) and turns an assumed-role
// session's ARN into its role's, which is what a trust policy names.
func (r *runner) principal(ctx context.Context, base AWS) caller {
	unknown := caller{name: "the instance's role", arn: "NODE-ROLE-ARN"}
	if base.STS == nil {
		return unknown
	}
	var out *sts.GetCallerIdentityOutput
	err := r.call(ctx, func(ctx context.Context) (err error) {
		out, err = base.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		return err
	})
	if err != nil {
		return unknown
	}
	arn := aws.ToString(out.Arn)
	// arn:aws:sts::<account>:assumed-role/<role>/<session>
	if rest, ok := strings.CutPrefix(arn, "arn:aws:sts::"); ok {
		if acct, path, ok := strings.Cut(rest, ":assumed-role/"); ok {
			if role, _, ok := strings.Cut(path, "/"); ok {
				arn = "arn:aws:iam::" + acct + ":role/" + role
				return caller{name: "the instance's role " + arn, arn: arn}
			}
		}
	}
	return caller{name: arn, arn: arn}
}

// leaseCredentials is the DynamoDB client of the lease's calls
// (config.Config.LeaseRole), its role assumed and reported first, and who
// they are, for messages; ok is false when the role cannot be assumed.
func (r *runner) leaseCredentials(ctx context.Context, base AWS) (DynamoDB, string, string, bool) {
	a := r.cfg.LeaseRole()
	if a == nil {
		return base.DynamoDB, "the instance's role", "`vipd iam-policy`", true
	}
	role := resource.Role(a, r.cfg.Node.Name)
	who, policy := "role "+role.ARN, "`vipd iam-policy --role "+role.ARN+"`"
	if base.Role == nil {
		r.fail("assume-role "+role.ARN, "not checked: this build of vipd check cannot assume roles", "run vipd check as installed")
		return nil, who, policy, false
	}
	ra := base.Role(role)
	if !r.assume(ctx, base, ra, role, "election.dynamodb ("+r.at("election.dynamodb.assume-role")+")") {
		return nil, who, policy, false
	}
	return ra.DynamoDB, who, policy, true
}

// notChecked reports the resources of c as unchecked because their
// credentials could not be had.
func (r *runner) notChecked(c *credentials, why string) {
	for _, i := range c.idx {
		r.fail(fmt.Sprintf("resources[%d].%s", i, r.cfg.Resources[i].Kind()), "not checked: "+why, "fix the assume-role check first")
	}
}
