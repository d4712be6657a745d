package raft

import (
	"context"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/vipd/vipd/internal/election"
)

// The peer RPC carries what only the raft leader can do to it from any node:
// record a node's eligibility and move the lease; and the leader's
// renewals, which ask each follower when it last heard from the leader. Each
// request and answer is a 4-byte big-endian length and a JSON document. A
// connection carries one request, except a member's reports to the leader
// and the leader's confirmations: after an answered report or confirm the
// server reads the next one from the same connection (rpcClient). A member
// that sends a second request to an older member, which closes after one,
// finds the connection closed and dials again.
//
// Requests and responses only grow (new optional fields), so nodes of
// adjacent versions understand each other.

const (
	rpcEligible = "eligible"
	rpcTransfer = "transfer"
	// rpcPing proves that a member's process answers; any member does.
	rpcPing = "ping"
	// rpcReport tells the leader a member's role and health; the leader
	// answers with its view of every member (members.go).
	rpcReport = "report"
	// rpcStandby records an operator's standby of Node.
	rpcStandby = "standby"
	// rpcConfirm asks a follower how long ago it last heard from the
	// raft leader From in term Term (confirm.go).
	rpcConfirm = "confirm"
)

// maxFrame bounds a request or response; real ones are under 200 bytes.
const maxFrame = 64 << 10

type rpcRequest struct {
	Op string `json:"op"`
	// From is the sending node, for logs.
	From string `json:"from"`
	// Node, Eligible and Priority describe a node for rpcEligible.
	Node     string `json:"node,omitempty"`
	Eligible bool   `json:"eligible,omitempty"`
	Priority int    `json:"priority,omitempty"`
	// To is the target of rpcTransfer ("" means the best other node).
	To string `json:"to,omitempty"`
	// Role, Healthy and SinceMS (how long in Role) are the sender's, for
	// rpcReport.
	Role    string `json:"role,omitempty"`
	Healthy bool   `json:"healthy,omitempty"`
	SinceMS int64  `json:"since_ms,omitempty"`
	// Standby is what rpcStandby records for Node.
	Standby bool `json:"standby,omitempty"`
	// Term is the sender's raft term, for rpcConfirm.
	Term uint64 `json:"term,omitempty"`
	// Members is the leader's view, sent with rpcConfirm so that a
	// member that answers confirms need not report (members.go).
	Members []wireMember `json:"members,omitempty"`
}

// Response codes name the sentinel errors that cross the wire.
const (
	codeNotLeader   = "not_leader"
	codeUnknownNode = "unknown_node"
	codeNotEligible = "not_eligible"
	// codeNotFollowing refuses rpcConfirm: the member does not follow
	// the sender in the sender's term. Members before rpcConfirm answer
	// it with codeNotLeader instead.
	codeNotFollowing = "not_following"
	codeError        = "error"
)

type rpcResponse struct {
	Code  string `json:"code,omitempty"`
	Error string `json:"error,omitempty"`
	// Members is the leader's view, in the answer to rpcReport.
	Members []wireMember `json:"members,omitempty"`
	// ContactAgeNS answers rpcConfirm: how long before answering, in
	// nanoseconds of the follower's clock, it last heard from the
	// leader.
	ContactAgeNS int64 `json:"contact_age_ns,omitempty"`
	// Role, Healthy and SinceMS are the answering member's report, with
	// ContactAgeNS.
	Role    string `json:"role,omitempty"`
	Healthy bool   `json:"healthy,omitempty"`
	SinceMS int64  `json:"since_ms,omitempty"`
}

// origin is who sent a peer RPC request, as far as the cluster port can
// tell.
type origin struct {
	// local is set for a request this member serves itself (askLeader).
	local bool
	// peer is the requesting member's verified certificate when the
	// cluster port runs mutual TLS; nil over plain TCP, which identifies
	// no one.
	peer *x509.Certificate
	// remote is the connection's remote address, for logs.
	remote string
}

// errNotPermitted reports a request the requesting member may not make.
var errNotPermitted = errors.New("not permitted")

// errNotLeader reports that the node asked is not (or no longer) the raft
// leader; the caller looks the leader up again and retries.
var errNotLeader = errors.New("not the raft leader")

func responseFor(err error) rpcResponse {
	switch {
	case err == nil:
		return rpcResponse{}
	case errors.Is(err, errNotLeader):
		return rpcResponse{Code: codeNotLeader, Error: err.Error()}
	case errors.Is(err, election.ErrUnknownNode):
		return rpcResponse{Code: codeUnknownNode, Error: err.Error()}
	case errors.Is(err, election.ErrNotEligible):
		return rpcResponse{Code: codeNotEligible, Error: err.Error()}
	case errors.Is(err, errNotFollowing):
		return rpcResponse{Code: codeNotFollowing, Error: err.Error()}
	default:
		return rpcResponse{Code: codeError, Error: err.Error()}
	}
}

// remoteError carries a peer's error text and, through Unwrap, the sentinel
// its code names.
type remoteError struct {
	peer string
	msg  string
	is   error
}

func (e *remoteError) Error() string { return e.peer + ": " + e.msg }
func (e *remoteError) Unwrap() error { return e.is }

func (r rpcResponse) err(peer string) error {
	var is error
	switch r.Code {
	case "":
		return nil
	case codeNotLeader:
		is = errNotLeader
	case codeUnknownNode:
		is = election.ErrUnknownNode
	case codeNotEligible:
		is = election.ErrNotEligible
	case codeNotFollowing:
		is = errNotFollowing
	}
	return &remoteError{peer: peer, msg: r.Error, is: is}
}

