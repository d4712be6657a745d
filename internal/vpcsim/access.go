package vpcsim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/vipd/vipd/internal/vpcsim/faults"
	"github.com/vipd/vipd/internal/vpcsim/iam"
)

// access is how a service other than EC2 meets vpcsim's IAM, the one path
// Route 53, DynamoDB and SSM share: the caller's SigV4 signature is
// checked with its key's secret (the admin key, or an instance role's
// credentials from IMDS), and its role must allow <Prefix>:<Action> on
// the call's resource, as for EC2 (whose Query protocol keeps its own
// path in package ec2, over the same iam.Authority and roles).
//
// It simplifies: an unknown key and a bad signature get one answer (the
// service's invalid-token error; AWS tells InvalidSignatureException and
// SignatureDoesNotMatch apart), and a call that names no single resource
// (ListTables, BatchWriteItem, GetParameters) is authorized on "*".
type access struct {
	// Prefix is the service's IAM prefix ("dynamodb").
	Prefix string
	// Action names the call's action ("PutItem").
	Action func(r *http.Request) string
	// Resource is the ARN the call acts on, "*" when it names none.
	Resource func(r *http.Request, body []byte) string
	// AuthFailure and Denied are the service's answers to credentials it
	// cannot validate and to an action the role does not allow.
	AuthFailure func() *faults.APIError
	Denied      func(msg string) *faults.APIError
	// Expired answers a role session's credentials used after they
	// expired.
	Expired func() *faults.APIError
}

// accessKey carries what identify learned to authorize.
type accessKey struct{}

type accessCall struct {
	caller iam.Caller
	body   []byte
}

// maxServiceBody bounds the body a JSON or XML call may carry.
const maxServiceBody = 1 << 20

// identify authenticates the caller; the faults middleware answers a
// failure at once, before any fault, as AWS does.
func (s *Server) identify(a access) func(r *http.Request) (*http.Request, string, *faults.APIError) {
	return func(r *http.Request) (*http.Request, string, *faults.APIError) {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxServiceBody+1))
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err != nil || len(body) > maxServiceBody {
			return r, "unknown", &faults.APIError{Status: http.StatusBadRequest, Code: "SerializationException", Message: "could not read the request body"}
		}
		c, err := s.iam.Authenticate(r, r.URL.Query(), body)
		if errors.Is(err, iam.ErrExpired) && a.Expired != nil {
			return r, c.Name(), a.Expired()
		}
		if err != nil {
			return r, c.Name(), a.AuthFailure()
		}
		return r.WithContext(context.WithValue(r.Context(), accessKey{}, &accessCall{caller: c, body: body})), c.Name(), nil
	}
}

// authorize answers whether the caller's role allows the call.
func (s *Server) authorize(a access, r *http.Request) error {
	call, ok := r.Context().Value(accessKey{}).(*accessCall)
	if !ok {
		return a.AuthFailure()
	}
	action, resource := a.Prefix+":"+a.Action(r), a.Resource(r, call.body)
	allowed, account := s.ec2.Allows(call.caller, action, resource)
	if allowed {
		return nil
	}
	return a.Denied(iam.NotAuthorized(account, call.caller, action, resource))
}

// principal names the signer of a call identify passed on, for the call
// log.
func principalOf(s *Server) func(r *http.Request) string {
	return func(r *http.Request) string {
		if call, ok := r.Context().Value(accessKey{}).(*accessCall); ok && call.caller.Role != "" {
			return call.caller.Principal(s.ec2.AccountID())
		}
		return ""
	}
}

// withAccess makes svc authenticate and authorize every call by a: the
// faults middleware identifies the caller, holds only calls the role
// allows for a late write, and next runs only for those.
func (s *Server) withAccess(svc faults.Service, a access, next http.Handler) http.Handler {
	svc.Identify = s.identify(a)
	svc.Principal = principalOf(s)
	svc.Check = func(r *http.Request) error { return s.authorize(a, r) }
	return s.inj.Wrap(svc, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.authorize(a, r); err != nil {
			var e *faults.APIError
			if errors.As(err, &e) {
				svc.WriteError(w, r, e)
				return
			}
		}
		next.ServeHTTP(w, r)
	}))
}

