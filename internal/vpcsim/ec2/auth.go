package ec2

import (
	"errors"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/vipd/vipd/internal/vpcsim/iam"
)

// caller is who signed a request (package iam).
type caller = iam.Caller

func authFailure() *apiError {
	return errorf(http.StatusUnauthorized, "AuthFailure", "%s", iam.ErrAuthFailure.Error())
}

// authenticate names the caller of an EC2 call and checks its signature;
// EC2 answers expired temporary credentials with RequestExpired (400) and
// every other failure with AuthFailure (401) (EC2 API reference, "Error
// codes": RequestExpired "can also occur if the credentials have
// expired").
func (s *Account) authenticate(hr *http.Request, form url.Values, body []byte) (caller, *apiError) {
	c, err := s.opts.IAM.Authenticate(hr, form, body)
	if errors.Is(err, iam.ErrExpired) {
		return caller{}, errorf(http.StatusBadRequest, "RequestExpired", "Request has expired.")
	}
	if err != nil {
		return caller{}, authFailure()
	}
	return c, nil
}

// InstanceRoles lists the instances that have a role, for package iam.
func (s *Account) InstanceRoles() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for _, in := range s.st.insts {
		if in.role != "" {
			out[in.id] = in.role
		}
	}
	return out
}

// authorize evaluates the caller's role policy for ec2:<Action> on each
// resource the action touches (package iam), with its tags for
// ec2:ResourceTag conditions: one that is not allowed denies the call,
// naming that resource, as IAM does.
func (s *Account) authorize(req *request, spec actionSpec) error {
	if req.caller.Admin {
		return nil
	}
	s.mu.Lock()
	st := s.regionLocked(req.region)
	resources := []string{"*"}
	if spec.resources != nil {
		resources = spec.resources(st, req)
	}
	// ec2:ResourceTag conditions read the resources' tags as they are now.
	tags := make([]map[string]string, len(resources))
	for i, res := range resources {
		if j := strings.LastIndexByte(res, '/'); j >= 0 {
			if t, _, ok := st.taggable(res[j+1:]); ok {
				tags[i] = maps.Clone(t)
			}
		}
	}
	rl := s.st.roles[req.caller.Role]
	account, acting := st.account, st.callerAccount(req.caller)
	s.mu.Unlock()

	action := "ec2:" + req.action
	for i, resource := range resources {
		// An identity policy grants nothing on another account's
		// resource: EC2 resources have no resource policy to let that
		// account in.
		if rl == nil || !iam.Allows(rl.stmts, action, resource, tags[i]) || (resource != "*" && arnAccount(resource) != acting) {
			return errorf(http.StatusForbidden, "UnauthorizedOperation", "%s", iam.Denial(account, req.caller, action, resource))
		}
	}
	return nil
}

// arnAccount is the account field of an ARN (arn:aws:ec2:region:account:...).
func arnAccount(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[4]
}

// RoleInfo is what sts:AssumeRole needs to know of a role.
type RoleInfo struct {
	Name     string
	Account  string
	Trust    *Trust
	Lifetime time.Duration
}

// Role looks a role up by its ARN (arn:aws:iam::<account>:role/<name>).
func (s *Account) Role(arn string) (RoleInfo, bool) {
	rest, ok := strings.CutPrefix(arn, "arn:aws:iam::")
	if !ok {
		return RoleInfo{}, false
	}
	acct, name, ok := strings.Cut(rest, ":role/")
	if !ok {
		return RoleInfo{}, false
	}
	if i := strings.LastIndexByte(name, '/'); i >= 0 { // a role path
		name = name[i+1:]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rl := s.st.roles[name]
	if rl == nil {
		return RoleInfo{}, false
	}
	own := rl.account
	if own == "" {
		own = s.st.account
	}
	if own != acct {
		return RoleInfo{}, false
	}
	return RoleInfo{Name: rl.name, Account: own, Trust: rl.trust, Lifetime: rl.lifetime}, true
}

// Allows reports whether the caller may do action ("dynamodb:PutItem")
// on resource, by its role's statements, for the services that share the
// account's roles (package iam); the admin may do anything. It also
// returns the account's ID, for a denial's message.
func (s *Account) Allows(c caller, action, resource string) (bool, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.Admin {
		return true, s.st.account
	}
	rl := s.st.roles[c.Role]
	acct := arnAccount(resource)
	// A role's trust policy, not this rule, lets another account in
	// (sts:AssumeRole on an IAM role's ARN).
	inAccount := resource == "*" || acct == "" || acct == s.st.callerAccount(c) || strings.HasPrefix(resource, "arn:aws:iam::")
	return rl != nil && inAccount && iam.Allows(rl.stmts, action, resource, nil), s.st.account
}

// CallerAccount is the account c acts in: an assumed role's, or this one.
func (s *Account) CallerAccount(c caller) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.callerAccount(c)
}
