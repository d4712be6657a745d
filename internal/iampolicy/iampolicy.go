// Package iampolicy derives the least-privilege IAM policy a vipd node needs
// for its configuration (`vipd iam-policy`): Describe calls on "*", because
// EC2 supports no resource-level permissions for them; route writes on the
// configured route tables' ARNs, as overlay-IP failover policies scope
// them;
// ModifyInstanceAttribute on the nodes' instance ARNs when vipd turns the
// source/dest check off; and for the other kinds the writes they make on the
// objects they name (Elastic IP, ENI, volume, hosted zone), with the owner's
// interfaces and instances as wildcards or --instance ARNs.
//
// Each resource kind's package says what it needs (resource.Kind.Policy,
// through a Builder); For merges them. For overlay-route, eni, ebs-volume
// and elastic-ip every statement is one vipd or `vipd check` needs:
// removing any of them makes `vipd check` fail (tests in
// internal/preflight prove it against vpcsim's role model).
//
// Imported by cmd/vipd and by the resource kinds (for the Builder).
package iampolicy

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/vipd/vipd/internal/config"
)

// Options fill the ARNs; "" means any ("*"), which still scopes a route
// table ARN by its id.
type Options struct {
	// Partition is aws (default), aws-cn or aws-us-gov.
	Partition string
	// Region and Account of the resources.
	Region  string
	Account string
	// Instances are the nodes' instance ids; ModifyInstanceAttribute is
	// scoped to them. None means every instance of the account.
	Instances []string
	// VPC, for `route-tables: all`, limits route writes to that VPC's tables
	// with the ec2:Vpc condition key; "" allows every table of the account.
	VPC string
	// Role, when set, asks for the permission policy of that role (an
	// assume-role ARN of the configuration): the statements of the calls
	// made with its credentials. "" asks for the node's own policy: the
	// calls made with the instance's credentials, and sts:AssumeRole on
	// every role the configuration names.
	Role string
}

// Policy is an IAM policy document.
type Policy struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one Allow statement.
type Statement struct {
	Sid       string                       `json:"Sid"`
	Effect    string                       `json:"Effect"`
	Principal map[string]string            `json:"Principal,omitempty"`
	Action    []string                     `json:"Action"`
	Resource  []string                     `json:"Resource,omitempty"`
	Condition map[string]map[string]string `json:"Condition,omitempty"`
}

// JSON is the policy as `aws iam put-role-policy --policy-document` takes it.
func (p Policy) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode policy: %w", err)
	}
	return append(b, '\n'), nil
}

// ErrWitness is returned for a witness's configuration: it makes no AWS
// calls, so it needs no policy (and no instance profile).
var ErrWitness = errors.New("a witness makes no AWS calls: it needs no IAM policy")

// Kinds adds the statements one configured resource needs to b;
// *resource.Registry fits, by asking the resource's kind.
type Kinds interface {
	Policy(b *Builder, r config.Resource) error
}

// For returns the policy cfg's node needs (o.Role ""), or the policy of
// the role o.Role that some of its calls are made with: one statement of
// Describe calls on "*", then one statement per kind of write, each on the
// ARNs of the objects the configuration names (or, where the object is
// the owner's and unknown here, every one of its type). Each resource's
// kind says what it needs. The node's policy also allows sts:AssumeRole
// on every role the configuration names.
func For(cfg *config.Config, o Options, kinds Kinds) (Policy, error) {
	if cfg.Node.Witness {
		return Policy{}, ErrWitness
	}
	if o.Partition == "" {
		o.Partition = "aws"
	}
	roles := Roles(cfg)
	if o.Role != "" && !slices.Contains(roles, o.Role) {
		return Policy{}, fmt.Errorf("no resource or election of this configuration assumes role %q (it names %s)", o.Role, orNone(roles))
	}
	b := &Builder{o: o, actions: map[string][]string{}, resources: map[string][]string{}, conditions: map[string]map[string]map[string]string{}, tagged: map[string]string{}}
	for i, r := range cfg.Resources {
		if roleARN(r.Role(cfg.AWS.AssumeRole)) != o.Role {
			continue
		}
		if err := kinds.Policy(b, r); err != nil {
			return Policy{}, fmt.Errorf("resources[%d]: %w", i, err)
		}
	}
	if roleARN(cfg.LeaseRole()) == o.Role {
		b.election(cfg, o)
	}
	if o.Role == "" {
		b.fence(cfg)
		if len(roles) > 0 {
			b.Allow("VipdAssumeRole", []string{"sts:AssumeRole"}, roles...)
		}
	}
	return b.policy(), nil
}

