// Package iam is vpcsim's identity and access part: who signed a request
// (the admin key, an instance role's credentials, or a role session's
// temporary credentials from sts:AssumeRole, with SigV4 signatures
// checked), which credentials an instance's role gets, whether a role's
// allow list permits an action on a resource, and whether a role's trust
// policy lets a principal assume it.
//
// It keeps no account state: the instances with roles come from
// Options.Roles, read when a key must be matched. The one state it keeps
// is the role sessions it issued (Issue), until they expire. Only package
// vpcsim and its parts import iam.
package iam

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// Caller is who signed a request: the admin key, an instance's role, or a
// session of a role assumed with sts:AssumeRole.
type Caller struct {
	Admin bool
	// Instance is the instance whose role signed, or, for a role session,
	// the instance that assumed the role ("" when the admin did).
	Instance string
	// Role is the role whose allow list applies: the instance's, or the
	// assumed role.
	Role string
	// Session is the role session's name (RoleSessionName); "" for an
	// instance's own role.
	Session string
	// Account owns the assumed role; "" for an instance's role, which
	// belongs to the world's account.
	Account string
}

// Name is "admin", the instance ID, or "unknown". A role session is named
// by the instance that assumed the role, so that a fault aimed at an
// instance (cut off from the API) covers its assumed-role calls too; its
// Principal tells them apart in the call log.
func (c Caller) Name() string {
	switch {
	case c.Admin:
		return "admin"
	case c.Instance != "":
		return c.Instance
	case c.Session != "":
		return "admin" // a session the admin started
	default:
		return "unknown"
	}
}

// Principal is the caller's ARN as AWS names it in CloudTrail and in
// denials: arn:aws:sts::<account>:assumed-role/<role>/<session>, where an
// instance's role session is named by the instance ID; account is the
// world's, used when the caller's own is not known. The admin is its
// account's root user.
func (c Caller) Principal(account string) string {
	if c.Admin {
		return "arn:aws:iam::" + account + ":root"
	}
	return principal(account, c)
}

// Statement allows Actions ("ec2:ReplaceRoute", wildcards * and ?) on
// Resources (ARN patterns; empty means "*"), when its Condition holds.
type Statement struct {
	Actions   []string `yaml:"actions,omitempty" json:"actions"`
	Resources []string `yaml:"resources,omitempty" json:"resources,omitempty"`
	// Condition is operator → condition key → value, as in an IAM policy.
	// vpcsim evaluates StringEquals on ec2:ResourceTag/<key>, the tag the
	// resource carries (EC2 user guide, "Control access to EC2 resources
	// using resource tags"); any other key is absent from its request
	// context, and IAM's StringEquals on an absent key does not match
	// (IAM user guide, "Condition operators"), so such a statement allows
	// nothing. Operators other than StringEquals are refused when the
	// world is loaded (Validate).
	Condition map[string]map[string]string `yaml:"condition,omitempty" json:"condition,omitempty"`
}

// ResourceTagKey prefixes the condition key of a resource's tag.
const ResourceTagKey = "ec2:ResourceTag/"

// Validate reports a condition vpcsim cannot evaluate as IAM would.
func (st Statement) Validate() error {
	for op := range st.Condition {
		if op != "StringEquals" {
			return fmt.Errorf("condition operator %s is not modelled (only StringEquals)", op)
		}
	}
	return nil
}

// holds reports whether st's condition holds for a resource with tags.
func (st Statement) holds(tags map[string]string) bool {
	for _, kv := range st.Condition { // StringEquals (Validate)
		for k, want := range kv {
			// Condition key names are case-insensitive; tag keys are
			// not.
			if len(k) < len(ResourceTagKey) || !strings.EqualFold(k[:len(ResourceTagKey)], ResourceTagKey) {
				return false
			}
			got, ok := tags[k[len(ResourceTagKey):]]
			if !ok || got != want {
				return false
			}
		}
	}
	return true
}

