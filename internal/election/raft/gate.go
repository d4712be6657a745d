package raft

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	hraft "github.com/hashicorp/raft"
	"github.com/hashicorp/raft-wal/metadb"
)

// A member that lost its raft log (an operator moved DATA/wal aside after
// ErrCorruptLog) must not vote until it has the log again. raft's safety —
// and with it the order of fencing tokens, which are log indexes — rests on
// every voter keeping what it acknowledged: an entry is committed once a
// majority stored it, and a candidate wins only with votes of members whose
// logs are no newer than its own. A member that forgot its log would vote
// for a candidate that lacks committed entries (say the newest grant), if
// the member that holds them fails too; that candidate would then grant
// tokens at or below ones already used. It also forgot its vote of the
// current term, and could vote twice.
//
// So such a member joins withholding its vote (and asking for none) until
// the leader has sent it everything the cluster committed: until its log
// holds the entry at the leader's commit index and that entry is of the
// leader's term. A leader's commit index covers an entry of its own term only
// once everything before it is committed, which includes every entry
// committed before this member lost its log. Any leader it meets was elected
// by members that kept their logs, so it has those entries. Meanwhile the
// member follows as usual; only elections need the others.
//
// The member knows it lost its log because its data directory says it was
// a member (memberMarker) but the log's metadata is gone; rejoinMarker keeps
// the vote withheld across restarts until the log is back.
const (
	memberMarker = "member"
	rejoinMarker = "rejoining"
)

// errWithholdingVote answers vote requests while the member catches up.
var errWithholdingVote = errors.New("withholding vote: this member lost its raft log and has not received it again yet")

// lostLog reports whether the member with data directory dataDir and raft
// log directory walDir lost its log since it was last a member, and
// records that it must rejoin. Call it before opening the log.
func lostLog(dataDir, walDir string) (bool, error) {
	if _, err := os.Stat(filepath.Join(dataDir, rejoinMarker)); err == nil {
		return true, nil
	}
	if _, err := os.Stat(filepath.Join(dataDir, memberMarker)); err != nil {
		return false, nil // never a member here, or a version before the marker
	}
	if _, err := os.Stat(filepath.Join(walDir, metadb.FileName)); err == nil {
		return false, nil
	}
	if err := writeMarker(filepath.Join(dataDir, rejoinMarker)); err != nil {
		return false, fmt.Errorf("record that the raft log must be received again: %w", err)
	}
	return true, nil
}