// Roles returns the ARNs of the roles cfg's calls are made with, in the
// order the configuration first names them: the resources' (their own
// assume-role, else aws.assume-role) and the dynamodb election's.
func Roles(cfg *config.Config) []string {
	var out []string
	add := func(arn string) {
		if arn != "" && !slices.Contains(out, arn) {
			out = append(out, arn)
		}
	}
	for _, r := range cfg.Resources {
		add(roleARN(r.Role(cfg.AWS.AssumeRole)))
	}
	add(roleARN(cfg.LeaseRole()))
	return out
}

// Trust returns the trust policy role needs so that principal (the
// nodes' instance role ARN) may assume it, with the external ID the
// configuration passes, if any, as the sts:ExternalId condition.
func Trust(cfg *config.Config, role, principal string) (Policy, error) {
	var a *config.AssumeRole
	for _, r := range cfg.Resources {
		if x := r.AssumeRole; x != nil && x.RoleARN == role {
			a = x
		}
	}
	if x := cfg.AWS.AssumeRole; a == nil && x != nil && x.RoleARN == role {
		a = x
	}
	if x := cfg.LeaseRole(); a == nil && x != nil && x.RoleARN == role {
		a = x
	}
	if a == nil {
		return Policy{}, fmt.Errorf("no resource or election of this configuration assumes role %q (it names %s)", role, orNone(Roles(cfg)))
	}
	if principal == "" {
		return Policy{}, errors.New("the trust policy needs the nodes' role ARN as its principal")
	}
	st := Statement{Sid: "VipdNodesAssume", Effect: "Allow", Principal: map[string]string{"AWS": principal}, Action: []string{"sts:AssumeRole"}}
	if a.ExternalID != "" {
		st.Condition = map[string]map[string]string{"StringEquals": {"sts:ExternalId": a.ExternalID}}
	}
	return Policy{Version: "2012-10-17", Statement: []Statement{st}}, nil
}

// roleARN is a's ARN; "" for nil, the instance's own credentials.
func roleARN(a *config.AssumeRole) string {
	if a == nil {
		return ""
	}
	return a.RoleARN
}

func orNone(roles []string) string {
	if len(roles) == 0 {
		return "none"
	}
	return strings.Join(roles, ", ")
}

// Builder collects actions per statement, in the order statements are
// first needed. Statements with one Sid merge, whichever resources add to
// them.
type Builder struct {
	o          Options
	describes  []string
	sids       []string
	actions    map[string][]string
	resources  map[string][]string
	conditions map[string]map[string]map[string]string
	tagged     map[string]string // prefix and tag selector → its statement's Sid
}

