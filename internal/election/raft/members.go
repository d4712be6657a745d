package raft

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	hraft "github.com/hashicorp/raft"

	"github.com/vipd/vipd/internal/election"
)

// # The cluster view
//
// Every member sends the raft leader a report (its role and health, as the
// node loop last said: Lease.Report) every reportEvery over the peer RPC;
// the leader records when it last heard from each member and answers with
// its whole view: every member's age of last contact, role and health.
// While the leader holds, each renewal's confirm (confirm.go) carries the
// view and its answer the report, once per renewal period, and a member
// that received the view from its leader within reportEvery does not
// report: one exchange per member per renewal period instead of two.
// So vipd status on any member, the witness included, shows what the
// leader sees, and a member killed with kill -9 shows as down everywhere
// once the leader has not heard from it for contactTimeout. Ages, not
// instants, cross the wire: members' clocks need not agree.
//
// A member without a fresh view (no leader, or the leader does not
// answer) pings the members it has not heard of lately itself, so that
// while the cluster elects, and when it cannot, each member still tells
// who answers; a failed ping's error gives the likely cause that the
// "quorum lost" and "peer down" log lines name.

// memberInfo is what this member knows of one member.
type memberInfo struct {
	// viewed is the last contact in the leader's view (or, on the
	// leader, the last report received); direct is the last answer to
	// this member's own ping.
	viewed, direct time.Time
	role           string
	healthy        bool
	since          time.Time
	// problem is why the last ping failed, "" after an answer.
	problem string
	// up is the reachability last logged (peer up/down); logged is false
	// until one was.
	up, logged bool
}

// members is the cluster view. The exchange goroutine, the peer RPC
// handlers and Status read and write it under mu.
type members struct {
	self  string
	peers []Peer
	// contactTimeout is how long a member counts as reachable after the
	// last contact with it.
	contactTimeout time.Duration

	mu       sync.Mutex
	info     map[string]*memberInfo
	report   election.Report // this member's own
	viewAt   time.Time       // when the last view was received (or made, on the leader)
	viewFrom string
	// confirmAt is when a confirm from confirmFrom last brought the
	// view (serveConfirm).
	confirmAt   time.Time
	confirmFrom string
	leading     bool
	failing     map[string]bool // the leader's raft heartbeat failures
}

func newMembers(self string, peers []Peer, contactTimeout time.Duration) *members {
	m := &members{self: self, peers: peers, contactTimeout: contactTimeout, info: map[string]*memberInfo{}}
	m.info[self] = &memberInfo{}
	for _, p := range peers {
		m.info[p.Name] = &memberInfo{}
	}
	return m
}

// Report implements election.Reporter: the role and health this member
// tells the leader from its next report on.
func (l *Lease) Report(r election.Report) {
	l.members.mu.Lock()
	defer l.members.mu.Unlock()
	l.members.report = r
	me := l.members.info[l.members.self]
	me.role, me.healthy, me.since = r.Role, r.Healthy, r.Since
}

var _ election.Reporter = (*Lease)(nil)

// wireMember is one member in the leader's answer to a report.
type wireMember struct {
	Name string `json:"name"`
	// AgeMS is how long ago the leader last heard from the member, -1
	// for never.
	AgeMS   int64  `json:"age_ms"`
	Role    string `json:"role,omitempty"`
	Healthy bool   `json:"healthy,omitempty"`
	// SinceMS is how long the member has been in Role.
	SinceMS int64 `json:"since_ms,omitempty"`
}

func ageMS(now, t time.Time) int64 {
	if t.IsZero() {
		return -1
	}
	return now.Sub(t).Milliseconds()
}

func fromAge(now time.Time, ms int64) time.Time {
	if ms < 0 {
		return time.Time{}
	}
	return now.Add(-time.Duration(ms) * time.Millisecond)
}

// received records, on the leader, a report from member name: in a
// report, or in the answer to a confirm.
func (m *members) received(now time.Time, name, role string, healthy bool, sinceMS int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	in := m.info[name]
	if in == nil {
		return
	}
	in.viewed = now
	in.role, in.healthy = role, healthy
	in.since = fromAge(now, sinceMS)
}

// ownReport is this member's report, as Lease.Report last set it.
func (m *members) ownReport() election.Report {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.report
}

