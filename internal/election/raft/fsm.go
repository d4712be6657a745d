package raft

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"sync"
	"time"

	hraft "github.com/hashicorp/raft"
)

// Operations of the replicated log. The set only grows: a node must be able to
// replay every entry an older version wrote.
const (
	opGrant    = "grant"
	opRelease  = "release"
	opEligible = "eligible"
	// opStandby records an operator's standby of a node (vipd standby).
	opStandby = "standby"
)

// command is one entry of the replicated log, JSON-encoded.
type command struct {
	Op   string `json:"op"`
	Node string `json:"node"`
	// Eligible and Priority are set by opEligible.
	Eligible bool `json:"eligible,omitempty"`
	Priority int  `json:"priority,omitempty"`
	// Token names the grant an opRelease gives up.
	Token uint64 `json:"token,omitempty"`
	// Standby is set by opStandby.
	Standby bool `json:"standby,omitempty"`
}

func (c command) encode() []byte {
	b, err := json.Marshal(c)
	if err != nil {
		// command holds only strings, bools and integers.
		panic(fmt.Sprintf("encode raft command: %v", err))
	}
	return b
}

// record is what the cluster knows about one node's wish to hold the lease.
type record struct {
	Eligible bool `json:"eligible"`
	Priority int  `json:"priority"`
}

// grant is the newest grant of the lease in the log.
type grant struct {
	Holder string `json:"holder"`
	// Token is the log index of the grant's entry: indexes strictly increase
	// across terms, leaders and restarts, which is what a fencing token needs.
	Token uint64 `json:"token"`
	// Released is set when the holder gave the grant up on purpose.
	Released bool `json:"released,omitempty"`
	// At is when the leader appended the grant's entry (raft's
	// AppendedAt, replicated with the entry, so every replica agrees).
	At time.Time `json:"at,omitzero"`
}

// fsmState is the whole replicated state; it is also the snapshot format.
type fsmState struct {
	Grant grant             `json:"grant"`
	Nodes map[string]record `json:"nodes"`
	// Standby names the nodes an operator holds out of ownership; it is
	// kept apart from Nodes, which each node writes for itself.
	Standby map[string]bool `json:"standby,omitempty"`
}

// fsm is the replicated lease state. raft calls Apply, Snapshot and Restore
// from its FSM goroutine (Snapshot's Persist from another); the election loop
// reads copies through state. Apply is deterministic and does no I/O: it only
// records, it never acts — acting is the loop's job.
type fsm struct {
	changed func() // non-blocking hint to the loop

	mu sync.Mutex
	st fsmState
}

func newFSM(changed func()) *fsm {
	return &fsm{changed: changed, st: fsmState{Nodes: map[string]record{}}}
}

var _ hraft.FSM = (*fsm)(nil)

// Apply implements hraft.FSM. Unknown or undecodable entries are skipped so
// that one bad entry cannot wedge every replica; they were written by a
// newer or broken peer and carry nothing this version could act on.
func (f *fsm) Apply(l *hraft.Log) any {
	if l.Type != hraft.LogCommand {
		return nil
	}
	var c command
	if err := json.Unmarshal(l.Data, &c); err != nil {
		return fmt.Errorf("decode raft entry %d: %w", l.Index, err)
	}
	f.mu.Lock()
	switch c.Op {
	case opGrant:
		f.st.Grant = grant{Holder: c.Node, Token: l.Index, At: l.AppendedAt}
	case opRelease:
		if f.st.Grant.Token == c.Token && f.st.Grant.Holder == c.Node {
			f.st.Grant.Released = true
		}
	case opEligible:
		f.st.Nodes[c.Node] = record{Eligible: c.Eligible, Priority: c.Priority}
	case opStandby:
		if c.Standby {
			if f.st.Standby == nil {
				f.st.Standby = map[string]bool{}
			}
			f.st.Standby[c.Node] = true
		} else {
			delete(f.st.Standby, c.Node)
		}
	}
	f.mu.Unlock()
	f.changed()
	return nil
}

// state returns a copy of the replicated state.
func (f *fsm) state() fsmState {
	f.mu.Lock()
	defer f.mu.Unlock()
	return fsmState{Grant: f.st.Grant, Nodes: maps.Clone(f.st.Nodes), Standby: maps.Clone(f.st.Standby)}
}

// Snapshot implements hraft.FSM.
func (f *fsm) Snapshot() (hraft.FSMSnapshot, error) {
	return snapshot{st: f.state()}, nil
}

// Restore implements hraft.FSM.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	var st fsmState
	if err := json.NewDecoder(rc).Decode(&st); err != nil {
		return fmt.Errorf("decode lease snapshot: %w", err)
	}
	if st.Nodes == nil {
		st.Nodes = map[string]record{}
	}
	f.mu.Lock()
	f.st = st
	f.mu.Unlock()
	f.changed()
	return nil
}

type snapshot struct{ st fsmState }

func (s snapshot) Persist(sink hraft.SnapshotSink) error {
	if err := json.NewEncoder(sink).Encode(s.st); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("write lease snapshot: %w", err)
	}
	return sink.Close()
}

func (snapshot) Release() {}
