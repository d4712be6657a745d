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
// (members.go); while the leader holds, its renewals carry the view to each
// member and the answers carry the reports, and members do not report
// separately. Reachability in Status is the leader's, so it reads the same
// on every member, and a member the leader has not heard from for a
// HeartbeatTimeout is down and not eligible. Without a leader a member pings its peers itself; the causes of
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
//
// A holder renews its grant every HeartbeatTimeout/4 by asking every other
// voter how long ago it last heard from it (rpcConfirm, confirm.go), on a
// connection it keeps to each; nothing is written to the log, so a renewal
// waits for no disk on any host. The leader notes the instant Q and its term
// T, then asks. A voter answers only while it is a follower in term T whose
// raft leader is the asker, which it checks before and after reading Δ, the
// time since its raft "last contact"; the leader dates the answer S_f = Q −
// Δ (the answer was made after Q, and the contact Δ before the answer).
// Once the leader and enough voters to make a majority of the
// configuration's voters have answered, the renewal is confirmed at S, the
// earliest of Q and their S_f. A Grant is confirmed at the start S of its
// raft Apply, once committed. Either counts only if the leader still leads
// in term T once it has fenced its votes (step 3), and only if it started
// in this leadership; the grant is then valid until S + 0.8 ×
// HeartbeatTimeout for the latest such S. raft heartbeats every
// HeartbeatTimeout/10 to /5, so a confirmation is dated about 0.2 ×
// HeartbeatTimeout before it was asked for; renewals run side by side (up
// to three in flight) and start already while the grant commits, so one
// slow answer does not hold up the next confirmation. A confirmation
// reported in time counts even when the loop gets to it late (it looks at
// finished work before it judges the grant expired).
//
// The argument, for any such S:
//
//  1. A quorum Q1 of voters, the holder and followers, took part. Each
//     follower in Q1 was a follower in term T that knew the holder as its
//     leader when it answered, after S, and its last contact was at S or
//     later: for a renewal at its S_f ≥ S, for a grant when it stored the
//     entry, sent after S.
//  2. Any new leader needs the votes of a quorum Q2, which intersects Q1.
//     A follower in Q1 neither starts an election (its heartbeat timer
//     requires last contact older than HeartbeatTimeout) nor grants a vote
//     (raft rejects votes while a leader is known, and the leader is
//     forgotten only on that same timeout) before S + HeartbeatTimeout.
//     The exception is a vote flagged as a leadership transfer, which only
//     the leader itself starts — and a holder stops holding before it
//     transfers.
//  3. If the intersection is the holder itself: raft votes for another
//     once it has stepped down, which it does when no quorum answered its
//     own heartbeats for LeaderLeaseTimeout, and a follower's answer to a
//     confirm does not prove that raft heard from it. So before it counts
//     a confirmation at S the holder fences its votes: its transport
//     refuses every vote raft grants, a transfer's excepted, until S +
//     HeartbeatTimeout (voteGate), and only then does it check that it
//     still leads in term T. A vote granted before the fence stood moved
//     the term past T, so the check fails; one granted after is refused
//     on its way out.
//  4. A new holder holds only after its own Grant commits, after its
//     election. So the old grant ends (S + 0.8 × HeartbeatTimeout) before
//     the new one starts (after S + HeartbeatTimeout). The 0.2 ×
//     HeartbeatTimeout margin absorbs clock-rate differences between hosts
//     (over Δ and the validity) and scheduling delay.
//
// raft's VerifyLeader is not used for renewal: it can count a heartbeat
// that was sent before the verification began (replication.go notifyAll),
// which breaks step 1. Renewals used to commit a barrier entry, which
// cannot be committed by an entry sent before it; but raft's leader stores
// entries in the goroutine that also advances the commit index, so a
// barrier's commit waited for two fsyncs in a row and for the next
// barrier's store, and on a slow disk the grant lapsed between
// confirmations (bench/RESULTS.md). During a rolling upgrade a member from
// before rpcConfirm answers it as "not the raft leader"; when fewer than a
// majority confirm and such an answer came, the renewal commits a barrier
// instead, confirmed at its start as a grant is.
//
// When the validity passes without a renewal, the holder stops holding at
// once (Status, Changes, Valid), whatever raft believes; it grants itself a
// new token if it is still leader once a quorum answers again.
//
// Startup quarantine: a process does not start raft until HeartbeatTimeout
// has passed since New. Step 2 relies on a voter remembering its leader and
// step 3 on the holder remembering its fence; a process that restarted has
// forgotten both and would vote at once, possibly for a new leader while
// the old holder still believes its grant valid. The old process's last
// contact and fence date from before this process started, so after the
// quarantine the timeouts of steps 2 and 3 have run out anyway.
//
// # A member that lost its log
//
// Fencing tokens are log indexes, and raft's guarantee that a new leader
// has every committed entry rests on voters keeping what they
// acknowledged. A member whose log was moved aside (the way out of
// ErrCorruptLog) therefore follows without voting, and asks for no votes,
// until its log holds the leader's commit index in the leader's term
// (gate.go). It is still a voter of the configuration, counted in every
// majority, and it answers confirms: quorums still intersect, and in step
// 2 such a member refuses every vote while it withholds them, and follows
// raft's rules like any other voter once it votes again.
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