// jsonField reads a string field of a JSON request body ("" if absent).
func jsonField(body []byte, name string) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return ""
	}
	var v string
	if json.Unmarshal(m[name], &v) != nil {
		return ""
	}
	return v
}

// dynamoDBAccess is DynamoDB's: a table's calls act on
// arn:aws:dynamodb:<region>:<account>:table/<TableName>, a Query or Scan
// of an index on .../table/<TableName>/index/<IndexName> (Developer Guide,
// "IAM policy to grant access to a specific DynamoDB table and its
// indexes" grants "table/Books/index/*" beside "table/Books"); an unknown
// key is UnrecognizedClientException, a denial AccessDeniedException,
// both HTTP 400 (DynamoDB developer guide, "Error handling with
// DynamoDB").
func (s *Server) dynamoDBAccess(action func(*http.Request) string) access {
	a := s.jsonAccess("dynamodb", action, "TableName", func(t string) string { return "table/" + t })
	table := a.Resource
	a.Resource = func(r *http.Request, body []byte) string {
		arn := table(r, body)
		if ix := jsonField(body, "IndexName"); ix != "" && arn != "*" {
			arn += "/index/" + ix
		}
		return arn
	}
	return a
}

// ssmAccess is SSM's: a parameter's calls act on
// arn:aws:ssm:<region>:<account>:parameter/<name without its leading
// slash>; errors as DynamoDB's (SSM API reference, "Common Errors").
func (s *Server) ssmAccess(action func(*http.Request) string) access {
	return s.jsonAccess("ssm", action, "Name", func(n string) string { return "parameter/" + strings.TrimPrefix(n, "/") })
}

// jsonAccess is a JSON protocol service's: the call acts on
// arn:aws:<prefix>:<region>:<account>:<resource(the body's field)>, the
// region being the request's (its SigV4 scope; the server's when
// unsigned), or "*" without that field.
func (s *Server) jsonAccess(prefix string, action func(*http.Request) string, field string, resource func(string) string) access {
	return access{
		Prefix: prefix, Action: action,
		Resource: func(r *http.Request, body []byte) string {
			if v := jsonField(body, field); v != "" {
				region, _ := iam.Scope(r)
				if region == "" {
					region = s.ec2.Region()
				}
				return "arn:aws:" + prefix + ":" + region + ":" + s.ec2.AccountID() + ":" + resource(v)
			}
			return "*"
		},
		AuthFailure: jsonAuthFailure,
		Denied:      jsonDenied,
		Expired: func() *faults.APIError {
			return &faults.APIError{Status: http.StatusBadRequest, Code: "ExpiredTokenException", Message: iam.ErrExpired.Error()}
		},
	}
}

// route53Access is Route 53's: a hosted zone's calls act on
// arn:aws:route53:::hostedzone/<Id>, GetChange on
// arn:aws:route53:::change/<Id>; an unknown key is InvalidClientTokenId
// and a denial AccessDenied, both HTTP 403 (Route 53 API reference,
// "Common Errors").
func (s *Server) route53Access(action func(*http.Request) string) access {
	return access{
		Prefix: "route53", Action: action,
		Resource: func(r *http.Request, _ []byte) string {
			parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/2013-04-01/"), "/")
			if len(parts) >= 2 && (parts[0] == "hostedzone" || parts[0] == "change" || parts[0] == "healthcheck") && parts[1] != "" {
				return "arn:aws:route53:::" + parts[0] + "/" + parts[1]
			}
			return "*"
		},
		AuthFailure: func() *faults.APIError {
			return &faults.APIError{Status: http.StatusForbidden, Code: "InvalidClientTokenId", Message: "The security token included in the request is invalid."}
		},
		Denied: func(msg string) *faults.APIError {
			return &faults.APIError{Status: http.StatusForbidden, Code: "AccessDenied", Message: msg}
		},
		Expired: func() *faults.APIError {
			return &faults.APIError{Status: http.StatusForbidden, Code: "ExpiredToken", Message: iam.ErrExpired.Error()}
		},
	}
}

func jsonAuthFailure() *faults.APIError {
	return &faults.APIError{Status: http.StatusBadRequest, Code: "UnrecognizedClientException", Message: "The security token included in the request is invalid."}
}

func jsonDenied(msg string) *faults.APIError {
	return &faults.APIError{Status: http.StatusBadRequest, Code: "AccessDeniedException", Message: msg}
}
