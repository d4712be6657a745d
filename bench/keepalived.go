package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/vipd/vipd/internal/simcluster"
	"github.com/vipd/vipd/internal/vpcsim/netns"
)

// The baseline, built as readers of the keepalived failover recipes would,
// with the overlay-IP recipes' route calls: Debian's keepalived with unicast VRRP between the
// two nodes (advert_int 1, priorities 100 and 99, nopreempt, so both
// start in BACKUP), a vrrp_script tracking the service, and a notify
// script that on "master" points the VIP's route in every route table at
// this instance with the AWS CLI (replace-route, falling back to
// create-route). The CLI finds the EC2 endpoint through --endpoint-url and
// its credentials in the instance's metadata service, as on EC2.

// keepalivedConf is one node's keepalived.conf.
func keepalivedConf(n, peer *simcluster.Host, prio int, vip, dir string) string {
	return fmt.Sprintf(`global_defs {
    router_id node-%[1]s
    script_user root
    enable_script_security
}

vrrp_script chk_service {
    script "%[2]s/check.sh"
    interval 1
    timeout 1
    fall 2
    rise 2
}

vrrp_instance VI_1 {
    state BACKUP
    ! nopreempt: let the lower priority node keep the master role
    nopreempt
    interface eth0
    virtual_router_id 51
    priority %[3]d
    advert_int 1
    unicast_src_ip %[4]s
    unicast_peer {
        %[5]s
    }
    authentication {
        auth_type PASS
        auth_pass bench-ha
    }
    virtual_ipaddress {
        %[6]s/32 dev eth0
    }
    track_script {
        chk_service
    }
    notify_master "%[2]s/notify.sh master"
    notify_backup "%[2]s/notify.sh backup"
    notify_fault  "%[2]s/notify.sh fault"
    notify_stop   "%[2]s/notify.sh stop"
}
`, n.Name, dir, prio, n.Addr, peer.Addr, vip)
}

// checkScript is the vrrp_script: the service accepts a connection.
func checkScript() string {
	return fmt.Sprintf(`#!/bin/bash
exec timeout 1 bash -c '</dev/tcp/127.0.0.1/%d'
`, servicePort)
}

// notifyScript is what a careful operator writes: log every transition
// with a timestamp, and on master read the instance ID from IMDSv2 and
// move the route in each table, falling back to create-route when the
// route does not exist yet, logging a table it could not move.
func notifyScript(awsPath, region, vip string, tables []string, dir string) string {
	return fmt.Sprintf(`#!/bin/bash
# keepalived notify script: $1 is master, backup, fault or stop.
STATE=$1
LOG=%[5]s/notify.log
echo "$(date +%%s.%%N) $STATE" >>"$LOG"
[ "$STATE" = master ] || exit 0

export PATH=%[1]s:/usr/sbin:/usr/bin:/sbin:/bin
export AWS_DEFAULT_REGION=%[2]s
ENDPOINT=--endpoint-url=http://%[6]s
IMDS=http://%[7]s
TOKEN=$(curl -sf -m 2 -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 300" $IMDS/latest/api/token)
INSTANCE=$(curl -sf -m 2 -H "X-aws-ec2-metadata-token: $TOKEN" $IMDS/latest/meta-data/instance-id)
if [ -z "$INSTANCE" ]; then
    echo "$(date +%%s.%%N) error no-instance-id" >>"$LOG"
    exit 1
fi
rc=0
for RT in %[4]s; do
    if ! aws $ENDPOINT ec2 replace-route --route-table-id $RT --destination-cidr-block %[3]s/32 --instance-id $INSTANCE; then
        if ! aws $ENDPOINT ec2 create-route --route-table-id $RT --destination-cidr-block %[3]s/32 --instance-id $INSTANCE; then
            echo "$(date +%%s.%%N) error $RT" >>"$LOG"
            rc=1
        fi
    fi
done
echo "$(date +%%s.%%N) routed" >>"$LOG"
exit $rc
`, filepath.Dir(awsPath), region, vip, strings.Join(tables, " "), dir, netns.APIAddr, netns.IMDSAddr)
}

// keepalivedSystem runs the baseline on both nodes.
type keepalivedSystem struct {
	e   *env
	bin string
	aws string
}

// KeepalivedPriorities are the keepalived recipe's priority for the first
// node and one less for the second.
var KeepalivedPriorities = map[string]int{"a": 100, "b": 99}

