package raft

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	hraft "github.com/hashicorp/raft"
)

func TestFSMApply(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []command
		want    fsmState
	}{
		{
			name:    "a grant's token is its log index",
			entries: []command{{Op: opEligible, Node: "a", Eligible: true, Priority: 7}, {Op: opGrant, Node: "a"}},
			want:    fsmState{Grant: grant{Holder: "a", Token: 2}, Nodes: map[string]record{"a": {Eligible: true, Priority: 7}}},
		},
		{
			name:    "a release of the current grant marks it released",
			entries: []command{{Op: opGrant, Node: "a"}, {Op: opRelease, Node: "a", Token: 1}},
			want:    fsmState{Grant: grant{Holder: "a", Token: 1, Released: true}, Nodes: map[string]record{}},
		},
		{
			name:    "a release of an older grant changes nothing",
			entries: []command{{Op: opGrant, Node: "a"}, {Op: opGrant, Node: "b"}, {Op: opRelease, Node: "a", Token: 1}},
			want:    fsmState{Grant: grant{Holder: "b", Token: 2}, Nodes: map[string]record{}},
		},
		{
			name:    "an unknown operation is skipped",
			entries: []command{{Op: opGrant, Node: "a"}, {Op: "future", Node: "b"}},
			want:    fsmState{Grant: grant{Holder: "a", Token: 1}, Nodes: map[string]record{}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			changed := 0
			f := newFSM(func() { changed++ })
			for i, c := range tc.entries {
				f.Apply(&hraft.Log{Index: uint64(i + 1), Type: hraft.LogCommand, Data: c.encode()})
			}
			if diff := cmp.Diff(tc.want, f.state()); diff != "" {
				t.Errorf("state (-want +got):\n%s", diff)
			}
			if changed != len(tc.entries) {
				t.Errorf("change hints = %d, want %d", changed, len(tc.entries))
			}
		})
	}
}

func TestFSMSkipsUndecodableEntries(t *testing.T) {
	f := newFSM(func() {})
	f.Apply(&hraft.Log{Index: 1, Type: hraft.LogCommand, Data: command{Op: opGrant, Node: "a"}.encode()})
	if res := f.Apply(&hraft.Log{Index: 2, Type: hraft.LogCommand, Data: []byte("{")}); res == nil {
		t.Error("Apply of a broken entry returned nil, want an error")
	}
	f.Apply(&hraft.Log{Index: 3, Type: hraft.LogBarrier})
	if diff := cmp.Diff(grant{Holder: "a", Token: 1}, f.state().Grant); diff != "" {
		t.Errorf("grant (-want +got):\n%s", diff)
	}
}

type memSink struct {
	bytes.Buffer
	cancelled bool
}

func (s *memSink) ID() string    { return "test" }
func (s *memSink) Cancel() error { s.cancelled = true; return nil }
func (s *memSink) Close() error  { return nil }

func TestFSMSnapshotRoundTrip(t *testing.T) {
	f := newFSM(func() {})
	for i, c := range []command{
		{Op: opEligible, Node: "a", Eligible: true, Priority: 100},
		{Op: opEligible, Node: "w"},
		{Op: opGrant, Node: "a"},
	} {
		f.Apply(&hraft.Log{Index: uint64(i + 1), Type: hraft.LogCommand, Data: c.encode()})
	}
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var sink memSink
	if err := snap.Persist(&sink); err != nil {
		t.Fatal(err)
	}
	snap.Release()

	restored := newFSM(func() {})
	if err := restored.Restore(io.NopCloser(&sink)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(f.state(), restored.state()); diff != "" {
		t.Errorf("restored state (-want +got):\n%s", diff)
	}
}

func TestConfigValidate(t *testing.T) {
	base := func() Config {
		return Config{Self: "a", Advertise: "a:1", DataDir: "/tmp/x", Lease: DefaultLease, Peers: []Peer{{Name: "b", Address: "b:1"}}}
	}
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{name: "defaults are valid", mutate: func(*Config) {}},
		{
			name:   "a peer named like self is refused",
			mutate: func(c *Config) { c.Peers = append(c.Peers, Peer{Name: "a", Address: "a:2"}) },
			want:   `peer 1: name "a" used twice`,
		},
		{
			name:   "a leader lease at the validity margin is refused",
			mutate: func(c *Config) { c.LeaderLeaseTimeout = c.Lease * 9 / 20 * 8 / 10 },
			want:   "leader lease timeout 720ms: must lie strictly between 720ms (0.8 × heartbeat timeout) and heartbeat timeout 900ms",
		},
		{
			name:   "an election timeout below the heartbeat timeout is refused",
			mutate: func(c *Config) { c.ElectionTimeout = 500 * time.Millisecond },
			want:   "election timeout 500ms: below heartbeat timeout 900ms",
		},
		{
			name:   "missing names and paths are all reported",
			mutate: func(c *Config) { c.Self, c.Advertise, c.DataDir = "", "", "" },
			want:   "self: empty name\nadvertise: empty address\ndata dir: empty path",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			tc.mutate(&c)
			got := ""
			if err := c.validate(); err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("validate() = %q, want %q", got, tc.want)
			}
		})
	}
}
