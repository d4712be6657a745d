package raft

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	hraft "github.com/hashicorp/raft"
)

// A holder renews its grant by asking the other voters how long ago they
// last heard from it (rpcConfirm), not by writing the raft log: a renewal
// that waited for a log entry to commit waited for two fsyncs in a row and,
// while the leader stored the next entry, for that too, and on a slow disk
// the grant lapsed between confirmations (bench/RESULTS.md). The package
// doc says why an answer dates a confirmation.

// errNotFollowing refuses a confirm: this member does not follow the
// requester as raft leader in the requester's term.
var errNotFollowing = errors.New("not following the requester in its term")

// errOldMembers reports a renewal that fewer than a quorum confirmed while
// some voters answered as members from before rpcConfirm, which answer it
// as "not the raft leader": the leader renews with a barrier instead.
var errOldMembers = errors.New("members of an older version do not answer confirms")

// serveConfirm answers a leader's confirm with how long ago this member
// last heard from it: only while it is a follower in the leader's term
// whose leader is the requester, before and after it reads its last
// contact. raft sets the last contact on an AppendEntries (heartbeats
// included), an InstallSnapshot, a vote it grants and its own step-down; a
// vote for another candidate moves the term first, and the step-down is a
// leader's, so neither passes the checks on both sides. The confirm carries
// the leader's view of the members, which this member takes in (when the
// cluster port names the sender as the leader), and the answer this
// member's report: while the holder renews, members need not report.
func (l *Lease) serveConfirm(from origin, req rpcRequest) (rpcResponse, error) {
	r := l.raft.Load()
	if r == nil {
		return rpcResponse{}, fmt.Errorf("confirm for %s: raft has not started: %w", req.From, errNotFollowing)
	}
	follows := func() error {
		st, term := r.State(), r.CurrentTerm()
		_, leader := r.LeaderWithID()
		if st != hraft.Follower || term != req.Term || string(leader) != req.From {
			return fmt.Errorf("confirm for %s in term %d: this member is %s in term %d with leader %q: %w",
				req.From, req.Term, st, term, leader, errNotFollowing)
		}
		return nil
	}
	if err := follows(); err != nil {
		return rpcResponse{}, err
	}
	last := r.LastContact()
	age := time.Since(last)
	if err := follows(); err != nil {
		return rpcResponse{}, err
	}
	if last.IsZero() || age < 0 {
		return rpcResponse{}, fmt.Errorf("confirm for %s: no contact yet: %w", req.From, errNotFollowing)
	}
	now := time.Now()
	if len(req.Members) > 0 && l.mayRecord(from, req.From) == nil {
		l.members.merge(now, req.From, req.Members)
		l.members.confirmed(now, req.From)
	}
	rep := l.members.ownReport()
	resp := rpcResponse{
		// 0 would be omitted from the answer.
		ContactAgeNS: max(int64(age), 1),
		Role:         rep.Role, Healthy: rep.Healthy,
	}
	if !rep.Since.IsZero() {
		resp.SinceMS = max(now.Sub(rep.Since).Milliseconds(), 1)
	}
	return resp, nil
}

// serveKept answers the requests sent on kept connections.
func (l *Lease) serveKept(from origin, req rpcRequest) (rpcResponse, error) {
	if req.Op == rpcConfirm {
		return l.serveConfirm(from, req)
	}
	return l.serveReport(from, req)
}

// confirmer asks the other voters, for the loop's renewals, how long ago
// they last heard from this leader. It keeps one connection per voter: a
// connection per renewal cost a tenth of an idle primary's CPU (issue 17).
type confirmer struct {
	l *Lease

	mu    sync.Mutex
	peers map[hraft.ServerID]*confirmPeer
	calls sync.WaitGroup
}

// confirmPeer is the kept connection to one voter; busy is held while a
// call on it is in flight.
type confirmPeer struct {
	busy sync.Mutex
	c    rpcClient
}

func newConfirmer(l *Lease) *confirmer {
	return &confirmer{l: l, peers: map[hraft.ServerID]*confirmPeer{}}
}

func (c *confirmer) peer(id hraft.ServerID) *confirmPeer {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.peers[id]
	if p == nil {
		p = &confirmPeer{}
		c.peers[id] = p
	}
	return p
}

