// Package probe is what a resource kind's part of `vipd check` works
// with: the instance's identity, the AWS clients, and the results it
// reports, with the helpers every kind's check shares (a bounded call, a
// DryRun that proves a permission, a failed Describe explained). Each kind's
// package writes its own check against it (resource.Kind.Preflight);
// internal/preflight runs them with the host-wide checks.
//
// Imported by internal/preflight and the resource kinds.
package probe

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/route53"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/config"
)

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

// Entry is one configured resource handed to its kind's check.
type Entry struct {
	// Where is its path in the configuration ("resources[2].eni"), for
	// fixes that name the setting to correct.
	Where  string
	Config config.Resource
}

// Probe is one run of the resource checks on this instance. Its methods
// are called from one goroutine.
type Probe struct {
	// Identity is this instance's, from IMDS.
	Identity awsapi.Identity
	// EC2 is the EC2 client; mutating calls are only ever sent with
	// DryRun set.
	EC2 *ec2.Client
	// Route53 is the Route 53 client; nil when the caller has none.
	Route53 *route53.Client
	// Timeout bounds each call (default 3s).
	Timeout time.Duration
	// Role is the ARN of the role whose credentials EC2 and Route53 carry
	// (the resources' assume-role); "" for the instance's own. Failures
	// name it, and the fix names the policy to extend.
	Role string

	results []Result
	memo    map[string][]string
}

// Results returns what the checks reported, in order.
func (p *Probe) Results() []Result { return p.results }

// Add reports a result.
func (p *Probe) Add(r Result) { p.results = append(p.results, r) }

// Fail reports a failed check with its fix.
func (p *Probe) Fail(check, detail, fix string) {
	p.Add(Result{Check: check, Status: Fail, Detail: detail, Fix: fix})
}

// Call runs one AWS call bounded by the check timeout.
func (p *Probe) Call(ctx context.Context, f func(ctx context.Context) error) error {
	t := p.Timeout
	if t <= 0 {
		t = 3 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, t)
	defer cancel()
	return f(ctx)
}

// Memo runs the check once per name and returns its first answer ever
// after, so that an object several resources name (a route table) is
// checked and reported once.
func (p *Probe) Memo(check string, f func(check string) []string) []string {
	if ids, ok := p.memo[check]; ok {
		return ids
	}
	if p.memo == nil {
		p.memo = map[string][]string{}
	}
	ids := f(check)
	p.memo[check] = ids
	return ids
}

// Principal names whose policy decides the calls: "the instance's role"
// or "role ARN".
func (p *Probe) Principal() string {
	if p.Role == "" {
		return "the instance's role"
	}
	return "role " + p.Role
}

// Policy is the command that prints the policy p's principal needs.
func (p *Probe) Policy() string {
	if p.Role == "" {
		return "`vipd iam-policy`"
	}
	return "`vipd iam-policy --role " + p.Role + "`"
}

// DescribeFailed reports a failed Describe call: a missing permission
// names the action, anything else is the error.
func (p *Probe) DescribeFailed(check, action string, err error) {
	if awsapi.IsCode(err, awsapi.CodeUnauthorizedOperation) {
		p.Fail(check, "not allowed: "+action+" is missing from "+p.Principal(),
			"add "+action+" on resource \"*\" to "+p.Principal()+" (see "+p.Policy()+")")
		return
	}
	if awsapi.IsAuthFailure(err) {
		p.Fail(check, "AWS rejected the credentials ("+awsapi.Code(err)+")", credentialsFix)
		return
	}
	p.Fail(check, err.Error(), "check the EC2 endpoint and network path to it")
}

// credentialsFix points at the credentials check, which says why AWS
// rejects the credentials and what to do.
const credentialsFix = "see the credentials check: AWS does not accept these credentials, whatever the role allows"

// DryRun proves permission for action on the EC2 object id of ARN type
// arnType (route-table, instance, volume, ...): f sends the call with
// DryRun set; DryRunOperation is allowed, UnauthorizedOperation is
// missing.
func (p *Probe) DryRun(ctx context.Context, action, arnType, id string, f func(ctx context.Context) error) {
	check := "permission " + action + " " + id
	err := p.Call(ctx, f)
	switch {
	case awsapi.IsCode(err, awsapi.CodeDryRunOperation):
		p.Add(Result{Check: check, Status: Pass, Detail: "allowed (DryRun)"})
	case awsapi.IsCode(err, awsapi.CodeUnauthorizedOperation):
		// EC2 authorizes a call against every resource it touches
		// (AttachVolume: the volume and the instance) and names the one
		// the policy does not allow.
		on, arn := id, fmt.Sprintf("arn:aws:ec2:%s:*:%s/%s", p.Identity.Region, arnType, id)
		if denied := deniedResource(err); denied != "" && !strings.HasSuffix(denied, "/"+id) {
			on, arn = denied, denied
		}
		p.Fail(check, "missing: "+p.Principal()+" does not allow "+action+" on "+on,
			"add "+action+" on "+arn+" to "+p.Principal()+" (see "+p.Policy()+")")
	case awsapi.IsAuthFailure(err):
		p.Fail(check, "could not be proven: AWS rejected the credentials ("+awsapi.Code(err)+")", credentialsFix)
	case err == nil:
		p.Fail(check, "the endpoint ignored DryRun and ran the call", "point aws.endpoint at EC2")
	default:
		p.Fail(check, "could not be proven: "+err.Error(), "fix the error above and run vipd check again")
	}
}

// deniedRE finds the resource an UnauthorizedOperation names: "User: …
// is not authorized to perform: ec2:AttachVolume on resource: <ARN>
// because …".
var deniedRE = regexp.MustCompile(`on resource: (arn:[^\s]+)`)

// deniedResource is the ARN err's denial names, "" when it names none.
func deniedResource(err error) string {
	if m := deniedRE.FindStringSubmatch(err.Error()); m != nil {
		return m[1]
	}
	return ""
}
