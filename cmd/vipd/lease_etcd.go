package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/election"
	electionetcd "github.com/vipd/vipd/internal/election/etcd"
)

// newEtcdLease builds the etcd backend from election.etcd, reading the
// password file and TLS files now so that a mistake stops vipd at start.
func newEtcdLease(cfg *config.Config, log *slog.Logger) (election.Lease, error) {
	e := cfg.Election.Etcd
	if e == nil {
		return nil, errors.New("election backend etcd: election.etcd is not set")
	}
	var password string
	if e.PasswordFile != "" {
		b, err := os.ReadFile(e.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("election.etcd.password-file: %w", err)
		}
		password = strings.TrimRight(string(b), "\r\n")
	}
	var tlsCfg *tls.Config
	https := false
	for _, ep := range e.Endpoints {
		https = https || strings.HasPrefix(ep, "https://")
	}
	if https || e.CA != "" || e.Cert != "" {
		var err error
		if tlsCfg, err = electionetcd.LoadTLS(e.CA, e.Cert, e.Key); err != nil {
			return nil, fmt.Errorf("election.etcd: %w", err)
		}
	}
	return electionetcd.New(electionetcd.Config{
		Self:      cfg.Node.Name,
		Endpoints: e.Endpoints,
		Prefix:    e.Prefix,
		Lease:     cfg.Election.Lease,
		TLS:       tlsCfg,
		Username:  e.Username,
		Password:  password,
	}, log)
}