// close waits for the calls in flight and closes the kept connections.
func (c *confirmer) close() {
	c.calls.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.peers {
		p.c.close()
	}
}

// answer is one voter's answer to a confirm.
type answer struct {
	id  hraft.ServerID
	age time.Duration
	err error
}

// confirm asks every other voter of r's configuration how long ago it last
// heard from this leader, which was leader in term at q, and returns the
// instant the renewal is confirmed at: the earliest of q and each answering
// voter's q − age, over this leader and the first voters that make a
// majority with it. A voter whose previous call is still in flight is not
// asked again. It returns as soon as a majority answered, or when every
// voter asked has answered or failed, or after wait. A call goes on for up
// to timeout, beyond wait: a new connection's TLS handshake on a loaded host
// may take longer than a renewal can wait, and the connection then serves
// the next renewals.
func (c *confirmer) confirm(ctx context.Context, r *hraft.Raft, q time.Time, term uint64, wait, timeout time.Duration) (time.Time, error) {
	f := r.GetConfiguration()
	if err := f.Error(); err != nil {
		return time.Time{}, fmt.Errorf("read raft configuration: %w", err)
	}
	self := hraft.ServerID(c.l.cfg.Self)
	var others []hraft.Server
	voter := false
	voters := 0
	for _, s := range f.Configuration().Servers {
		if s.Suffrage != hraft.Voter {
			continue
		}
		voters++
		if s.ID == self {
			voter = true
		} else {
			others = append(others, s)
		}
	}
	if !voter {
		return time.Time{}, errors.New("this member is not a voter")
	}
	need := voters/2 + 1
	at := q
	have := 1
	answers := make(chan answer, len(others))
	asked := 0
	// The view says the leader heard from itself just now.
	now := time.Now()
	c.l.members.lead(now)
	req := rpcRequest{Op: rpcConfirm, From: c.l.cfg.Self, Term: term, Members: c.l.members.wire(now)}
	for _, s := range others {
		p := c.peer(s.ID)
		if !p.busy.TryLock() {
			continue
		}
		asked++
		c.calls.Go(func() {
			defer p.busy.Unlock()
			resp, err := p.c.call(ctx, c.l.cfg.Network, string(s.Address), timeout, req)
			if err == nil {
				// The answer is the member's report (the cluster
				// port checked, over TLS, that it is that member).
				c.l.members.received(time.Now(), string(s.ID), resp.Role, resp.Healthy, resp.SinceMS)
			}
			answers <- answer{id: s.ID, age: time.Duration(resp.ContactAgeNS), err: err}
		})
	}
	var errs []error
	old := false
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
collect:
	for i := 0; i < asked && have < need; i++ {
		var a answer
		select {
		case a = <-answers:
		case <-deadline.C:
			errs = append(errs, fmt.Errorf("%d answers missing after %s", asked-i, wait))
			break collect
		}
		switch {
		case a.err == nil && a.age > 0:
			have++
			if s := q.Add(-a.age); s.Before(at) {
				at = s
			}
		case a.err == nil:
			errs = append(errs, fmt.Errorf("%s: answer without its contact's age", a.id))
		case errors.Is(a.err, errNotLeader):
			old = true
			errs = append(errs, fmt.Errorf("%s: %w", a.id, a.err))
		default:
			errs = append(errs, fmt.Errorf("%s: %w", a.id, a.err))
		}
	}
	if have < need {
		err := fmt.Errorf("confirmed by %d of %d voters (%d asked), %d needed: %w", have, voters, asked+1, need, errors.Join(errs...))
		if old {
			err = errors.Join(errOldMembers, err)
		}
		return time.Time{}, err
	}
	return at, nil
}

// fenceVotes makes this member refuse votes until at + HeartbeatTimeout
// (voteGate), then checks that it still leads in term: a confirmation at at
// counts only then (package doc, step 3). Fenced first, a vote raft grants
// after the check is refused; one granted before it moved the term.
func (l *Lease) fenceVotes(r *hraft.Raft, at time.Time, term uint64) error {
	l.gate.fence(at.Add(l.t.heartbeat))
	if r.State() != hraft.Leader || r.CurrentTerm() != term {
		return fmt.Errorf("no longer raft leader in term %d", term)
	}
	return nil
}
