// Package etcd is the election backend that campaigns in an etcd cluster
// the site already runs (often the one Patroni or Kubernetes uses): each
// member keeps an etcd lease alive and campaigns with the client's
// concurrency.Election under a key prefix; the member whose key has the
// lowest create revision holds. It implements election.Lease, and says how
// to reach etcd (Access, ClientConfig) for the daemon and for `vipd check`
// alike; only the daemon, preflight and tests import it.
//
// # Fencing token
//
// The token of a grant is the create revision of the holder's election key
// (concurrency.Election.Rev): etcd's revision counter only grows, and a
// later campaign's key is created later, so tokens strictly increase.
//
// # Why two grants never overlap
//
// etcd deletes a member's key only when its lease is revoked or expires on
// the server, TTL after the last keep-alive the server processed, and the
// next member is elected only after that deletion. The holder therefore
// renews with its own KeepAliveOnce calls: one that started at S and
// succeeded proves the server keeps the lease until at least S + TTL, and
// the holder acts until S + TTL × Margin on its monotonic clock (Margin < 1
// absorbs clock-rate differences). A holder that cannot renew stops acting
// when that passes, before etcd can elect anyone else; wall clocks are never
// compared.
//
// A holder that stops (Run's ctx ends), becomes ineligible or transfers
// first stops acting (Valid answers false), then revokes its lease, which
// deletes its key and elects the next member at once.
package etcd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/election"
)

// Config configures one member.
type Config struct {
	// Self is this member's name, the value of its election key.
	Self string
	// Endpoints are the etcd client URLs.
	Endpoints []string
	// Prefix is the election's key prefix, e.g. /vipd/orders-db; the
	// members' keys are Prefix/<lease id>.
	Prefix string
	// Lease is the etcd lease TTL, rounded up to whole seconds (etcd's
	// unit; the server may raise it to its minimum). Default 2s.
	Lease time.Duration
	// Margin is the fraction of the TTL a renewal keeps the grant valid
	// for, counted from the renewal's start (0 < Margin < 1). Default 0.75.
	Margin float64
	// TLS secures the connection (https endpoints); nil is plain.
	TLS *tls.Config
	// Username and Password authenticate with etcd's auth; "" is none.
	Username, Password string
	// CallTimeout bounds each etcd call. Default half the TTL.
	CallTimeout time.Duration
	// Dial, if set, dials the endpoints (tests route through a proxy).
	Dial func(ctx context.Context, addr string) (net.Conn, error)
}

func (c *Config) defaults() error {
	if c.Self == "" || len(c.Endpoints) == 0 || c.Prefix == "" {
		return fmt.Errorf("etcd lease: self %q, endpoints %v and prefix %q must all be set", c.Self, c.Endpoints, c.Prefix)
	}
	if c.Lease == 0 {
		c.Lease = 2 * time.Second
	}
	if c.Margin == 0 {
		c.Margin = 0.75
	}
	if c.Lease <= 0 || c.Margin <= 0 || c.Margin >= 1 {
		return fmt.Errorf("etcd lease: lease %s, margin %g: want a positive lease and 0 < margin < 1", c.Lease, c.Margin)
	}
	if c.CallTimeout == 0 {
		// Longer than the renewal period: a keep-alive through etcd's
		// auth layer was measured at up to 0.5 s on a loaded host, and a
		// slow renewal still extends the grant as long as it returns
		// within Margin × TTL.
		c.CallTimeout = time.Duration(c.ttl()) * time.Second / 2
	}
	return nil
}

// ttl is the lease TTL asked of etcd, in seconds.
func (c *Config) ttl() int64 { return max(1, int64(math.Ceil(c.Lease.Seconds()))) }

// renew is the period of the holder's keep-alives.
func (c *Config) renew() time.Duration { return time.Duration(c.ttl()) * time.Second / 3 }

// Access reads how to reach etcd from a configuration's etcd section (e,
// at field, which errors name): the password from its file, and TLS for
// https endpoints or a configured CA or client certificate. It reads the
// files now, so that a mistake stops `vipd run` at start and `vipd check`
// reports it. Self, Prefix and Lease are left to the caller.
func Access(field string, e *config.EtcdElection) (Config, error) {
	c := Config{Endpoints: e.Endpoints, Username: e.Username}
	if e.PasswordFile != "" {
		b, err := os.ReadFile(e.PasswordFile)
		if err != nil {
			return c, fmt.Errorf("%s.password-file: %w", field, err)
		}
		c.Password = strings.TrimRight(string(b), "\r\n")
	}
	https := slices.ContainsFunc(e.Endpoints, func(ep string) bool { return strings.HasPrefix(ep, "https://") })
	if https || e.CA != "" || e.Cert != "" {
		t, err := LoadTLS(e.CA, e.Cert, e.Key)
		if err != nil {
			return c, fmt.Errorf("%s: %w", field, err)
		}
		c.TLS = t
	}
	return c, nil
}

