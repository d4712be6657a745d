package vpcsim

import (
	"net/http"
	"net/url"

	"github.com/vipd/vipd/internal/vpcsim/faults"
	"github.com/vipd/vipd/internal/vpcsim/iam"
	"github.com/vipd/vipd/internal/vpcsim/sts"
)

// stsHandler serves STS (package sts) on POST / for requests signed for
// the sts service, behind the faults middleware and the shared
// authentication: an unknown key is InvalidClientTokenId (403), an
// expired session ExpiredToken (400) (STS API reference, "Common
// Errors"). STS authorizes each action itself: AssumeRole against the
// caller's policy and the role's trust, GetCallerIdentity never.
func (s *Server) stsHandler() http.Handler {
	svc := sts.New(sts.Options{
		Authority: s.iam,
		Role: func(arn string) (sts.Role, bool) {
			r, ok := s.ec2.Role(arn)
			return sts.Role{Name: r.Name, Account: r.Account, Trust: r.Trust, Lifetime: r.Lifetime}, ok
		},
		Allows:  s.ec2.Allows,
		Account: s.ec2.CallerAccount,
	})
	a := access{
		AuthFailure: func() *faults.APIError {
			return &faults.APIError{Status: http.StatusForbidden, Code: "InvalidClientTokenId", Message: "The security token included in the request is invalid."}
		},
		Expired: func() *faults.APIError {
			return &faults.APIError{Status: http.StatusBadRequest, Code: "ExpiredToken", Message: iam.ErrExpired.Error()}
		},
	}
	form := func(r *http.Request) url.Values {
		if call, ok := r.Context().Value(accessKey{}).(*accessCall); ok {
			v, _ := url.ParseQuery(string(call.body))
			return v
		}
		return url.Values{}
	}
	fs := faults.Service{
		Name:      "sts",
		Identify:  s.identify(a),
		Principal: principalOf(s),
		Action:    func(r *http.Request) string { return sts.Action(form(r)) },
		WriteError: func(w http.ResponseWriter, r *http.Request, e *faults.APIError) {
			sts.WriteError(w, e)
		},
	}
	return s.inj.Wrap(fs, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		call, ok := r.Context().Value(accessKey{}).(*accessCall)
		if !ok {
			sts.WriteError(w, a.AuthFailure())
			return
		}
		svc.Serve(w, call.caller, form(r))
	}))
}
