package simcluster

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vipd/vipd/internal/config"
)

// Member is one vipd process of a simulated cluster: a node or a witness
// on one simulated instance.
type Member struct {
	Name       string
	InstanceID string
	Witness    bool
	// Advertise is where the other members reach its cluster traffic
	// (host:port).
	Advertise string
	// Dir holds its configuration, data, admin socket and log.
	Dir string
}

// Socket is the member's admin socket.
func (m Member) Socket() string { return filepath.Join(m.Dir, "vipd.sock") }

// ConfigPath is where the member's vipd.yaml is written.
func (m Member) ConfigPath() string { return filepath.Join(m.Dir, "vipd.yaml") }

// LogPath is the member's vipd log.
func (m Member) LogPath() string { return filepath.Join(m.Dir, "vipd.log") }

// BaseConfig is m's configuration in the cluster named cluster of members
// (m among them): every other member as a peer, its data and admin socket
// under m.Dir, logs at info in format; vipd's defaults for everything
// else. Harnesses add what a node owns and checks (Resources, Health,
// LocalAddress, AWS) and write it with WriteConfig.
func BaseConfig(cluster string, m Member, members []Member, format string) *config.Config {
	cfg := config.Default()
	cfg.Cluster = cluster
	cfg.Node.Name, cfg.Node.Advertise, cfg.Node.Witness = m.Name, m.Advertise, m.Witness
	cfg.Node.DataDir = filepath.Join(m.Dir, "data")
	for _, p := range members {
		if p.Name != m.Name {
			cfg.Peers = append(cfg.Peers, config.Peer{Name: p.Name, Address: p.Advertise, Witness: p.Witness})
		}
	}
	cfg.API.Socket = m.Socket()
	cfg.Log.Format, cfg.Log.Level = format, config.LogInfo
	return cfg
}

// ServiceCheck is a node's health check of its service: a TCP connect to
// addr every interval (0 keeps the default), with the default rise and
// fall.
func ServiceCheck(addr string, interval time.Duration) config.Check {
	c := config.DefaultCheck()
	c.Name, c.TCP = "service", addr
	if interval > 0 {
		c.Interval, c.Timeout = interval, interval
	}
	return c
}

// WriteConfig writes cfg to path as vipd reads it, after checking that vipd
// will accept it: a harness that builds an invalid configuration fails
// here, naming the problem, not in a node's log.
func WriteConfig(path string, cfg *config.Config) error {
	return write(path, cfg, func(b []byte) error { _, err := config.Parse(b, path); return err })
}

// WriteController writes a `vipd controller` configuration to path, after
// checking that vipd will accept it, as WriteConfig does.
func WriteController(path string, cfg *config.Controller) error {
	return write(path, cfg, func(b []byte) error { _, err := config.ParseController(b, path); return err })
}

func write(path string, cfg any, parse func([]byte) error) error {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(cfg); err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	b := buf.Bytes()
	if err := parse(b); err != nil {
		return fmt.Errorf("configuration for %s is not valid: %w\n%s", path, err, b)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
