package ec2

import (
	"net/http"
	"net/url"

	"github.com/vipd/vipd/internal/vpcsim/iam"
)

// caller is who signed a request (package iam).
type caller = iam.Caller

func authFailure() *apiError {
	return errorf(http.StatusUnauthorized, "AuthFailure", "%s", iam.ErrAuthFailure.Error())
}

// authenticate names the caller of an EC2 call and checks its signature;
// EC2 answers every failure with AuthFailure (401).
func (s *Account) authenticate(hr *http.Request, form url.Values, body []byte) (caller, *apiError) {
	c, err := s.opts.IAM.Authenticate(hr, form, body)
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

// authorize evaluates the caller's role policy for ec2:<Action> on the
// action's resource (package iam).
func (s *Account) authorize(req *request, spec actionSpec) error {
	if req.caller.Admin {
		return nil
	}
	s.mu.Lock()
	st := s.regionLocked(req.region)
	resource := "*"
	if spec.resource != nil {
		resource = spec.resource(st, req)
	}
	rl := s.st.roles[req.caller.Role]
	account := st.account
	s.mu.Unlock()

	action := "ec2:" + req.action
	if rl != nil && iam.Allows(rl.stmts, action, resource) {
		return nil
	}
	return errorf(http.StatusForbidden, "UnauthorizedOperation", "%s", iam.Denial(account, req.caller, action, resource))
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
	return rl != nil && iam.Allows(rl.stmts, action, resource), s.st.account
}