// Options configures an Authority.
type Options struct {
	// AdminAccessKeyID and AdminSecretAccessKey are the key that may do
	// anything.
	AdminAccessKeyID     string
	AdminSecretAccessKey string
	// AnyAccessKey lets an unknown access key act as the admin.
	AnyAccessKey bool
	// SkipSignatureCheck accepts any signature of a known key.
	SkipSignatureCheck bool
	// Roles returns the instances that have a role, instance ID → role
	// name, as of now.
	Roles func() map[string]string
	// Logger receives rejected signatures at debug level; default
	// discards.
	Logger *slog.Logger
}

// Authority authenticates callers, derives instance credentials and issues
// role sessions. It is safe for concurrent use.
type Authority struct {
	opts Options
	salt string // makes instance credentials unguessable yet stable across resets

	mu       sync.Mutex
	sessions map[string]*session // by access key ID
}

// New returns an Authority whose instance credentials are new for this
// process.
func New(opts Options) *Authority {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return &Authority{opts: opts, salt: hex.EncodeToString(b), sessions: map[string]*session{}}
}

// ErrAuthFailure reports credentials that do not authenticate: an unknown
// key, a wrong session token, or a bad signature. EC2 answers all of them
// with AuthFailure (401).
var ErrAuthFailure = errors.New("AWS was not able to validate the provided access credentials")

// Credentials derives an instance's role credentials. They identify the
// instance (the access key ID maps back to it) and survive world reloads.
func (a *Authority) Credentials(instanceID string) (accessKeyID, secret, token string) {
	h := sha256.Sum256([]byte(a.salt + "/" + instanceID))
	hx := strings.ToUpper(hex.EncodeToString(h[:]))
	accessKeyID = "ASIA" + hx[:16]
	secret = hex.EncodeToString(h[8:28])
	t := sha256.Sum256([]byte("token/" + a.salt + "/" + instanceID))
	token = "IQoJb3JpZ2luX2VjE" + hex.EncodeToString(t[:])
	return accessKeyID, secret, token
}

