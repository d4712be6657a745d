//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/admin"
	"github.com/vipd/vipd/internal/config"
)

// lease is the combined cluster's election.lease.
const lease = 2 * time.Second

// withMetrics gives every member a metrics listener on a free loopback
// port.
func withMetrics(t *testing.T) func(*comboMember) {
	return func(m *comboMember) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		prev := m.edit
		m.edit = func(cfg *config.Config) {
			if prev != nil {
				prev(cfg)
			}
			cfg.API.Metrics = addr
		}
	}
}

// metricsAddr is m's metrics listener.
func (c *combo) metricsAddr(name string) string {
	return c.config(c.byName(name)).API.Metrics
}

// scrape returns the value of every sample of m's metrics whose name and
// labels start with prefix, e.g. `vipd_peer_up{peer="a"}`.
func (c *combo) scrape(name, prefix string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(c.t.Context(), time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+c.metricsAddr(name)+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 1<<20))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		var v float64
		i := strings.LastIndexByte(line, ' ')
		if _, err := fmt.Sscan(line[i+1:], &v); err == nil {
			out[line[:i]] = v
		}
	}
	return out, sc.Err()
}

// vipdCLI runs the vipd binary's command line against member name's socket.
func (c *combo) vipdCLI(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(c.t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, append(args, "--socket", c.byName(name).socket)...)
	cmd.Env = c.env(c.byName(name))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func member(st admin.Status, name string) (admin.Member, bool) {
	for _, m := range st.Members {
		if m.Name == name {
			return m, true
		}
	}
	return admin.Member{}, false
}

// Issue 20, done when: on a running cluster of two nodes and a witness,
// vipd status on the witness shows both nodes up, quorum 3/3, the holder
// and its token; kill -9 a node: within one lease every member's status
// shows it down and quorum 2/3, and the metrics say the same.
func TestStatusShowsTheClusterFromAnyMember(t *testing.T) {
	c := startCombo(t, withMetrics(t))
	p := c.waitPrimary(30*time.Second, "")
	q := other(p)

	// Every member, the witness included, sees both nodes up and 3/3.
	deadline := time.Now().Add(10 * lease)
	for _, name := range []string{"witness", p, q} {
		for {
			st, err := c.status(name)
			a, _ := member(st, "a")
			b, _ := member(st, "b")
			if err == nil && st.QuorumHave == 3 && st.QuorumNeed == 2 && len(st.Members) == 3 &&
				a.Reachable && b.Reachable && a.Eligible && b.Eligible && a.Role != "" && b.Role != "" &&
				st.Holder == p && st.Token > 0 && !st.HolderSince.IsZero() {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("status of %s: quorum %d/%d, holder %q token %d since %v, members %+v, err %v; want a and b up and eligible, 3/3, holder %s",
					name, st.QuorumHave, len(st.Members), st.Holder, st.Token, st.HolderSince, st.Members, err, p)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	st, _ := c.status("witness")
	out, err := c.vipdCLI("witness", "status")
	if err != nil {
		t.Fatalf("vipd status on the witness: %v\n%s", err, out)
	}
	for _, want := range []string{"Quorum: 3/3 members in contact, 2 needed: OK", fmt.Sprintf("Address: held by %s, token %d", p, st.Token)} {
		if !strings.Contains(out, want) {
			t.Errorf("vipd status on the witness lacks %q:\n%s", want, out)
		}
	}

	// kill -9 the holder (the raft leader, whose view the others showed):
	// every survivor shows it down, 2/3, while a new leader is elected.
	q, p = p, q
	killed := time.Now()
	c.stop(c.byName(q), syscall.SIGKILL)
	survivors := []string{p, "witness"}
	seen := map[string]time.Duration{}
	for len(seen) < len(survivors) && time.Since(killed) < 5*lease {
		for _, name := range survivors {
			if _, ok := seen[name]; ok {
				continue
			}
			st, err := c.status(name)
			m, _ := member(st, q)
			if err == nil && !m.Reachable && !m.Eligible && st.QuorumHave == 2 && st.QuorumNeed == 2 {
				seen[name] = time.Since(killed)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, name := range survivors {
		d, ok := seen[name]
		switch {
		case !ok:
			st, _ := c.status(name)
			t.Errorf("%s: %s not shown down with quorum 2/3 within %s: quorum %d, members %+v", name, q, 5*lease, st.QuorumHave, st.Members)
		case d > lease:
			t.Errorf("%s showed %s down after %s, want within one lease (%s)", name, q, d, lease)
		default:
			t.Logf("%s showed %s down, quorum 2/3, %s after kill -9", name, q, d.Round(time.Millisecond))
		}
	}
	for _, name := range survivors {
		up, err := c.scrape(name, "vipd_peer_up{")
		if err != nil {
			t.Fatalf("scrape %s: %v", name, err)
		}
		quorum, err := c.scrape(name, "vipd_quorum{")
		if err != nil {
			t.Fatalf("scrape %s: %v", name, err)
		}
		if got := up[fmt.Sprintf("vipd_peer_up{peer=%q}", q)]; got != 0 {
			t.Errorf("%s: vipd_peer_up{peer=%q} = %v, want 0", name, q, got)
		}
		if got := quorum[`vipd_quorum{count="have"}`]; got != 2 {
			t.Errorf("%s: vipd_quorum{count=\"have\"} = %v, want 2 (all: %v)", name, got, quorum)
		}
	}
	// Once the survivors elected a new leader, the quorum is whole again.
	for deadline := time.Now().Add(5 * lease); ; time.Sleep(100 * time.Millisecond) {
		out, _ = c.vipdCLI("witness", "status")
		if strings.Contains(out, "Quorum: 2/3 members in contact, 2 needed: OK") && strings.Contains(out, "DOWN") &&
			strings.Contains(out, "Address: held by "+p) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("vipd status on the witness %s after killing %s lacks quorum 2/3 OK, a DOWN member or holder %s:\n%s", 5*lease, q, p, out)
		}
	}
}

// Issue 20, done when: vipd standby on --node a moves the address away if
// a holds it, survives restarting a, and vipd status on b shows a in
// standby.
func TestStandbyIsClusterWideAndSurvivesRestart(t *testing.T) {
	c := startCombo(t)
	p := c.waitPrimary(30*time.Second, "")
	q := other(p)
	// Wait until q could take over, as an operator would see in status.
	deadline := time.Now().Add(10 * lease)
	for {
		st, err := c.status(p)
		if m, _ := member(st, q); err == nil && m.Eligible {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never eligible in %s's status", q, p)
		}
		time.Sleep(50 * time.Millisecond)
	}
	before, _ := c.status(p)

	// From the other node (and the witness would do), for the holder.
	out, err := c.vipdCLI(q, "standby", "on", "--node", p)
	if err != nil {
		t.Fatalf("vipd standby on --node %s: %v\n%s", p, err, out)
	}
	for _, want := range []string{p + " holds the address: it hands it over first", p + " is in standby (recorded by the cluster",
		"address moved from " + p + " to " + q, "next: " + p + " will not take the address until vipd standby off --node " + p} {
		if !strings.Contains(out, want) {
			t.Errorf("vipd standby on --node %s lacks %q:\n%s", p, want, out)
		}
	}
	if got := c.waitPrimary(10*lease, p); got != q {
		t.Fatalf("primary after standby of %s = %s, want %s", p, got, q)
	}
	st, _ := c.status(q)
	if st.Token <= before.Token {
		t.Errorf("token after standby = %d, want above %d", st.Token, before.Token)
	}

	// Restart p: it stays in standby, and q's status says so.
	c.stop(c.byName(p), syscall.SIGTERM)
	c.start(c.byName(p))
	deadline = time.Now().Add(15 * lease)
	for {
		pst, perr := c.status(p)
		qst, qerr := c.status(q)
		m, _ := member(qst, p)
		if perr == nil && qerr == nil && pst.Standby && pst.Role == "maintenance" && m.Standby && m.Reachable && !m.Eligible && qst.Holder == q {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after restarting %s: its status standby %v role %q (%v); %s's view of it %+v, holder %q (%v)",
				p, pst.Standby, pst.Role, perr, q, m, qst.Holder, qerr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	out, _ = c.vipdCLI(q, "status")
	if !strings.Contains(out, "STANDBY") {
		t.Errorf("vipd status on %s does not show %s in standby:\n%s", q, p, out)
	}

	// maintenance is another name for it: off, from p itself.
	out, err = c.vipdCLI(p, "maintenance", "off")
	if err != nil || !strings.Contains(out, p+" is out of standby") {
		t.Fatalf("vipd maintenance off on %s: %v\n%s", p, err, out)
	}
	deadline = time.Now().Add(10 * lease)
	for {
		st, err := c.status(q)
		if m, _ := member(st, p); err == nil && !m.Standby && m.Eligible {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not eligible again in %s's status after standby off", p, q)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