// LoadTLS builds the client TLS configuration from PEM files: ca verifies
// the servers ("" uses the system roots), cert and key are a client
// certificate for etcd's --client-cert-auth ("" for none).
func LoadTLS(ca, cert, key string) (*tls.Config, error) {
	t := &tls.Config{MinVersion: tls.VersionTLS12}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("etcd tls: read ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("etcd tls: ca %s holds no PEM certificate", ca)
		}
		t.RootCAs = pool
	}
	if cert != "" || key != "" {
		c, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("etcd tls: load client certificate: %w", err)
		}
		t.Certificates = []tls.Certificate{c}
	}
	return t, nil
}

// Lease is one member's side of the etcd election. Run owns the campaign;
// the other methods are safe for concurrent use and never block on I/O.
type Lease struct {
	cfg     Config
	log     *slog.Logger
	changes chan struct{}
	poke    chan struct{} // eligibility changed or a transfer began
	started atomic.Bool

	mu sync.Mutex
	// Guarded by mu: what SetEligible and Transfer asked for.
	eligible  bool
	yieldTill time.Time
	// Guarded by mu: this member's grant (token 0: none).
	token uint64
	until time.Time
	// Guarded by mu: the holder as last read from etcd.
	seenHolder string
	seenToken  uint64
	contact    bool
	pub        chan struct{} // closed at every change
}

var _ election.Lease = (*Lease)(nil)

// New returns a member that is not eligible until SetEligible says so;
// nothing is read or written before Run.
func New(cfg Config, log *slog.Logger) (*Lease, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Lease{
		cfg:     cfg,
		log:     log.With("component", "election", "backend", "etcd", "node", cfg.Self),
		changes: make(chan struct{}, 1),
		poke:    make(chan struct{}, 1),
		pub:     make(chan struct{}),
	}, nil
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// changedLocked signals watchers; call with mu held.
func (l *Lease) changedLocked() {
	close(l.pub)
	l.pub = make(chan struct{})
	signal(l.changes)
}

// Status returns this member's view; Held turns false as soon as the
// grant's validity passes, even before Run notices.
func (l *Lease) Status() election.Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := election.Status{Self: l.cfg.Self, Holder: l.seenHolder, Token: l.seenToken, Quorum: l.contact}
	if l.token != 0 && time.Now().Before(l.until) {
		st.Holder, st.Token, st.Held, st.ValidUntil = l.cfg.Self, l.token, true, l.until
	}
	return st
}

// Changes is signalled whenever Status may have changed, renewals included.
func (l *Lease) Changes() <-chan struct{} { return l.changes }

// Valid answers fence.Validity for this member's grants.
func (l *Lease) Valid(token uint64) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if token == 0 || token != l.token || !time.Now().Before(l.until) {
		return time.Time{}, false
	}
	return l.until, true
}

// SetEligible says whether this member may hold. A holder made ineligible
// stops acting before SetEligible returns, then resigns. priority is
// ignored: etcd elects in the order the members campaigned.
func (l *Lease) SetEligible(ctx context.Context, eligible bool, priority int) error {
	l.mu.Lock()
	l.eligible = eligible
	if !eligible {
		l.dropLocked()
	}
	l.mu.Unlock()
	signal(l.poke)
	return ctx.Err()
}

// dropLocked ends this member's grant for Valid and Status.
func (l *Lease) dropLocked() {
	if l.token != 0 {
		l.token, l.until = 0, time.Time{}
		l.changedLocked()
	}
}

func (l *Lease) drop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dropLocked()
}

// Transfer resigns this member's grant and keeps it from campaigning again
// for a lease, so that the next member in line holds; it returns once
// another holder is seen or ctx is done. to is not honoured beyond that:
// etcd elects the member that campaigned first.
func (l *Lease) Transfer(ctx context.Context, to string) error {
	if to == l.cfg.Self {
		return nil
	}
	if !l.Status().Held {
		return fmt.Errorf("transfer to %q: %w", to, election.ErrNotHolder)
	}
	l.mu.Lock()
	l.yieldTill = time.Now().Add(time.Duration(l.cfg.ttl()) * time.Second)
	l.dropLocked()
	l.mu.Unlock()
	signal(l.poke)
	for {
		l.mu.Lock()
		pub, holder := l.pub, l.seenHolder
		l.mu.Unlock()
		if holder != "" && holder != l.cfg.Self {
			return nil
		}
		select {
		case <-pub:
		case <-ctx.Done():
			return fmt.Errorf("transfer to %q: %w", to, ctx.Err())
		}
	}
}