// confirmed records that a confirm from leader brought the view at now.
func (m *members) confirmed(now time.Time, leader string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.confirmAt, m.confirmFrom = now, leader
}

// confirmedBy reports whether a confirm from leader brought the view
// within d: the leader then has this member's report too. A report's own
// answer does not count, or every other report would be skipped.
func (m *members) confirmedBy(now time.Time, leader string, d time.Duration) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.confirmFrom == leader && !m.confirmAt.IsZero() && now.Sub(m.confirmAt) < d
}

// lead makes this member's own records the view: it leads. failing are
// the members whose raft heartbeats fail.
func (m *members) lead(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	// A new leader goes on from the view it last received, so that a
	// member that died with the old leader keeps its last contact instead
	// of looking never heard of.
	m.leading = true
	m.info[m.self].viewed = now
	m.viewAt, m.viewFrom = now, m.self
}

// follow notes that this member does not lead.
func (m *members) follow() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.leading = false
	m.failing = nil
}

func (m *members) setFailing(f map[string]bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failing = f
}

// wire is the leader's view as it answers a report.
func (m *members) wire(now time.Time) []wireMember {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]wireMember, 0, len(m.info))
	for name, in := range m.info {
		w := wireMember{Name: name, AgeMS: ageMS(now, in.viewed), Role: in.role, Healthy: in.healthy}
		if m.failing[name] {
			// Raft's heartbeats to it fail: no contact, whatever its
			// last report said.
			w.AgeMS = max(w.AgeMS, m.contactTimeout.Milliseconds())
		}
		if !in.since.IsZero() {
			w.SinceMS = max(now.Sub(in.since).Milliseconds(), 1)
		}
		out = append(out, w)
	}
	return out
}

// merge takes in the leader's view received at now.
func (m *members) merge(now time.Time, leader string, view []wireMember) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.leading = false
	m.viewAt, m.viewFrom = now, leader
	for _, w := range view {
		in := m.info[w.Name]
		if in == nil {
			continue
		}
		in.viewed = fromAge(now, w.AgeMS)
		if w.Name == m.self {
			continue // its own role and health it knows better
		}
		if w.Role != "" {
			in.role, in.healthy = w.Role, w.Healthy
			in.since = fromAge(now, w.SinceMS)
			if w.SinceMS == 0 {
				in.since = time.Time{}
			}
		}
	}
}

// answered records the outcome of this member's own ping of name.
func (m *members) answered(now time.Time, name string, err error, address string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	in := m.info[name]
	if in == nil {
		return
	}
	if err == nil {
		in.direct, in.problem = now, ""
		return
	}
	in.problem = cause(err, address)
}

// freshView reports whether the leader's view is recent enough to decide
// reachability alone.
func (m *members) freshViewLocked(now time.Time) bool {
	return m.leading || !m.viewAt.IsZero() && now.Sub(m.viewAt) < m.contactTimeout
}

// reachableLocked reports whether name was heard from within
// contactTimeout: by the leader while its view is fresh and has heard of
// it, else by the leader or this member.
func (m *members) reachableLocked(now time.Time, name string) (bool, time.Time) {
	in := m.info[name]
	if name == m.self {
		return true, now
	}
	last := in.viewed
	if m.leading && m.failing[name] {
		return false, last
	}
	// This member's own contact counts while the view is stale, and
	// where the leader has not heard of the member at all yet (a leader
	// just elected, before the first reports).
	if (!m.freshViewLocked(now) || last.IsZero()) && in.direct.After(last) {
		last = in.direct
	}
	return !last.IsZero() && now.Sub(last) < m.contactTimeout, last
}

// toPing returns the peers this member should ping itself: those it has
// not heard of (from the leader or directly) for half the contact
// timeout.
func (m *members) toPing(now time.Time) []Peer {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Peer
	for _, p := range m.peers {
		in := m.info[p.Name]
		last := in.viewed
		if in.direct.After(last) {
			last = in.direct
		}
		if m.leading && m.failing[p.Name] || last.IsZero() || now.Sub(last) >= m.contactTimeout/2 {
			out = append(out, p)
		}
	}
	return out
}

