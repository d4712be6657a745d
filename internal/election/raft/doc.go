// Package raft is vipd's default election backend: an embedded
// hashicorp/raft cluster of the vipd nodes plus optional witnesses (members
// that vote but never hold). It implements election.Lease; only
// internal/node, cmd/vipd and tests import it.
//
// # What is replicated
//
// The raft log holds four kinds of entry (fsm.go): Grant{holder} — the
// fencing token of a grant is the log index of its entry, so tokens strictly
// increase across leaders and restarts, and the leader's AppendedAt says
// since when; Release{holder, token}, written when a holder gives a grant up
// on purpose; Eligible{node, eligible, priority}, so that whichever node
// leads knows every node's wish to hold; and Standby{node, standby}, an
// operator's vipd standby, which holds on every member and across restarts:
// a node in standby is treated as ineligible. The FSM only records; the
// election loop (loop.go) acts.
//
// # The cluster view
//
// Besides the log, every member reports its role and health to the leader
// over the peer RPC three times per HeartbeatTimeout, on one connection it
// keeps open (rpc.go), and receives the leader's view of every member
// (members.go): reachability in Status is
// the leader's, so it reads the same on every member, and a member the
// leader has not heard from for a HeartbeatTimeout is down and not
// eligible. Without a leader a member pings its peers itself; the causes of
// failed pings go into the "peer down" and "quorum lost" log lines.
//
// # Who holds
//
// The holder is the raft leader, provided it is eligible (not a witness, and
// its last SetEligible said yes). A new leader commits a Grant and holds only
// once it is committed. A leader that may not hold transfers leadership
// (LeadershipTransferToServer) to the best eligible peer — highest priority,
// then name — at most once per heartbeat timeout, so a cluster without
// an eligible node does not spin. Followers forward their eligibility and
// switchover requests to the leader over a small peer RPC that shares the
// raft port (mux.go, rpc.go). Over mutual TLS the leader records a
// member's eligibility only when the member's certificate names it
// (mayRecord): one member cannot make another ineligible.
//
// # Why a holder's grant cannot overlap the next one
//
// Timings derive from Lease (default 2 s): HeartbeatTimeout = 0.45 × Lease,
// ElectionTimeout = HeartbeatTimeout, LeaderLeaseTimeout = 0.9 ×
// HeartbeatTimeout; a dead holder is thus replaced within about one Lease.
// A holder renews its grant every HeartbeatTimeout/4 by committing a raft
// barrier entry; when the
// barrier (or the grant itself) submitted at time S commits, the grant is
// valid until S + 0.8 × HeartbeatTimeout. Renewals do not wait for each
// other (up to three in flight) and start already while the grant
// commits, and the grant is valid from the latest S whose entry committed
// in this leadership. A commit waits for two fsyncs in a row (the leader's,
// then a follower's) and, while the leader stores the next barrier, for
// that too; on a busy host it may now take up to 0.55 × HeartbeatTimeout
// (validity less the renewal period). When each renewal waited for the
// previous one, 0.4 × HeartbeatTimeout was the most, and a slow grant left
// the first renewal no time at all. A commit reported in time counts even
// when the loop gets to it late (it looks at finished work before it
// judges the grant expired); one started before this leadership does not.
// The argument, for any such S:
//
//  1. The barrier entry is created after S and committed, so a quorum Q1
//     (the holder and at least one follower) stored it. Each follower in Q1
//     received it after S and set its raft "last contact" then.
//  2. Any new leader needs the votes of a quorum Q2, which intersects Q1.
//     A follower in Q1 neither starts an election (its heartbeat timer
//     requires last contact older than HeartbeatTimeout) nor grants a vote
//     (raft rejects votes while a leader is known, and the leader is
//     forgotten only on that same timeout) before S + HeartbeatTimeout.
//     The exception is a vote flagged as a leadership transfer, which only
//     the leader itself starts — and a holder stops holding before it
//     transfers.
//  3. If the intersection is the holder itself, it votes for another only
//     after stepping down, which raft does when no quorum answered it for
//     LeaderLeaseTimeout; its last answer came after S, so that is after
//     S + 0.9 × HeartbeatTimeout, beyond the grant's validity.
//  4. A new holder holds only after its own Grant commits, after its
//     election. So the old grant ends (S + 0.8 × HeartbeatTimeout) before
//     the new one starts (after S + HeartbeatTimeout). The 0.2 × HeartbeatTimeout
//     margin absorbs clock-rate differences between hosts and scheduling delay.
//
// raft's VerifyLeader is not used for renewal: it can count a heartbeat
// that was sent before the verification began (replication.go notifyAll),
// which breaks step 1. A barrier cannot be committed by an entry sent
// earlier than itself.
//
// When the validity passes without a renewal, the holder stops holding at
// once (Status, Changes, Valid), whatever raft believes; it grants itself a
// new token if it is still leader once a quorum answers again.
//
// Startup quarantine: a process does not start raft until HeartbeatTimeout
// has passed since New. Step 2 relies on a voter remembering its leader; a
// voter that restarted has forgotten it and would vote at once, possibly
// for a new leader while the old holder still believes its grant valid. The
// old process's last contact happened before this process started, so after
// the quarantine the timeout of step 2 has run out anyway.
//
// # A member that lost its log
//
// Fencing tokens are log indexes, and raft's guarantee that a new leader
// has every committed entry rests on voters keeping what they
// acknowledged. A member whose log was moved aside (the way out of
// ErrCorruptLog) therefore follows without voting, and asks for no votes,
// until its log holds the leader's commit index in the leader's term
// (gate.go).
//
// # Transport
//
// Production uses hashicorp/raft's NetworkTransport over a StreamLayer that
// shares the listener with the peer RPC: the first byte of each connection
// routes it (mux.go). The accept loop only accepts: each connection says
// what it is for (and finishes its TLS handshake) on its own goroutine
// within 2 × HeartbeatTimeout, and idle connections beyond a bound are
// shed, the flooding host's first, so they cannot keep a peer waiting in
// the listen queue. Tests use raft's in-memory transport (Config.Transport)
// and an in-memory Network for the peer RPC.
package raft