// mayCampaign reports whether this member should be in the election now,
// and if it waits for a transfer, until when.
func (l *Lease) mayCampaign() (bool, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.eligible {
		return false, time.Time{}
	}
	if time.Now().Before(l.yieldTill) {
		return false, l.yieldTill
	}
	return true, time.Time{}
}

// Run takes part in the election until ctx is done; a holder then stops
// acting and revokes its lease (bounded by CallTimeout) before Run returns.
// Run may be called once.
func (l *Lease) Run(ctx context.Context) error {
	if !l.started.CompareAndSwap(false, true) {
		return errors.New("etcd lease: already running")
	}
	// The client's own context ends last: it bounds the calls the etcd
	// library makes on it (a cancelled campaign resigns with it).
	cctx, cancelClient := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelClient()
	cli, err := connect(ctx, ClientConfig(cctx, l.cfg), l.cfg, l.log, l.setContact)
	if err != nil {
		l.drop()
		return nil // ctx ended before etcd answered
	}
	var wg sync.WaitGroup
	defer func() {
		cancelClient()
		wg.Wait()
		_ = cli.Close()
	}()
	wg.Go(func() { l.observe(ctx, cli) })
	for ctx.Err() == nil {
		ok, till := l.mayCampaign()
		if !ok {
			wait := time.Hour
			if !till.IsZero() {
				wait = time.Until(till)
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
			case <-l.poke:
			case <-t.C:
			}
			t.Stop()
			continue
		}
		if err := l.term(ctx, cli, &wg); err != nil && ctx.Err() == nil {
			l.log.Warn("campaign failed", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(l.cfg.renew()):
			}
		}
	}
	l.drop()
	return nil
}

// ClientConfig is the etcd client configuration of cfg, the one `vipd
// run` connects with and `vipd check` probes with; ctx bounds the calls
// the etcd library makes on its own.
func ClientConfig(ctx context.Context, cfg Config) clientv3.Config {
	connect := max(3*cfg.CallTimeout, 2*time.Second)
	ccfg := clientv3.Config{
		Endpoints: cfg.Endpoints,
		TLS:       cfg.TLS,
		Username:  cfg.Username,
		Password:  cfg.Password,
		// Bounds the first connection and authentication (a bcrypt check
		// on the server), which clientv3.New waits for.
		DialTimeout: connect,
		Context:     ctx,
		Logger:      zap.NewNop(),
		// Reconnect within a lease after a partition heals, not after
		// gRPC's default backoff of up to two minutes.
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: cfg.renew()},
			MinConnectTimeout: connect, // a TLS handshake may take a while
		})},
	}
	if cfg.Dial != nil {
		ccfg.DialOptions = append(ccfg.DialOptions, grpc.WithContextDialer(cfg.Dial))
	}
	return ccfg
}

// connect creates the client, retrying until etcd answers or ctx ends: an
// etcd that is down (or a password that is wrong) when vipd starts is
// reported, not fatal, and the caller acts as out of contact meanwhile.
func connect(ctx context.Context, ccfg clientv3.Config, cfg Config, log *slog.Logger, contact func(bool)) (*clientv3.Client, error) {
	var lastLog time.Time
	for {
		cli, err := clientv3.New(ccfg)
		if err == nil {
			contact(true)
			return cli, nil
		}
		contact(false)
		if time.Since(lastLog) > 30*time.Second {
			lastLog = time.Now()
			log.Error("cannot connect to etcd; retrying", "endpoints", cfg.Endpoints, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(cfg.renew()):
		}
	}
}

// term runs one campaign: grant an etcd lease, campaign with it, hold while
// renewals succeed, and revoke it at the end whatever happened.
func (l *Lease) term(ctx context.Context, cli *clientv3.Client, wg *sync.WaitGroup) error {
	gctx, cancel := context.WithTimeout(ctx, l.cfg.CallTimeout)
	lr, err := cli.Grant(gctx, l.cfg.ttl())
	cancel()
	if err != nil {
		l.setContact(false)
		return fmt.Errorf("grant etcd lease: %w", err)
	}
	l.setContact(true)
	id := lr.ID
	tctx, endTerm := context.WithCancel(ctx)
	defer func() {
		l.drop()
		endTerm()
		// Revoking deletes this member's key: the next member is elected
		// at once instead of after the TTL.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.cfg.CallTimeout)
		defer cancel()
		if _, err := cli.Revoke(rctx, id); err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
			l.log.Warn("etcd lease not revoked; it expires after its TTL", "lease", fmt.Sprintf("%x", id), "err", err)
		}
	}()
	sess, err := concurrency.NewSession(cli, concurrency.WithLease(id), concurrency.WithContext(tctx))
	if err != nil {
		return fmt.Errorf("start etcd session: %w", err)
	}
	e := concurrency.NewElection(sess, l.cfg.Prefix)
	won := make(chan error, 1)
	wg.Go(func() { won <- e.Campaign(tctx, l.cfg.Self) })
	for waiting := true; waiting; {
		select {
		case err := <-won:
			if err != nil {
				return fmt.Errorf("campaign: %w", err)
			}
			waiting = false
		case <-l.poke:
			if ok, _ := l.mayCampaign(); !ok {
				return nil
			}
		case <-sess.Done():
			return errors.New("campaign: etcd lease lost while waiting")
		case <-ctx.Done():
			return nil
		}
	}
	tok := uint64(e.Rev())
	if !l.renew(ctx, cli, id, tok) {
		return errors.New("elected, but the first renewal failed")
	}
	l.log.Info("lease granted", "token", tok, "reason", "elected")
	tick := time.NewTicker(l.cfg.renew())
	defer tick.Stop()
	for {
		l.mu.Lock()
		until := l.until
		l.mu.Unlock()
		lapse := time.NewTimer(max(time.Until(until), 0))
		select {
		case <-tick.C:
			if !l.renew(ctx, cli, id, tok) {
				lapse.Stop()
				return nil
			}
		case <-lapse.C:
			lapse.Stop()
			l.log.Warn("lease lost", "token", tok, "reason", "no renewal within the lease")
			return nil
		case <-l.poke:
			if ok, _ := l.mayCampaign(); !ok {
				l.log.Info("lease released", "token", tok, "reason", "ineligible or transfer")
				lapse.Stop()
				return nil
			}
		case <-ctx.Done():
			lapse.Stop()
			l.log.Info("lease released", "token", tok, "reason", "stop")
			return nil
		}
		lapse.Stop()
	}
}