// writeMarker creates an empty file durably.
func writeMarker(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// voteGate wraps every member's raft transport. It fences the votes of a
// leader that confirmed a grant: until the fence's instant, a vote raft
// grants (other than for a leadership transfer, which only the holder
// starts) is answered as refused, whatever raft decided (package doc, step
// 3). A refused answer to a vote raft recorded is safe: to the candidate it
// is a vote lost on the way. While the member withholds its vote (it lost
// its log), vote requests it receives are answered with
// errWithholdingVote, and it sends none; every other RPC passes. It
// watches the leader's AppendEntries for its commit index and term, and
// opens for good once caughtUp says the log holds that entry. One goroutine
// (forward) owns the gate's state; Close ends it and waits.
type voteGate struct {
	hraft.Transport
	consumer chan hraft.RPC
	check    time.Duration
	// caughtUp reports whether the local log holds entry index of term
	// term; set (once raft runs) by the Lease.
	caughtUp atomic.Pointer[func(index, term uint64) bool]
	onOpen   func()

	open atomic.Bool
	// base and fenceNS hold the fence: no vote granted before base +
	// fenceNS (monotonic).
	base    time.Time
	fenceNS atomic.Int64
	// relays are the goroutines that pass raft's answers to votes on.
	relays sync.WaitGroup

	stop      chan struct{}
	closeOnce sync.Once
	done      chan struct{}
}

// newVoteGate wraps inner; withhold makes it withhold the member's vote
// until it has the log again.
func newVoteGate(inner hraft.Transport, withhold bool, check time.Duration, onOpen func()) *voteGate {
	g := &voteGate{
		Transport: inner,
		consumer:  make(chan hraft.RPC),
		check:     check,
		onOpen:    onOpen,
		base:      time.Now(),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	g.open.Store(!withhold)
	go g.forward()
	return g
}

func (g *voteGate) Consumer() <-chan hraft.RPC { return g.consumer }

// fence refuses the votes raft grants until until (at least).
func (g *voteGate) fence(until time.Time) {
	ns := int64(until.Sub(g.base))
	for {
		old := g.fenceNS.Load()
		if ns <= old || g.fenceNS.CompareAndSwap(old, ns) {
			return
		}
	}
}

// fenced reports whether the fence still stands.
func (g *voteGate) fenced() bool { return int64(time.Since(g.base)) < g.fenceNS.Load() }

// forward passes RPCs from the inner transport to raft, answering votes
// itself while closed, and relays raft's answers to votes through the
// fence.
func (g *voteGate) forward() {
	defer close(g.done)
	var tick <-chan time.Time
	if !g.open.Load() {
		t := time.NewTicker(g.check)
		defer t.Stop()
		tick = t.C
	}
	var commit, term uint64
	in := g.Transport.Consumer()
	for {
		if !g.open.Load() && commit > 0 {
			if f := g.caughtUp.Load(); f != nil && (*f)(commit, term) {
				g.open.Store(true)
				g.onOpen()
			}
		}
		select {
		case <-g.stop:
			return
		case <-tick:
			continue
		case rpc := <-in:
			if !g.open.Load() {
				switch cmd := rpc.Command.(type) {
				case *hraft.RequestVoteRequest, *hraft.RequestPreVoteRequest:
					rpc.Respond(nil, errWithholdingVote)
					continue
				case *hraft.AppendEntriesRequest:
					if cmd.LeaderCommitIndex > 0 && cmd.Term >= term {
						commit, term = cmd.LeaderCommitIndex, cmd.Term
					}
				}
			}
			if v, ok := rpc.Command.(*hraft.RequestVoteRequest); ok && !v.LeadershipTransfer {
				rpc.RespChan = g.relay(rpc.RespChan)
			}
			select {
			case g.consumer <- rpc:
			case <-g.stop:
				rpc.Respond(emptyResponse(rpc.Command), hraft.ErrTransportShutdown)
				return
			}
		}
	}
}

// emptyResponse is an answer of the type cmd expects: raft's in-memory
// pipeline reads an AppendEntries answer without checking its type.
func emptyResponse(cmd any) any {
	switch cmd.(type) {
	case *hraft.AppendEntriesRequest:
		return &hraft.AppendEntriesResponse{}
	case *hraft.RequestVoteRequest:
		return &hraft.RequestVoteResponse{}
	case *hraft.RequestPreVoteRequest:
		return &hraft.RequestPreVoteResponse{}
	case *hraft.InstallSnapshotRequest:
		return &hraft.InstallSnapshotResponse{}
	case *hraft.TimeoutNowRequest:
		return &hraft.TimeoutNowResponse{}
	}
	return nil
}

// relay returns the channel raft answers a vote on, and passes the answer
// to to, refused if the fence stands when raft has answered.
func (g *voteGate) relay(to chan<- hraft.RPCResponse) chan<- hraft.RPCResponse {
	from := make(chan hraft.RPCResponse, 1)
	g.relays.Go(func() {
		select {
		case resp := <-from:
			if v, ok := resp.Response.(*hraft.RequestVoteResponse); ok && v.Granted && g.fenced() {
				v.Granted = false
			}
			// The transports' answer channels hold one answer.
			to <- resp
		case <-g.stop:
		}
	})
	return from
}

func (g *voteGate) RequestVote(id hraft.ServerID, target hraft.ServerAddress, args *hraft.RequestVoteRequest, resp *hraft.RequestVoteResponse) error {
	if !g.open.Load() {
		return errWithholdingVote
	}
	return g.Transport.RequestVote(id, target, args, resp)
}

func (g *voteGate) RequestPreVote(id hraft.ServerID, target hraft.ServerAddress, args *hraft.RequestPreVoteRequest, resp *hraft.RequestPreVoteResponse) error {
	if !g.open.Load() {
		return errWithholdingVote
	}
	pv, ok := g.Transport.(hraft.WithPreVote)
	if !ok {
		return errors.New("transport does not support pre-vote")
	}
	return pv.RequestPreVote(id, target, args, resp)
}

// Close stops forwarding and closes the inner transport.
func (g *voteGate) Close() error {
	g.closeOnce.Do(func() { close(g.stop) })
	<-g.done
	g.relays.Wait()
	if c, ok := g.Transport.(hraft.WithClose); ok {
		return c.Close()
	}
	return nil
}

var (
	_ hraft.WithPreVote = (*voteGate)(nil)
	_ hraft.WithClose   = (*voteGate)(nil)
)