// overlay fills st's peers (and its view age) from the view.
func (m *members) overlay(now time.Time, st *election.Status, fs fsmState) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.leading {
		st.ViewAge = 0
	} else if !m.viewAt.IsZero() {
		st.ViewAge = now.Sub(m.viewAt)
	}
	for i := range st.Peers {
		p := &st.Peers[i]
		in := m.info[p.Name]
		if in == nil {
			continue
		}
		p.Reachable, p.LastContact = m.reachableLocked(now, p.Name)
		p.Role, p.Healthy, p.Problem = in.role, in.healthy, ""
		if !p.Reachable {
			p.Problem = in.problem
		}
		p.Standby = fs.Standby[p.Name]
		// A member that cannot be reached cannot take the address,
		// whatever it last recorded.
		p.Eligible = p.Eligible && p.Reachable && !p.Standby
	}
}

// selfContact is when the leader last heard from this member (now on the
// leader), zero when unknown.
func (m *members) selfContact(now time.Time) time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.leading {
		return now
	}
	return m.info[m.self].viewed
}

// cause turns a failed ping into what an operator can act on.
func cause(err error, address string) string {
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var recErr tls.RecordHeaderError
	var netErr net.Error
	var hsErr *HandshakeError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED), strings.Contains(err.Error(), "connection refused"):
		return fmt.Sprintf("connection refused by %s: vipd is not running there, or listens on another port", address)
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return fmt.Sprintf("no route to %s: wrong address or routing", address)
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("%s does not resolve: %v", address, dnsErr)
	case errors.As(err, &hsErr), errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr), errors.As(err, &recErr),
		strings.Contains(err.Error(), "tls: "):
		return fmt.Sprintf("TLS handshake with %s failed: cluster-tls certificates or CA do not match (%v)", address, err)
	case errors.Is(err, ErrNoAnswer):
		return fmt.Sprintf("%s accepts connections but does not answer as a vipd member: another program on that port, or its election has not started", address)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Sprintf("no answer from %s: a security group, firewall or a wrong address drops the traffic", address)
	}
	return fmt.Sprintf("%s: %v", address, err)
}