// renew keeps lease id alive once and extends the grant tok's validity
// from the call's start. It reports whether the grant is still valid: a
// failed call leaves the validity as it was, a lease etcd no longer knows
// ends the grant at once, and so does ineligibility or a transfer.
func (l *Lease) renew(ctx context.Context, cli *clientv3.Client, id clientv3.LeaseID, tok uint64) bool {
	start := time.Now()
	rctx, cancel := context.WithTimeout(ctx, l.cfg.CallTimeout)
	resp, err := cli.KeepAliveOnce(rctx, id)
	cancel()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		gone := errors.Is(err, rpctypes.ErrLeaseNotFound)
		if l.contact != gone {
			l.contact = gone
			l.changedLocked()
		}
		if gone {
			l.dropLocked()
			l.log.Warn("lease lost", "token", tok, "reason", "etcd lease expired")
			return false
		}
		l.log.Warn("lease renewal failed", "token", tok, "err", err)
		return l.token == tok && time.Now().Before(l.until)
	}
	ok, _ := l.mayCampaignLocked()
	if !ok || (l.token != 0 && l.token != tok) {
		return false
	}
	l.contact = true
	l.token = tok
	l.until = start.Add(time.Duration(float64(time.Duration(resp.TTL)*time.Second) * l.cfg.Margin))
	l.changedLocked()
	return true
}

func (l *Lease) mayCampaignLocked() (bool, time.Time) {
	if !l.eligible {
		return false, time.Time{}
	}
	if time.Now().Before(l.yieldTill) {
		return false, l.yieldTill
	}
	return true, time.Time{}
}

func (l *Lease) setContact(ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.contact != ok {
		l.contact = ok
		l.changedLocked()
	}
}

// observe keeps seenHolder and seenToken current: the election key with
// the lowest create revision, re-read on every change under the prefix and
// at least every renewal period.
func (l *Lease) observe(ctx context.Context, cli *clientv3.Client) {
	prefix := l.cfg.Prefix + "/"
	tick := time.NewTicker(l.cfg.renew())
	defer tick.Stop()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wch := cli.Watch(clientv3.WithRequireLeader(wctx), prefix, clientv3.WithPrefix())
	for {
		gctx, gcancel := context.WithTimeout(ctx, l.cfg.CallTimeout)
		resp, err := cli.Get(gctx, prefix, clientv3.WithFirstCreate()...)
		gcancel()
		l.mu.Lock()
		changed := false
		if err == nil {
			holder, tok := "", uint64(0)
			if len(resp.Kvs) > 0 {
				holder, tok = string(resp.Kvs[0].Value), uint64(resp.Kvs[0].CreateRevision)
			}
			changed = holder != l.seenHolder || tok != l.seenToken || !l.contact
			l.seenHolder, l.seenToken, l.contact = holder, tok, true
		} else if ctx.Err() == nil {
			changed = l.contact
			l.contact = false
		}
		if changed {
			l.changedLocked()
		}
		l.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case _, ok := <-wch:
			if !ok {
				// The watch ended (no leader, a closed stream): start
				// another, after a pause so a dead cluster is not spun on.
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				wch = cli.Watch(clientv3.WithRequireLeader(wctx), prefix, clientv3.WithPrefix())
			}
		case <-tick.C:
		}
	}
}
