package netnscluster

import (
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vipd/vipd/internal/simcluster"
	"github.com/vipd/vipd/internal/vpcsim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// needRoot skips the test unless it runs as root; under CI=true it fails,
// since CI runs as root and a skip there would hide the test.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("the netns fabric needs root (CI runs as root)")
	}
	t.Skip("the netns fabric needs root")
}

// A node's service in its namespace answers the client's namespace at the
// node's private address, a process started for a member runs in the
// member's namespace, and Close leaves no namespace behind.
func TestEnvServesDialsAndStarts(t *testing.T) {
	needRoot(t)
	e, err := Start(t.Context(), simcluster.World("test", 3), vpcsim.Options{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			e.Close()
		}
	}()
	eni, addr := simcluster.Interface(e.Srv.Snapshot(), simcluster.InstanceA)
	if eni == "" || addr != netip.MustParseAddr("10.0.1.10") {
		t.Fatalf("Interface(node a) = %q, %v; want its ENI and 10.0.1.10", eni, addr)
	}
	svc, err := e.Serve(simcluster.InstanceA, "a", 5432)
	if err != nil {
		t.Fatal(err)
	}
	dial := e.Dial(simcluster.ClientInstance, netip.AddrPortFrom(addr, 5432))
	for deadline := time.Now().Add(10 * time.Second); ; {
		s := simcluster.Ask(t.Context(), dial, time.Second)
		if s.Node == "a" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the client's namespace never reached node a's service: %v", s.Err)
		}
		time.Sleep(50 * time.Millisecond) // the fabric programs the namespaces after Start
	}

	ip, err := exec.LookPath("ip")
	if err != nil {
		t.Fatalf("no ip command: %v", err)
	}
	log := filepath.Join(t.TempDir(), "ip.log")
	p, err := simcluster.StartProc(e.Starter(simcluster.InstanceA), nil, log, ip, "-4", "-o", "addr", "show")
	if err != nil {
		t.Fatal(err)
	}
	if !p.Wait(10 * time.Second) {
		t.Fatal("ip addr show did not exit within 10s")
	}
	if b, _ := os.ReadFile(log); !strings.Contains(string(b), "10.0.1.10/") {
		t.Errorf("a process started for node a sees addresses:\n%s\nwant node a's 10.0.1.10", b)
	}

	prefix := e.Fab.Prefix()
	svc.Close()
	e.Close()
	closed = true
	out, err := exec.Command(ip, "netns", "list").Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), prefix) {
		t.Errorf("namespaces with prefix %s left after Close:\n%s", prefix, out)
	}
}
