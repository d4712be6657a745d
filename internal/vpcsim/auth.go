package vpcsim

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// caller is who signed a request: the admin key, or an instance's role.
type caller struct {
	admin    bool
	instance string
	role     string
}

func (c caller) name() string {
	switch {
	case c.admin:
		return "admin"
	case c.instance != "":
		return c.instance
	default:
		return "unknown"
	}
}

// accessKeyOf reads the access key ID from a SigV4 Authorization header
// (Credential=AKID/date/region/service/aws4_request) or from a presigned
// request's X-Amz-Credential parameter.
func accessKeyOf(hr *http.Request, form url.Values) string {
	cred := ""
	if auth := hr.Header.Get("Authorization"); auth != "" {
		if _, rest, ok := strings.Cut(auth, "Credential="); ok {
			cred = rest
		}
	} else {
		cred = form.Get("X-Amz-Credential")
	}
	key, _, _ := strings.Cut(cred, "/")
	return strings.TrimSpace(key)
}

func authFailure() *apiError {
	return errorf(http.StatusUnauthorized, "AuthFailure", "AWS was not able to validate the provided access credentials")
}

// authenticate maps the request's access key to a caller and verifies the
// SigV4 signature with that key's secret (unless SkipSignatureCheck); an
// instance key must come with that instance's session token. EC2 answers
// every such failure with AuthFailure (401).
func (s *Server) authenticate(hr *http.Request, form url.Values, body []byte) (caller, *apiError) {
	key := accessKeyOf(hr, form)
	if key == "" {
		return caller{}, authFailure()
	}
	if key == s.opts.AdminAccessKeyID {
		if err := s.checkSignature(hr, body, s.opts.AdminSecretAccessKey); err != nil {
			return caller{}, err
		}
		return caller{admin: true}, nil
	}
	token := hr.Header.Get("X-Amz-Security-Token")
	if token == "" {
		token = form.Get("X-Amz-Security-Token")
	}
	c := s.identify(key)
	switch {
	case c.instance != "":
		_, secret, tok := s.credentialsFor(c.instance)
		if tok != token {
			return caller{}, authFailure()
		}
		if err := s.checkSignature(hr, body, secret); err != nil {
			return caller{}, err
		}
		return c, nil
	case c.admin:
		return c, nil
	}
	return caller{}, authFailure()
}

// identify maps an access key to its caller without checking anything
// else: the admin key, an instance role's key, or, with AnyAccessKey, any
// other key as the admin; the zero caller otherwise.
func (s *Server) identify(key string) caller {
	if key == "" {
		return caller{}
	}
	if key == s.opts.AdminAccessKeyID {
		return caller{admin: true}
	}
	// Find the instance under the lock; hash outside it.
	type cand struct{ id, role string }
	s.mu.Lock()
	var cands []cand
	for _, in := range s.st.insts {
		if in.role != "" {
			cands = append(cands, cand{in.id, in.role})
		}
	}
	s.mu.Unlock()
	for _, in := range cands {
		if ak, _, _ := s.credentialsFor(in.id); ak == key {
			return caller{instance: in.id, role: in.role}
		}
	}
	if s.opts.AnyAccessKey {
		return caller{admin: true}
	}
	return caller{}
}

func (s *Server) checkSignature(hr *http.Request, body []byte, secret string) *apiError {
	if s.opts.SkipSignatureCheck {
		return nil
	}
	if err := verifySigV4(hr, body, secret); err != nil {
		s.log.Debug("signature rejected", "reason", err.Error())
		return authFailure()
	}
	return nil
}

// authorize evaluates the caller's role policy for ec2:<Action> on the
// action's resource. Only Allow statements exist, so anything not allowed is
// denied, as IAM's implicit deny.
func (s *Server) authorize(req *request, spec actionSpec) error {
	if req.caller.admin {
		return nil
	}
	s.mu.Lock()
	st := s.st
	resource := "*"
	if spec.resource != nil {
		resource = spec.resource(st, req)
	}
	rl := st.roles[req.caller.role]
	account := st.account
	s.mu.Unlock()

	action := "ec2:" + req.action
	if rl != nil && rl.allows(action, resource) {
		return nil
	}
	principal := "arn:aws:sts::" + account + ":assumed-role/" + req.caller.role + "/" + req.caller.instance
	// AWS encodes the decision context; sts:DecodeAuthorizationMessage
	// decodes it. Here it is base64 JSON, readable with base64 -d.
	detail, _ := json.Marshal(map[string]any{
		"allowed": false, "explicitDeny": false,
		"matchedStatements": map[string]any{"items": []any{}},
		"context":           map[string]any{"principal": map[string]string{"arn": principal}, "action": action, "resource": resource},
	})
	return errorf(http.StatusForbidden, "UnauthorizedOperation",
		"You are not authorized to perform this operation. User: %s is not authorized to perform: %s on resource: %s because no identity-based policy allows the %s action. Encoded authorization failure message: %s",
		principal, action, resource, action, base64.RawURLEncoding.EncodeToString(detail))
}

func (r *role) allows(action, resource string) bool {
	for _, st := range r.stmts {
		if !matchAny(st.Actions, action, true) {
			continue
		}
		if len(st.Resources) == 0 || matchAny(st.Resources, resource, false) {
			return true
		}
	}
	return false
}

func matchAny(patterns []string, s string, fold bool) bool {
	for _, p := range patterns {
		if fold {
			if glob(strings.ToLower(p), strings.ToLower(s)) {
				return true
			}
		} else if glob(p, s) {
			return true
		}
	}
	return false
}

// glob matches * (any run) and ? (one character), as IAM policies and EC2
// filter values do. Nothing else is special.
func glob(pattern, s string) bool {
	px, sx := 0, 0
	nextPx, nextSx := -1, -1
	for px < len(pattern) || sx < len(s) {
		if px < len(pattern) {
			switch c := pattern[px]; c {
			case '*':
				nextPx, nextSx = px, sx+1
				px++
				continue
			case '?':
				if sx < len(s) {
					px++
					sx++
					continue
				}
			default:
				if sx < len(s) && s[sx] == c {
					px++
					sx++
					continue
				}
			}
		}
		if nextSx > 0 && nextSx <= len(s) {
			px, sx = nextPx, nextSx
			continue
		}
		return false
	}
	return true
}