// AccessKey reads the access key ID from a SigV4 Authorization header
// (Credential=AKID/date/region/service/aws4_request) or from a presigned
// request's X-Amz-Credential parameter.
func AccessKey(hr *http.Request, form url.Values) string {
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

// Identify maps an access key to its caller without checking anything
// else: the admin key, an instance role's key, or, with AnyAccessKey, any
// other key as the admin; the zero Caller otherwise.
func (a *Authority) Identify(key string) Caller {
	if key == "" {
		return Caller{}
	}
	if key == a.opts.AdminAccessKeyID {
		return Caller{Admin: true}
	}
	a.mu.Lock()
	ss := a.sessions[key]
	a.mu.Unlock()
	if ss != nil {
		return ss.caller
	}
	for id, role := range a.opts.Roles() {
		if ak, _, _ := a.Credentials(id); ak == key {
			return Caller{Instance: id, Role: role}
		}
	}
	if a.opts.AnyAccessKey {
		return Caller{Admin: true}
	}
	return Caller{}
}

// Authenticate maps the request's access key to a caller and verifies the
// SigV4 signature with that key's secret (unless SkipSignatureCheck); an
// instance key must come with that instance's session token. body is the
// request's body, for the payload hash.
func (a *Authority) Authenticate(hr *http.Request, form url.Values, body []byte) (Caller, error) {
	key := AccessKey(hr, form)
	if key == "" {
		return Caller{}, ErrAuthFailure
	}
	if key == a.opts.AdminAccessKeyID {
		if err := a.checkSignature(hr, body, a.opts.AdminSecretAccessKey); err != nil {
			return Caller{}, err
		}
		return Caller{Admin: true}, nil
	}
	token := hr.Header.Get("X-Amz-Security-Token")
	if token == "" {
		token = form.Get("X-Amz-Security-Token")
	}
	if c, secret, err := a.sessionCaller(key, token); c != nil || err != nil {
		if err != nil {
			return Caller{}, err
		}
		if err := a.checkSignature(hr, body, secret); err != nil {
			return Caller{}, err
		}
		return *c, nil
	}
	c := a.Identify(key)
	switch {
	case c.Instance != "":
		_, secret, tok := a.Credentials(c.Instance)
		if tok != token {
			return Caller{}, ErrAuthFailure
		}
		if err := a.checkSignature(hr, body, secret); err != nil {
			return Caller{}, err
		}
		return c, nil
	case c.Admin:
		return c, nil
	}
	return Caller{}, ErrAuthFailure
}

func (a *Authority) checkSignature(hr *http.Request, body []byte, secret string) error {
	if a.opts.SkipSignatureCheck {
		return nil
	}
	if err := verifySigV4(hr, body, secret); err != nil {
		a.opts.Logger.Debug("signature rejected", "reason", err.Error())
		return ErrAuthFailure
	}
	return nil
}

// Allows reports whether statements allow action on resource, which
// carries tags (nil: none, or a service whose resources vpcsim does not
// tag). Only Allow statements exist, so anything not allowed is denied,
// as IAM's implicit deny. Actions match without regard to case, resources
// with it.
func Allows(stmts []Statement, action, resource string, tags map[string]string) bool {
	for _, st := range stmts {
		if !matchAny(st.Actions, action, true) {
			continue
		}
		if (len(st.Resources) == 0 || matchAny(st.Resources, resource, false)) && st.holds(tags) {
			return true
		}
	}
	return false
}

// Denial words an implicit deny as AWS does in UnauthorizedOperation,
// with the encoded decision context that sts:DecodeAuthorizationMessage
// would decode (here base64 JSON, readable with base64 -d).
func Denial(account string, c Caller, action, resource string) string {
	detail, _ := json.Marshal(map[string]any{
		"allowed": false, "explicitDeny": false,
		"matchedStatements": map[string]any{"items": []any{}},
		"context":           map[string]any{"principal": map[string]string{"arn": principal(account, c)}, "action": action, "resource": resource},
	})
	return fmt.Sprintf("You are not authorized to perform this operation. %s. Encoded authorization failure message: %s",
		NotAuthorized(account, c, action, resource), base64.RawURLEncoding.EncodeToString(detail))
}

// NotAuthorized words an implicit deny as AWS's services other than EC2
// do in AccessDeniedException (DynamoDB, SSM) and AccessDenied (Route
// 53): "User: <assumed role ARN> is not authorized to perform: <action>
// on resource: <ARN> because no identity-based policy allows the <action>
// action".
func NotAuthorized(account string, c Caller, action, resource string) string {
	return fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s because no identity-based policy allows the %s action",
		principal(account, c), action, resource, action)
}

// principal is the assumed-role ARN of a role session: an instance's
// (named by the instance ID) or one from sts:AssumeRole.
func principal(account string, c Caller) string {
	if c.Session != "" {
		return "arn:aws:sts::" + c.Account + ":assumed-role/" + c.Role + "/" + c.Session
	}
	return "arn:aws:sts::" + account + ":assumed-role/" + c.Role + "/" + c.Instance
}

func matchAny(patterns []string, s string, fold bool) bool {
	for _, p := range patterns {
		if fold {
			if Glob(strings.ToLower(p), strings.ToLower(s)) {
				return true
			}
		} else if Glob(p, s) {
			return true
		}
	}
	return false
}

// Glob matches * (any run) and ? (one character), as IAM policies and EC2
// filter values do. Nothing else is special.
func Glob(pattern, s string) bool {
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

// Scope reads the region and service of a request's SigV4 credential
// scope (Credential=AKID/date/region/service/aws4_request), in the
// Authorization header or, when presigned, X-Amz-Credential; both "" when
// unsigned. Every regional service of vpcsim keeps its state by this
// region, as AWS serves each region apart.
func Scope(hr *http.Request) (region, service string) {
	cred := hr.URL.Query().Get("X-Amz-Credential")
	if a := hr.Header.Get("Authorization"); a != "" {
		_, rest, ok := strings.Cut(a, "Credential=")
		if !ok {
			return "", ""
		}
		cred, _, _ = strings.Cut(rest, ",")
	}
	parts := strings.Split(strings.TrimSpace(cred), "/")
	if len(parts) != 5 {
		return "", ""
	}
	return parts[2], parts[3]
}
