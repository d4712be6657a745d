package iam

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"time"
)

// ErrExpired reports a role session's credentials used after their
// expiration. EC2 answers RequestExpired ("If you're using temporary
// security credentials, this error can also occur if the credentials have
// expired", EC2 API reference, "Error codes"); STS and Route 53
// ExpiredToken, DynamoDB and SSM ExpiredTokenException ("Common Errors").
var ErrExpired = errors.New("the security token included in the request is expired")

// maxSessions bounds the role sessions kept at once; expired ones are
// dropped first. A client that assumes roles in a loop meets the bound,
// not the host's memory.
const maxSessions = 10000

// expiredGrace keeps an expired session known for a while, so that its
// use is answered "expired" rather than "unknown key".
const expiredGrace = time.Hour

type session struct {
	caller  Caller
	secret  string
	token   string
	expires time.Time
}

// Session is a role session's temporary credentials, as AssumeRole
// returns them.
type Session struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
	// Caller is who signs with them: the assumed role's session.
	Caller Caller
}

// Issue starts a session of role (in account) named name for the
// principal src, valid for lifetime: new random credentials that
// authenticate as the role until they expire. src is who assumed the role;
// its instance names the session's calls in the call log.
func (a *Authority) Issue(src Caller, account, role, name string, lifetime time.Duration) Session {
	b := make([]byte, 48)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	h := strings.ToUpper(hex.EncodeToString(b[:8]))
	now := time.Now()
	ss := &session{
		// Never Admin: a session has its role's rights only.
		caller:  Caller{Instance: src.Instance, Role: role, Session: name, Account: account},
		secret:  hex.EncodeToString(b[8:28]),
		token:   "FwoGZXIvYXdzE" + hex.EncodeToString(b[28:]),
		expires: now.Add(lifetime).UTC().Truncate(time.Second),
	}
	key := "ASIA" + h
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.sessions) >= maxSessions {
		for k, s := range a.sessions {
			if now.After(s.expires) {
				delete(a.sessions, k)
			}
		}
		for k := range a.sessions { // still full: drop any
			if len(a.sessions) < maxSessions {
				break
			}
			delete(a.sessions, k)
		}
	}
	a.sessions[key] = ss
	return Session{AccessKeyID: key, SecretAccessKey: ss.secret, SessionToken: ss.token, Expiration: ss.expires, Caller: ss.caller}
}

// sessionCaller returns the caller and secret of a role session's key,
// nil when key is no session's; ErrAuthFailure for a wrong token and
// ErrExpired once the session has expired.
func (a *Authority) sessionCaller(key, token string) (*Caller, string, error) {
	a.mu.Lock()
	ss := a.sessions[key]
	a.mu.Unlock()
	if ss == nil {
		return nil, "", nil
	}
	if ss.token != token {
		return nil, "", ErrAuthFailure
	}
	if now := time.Now(); !now.Before(ss.expires) {
		if now.After(ss.expires.Add(expiredGrace)) {
			a.mu.Lock()
			delete(a.sessions, key)
			a.mu.Unlock()
		}
		return nil, "", ErrExpired
	}
	c := ss.caller
	return &c, ss.secret, nil
}

// Trust is a role's trust policy: which principals may assume it, and
// the external ID they must pass (sts:ExternalId condition) when set.
type Trust struct {
	// Principals are ARNs: a role (arn:aws:iam::<account>:role/<name>),
	// whose instances and sessions may assume; an account's root
	// (arn:aws:iam::<account>:root), any principal of that account whose
	// own policy allows sts:AssumeRole.
	Principals []string `yaml:"principals,omitempty" json:"principals,omitempty"`
	// ExternalID, when set, must be passed as AssumeRole's ExternalId.
	ExternalID string `yaml:"external-id,omitempty" json:"external_id,omitempty"`
}

// Trusts reports whether t lets c (of account, when c's own is not
// known) assume the role with externalID. An instance's or session's role
// is matched by its role ARN; the admin only by its account's root.
func (t Trust) Trusts(c Caller, account, externalID string) bool {
	if t.ExternalID != "" && t.ExternalID != externalID {
		return false
	}
	acct := account
	if c.Session != "" {
		acct = c.Account
	}
	roleARN := "arn:aws:iam::" + acct + ":role/" + c.Role
	for _, p := range t.Principals {
		switch {
		case p == "arn:aws:iam::"+acct+":root", p == acct:
			return true
		case !c.Admin && c.Role != "" && p == roleARN:
			return true
		}
	}
	return false
}
