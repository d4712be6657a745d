package preflight

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/vipd/vipd/internal/config"
	electionetcd "github.com/vipd/vipd/internal/election/etcd"
)

// etcd checks the etcd that the election reads: the etcd backend's
// (election.etcd) or Patroni's (election.patroni.etcd). Each endpoint must
// answer as etcd, over TLS when configured, and accept the credentials;
// then the etcd backend's prefix must be readable and writable, or
// Patroni's scope, member and leader key must be where the configuration
// says.
func (r *runner) etcd(ctx context.Context) {
	el := r.cfg.Election
	var (
		access *config.EtcdElection
		field  string
	)
	switch {
	case el.Backend == config.BackendEtcd && el.Etcd != nil:
		access, field = el.Etcd, "election.etcd"
	case el.Backend == config.BackendFollow && el.Patroni != nil:
		access, field = &el.Patroni.Etcd, "election.patroni.etcd"
	default:
		return
	}
	acc, err := electionetcd.Access(field, access)
	if err != nil {
		r.fail("etcd", err.Error(), "fix "+field+" (docs/election-etcd.md)")
		return
	}
	ccfg := electionetcd.ClientConfig(ctx, acc)
	var up []string
	for _, ep := range access.Endpoints {
		if r.etcdEndpoint(ctx, ep, ccfg) {
			up = append(up, ep)
		}
	}
	keys := "etcd prefix " + prefixOf(access.Prefix)
	if el.Patroni != nil {
		keys = "patroni scope " + el.Patroni.Scope
	}
	if len(up) == 0 {
		r.fail(keys, "not checked: no etcd endpoint answered", "fix the etcd checks above")
		return
	}
	ccfg.Endpoints, ccfg.DialTimeout = up, r.d.Timeout
	cli, err := clientv3.New(ccfg)
	if err != nil {
		r.fail(keys, "not checked: "+err.Error(), "fix the etcd checks above")
		return
	}
	defer cli.Close()
	if el.Patroni != nil {
		r.patroni(ctx, cli, el.Patroni, access.Username)
		return
	}
	r.etcdPrefix(ctx, cli, keys, prefixOf(access.Prefix), access.Username)
}

// prefixOf is the key prefix of an election's members: Prefix/<lease id>.
func prefixOf(p string) string { return strings.TrimSuffix(p, "/") + "/" }

// etcdEndpoint checks one endpoint: etcd's /version over the endpoint's
// scheme (which tells a closed port, a firewall, a TLS mistake and a
// non-etcd server apart), then a client logged in with the configured
// user and the member's status. It reports whether the endpoint is usable.
func (r *runner) etcdEndpoint(ctx context.Context, ep string, ccfg clientv3.Config) bool {
	check := "etcd " + ep
	u, err := url.Parse(ep)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		r.fail(check, "not an etcd client URL", "write it as https://host:2379 (or http://)")
		return false
	}
	var tcfg *tls.Config
	if ccfg.TLS != nil {
		tcfg = ccfg.TLS.Clone()
	}
	hc := &http.Client{Timeout: r.d.Timeout, Transport: &http.Transport{TLSClientConfig: tcfg, DisableKeepAlives: true}}
	resp, err := hc.Get(strings.TrimSuffix(ep, "/") + "/version")
	if err != nil {
		detail, fix := etcdDialError(u, err)
		if u.Scheme == "http" && !errors.Is(err, syscall.ECONNREFUSED) && speaksTLS(ctx, u.Host, r.d.Timeout) {
			detail, fix = u.Host+" speaks TLS", "write the endpoint as https://"+u.Host+" and set ca"
		}
		r.fail(check, detail, fix)
		return false
	}
	var v struct {
		Server string `json:"etcdserver"`
	}
	err = json.NewDecoder(resp.Body).Decode(&v)
	resp.Body.Close()
	if err != nil || v.Server == "" {
		r.fail(check, fmt.Sprintf("%s answered /version with %s, not as etcd", u.Host, resp.Status),
			"point the endpoint at etcd's client port (etcd --advertise-client-urls; 2379 by default)")
		return false
	}

	ccfg.Endpoints = []string{ep}
	ccfg.DialTimeout = r.d.Timeout
	tctx, cancel := context.WithTimeout(ctx, r.d.Timeout)
	defer cancel()
	ccfg.Context = tctx
	cli, err := clientv3.New(ccfg)
	if err != nil {
		detail, fix := etcdClientError(ccfg.Username, err)
		r.fail(check, detail, fix)
		return false
	}
	defer cli.Close()
	st, err := cli.Status(tctx, ep)
	if err != nil {
		detail, fix := etcdClientError(ccfg.Username, err)
		r.fail(check, "etcd "+v.Server+" answered, but not its status: "+detail, fix)
		return false
	}
	if st.Leader == 0 || len(st.Errors) > 0 {
		r.fail(check, fmt.Sprintf("etcd %s has no leader (errors: %v): its cluster lost quorum", v.Server, st.Errors),
			"bring a majority of the etcd members back (etcdctl endpoint status --cluster)")
		return false
	}
	who := "without auth"
	if ccfg.Username != "" {
		who = "as user " + ccfg.Username
	}
	scheme := "plain HTTP"
	if u.Scheme == "https" {
		scheme = "TLS"
	}
	r.add(Result{Check: check, Status: Pass, Detail: fmt.Sprintf("etcd %s over %s, %s; member %x, leader %x, raft term %d",
		v.Server, scheme, who, st.Header.MemberId, st.Leader, st.RaftTerm)})
	return true
}

