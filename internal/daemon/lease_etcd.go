package daemon

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/election"
	electionetcd "github.com/vipd/vipd/internal/election/etcd"
	"github.com/vipd/vipd/internal/election/follow"
	"github.com/vipd/vipd/internal/health"
)

// newEtcdLease builds the etcd backend from election.etcd, reading the
// password file and TLS files now so that a mistake stops vipd at start.
func newEtcdLease(cfg *config.Config, log *slog.Logger) (election.Lease, error) {
	e := cfg.Election.Etcd
	if e == nil {
		return nil, errors.New("election backend etcd: election.etcd is not set")
	}
	c, err := electionetcd.Access("election.etcd", e)
	if err != nil {
		return nil, err
	}
	c.Self, c.Prefix, c.Lease = cfg.Node.Name, e.Prefix, cfg.Election.Lease
	return electionetcd.New(c, log)
}

// followPrimary is follow mode's primary check: Patroni's leader key in
// etcd, or the configured primary-check.
func followPrimary(cfg *config.Config, log *slog.Logger) (follow.Primary, error) {
	if p := cfg.Election.Patroni; p != nil {
		c, err := electionetcd.Access("election.patroni.etcd", &p.Etcd)
		if err != nil {
			return nil, err
		}
		return electionetcd.NewLeaderKey(electionetcd.LeaderKeyConfig{Client: c, Key: p.LeaderKey(), Member: p.Member, Grace: p.Grace}, log)
	}
	primary, err := health.NewMonitor([]config.Check{*cfg.Election.PrimaryCheck}, log.With("check", "primary"))
	if err != nil {
		return nil, fmt.Errorf("election.primary-check: %w", err)
	}
	return primary, nil
}
