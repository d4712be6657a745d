// Package sts is vpcsim's AWS Security Token Service: AssumeRole and
// GetCallerIdentity over STS's Query protocol (form-encoded Action=...,
// XML answers in the https://sts.amazonaws.com/doc/2011-06-15/ namespace),
// as the STS API reference describes them.
//
// It models what vipd's cross-account access needs: a role's trust
// policy (which principals may assume it, the external ID it requires),
// the caller's own permission for sts:AssumeRole on the role's ARN (both
// must allow, as for a cross-account role; AWS lets a same-account trust
// policy that names the role alone suffice), DurationSeconds within 900 s
// and the role's maximum session (3600 s), and temporary credentials that
// expire (a role's SessionLifetime in the world shortens them so tests see
// a refresh). It omits session policies, tags, MFA, source identity and
// role chaining limits. The credentials themselves are package iam's.
//
// Only package vpcsim imports sts.
package sts

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/vipd/vipd/internal/vpcsim/faults"
	"github.com/vipd/vipd/internal/vpcsim/iam"
)

// Namespace is STS's XML namespace.
const Namespace = "https://sts.amazonaws.com/doc/2011-06-15/"

// Role is what AssumeRole needs to know of the role it is asked for.
type Role struct {
	Name    string
	Account string
	Trust   *iam.Trust
	// Lifetime, when set, replaces DurationSeconds.
	Lifetime time.Duration
}

// Options connects the service to the account's roles.
type Options struct {
	// Authority issues the sessions.
	Authority *iam.Authority
	// Role looks a role up by ARN.
	Role func(arn string) (Role, bool)
	// Allows says whether the caller's own policy allows action on
	// resource, and names the world's account.
	Allows func(c iam.Caller, action, resource string) (bool, string)
	// Account is the account the caller acts in.
	Account func(c iam.Caller) string
}

// Service answers STS calls. It is safe for concurrent use.
type Service struct{ o Options }

// New returns the service.
func New(o Options) *Service { return &Service{o: o} }

// maxSessionDuration is a role's default MaxSessionDuration (IAM: 1 hour).
const maxSessionDuration = 3600

var (
	sessionNameRE = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	externalIDRE  = regexp.MustCompile(`^[\w+=,.@:/-]+$`)
)

// Action is the call's action, from its form.
func Action(form url.Values) string { return form.Get("Action") }

// Serve answers one call of c with the parsed form.
func (s *Service) Serve(w http.ResponseWriter, c iam.Caller, form url.Values) {
	switch form.Get("Action") {
	case "AssumeRole":
		s.assumeRole(w, c, form)
	case "GetCallerIdentity":
		s.getCallerIdentity(w, c)
	default:
		WriteError(w, &faults.APIError{Status: http.StatusBadRequest, Code: "InvalidAction",
			Message: fmt.Sprintf("Could not find operation %s for version 2011-06-15", form.Get("Action"))})
	}
}

func validation(format string, args ...any) *faults.APIError {
	return &faults.APIError{Status: http.StatusBadRequest, Code: "ValidationError", Message: fmt.Sprintf(format, args...)}
}