// exchange sends this member's report to the leader and takes its view
// in, every reportEvery, until ctx is done; it pings the members it has
// not heard of, and logs peers going down and up and a quorum lost or
// never reached, with the likely cause.
func (l *Lease) exchange(ctx context.Context, r *hraft.Raft) {
	tick := time.NewTicker(l.t.reportEvery)
	defer tick.Stop()
	d := &diagnosis{start: time.Now()}
	var leader rpcClient
	defer leader.close()
	for {
		l.exchangeOnce(ctx, r, &leader)
		if ctx.Err() != nil {
			return
		}
		l.logMembers(time.Now(), d)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// exchangeOnce reports to the leader over leader, the connection kept for
// the reports, and pings the members not heard of lately.
func (l *Lease) exchangeOnce(ctx context.Context, r *hraft.Raft, leader *rpcClient) {
	m := l.members
	if r.State() == hraft.Leader {
		leader.close()
		m.lead(time.Now())
	} else {
		m.follow()
		// A holder's confirms carry the view and this member's report
		// each renewal period (confirm.go): no report is needed while
		// they come.
		if addr, id := r.LeaderWithID(); addr != "" && string(id) != l.cfg.Self && !m.confirmedBy(time.Now(), string(id), l.t.reportEvery) {
			rep := m.ownReport()
			req := rpcRequest{Op: rpcReport, From: l.cfg.Self, Role: rep.Role, Healthy: rep.Healthy}
			if !rep.Since.IsZero() {
				req.SinceMS = max(time.Since(rep.Since).Milliseconds(), 1)
			}
			resp, err := leader.call(ctx, l.cfg.Network, string(addr), l.t.reportEvery, req)
			if err == nil {
				m.merge(time.Now(), string(id), resp.Members)
			}
		}
	}
	ping := m.toPing(time.Now())
	if len(ping) == 0 {
		return
	}
	timeout := max(l.t.heartbeat/4, 50*time.Millisecond)
	var wg sync.WaitGroup
	for _, p := range ping {
		wg.Go(func() {
			pctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			err := call(pctx, l.cfg.Network, p.Address, timeout, rpcRequest{Op: rpcPing, From: l.cfg.Self})
			if ctx.Err() == nil {
				m.answered(time.Now(), p.Name, err, p.Address)
			}
		})
	}
	wg.Wait()
}

// serveReport answers a member's report on the leader with the view.
func (l *Lease) serveReport(from origin, req rpcRequest) (rpcResponse, error) {
	r := l.raft.Load()
	if r == nil || r.State() != hraft.Leader {
		return rpcResponse{}, errNotLeader
	}
	if _, ok := l.peers[req.From]; !ok {
		return rpcResponse{}, fmt.Errorf("report of %s: %w", req.From, election.ErrUnknownNode)
	}
	if err := l.mayRecord(from, req.From); err != nil {
		return rpcResponse{}, fmt.Errorf("report of %s: %w", req.From, err)
	}
	now := time.Now()
	l.members.received(now, req.From, req.Role, req.Healthy, req.SinceMS)
	l.members.lead(now)
	return rpcResponse{Members: l.members.wire(now)}, nil
}

// diagnosis is what logMembers remembers between rounds.
type diagnosis struct {
	start      time.Time
	hadQuorum  bool
	lostSince  time.Time
	lastLogged time.Time
}

// quorumRelog is how often a quorum still missing is logged again.
const quorumRelog = time.Minute

// logMembers logs peers that went down or came back, as this member's
// view says, and a quorum lost or not reached, naming the members that
// are missing and why.
func (l *Lease) logMembers(now time.Time, d *diagnosis) {
	st := l.Status()
	m := l.members
	type missing struct{ name, why string }
	var gone []missing
	m.mu.Lock()
	grace := now.Sub(d.start) >= 2*l.cfg.Lease
	for _, p := range st.Peers {
		in := m.info[p.Name]
		if !p.Reachable {
			gone = append(gone, missing{p.Name, describeMissing(now, p, d.start, l.t.reportEvery)})
		}
		switch {
		case in.logged && in.up == p.Reachable:
		case p.Reachable:
			l.log.Info("peer up", "node", p.Name, "reason", viewSource(st, l.cfg.Self))
			in.up, in.logged = true, true
		case in.logged || grace:
			l.log.Warn("peer down", "node", p.Name, "reason", describeMissing(now, p, d.start, l.t.reportEvery))
			in.up, in.logged = false, true
		}
	}
	m.mu.Unlock()

	need := (len(st.Peers)+1)/2 + 1
	have := len(st.Peers) + 1 - len(gone)
	names := make([]string, 0, len(gone))
	for _, g := range gone {
		names = append(names, g.name+" ("+g.why+")")
	}
	slices.Sort(names)
	switch {
	case st.Quorum:
		if !d.lastLogged.IsZero() {
			l.log.Info("quorum regained", "leader", st.Leader, "duration", now.Sub(d.lostSince).Round(time.Millisecond))
		}
		d.hadQuorum, d.lostSince, d.lastLogged = true, time.Time{}, time.Time{}
	case d.lostSince.IsZero():
		d.lostSince = now
	case !d.lastLogged.IsZero() && now.Sub(d.lastLogged) < quorumRelog:
	case d.hadQuorum && now.Sub(d.lostSince) >= l.t.heartbeat/2:
		d.lastLogged = now
		l.log.Warn("quorum lost", "reason", fmt.Sprintf("%d of %d members in contact, %d needed", have, len(st.Peers)+1, need),
			"missing", strings.Join(names, "; "), "duration", now.Sub(d.lostSince).Round(time.Millisecond))
	case !d.hadQuorum && grace:
		d.lastLogged = now
		l.log.Warn("quorum not reached since start", "reason", fmt.Sprintf("%d of %d members in contact, %d needed", have, len(st.Peers)+1, need),
			"missing", strings.Join(names, "; "), "duration", now.Sub(d.start).Round(time.Millisecond))
	}
}

// describeMissing says since when p is out of contact and why.
func describeMissing(now time.Time, p election.Peer, start time.Time, round time.Duration) string {
	since := "since start"
	if !p.LastContact.IsZero() {
		since = fmt.Sprintf("for %s", now.Sub(p.LastContact).Round(round))
	}
	why := p.Problem
	if why == "" {
		why = "the leader does not hear from it"
	}
	return fmt.Sprintf("out of contact %s: %s", since, why)
}

// viewSource says whose view a status shows, for log lines.
func viewSource(st election.Status, self string) string {
	if st.Leader == self {
		return "reports to this leader"
	}
	if st.Leader != "" {
		return "in the view of leader " + st.Leader
	}
	return "answers this member"
}
