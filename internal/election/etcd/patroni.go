package etcd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// LeaderKey follows one key in etcd — Patroni's leader key,
// <namespace>/<scope>/leader, whose value is the leader's member name — and
// is Healthy while the key names Member. It is the primary check of the
// follow backend (follow.Primary) for Patroni sites: vipd owns the address
// on the node Patroni made leader, read where Patroni keeps it.
//
// It must not flap when etcd is briefly unreachable (vip-manager's users
// hit that in its issues 205, 354 and 411), nor keep the address on a
// demoted node: on a read error it keeps its last answer for Grace after
// the last successful read, Patroni's own retry_timeout, during which
// Patroni keeps a leader running without the DCS; after that it answers
// false. A read that shows another member, or no leader, answers false at
// once.
type LeaderKey struct {
	cfg     LeaderKeyConfig
	client  Config
	log     *slog.Logger
	changes chan struct{}

	mu      sync.Mutex
	leader  bool      // guarded by mu: the key named Member at lastOK
	lastOK  time.Time // guarded by mu: the last successful read
	healthy bool      // guarded by mu: what Healthy answers
}

// LeaderKeyConfig configures a LeaderKey.
type LeaderKeyConfig struct {
	// Client is how to reach etcd (Self, Prefix and Lease are unused).
	Client Config
	// Key is the leader key, e.g. /service/orders/leader.
	Key string
	// Member is this node's Patroni member name.
	Member string
	// Interval is the period of reads besides the watch. Default 1s.
	Interval time.Duration
	// Grace is how long the last answer stands while etcd cannot be
	// read. Default 10s (Patroni's retry_timeout).
	Grace time.Duration
}

// NewLeaderKey returns a LeaderKey that answers false until Run has read
// the key.
func NewLeaderKey(cfg LeaderKeyConfig, log *slog.Logger) (*LeaderKey, error) {
	if cfg.Key == "" || cfg.Member == "" || len(cfg.Client.Endpoints) == 0 {
		return nil, fmt.Errorf("patroni leader key: key %q, member %q and endpoints %v must all be set", cfg.Key, cfg.Member, cfg.Client.Endpoints)
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 10 * time.Second
	}
	c := cfg.Client
	c.Self, c.Prefix = cfg.Member, cfg.Key
	if c.Lease == 0 {
		c.Lease = 3 * cfg.Interval
	}
	if err := c.defaults(); err != nil {
		return nil, err
	}
	if c.CallTimeout > cfg.Interval {
		c.CallTimeout = cfg.Interval
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &LeaderKey{cfg: cfg, client: c, log: log.With("component", "patroni", "key", cfg.Key), changes: make(chan struct{}, 1)}, nil
}

// Healthy reports whether the leader key names this member (within Grace
// of the last successful read).
func (k *LeaderKey) Healthy() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.healthy
}

// Changes is signalled whenever Healthy may have changed.
func (k *LeaderKey) Changes() <-chan struct{} { return k.changes }

// set records a read (err nil) or a failure at now and recomputes the
// answer; it returns when the answer must next be recomputed without a
// read (the end of the grace), or the zero time.
func (k *LeaderKey) set(now time.Time, value string, found bool, err error) time.Time {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err == nil {
		k.leader, k.lastOK = found && value == k.cfg.Member, now
	}
	healthy := k.leader && now.Sub(k.lastOK) < k.cfg.Grace
	if healthy != k.healthy {
		k.healthy = healthy
		reason := "leader key names this member"
		switch {
		case !healthy && err != nil:
			reason = fmt.Sprintf("etcd unreadable for %s: %v", k.cfg.Grace, err)
		case !healthy && !found:
			reason = "no leader key"
		case !healthy:
			reason = "leader key names " + value
		}
		k.log.Info("patroni leader changed", "leader", healthy, "reason", reason)
		select {
		case k.changes <- struct{}{}:
		default:
		}
	}
	if healthy {
		return k.lastOK.Add(k.cfg.Grace)
	}
	return time.Time{}
}

// Run follows the key until ctx is done: a watch for changes, a read every
// Interval besides, and a wake-up when the grace of the last read ends.
func (k *LeaderKey) Run(ctx context.Context) error {
	cctx, cancelClient := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelClient()
	cli, err := connect(ctx, ClientConfig(cctx, k.client), k.client, k.log, func(bool) {})
	if err != nil {
		return nil // ctx ended before etcd answered
	}
	defer cli.Close()
	wctx, cancelWatch := context.WithCancel(ctx)
	defer cancelWatch()
	wch := cli.Watch(clientv3.WithRequireLeader(wctx), k.cfg.Key)
	tick := time.NewTicker(k.cfg.Interval)
	defer tick.Stop()
	var lastErr time.Time
	for {
		gctx, cancel := context.WithTimeout(ctx, k.client.CallTimeout)
		resp, err := cli.Get(gctx, k.cfg.Key)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		var value string
		found := false
		if err == nil && len(resp.Kvs) > 0 {
			value, found = string(resp.Kvs[0].Value), true
		}
		if err != nil && time.Since(lastErr) > k.cfg.Grace {
			lastErr = time.Now()
			k.log.Warn("cannot read the leader key; keeping the last answer for the grace period", "grace", k.cfg.Grace, "err", err)
		}
		graceEnd := k.set(time.Now(), value, found, err)
		wait := time.Hour
		if !graceEnd.IsZero() {
			wait = time.Until(graceEnd)
		}
		grace := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			grace.Stop()
			return nil
		case _, ok := <-wch:
			if !ok {
				select {
				case <-ctx.Done():
					grace.Stop()
					return nil
				case <-tick.C:
				}
				wch = cli.Watch(clientv3.WithRequireLeader(wctx), k.cfg.Key)
			}
		case <-tick.C:
		case <-grace.C:
			k.set(time.Now(), "", false, errors.New("no successful read"))
		}
		grace.Stop()
	}
}
