package node

import (
	"slices"

	"github.com/vipd/vipd/internal/election"
	"github.com/vipd/vipd/internal/notice"
)

// notices returns the instance's current notices (none without a reader).
func (n *Node) notices() []notice.Notice {
	if n.d.Notices == nil {
		return nil
	}
	return n.d.Notices.Notices()
}

// movingNotice returns the first current notice the configuration says to
// move on.
func (l *loop) movingNotice() (notice.Notice, bool) {
	for _, nt := range l.n.notices() {
		if nt.Move {
			return nt, true
		}
	}
	return notice.Notice{}, false
}

// outForNotice reports whether a notice keeps this node out of ownership,
// and which. A holder hands the address over only where another member
// can take it, as vipd standby refuses to leave the address unserved: an
// instance about to go still serves better than nobody. Where the
// election shows no peers (the dynamodb and etcd backends), it cannot
// tell, and hands over.
func (l *loop) outForNotice() (notice.Notice, bool) {
	nt, ok := l.movingNotice()
	if !ok {
		l.keptFor = ""
		return nt, false
	}
	st := l.n.leaseStatus()
	if !st.Held || len(st.Peers) == 0 || peerCanTake(st.Peers) {
		l.keptFor = ""
		return nt, true
	}
	if key := nt.String(); l.keptFor != key {
		l.keptFor = key
		l.n.log.Warn("instance notice, but no other member can take the address; keeping it",
			"op", string(nt.Kind), "reason", nt.String(), "token", st.Token)
	}
	return nt, false
}

// peerCanTake reports whether a member other than this one may hold the
// lease now.
func peerCanTake(peers []election.Peer) bool {
	return slices.ContainsFunc(peers, func(p election.Peer) bool { return !p.Witness && p.Eligible && p.Reachable })
}

// noticeReason is the transition reason for a notice: bounded, since it
// becomes a metric label.
func noticeReason(nt notice.Notice) string { return "instance notice: " + string(nt.Kind) }