func newKeepalived(e *env, tables []string) (*keepalivedSystem, error) {
	bin, err := exec.LookPath("keepalived")
	if err != nil {
		return nil, fmt.Errorf("find keepalived (apt-get install keepalived): %w", err)
	}
	awsPath, err := awsCLI()
	if err != nil {
		return nil, err
	}
	s := &keepalivedSystem{e: e, bin: bin, aws: awsPath}
	e.c.Leave("witness")
	for _, m := range e.c.Running() {
		files := map[string]string{
			"keepalived.conf": keepalivedConf(m, e.node(e.peer(m.Name)), KeepalivedPriorities[m.Name], e.vip.String(), m.Dir),
			"check.sh":        checkScript(),
			"notify.sh":       notifyScript(awsPath, e.srv.Region(), e.vip.String(), tables, m.Dir),
		}
		for name, content := range files {
			// keepalived skips an executable configuration file.
			mode := os.FileMode(0o700)
			if filepath.Ext(name) == ".conf" {
				mode = 0o600
			}
			if err := os.WriteFile(filepath.Join(m.Dir, name), []byte(content), mode); err != nil {
				return nil, fmt.Errorf("write %s: %w", name, err)
			}
		}
		m.Daemon = &simcluster.Daemon{
			Argv: []string{bin, "--dont-fork", "--log-console", "--log-detail", "--vrrp", "--no-syslog",
				"--use-file", filepath.Join(m.Dir, "keepalived.conf"),
				"--pid", filepath.Join(m.Dir, "keepalived.pid"), "--vrrp_pid", filepath.Join(m.Dir, "vrrp.pid")},
			Env: []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + m.Dir, "AWS_EC2_METADATA_SERVICE_ENDPOINT=http://" + netns.IMDSAddr,
				"AWS_CONFIG_FILE=" + filepath.Join(m.Dir, "aws-config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(m.Dir, "aws-credentials")},
			Log: filepath.Join(m.Dir, "keepalived.log"),
		}
	}
	return s, nil
}

// BaselineName is the keepalived + AWS CLI baseline's system name in
// rounds and tables.
const BaselineName = "keepalived+CLI"

func (s *keepalivedSystem) Name() string { return BaselineName }

func (s *keepalivedSystem) start(ctx context.Context) error {
	if err := s.setup(ctx); err != nil {
		return err
	}
	for _, m := range s.e.c.Running() {
		if err := s.restart(m.Name); err != nil {
			return err
		}
	}
	return nil
}

// setup is the operator's one-time step of an overlay-IP failover: turn the
// source/destination check off on both instances, so that the VPC
// delivers packets for the overlay address to them. It runs as the
// account's administrator, from outside the nodes, and before the
// benchmark counts calls.
func (s *keepalivedSystem) setup(ctx context.Context) error {
	id, secret := s.e.srv.AdminKey()
	for _, m := range s.e.c.Running() {
		ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		cmd := exec.CommandContext(ctx, s.aws, "--endpoint-url", s.e.srv.URL(), "ec2", "modify-instance-attribute",
			"--instance-id", m.InstanceID, "--no-source-dest-check")
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + s.e.c.Dir, "AWS_ACCESS_KEY_ID=" + id, "AWS_SECRET_ACCESS_KEY=" + secret,
			"AWS_DEFAULT_REGION=" + s.e.srv.Region(), "AWS_EC2_METADATA_DISABLED=true",
			"AWS_CONFIG_FILE=" + filepath.Join(s.e.c.Dir, "aws-config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(s.e.c.Dir, "aws-credentials")}
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			return fmt.Errorf("disable source/dest check of %s: %w: %s", m.InstanceID, err, out)
		}
	}
	return nil
}

// restart starts keepalived on a node if it is not running.
func (s *keepalivedSystem) restart(name string) error {
	m := s.e.node(name)
	if m.Running() {
		return nil
	}
	// A killed keepalived logged no transition; mark the restart so its
	// last "master" is not taken for a belief it no longer holds.
	if err := appendLine(filepath.Join(m.Dir, "notify.log"), fmt.Sprintf("%d.%09d restart", time.Now().Unix(), time.Now().Nanosecond())); err != nil {
		return err
	}
	return s.e.c.Start(name)
}

// inject makes the catalogue's faults, but for two: a kill -9 takes
// keepalived, its VRRP child and any notify script running; like a dead
// host it leaves the VIP bound, and unlike one the next start would find
// it, so it is taken off as a reboot would. The planned move is what an
// operator does to move a keepalived VIP: stop keepalived on the master
// (systemctl stop sends SIGTERM; keepalived then sends a priority 0
// advert so the backup takes over at once), and start it again as a
// backup.
func (s *keepalivedSystem) inject(ctx context.Context, f Fault, from, to string) (simcluster.Injected, error) {
	m := s.e.node(from)
	switch f {
	case FaultKill:
		in, err := s.e.c.Inject(ctx, simcluster.FaultKill, simcluster.Target{Host: from})
		if err != nil {
			return in, err
		}
		_ = exec.Command("ip", "netns", "exec", s.e.namespace(from), "ip", "addr", "del", s.e.vip.String()+"/32", "dev", "eth0").Run()
		return in, nil
	case FaultPlanned:
		if r := s.e.c.Stop(from, 10*time.Second); r.Forced {
			return simcluster.Injected{}, fmt.Errorf("stop keepalived on %s: still running after 10s", m.Name)
		}
		return simcluster.Injected{}, s.restart(from)
	}
	return s.e.c.Inject(ctx, catalogueName[f], simcluster.Target{Host: from, Peer: to})
}

// masters reads each live node's belief from the last transition its
// notify script logged.
func (s *keepalivedSystem) masters(context.Context) map[string]bool {
	out := map[string]bool{}
	for _, m := range s.e.c.Running() {
		if m.Running() && s.lastState(m) == "master" {
			out[m.Name] = true
		}
	}
	return out
}

func (s *keepalivedSystem) standby(_ context.Context, name string) bool {
	m := s.e.node(name)
	return m.Running() && s.lastState(m) == "backup"
}

func (s *keepalivedSystem) lastState(m *simcluster.Host) string {
	b, err := os.ReadFile(filepath.Join(m.Dir, "notify.log"))
	if err != nil {
		return ""
	}
	state := ""
	for line := range strings.SplitSeq(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 2 {
			switch f[1] {
			case "master", "backup", "fault", "stop", "restart":
				state = f[1]
			}
		}
	}
	return state
}

func appendLine(path, line string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	_, err = f.WriteString(line + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// repair runs the notify script as master on a node, as an operator who
// found the route on the wrong node would.
func (s *keepalivedSystem) repair(ctx context.Context, name string) error {
	m := s.e.node(name)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", s.e.namespace(name), filepath.Join(m.Dir, "notify.sh"), "master")
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + m.Dir, "AWS_EC2_METADATA_SERVICE_ENDPOINT=http://" + netns.IMDSAddr}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("repair route to %s: %w: %s", name, err, out)
	}
	return nil
}

func (s *keepalivedSystem) pids(name string) []int { return groupPIDs(s.e.node(name).Proc()) }
