package controller_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/admin"
	"github.com/vipd/vipd/internal/vpcsim"
)

// proc is one controller process.
type proc struct {
	name   string
	socket string
	cmd    *exec.Cmd
	exited chan error
	log    *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startProcess runs a controller named name as a child process.
func (h *harness) startProcess(t *testing.T, name string) *proc {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`cluster: orders
name: %s
candidates:
  instances:
    - {id: %s, check-address: %q}
    - {id: %s, check-address: %q}
health:
  - {http: {url: "http://{address}/", status: "200"}, interval: %s, timeout: %s, rise: 2, fall: %d}
resources:
  - overlay-route: {cidr: %s/32, route-tables: all, disable-source-dest-check: true}
owner-parameter: {name: %s}
lease: {table: %s, key: orders, duration: 1s, renew: 250ms}
interval: %s
api: {socket: %q}
aws: {region: us-east-1, endpoint: %q, endpoints: {ssm: %q, dynamodb: %q}}
`, name, instA, h.checks[instA], instB, h.checks[instB], interval, interval, fall, vip, ownerParam, table, interval,
		filepath.Join(dir, "ctl.sock"), h.sim.URL(), h.ssmURL, h.ddbURL)
	path := filepath.Join(dir, "controller.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ak, sk := h.sim.AdminKey()
	p := &proc{name: name, socket: filepath.Join(dir, "ctl.sock"), exited: make(chan error, 1), log: &lockedBuffer{}}
	p.cmd = exec.Command(os.Args[0])
	p.cmd.Env = []string{
		childEnv + "=" + path, "PATH=" + os.Getenv("PATH"), "HOME=" + dir,
		"AWS_ACCESS_KEY_ID=" + ak, "AWS_SECRET_ACCESS_KEY=" + sk, "AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "aws-config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "aws-credentials"),
	}
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("controller %s output:\n%s", name, p.log.String())
		}
	})
	return p
}

// kill sends SIGKILL and waits for the process to be reaped.
func (p *proc) kill() {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// TestKillActiveControllerMidMove is issue 12's second criterion: two
// controller processes; the active one is killed with SIGKILL while its
// route writes are in flight; the other takes the lease, completes the
// move and records the new owner under a higher token; and vpcsim's call
// log shows no write of the deposed controller taking effect after the new
// token's first call.
func TestKillActiveControllerMidMove(t *testing.T) {
	h := newHarness(t)
	one := h.startProcess(t, "ctl-1")
	owner, other := h.waitFirstOwner(t)
	_, oldTok, oldVersion := waitOwnerRecord(t, h, owner)
	two := h.startProcess(t, "ctl-2")
	two.waitHealthy(t, owner, other)

	// Every ReplaceRoute now hangs: ctl-1's move stalls mid-way.
	id, err := h.sim.InjectFault(vpcsim.Fault{Action: "ReplaceRoute", Kind: vpcsim.FaultHang, Timeout: vpcsim.Duration(30 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	h.stopService(owner)
	deadline := time.Now().Add(5 * time.Second)
	for held(h.sim, id) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("ctl-1 made no route write after the owner failed; routes %v", h.routes())
		}
		time.Sleep(5 * time.Millisecond) // polling the fault's held calls
	}
	one.kill()
	killed := time.Now()
	h.sim.ClearFaults(id)

	h.waitServed(other, 10*time.Second)
	t.Logf("ctl-2 completed the move %s after ctl-1 was killed", time.Since(killed).Round(time.Millisecond))
	gotID, newTok, newVersion := waitOwnerRecord(t, h, other)
	if gotID != other || newTok <= oldTok || newVersion <= oldVersion {
		t.Errorf("owner record %s token %d version %d; want %s with token above %d and version above %d",
			gotID, newTok, newVersion, other, oldTok, oldVersion)
	}

	calls := h.sim.Calls(0)
	var first time.Time
	for _, c := range calls {
		if c.Token == newTok && (first.IsZero() || c.Time.Before(first)) {
			first = c.Time
		}
	}
	if first.IsZero() {
		t.Fatalf("no call carries the new token %d", newTok)
	}
	writes := 0
	for _, c := range calls {
		if strings.HasPrefix(c.Action, "Describe") {
			continue
		}
		writes++
		if c.Token == 0 {
			t.Errorf("write without a fencing token: %+v", c)
		}
		if c.Token < newTok && c.Code == "" && !c.Time.Before(first) {
			t.Errorf("deposed write took effect after token %d's first call at %s: %+v", newTok, first.Format(time.StampMicro), c)
		}
	}
	for _, c := range h.ssm.Calls() {
		if c.Op == "PutParameter" && c.Code == "" && c.Token < newTok && !c.Time.Before(first) {
			t.Errorf("deposed owner record write after token %d took effect: %+v", newTok, c)
		}
	}
	t.Logf("%d EC2 writes checked; new token %d first used at %s", writes, newTok, first.Format(time.StampMicro))
}

func held(s *vpcsim.Server, id int64) int {
	for _, f := range s.Faults() {
		if f.ID == id {
			return f.Held
		}
	}
	return 0
}

// waitHealthy waits until the process's status shows every id healthy.
func (p *proc) waitHealthy(t *testing.T, ids ...string) {
	t.Helper()
	c := admin.NewClient(p.socket)
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := c.Status(t.Context())
		ok := err == nil
		for _, id := range ids {
			found := false
			for _, peer := range st.Peers {
				found = found || peer.Name == id && peer.Eligible
			}
			ok = ok && found
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not see %v healthy: %+v, %v", p.name, ids, st.Peers, err)
		}
		time.Sleep(20 * time.Millisecond) // polling the admin socket
	}
}