func (s *Service) assumeRole(w http.ResponseWriter, c iam.Caller, form url.Values) {
	arn, name, ext := form.Get("RoleArn"), form.Get("RoleSessionName"), form.Get("ExternalId")
	switch {
	case len(arn) < 20:
		WriteError(w, validation("1 validation error detected: Value '%s' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20", arn))
		return
	case !sessionNameRE.MatchString(name):
		WriteError(w, validation("1 validation error detected: Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]* and have length between 2 and 64", name))
		return
	case ext != "" && (len(ext) < 2 || len(ext) > 1224 || !externalIDRE.MatchString(ext)):
		WriteError(w, validation("1 validation error detected: Value '%s' at 'externalId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@:\\/-]* and have length between 2 and 1224", ext))
		return
	}
	duration := maxSessionDuration
	if d := form.Get("DurationSeconds"); d != "" {
		n, err := strconv.Atoi(d)
		switch {
		case err != nil || n < 900:
			WriteError(w, validation("1 validation error detected: Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900", d))
			return
		case n > maxSessionDuration:
			WriteError(w, validation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role."))
			return
		}
		duration = n
	}
	allowed, world := s.o.Allows(c, "sts:AssumeRole", arn)
	rl, ok := s.o.Role(arn)
	// One answer whether the role is missing, does not trust the caller,
	// or the caller's policy does not allow: AWS does not tell a caller
	// which (STS API reference, AssumeRole; IAM user guide, "Troubleshoot
	// IAM roles").
	if !allowed || !ok || rl.Trust == nil || !rl.Trust.Trusts(c, world, ext) {
		WriteError(w, &faults.APIError{Status: http.StatusForbidden, Code: "AccessDenied",
			Message: fmt.Sprintf("User: %s is not authorized to perform: sts:AssumeRole on resource: %s", c.Principal(world), arn)})
		return
	}
	lifetime := time.Duration(duration) * time.Second
	if rl.Lifetime > 0 {
		lifetime = rl.Lifetime
	}
	ss := s.o.Authority.Issue(c, rl.Account, rl.Name, name, lifetime)
	writeXML(w, assumeRoleResponse{
		Xmlns: Namespace,
		Result: assumeRoleResult{
			User: assumedRoleUser{
				Arn:    ss.Caller.Principal(world),
				RoleID: roleID(rl.Account, rl.Name) + ":" + name,
			},
			Credentials: credentials{
				AccessKeyID: ss.AccessKeyID, SecretAccessKey: ss.SecretAccessKey,
				SessionToken: ss.SessionToken, Expiration: ss.Expiration.UTC().Format(time.RFC3339),
			},
		},
		Meta: meta{RequestID: requestID()},
	})
}

func (s *Service) getCallerIdentity(w http.ResponseWriter, c iam.Caller) {
	_, world := s.o.Allows(c, "sts:GetCallerIdentity", "*")
	res := callerIdentityResult{Account: s.o.Account(c), Arn: c.Principal(world)}
	switch {
	case c.Admin:
		res.UserID = res.Account
	case c.Session != "":
		res.UserID = roleID(c.Account, c.Role) + ":" + c.Session
	default:
		res.UserID = roleID(world, c.Role) + ":" + c.Instance
	}
	// GetCallerIdentity needs no permission: "No permissions are
	// required to perform this operation" (STS API reference).
	writeXML(w, callerIdentityResponse{Xmlns: Namespace, Result: res, Meta: meta{RequestID: requestID()}})
}

// roleID is a role's stable unique ID (AROA...), derived from its ARN.
func roleID(account, role string) string {
	h := sha256.Sum256([]byte(account + "/" + role))
	return "AROA" + strings.ToUpper(hex.EncodeToString(h[:]))[:17]
}

type assumeRoleResponse struct {
	XMLName xml.Name         `xml:"AssumeRoleResponse"`
	Xmlns   string           `xml:"xmlns,attr"`
	Result  assumeRoleResult `xml:"AssumeRoleResult"`
	Meta    meta             `xml:"ResponseMetadata"`
}

type assumeRoleResult struct {
	User        assumedRoleUser `xml:"AssumedRoleUser"`
	Credentials credentials     `xml:"Credentials"`
}

type assumedRoleUser struct {
	Arn    string `xml:"Arn"`
	RoleID string `xml:"AssumedRoleId"`
}

type credentials struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

type callerIdentityResponse struct {
	XMLName xml.Name             `xml:"GetCallerIdentityResponse"`
	Xmlns   string               `xml:"xmlns,attr"`
	Result  callerIdentityResult `xml:"GetCallerIdentityResult"`
	Meta    meta                 `xml:"ResponseMetadata"`
}

type callerIdentityResult struct {
	Arn     string `xml:"Arn"`
	UserID  string `xml:"UserId"`
	Account string `xml:"Account"`
}

type meta struct {
	RequestID string `xml:"RequestId"`
}

func writeXML(w http.ResponseWriter, v any) {
	b, err := xml.Marshal(v)
	if err != nil {
		WriteError(w, &faults.APIError{Status: http.StatusInternalServerError, Code: "InternalFailure", Message: err.Error()})
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(xml.Header))
	w.Write(b)
}

// WriteError answers e in STS's Query protocol: an ErrorResponse whose
// Error has Type Sender (4xx) or Receiver (5xx), Code and Message.
func WriteError(w http.ResponseWriter, e *faults.APIError) {
	typ := "Sender"
	if e.Status >= 500 {
		typ = "Receiver"
	}
	var b strings.Builder
	b.WriteString(xml.Header)
	b.WriteString(`<ErrorResponse xmlns="` + Namespace + `"><Error><Type>` + typ + `</Type><Code>`)
	xml.EscapeText(&b, []byte(e.Code))
	b.WriteString(`</Code><Message>`)
	xml.EscapeText(&b, []byte(e.Message))
	id := requestID()
	b.WriteString(`</Message></Error><RequestId>` + id + `</RequestId></ErrorResponse>`)
	w.Header().Set("X-Amzn-Requestid", id)
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(e.Status)
	w.Write([]byte(b.String()))
}

func requestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	x := hex.EncodeToString(b)
	return x[:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}
