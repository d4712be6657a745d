package daemon

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

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
	c, err := etcdClient("election.etcd", e)
	if err != nil {
		return nil, err
	}
	c.Self, c.Prefix, c.Lease = cfg.Node.Name, e.Prefix, cfg.Election.Lease
	return electionetcd.New(c, log)
}

// etcdClient reads how to reach etcd: the password file and TLS files.
func etcdClient(path string, e *config.EtcdElection) (electionetcd.Config, error) {
	c := electionetcd.Config{Endpoints: e.Endpoints, Username: e.Username}
	if e.PasswordFile != "" {
		b, err := os.ReadFile(e.PasswordFile)
		if err != nil {
			return c, fmt.Errorf("%s.password-file: %w", path, err)
		}
		c.Password = strings.TrimRight(string(b), "\r\n")
	}
	https := false
	for _, ep := range e.Endpoints {
		https = https || strings.HasPrefix(ep, "https://")
	}
	if https || e.CA != "" || e.Cert != "" {
		t, err := electionetcd.LoadTLS(e.CA, e.Cert, e.Key)
		if err != nil {
			return c, fmt.Errorf("%s: %w", path, err)
		}
		c.TLS = t
	}
	return c, nil
}

// followPrimary is follow mode's primary check: Patroni's leader key in
// etcd, or the configured primary-check.
func followPrimary(cfg *config.Config, log *slog.Logger) (follow.Primary, error) {
	if p := cfg.Election.Patroni; p != nil {
		c, err := etcdClient("election.patroni.etcd", &p.Etcd)
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