// speaksTLS reports whether a TLS server answers at host: a handshake
// that completes. It only tells an http:// endpoint written for an https
// one: nothing is sent over the connection, and no certificate is trusted.
func speaksTLS(ctx context.Context, host string, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	d := tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true}}
	c, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// etcdDialError says why etcd's /version could not be read at u, and what
// to do.
func etcdDialError(u *url.URL, err error) (detail, fix string) {
	var unknownCA x509.UnknownAuthorityError
	var badHost x509.HostnameError
	var invalid x509.CertificateInvalidError
	var netErr net.Error
	msg := err.Error()
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return u.Host + " refused the connection: etcd does not listen there",
			"start etcd there, or correct the endpoint (etcd's --advertise-client-urls)"
	case errors.As(err, &unknownCA):
		return "etcd's certificate is signed by an authority this host does not trust",
			"set ca to the PEM file of the CA that signed etcd's server certificate (etcd --trusted-ca-file)"
	case errors.As(err, &badHost):
		return "etcd's certificate is not valid for " + u.Hostname() + ": " + badHost.Error(),
			"use the name or address etcd's certificate was issued for in the endpoint, or reissue it with that address"
	case errors.As(err, &invalid):
		return "etcd's certificate is not valid: " + invalid.Error(), "renew etcd's server certificate"
	case strings.Contains(msg, "server gave HTTP response to HTTPS client"):
		return u.Host + " speaks plain HTTP, not TLS", "write the endpoint as http://" + u.Host + ", or enable TLS on etcd"
	case strings.Contains(msg, "certificate required") || strings.Contains(msg, "bad certificate"):
		return "etcd refused this client's certificate: " + msg,
			"set cert and key to a client certificate signed by the CA etcd trusts (etcd --client-cert-auth)"
	case errors.As(err, &netErr) && netErr.Timeout():
		return u.Host + " did not answer in time: " + msg,
			"allow TCP " + u.Port() + " from this host to etcd (security groups, NACLs, host firewall)"
	}
	return u.Host + ": " + msg, "check the endpoint and the network path to etcd"
}

// etcdClientError says why the etcd client failed, and what to do.
func etcdClientError(user string, err error) (detail, fix string) {
	switch {
	case errors.Is(err, rpctypes.ErrAuthFailed):
		return "authentication failed: etcd refused user " + user + " with the password in password-file",
			"check username and password-file (etcdctl --user " + user + " endpoint status)"
	case errors.Is(err, rpctypes.ErrUserEmpty), errors.Is(err, rpctypes.ErrAuthOldRevision):
		return "etcd has auth enabled and no user is configured", "set username and password-file (docs/election-etcd.md)"
	case errors.Is(err, rpctypes.ErrPermissionDenied):
		return "permission denied for user " + user, "grant the user a role (etcdctl role grant-permission)"
	case errors.Is(err, context.DeadlineExceeded):
		return "no answer from etcd's gRPC API in time: " + err.Error(),
			"check that etcd is healthy (etcdctl endpoint health) and, with TLS, that it accepts this client's certificate"
	}
	return err.Error(), "check the endpoint, TLS and credentials"
}

// etcdPrefix proves the etcd backend's permissions under prefix: a read,
// and a transaction whose condition never holds with a write in it (etcd
// checks the permission of every operation of a transaction before
// evaluating it, so nothing is written).
func (r *runner) etcdPrefix(ctx context.Context, cli *clientv3.Client, check, prefix, user string) {
	grant := "etcdctl role grant-permission <role of " + user + "> readwrite " + prefix + " --prefix"
	var count int64
	err := r.call(ctx, func(ctx context.Context) error {
		resp, err := cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err == nil {
			count = resp.Count
		}
		return err
	})
	if err != nil {
		detail, fix := etcdClientError(user, err)
		if errors.Is(err, rpctypes.ErrPermissionDenied) {
			detail, fix = "user "+user+" may not read "+prefix, grant
		}
		r.fail(check, detail, fix)
		return
	}
	probe := prefix + "vipd-check"
	err = r.call(ctx, func(ctx context.Context) error {
		_, err := cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(probe), "<", 0)).
			Then(clientv3.OpPut(probe, "")).Commit()
		return err
	})
	if err != nil {
		detail, fix := etcdClientError(user, err)
		if errors.Is(err, rpctypes.ErrPermissionDenied) {
			detail, fix = "user "+user+" may read "+prefix+" but not write there", grant
		}
		r.fail(check, detail, fix)
		return
	}
	r.add(Result{Check: check, Status: Pass, Detail: fmt.Sprintf(
		"read and write allowed (a transaction that cannot succeed; nothing changed); %d key(s) now", count)})
}