func writeFrame(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	buf := make([]byte, 4+len(b))
	binary.BigEndian.PutUint32(buf, uint32(len(b)))
	copy(buf[4:], b)
	_, err = w.Write(buf)
	return err
}

func readFrame(r io.Reader, v any) error {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > maxFrame {
		return fmt.Errorf("frame of %d bytes exceeds %d", n, maxFrame)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// call sends req to the peer RPC at address and waits for the answer, within
// ctx's deadline or timeout, whichever is sooner.
func call(ctx context.Context, network Network, address string, timeout time.Duration, req rpcRequest) error {
	_, err := callResponse(ctx, network, address, timeout, req)
	return err
}

// callResponse is call returning the answer too.
func callResponse(ctx context.Context, network Network, address string, timeout time.Duration, req rpcRequest) (rpcResponse, error) {
	var k rpcClient
	defer k.close()
	return k.call(ctx, network, address, timeout, req)
}

// rpcClient keeps one peer RPC connection open for the next request to the
// same address. A member reports to the leader three times per heartbeat
// timeout; a connection per report (a handshake over TLS, an accept, a
// goroutine and a close on the leader) was a fifth of an idle primary's CPU
// (issue 17). One goroutine uses a client at a time.
type rpcClient struct {
	address string
	c       net.Conn
}

// call sends req to address over the kept connection, or a new one, and
// waits for the answer within ctx's deadline or timeout, whichever is
// sooner. A kept connection that fails is replaced once: the peer may have
// closed it while idle, or be an older vipd, which answers one request per
// connection. After a failure to get an answer the client keeps nothing.
func (k *rpcClient) call(ctx context.Context, network Network, address string, timeout time.Duration, req rpcRequest) (rpcResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if k.c != nil && k.address != address {
		k.close()
	}
	if k.c != nil {
		resp, err := roundTrip(ctx, k.c, address, req)
		if err == nil || isAnswer(err) {
			return resp, err
		}
		k.close()
		if ctx.Err() != nil {
			return resp, err
		}
	}
	c, err := dialKind(ctx, network, address, connRPC)
	if err != nil {
		return rpcResponse{}, fmt.Errorf("peer rpc %s: %w", req.Op, err)
	}
	resp, err := roundTrip(ctx, c, address, req)
	if err != nil && !isAnswer(err) {
		c.Close()
		return resp, err
	}
	k.c, k.address = c, address
	return resp, err
}

// close closes the kept connection, if any.
func (k *rpcClient) close() {
	if k.c != nil {
		k.c.Close()
		k.c = nil
	}
}

// roundTrip sends req over c and reads the answer, within ctx.
func roundTrip(ctx context.Context, c net.Conn, address string, req rpcRequest) (rpcResponse, error) {
	var resp rpcResponse
	dl, _ := ctx.Deadline()
	_ = c.SetDeadline(dl)
	// Closing the connection ends the I/O below when ctx is cancelled
	// before the deadline.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := writeFrame(c, req); err != nil {
		return resp, fmt.Errorf("peer rpc %s to %s: send: %w", req.Op, address, err)
	}
	if err := readFrame(c, &resp); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return resp, fmt.Errorf("peer rpc %s: receive: %w", req.Op, &NoAnswerError{Address: address, Err: err})
	}
	if err := resp.err(address); err != nil {
		return resp, fmt.Errorf("peer rpc %s: %w", req.Op, err)
	}
	return resp, nil
}

// rpcServer answers the peer RPC connections the mux routes to it, one
// goroutine per connection, at most maxPendingConns at once. A connection
// that carried an answered report or confirm stays open for the member's
// next one (rpcClient), until it has been idle for idle.
type rpcServer struct {
	conns   <-chan net.Conn
	timeout time.Duration
	idle    time.Duration
	handle  func(ctx context.Context, from origin, req rpcRequest) error
	// kept answers the requests sent on kept connections, rpcReport and
	// rpcConfirm, whose answers carry data; nil answers none.
	kept func(from origin, req rpcRequest) (rpcResponse, error)
	// noConfirm serves rpcConfirm as a request not kept, the way members
	// before rpcConfirm did (Lease.preConfirm).
	noConfirm bool
}

// serve runs until ctx is done and returns after every handler returned.
func (s *rpcServer) serve(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	sem := make(chan struct{}, maxPendingConns)
	for {
		var c net.Conn
		select {
		case <-ctx.Done():
			return
		case c = <-s.conns:
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			c.Close()
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			s.serveConn(ctx, c)
		}()
	}
}

func (s *rpcServer) serveConn(ctx context.Context, c net.Conn) {
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	wait := s.timeout
	for {
		_ = c.SetDeadline(time.Now().Add(wait))
		var req rpcRequest
		if err := readFrame(c, &req); err != nil {
			return
		}
		from := origin{peer: peerCertificate(c), remote: c.RemoteAddr().String()}
		_ = c.SetDeadline(time.Now().Add(s.timeout))
		if req.Op != rpcReport && (req.Op != rpcConfirm || s.noConfirm) || s.kept == nil {
			rctx, cancel := context.WithTimeout(ctx, s.timeout)
			err := s.handle(rctx, from, req)
			cancel()
			_ = writeFrame(c, responseFor(err))
			return
		}
		resp, err := s.kept(from, req)
		if err != nil {
			resp = responseFor(err)
		}
		// A member whose report the leader refuses reports elsewhere;
		// a leader whose confirm is refused asks again next renewal.
		if werr := writeFrame(c, resp); werr != nil || err != nil && req.Op == rpcReport {
			return
		}
		wait = s.idle
	}
}