// Tagged returns the Sid of the statement for the objects that tag
// selector tags finds (one statement per distinct selector, since its
// condition applies to the whole statement), with the condition that the
// object carries every tag: StringEquals on ec2:ResourceTag/<key>, or, for
// a tag with any value, Null false on it (the key is present). EC2
// supports ec2:ResourceTag/${TagKey} on the route-table, volume,
// network-interface, elastic-ip and instance resource types (Service
// Authorization Reference, "Actions, resources, and condition keys for
// Amazon EC2", resource types table:
// https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html).
func (b *Builder) Tagged(prefix string, tags []config.Tag) string {
	key := prefix + " " + config.TagsString(tags)
	if sid, ok := b.tagged[key]; ok {
		return sid
	}
	n := 1
	for k := range b.tagged {
		if strings.HasPrefix(k, prefix+" ") {
			n++
		}
	}
	sid := prefix + "Tagged"
	if n > 1 {
		sid += fmt.Sprint(n)
	}
	b.tagged[key] = sid
	for _, t := range tags {
		if t.Value == "" {
			b.Condition(sid, "Null", "ec2:ResourceTag/"+t.Key, "false")
			continue
		}
		op := "StringEquals"
		if strings.ContainsAny(t.Value, "*?") {
			// EC2's filter reads * and ? as wildcards; so does StringLike.
			op = "StringLike"
		}
		b.Condition(sid, op, "ec2:ResourceTag/"+t.Key, t.Value)
	}
	return sid
}

// Options are the ARNs' partition, region, account and scope.
func (b *Builder) Options() Options { return b.o }

// Describe adds read actions; they go into one statement on "*" because
// EC2 supports no resource-level permissions for Describe calls.
func (b *Builder) Describe(actions ...string) { b.describes = append(b.describes, actions...) }

// Allow adds actions on arns to statement sid.
func (b *Builder) Allow(sid string, actions []string, arns ...string) {
	if _, ok := b.actions[sid]; !ok {
		b.sids = append(b.sids, sid)
	}
	b.actions[sid] = append(b.actions[sid], actions...)
	b.resources[sid] = append(b.resources[sid], arns...)
}

// Condition adds a condition (operator, key, value) to statement sid.
func (b *Builder) Condition(sid, operator, key, value string) {
	if b.conditions[sid] == nil {
		b.conditions[sid] = map[string]map[string]string{}
	}
	if b.conditions[sid][operator] == nil {
		b.conditions[sid][operator] = map[string]string{}
	}
	b.conditions[sid][operator][key] = value
}

func (b *Builder) policy() Policy {
	p := Policy{Version: "2012-10-17"}
	if len(b.describes) > 0 {
		p.Statement = append(p.Statement, Statement{Sid: "VipdDescribe", Effect: "Allow",
			Action: sortedSet(b.describes), Resource: []string{"*"}})
	}
	for _, sid := range b.sids {
		st := Statement{Sid: sid, Effect: "Allow", Action: sortedSet(b.actions[sid]), Resource: subsume(sortedSet(b.resources[sid]))}
		if c := b.conditions[sid]; len(c) > 0 {
			st.Condition = c
		}
		p.Statement = append(p.Statement, st)
	}
	return p
}

func sortedSet(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

// subsume drops the ARNs a wildcard ARN of their type already covers
// (route-table/* covers route-table/rtb-0a…, as `route-tables: all` next
// to named tables gives).
func subsume(arns []string) []string {
	var wild []string
	for _, a := range arns {
		if strings.HasSuffix(a, "/*") {
			wild = append(wild, strings.TrimSuffix(a, "*"))
		}
	}
	return slices.DeleteFunc(arns, func(a string) bool {
		return !strings.HasSuffix(a, "/*") && slices.ContainsFunc(wild, func(w string) bool { return strings.HasPrefix(a, w) })
	})
}

// ARN is the EC2 ARN of the object of type kind (route-table, instance,
// ...) named id, in the options' partition, region and account ("*" for
// those not given).
func (o Options) ARN(kind, id string) string {
	return fmt.Sprintf("arn:%s:ec2:%s:%s:%s/%s", o.Partition, or(o.Region), or(o.Account), kind, id)
}

func or(s string) string {
	if s == "" {
		return "*"
	}
	return s
}

// InstanceARNs are the ARNs of the nodes' instances, or of every instance
// when none were named.
func (o Options) InstanceARNs() []string {
	if len(o.Instances) == 0 {
		return []string{o.ARN("instance", "*")}
	}
	out := make([]string, len(o.Instances))
	for i, id := range o.Instances {
		out[i] = o.ARN("instance", id)
	}
	slices.Sort(out)
	return out
}