// patroni checks that Patroni keeps its keys where election.patroni
// says: the scope has keys, this node is one of its members, and the
// leader key's value (who owns the address now).
func (r *runner) patroni(ctx context.Context, cli *clientv3.Client, p *config.Patroni, user string) {
	ns := strings.TrimSuffix(p.Namespace, "/") + "/"
	scope := ns + p.Scope + "/"
	check := "patroni scope " + p.Scope
	var keys []string
	err := r.call(ctx, func(ctx context.Context) error {
		resp, err := cli.Get(ctx, scope, clientv3.WithPrefix(), clientv3.WithKeysOnly())
		if err != nil {
			return err
		}
		for _, kv := range resp.Kvs {
			keys = append(keys, string(kv.Key))
		}
		return nil
	})
	if err != nil {
		detail, fix := etcdClientError(user, err)
		if errors.Is(err, rpctypes.ErrPermissionDenied) {
			detail, fix = "user "+user+" may not read "+scope, "etcdctl role grant-permission <role of "+user+"> read "+scope+" --prefix"
		}
		r.fail(check, detail, fix)
		return
	}
	if len(keys) == 0 {
		fix := "start Patroni, or set election.patroni.scope and namespace to patroni.yml's scope and namespace"
		if others := r.patroniScopes(ctx, cli, ns); len(others) > 0 {
			fix = "set election.patroni.scope to one of the scopes found under " + ns + ": " + strings.Join(others, ", ")
		}
		r.fail(check, "no keys under "+scope+": Patroni has not started with this scope and namespace, or it uses etcd's v2 API (patroni.yml etcd: instead of etcd3:), whose keys the v3 API does not show", fix)
		return
	}
	var members []string
	for _, k := range keys {
		if m, ok := strings.CutPrefix(k, scope+"members/"); ok && m != "" {
			members = append(members, m)
		}
	}
	r.add(Result{Check: check, Status: Pass, Detail: fmt.Sprintf("%d key(s) under %s; members: %s", len(keys), scope, listOrNone(members))})

	mcheck := "patroni member " + p.Member
	switch {
	case slices.Contains(members, p.Member):
		r.add(Result{Check: mcheck, Status: Pass, Detail: "Patroni runs this node as member " + p.Member})
	case len(members) == 0:
		r.add(Result{Check: mcheck, Status: Warn, Detail: "no Patroni member is running in scope " + p.Scope,
			Fix: "start Patroni (systemctl start patroni)"})
	default:
		r.fail(mcheck, "no Patroni member named "+p.Member+" in scope "+p.Scope+" (members: "+strings.Join(members, ", ")+"): this node would never own the address",
			"set election.patroni.member to this node's name in patroni.yml (name:), or start Patroni on this node")
	}

	lcheck := "patroni leader"
	var leader string
	found := false
	err = r.call(ctx, func(ctx context.Context) error {
		resp, err := cli.Get(ctx, p.LeaderKey())
		if err == nil && len(resp.Kvs) > 0 {
			leader, found = string(resp.Kvs[0].Value), true
		}
		return err
	})
	switch {
	case err != nil:
		detail, fix := etcdClientError(user, err)
		r.fail(lcheck, "could not read "+p.LeaderKey()+": "+detail, fix)
	case !found:
		r.add(Result{Check: lcheck, Status: Warn, Detail: p.LeaderKey() + " is absent: Patroni has no leader now, so no node owns the address",
			Fix: "check Patroni (patronictl list " + p.Scope + ")"})
	case leader == p.Member:
		r.add(Result{Check: lcheck, Status: Pass, Detail: p.LeaderKey() + " names this node (" + leader + "): it owns the address"})
	default:
		r.add(Result{Check: lcheck, Status: Pass, Detail: p.LeaderKey() + " names " + leader + ": this node (" + p.Member + ") stands by"})
	}
}

// patroniScopes lists the scopes that have keys under namespace ns, if
// the user may read there.
func (r *runner) patroniScopes(ctx context.Context, cli *clientv3.Client, ns string) []string {
	var scopes []string
	_ = r.call(ctx, func(ctx context.Context) error {
		resp, err := cli.Get(ctx, ns, clientv3.WithPrefix(), clientv3.WithKeysOnly(), clientv3.WithLimit(1000))
		if err != nil {
			return err
		}
		for _, kv := range resp.Kvs {
			s, _, _ := strings.Cut(strings.TrimPrefix(string(kv.Key), ns), "/")
			if s != "" && !slices.Contains(scopes, s) {
				scopes = append(scopes, s)
			}
		}
		return nil
	})
	return scopes
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
