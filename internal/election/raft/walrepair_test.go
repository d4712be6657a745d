package raft

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	hraft "github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
)

// poisonedLog is testdata/wal-v040-cleared-suffix (see its README): node a's
// raft log after raft cleared an uncommitted suffix under raft-wal v0.4.0,
// which sealed segment 1 (entries 1 to 7) without its index block.
const poisonedLog = "testdata/wal-v040-cleared-suffix"

// poisonedEntries are the entries of poisonedLog; the newest grant is b's,
// token 9.
func poisonedEntries() []hraft.Log {
	conf := hraft.Configuration{Servers: []hraft.Server{
		{Suffrage: hraft.Voter, ID: "a", Address: "a:7946"},
		{Suffrage: hraft.Voter, ID: "b", Address: "b:7946"},
		{Suffrage: hraft.Voter, ID: "w", Address: "w:7946"},
	}}
	return []hraft.Log{
		{Index: 1, Term: 1, Type: hraft.LogConfiguration, Data: hraft.EncodeConfiguration(conf)},
		{Index: 2, Term: 2, Type: hraft.LogNoop},
		{Index: 3, Term: 2, Type: hraft.LogCommand, Data: command{Op: opEligible, Node: "a", Eligible: true, Priority: 100}.encode()},
		{Index: 4, Term: 2, Type: hraft.LogCommand, Data: command{Op: opEligible, Node: "b", Eligible: true, Priority: 100}.encode()},
		{Index: 5, Term: 2, Type: hraft.LogCommand, Data: command{Op: opGrant, Node: "a"}.encode()},
		{Index: 6, Term: 2, Type: hraft.LogBarrier},
		{Index: 7, Term: 2, Type: hraft.LogBarrier},
		{Index: 8, Term: 3, Type: hraft.LogNoop},
		{Index: 9, Term: 3, Type: hraft.LogCommand, Data: command{Op: opGrant, Node: "b"}.encode()},
		{Index: 10, Term: 3, Type: hraft.LogBarrier},
	}
}

// copyPoisonedLog puts poisonedLog into dataDir/wal, as a node's data
// directory holds it.
func copyPoisonedLog(t *testing.T, dataDir string) string {
	t.Helper()
	walDir := filepath.Join(dataDir, "wal")
	if err := os.MkdirAll(walDir, 0o700); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(poisonedLog, "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !strings.HasSuffix(f, ".wal") && !strings.HasSuffix(f, ".db") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(walDir, filepath.Base(f)), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return walDir
}

// assertPoisoned checks that the log in walDir has a segment sealed without
// an index block, so that the tests below exercise the real damage.
func assertPoisoned(t *testing.T, walDir string) {
	t.Helper()
	meta := &metadb.BoltMetaDB{}
	defer meta.Close()
	st, err := meta.Load(walDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, si := range st.Segments {
		if !si.SealTime.IsZero() && si.IndexStart == 0 {
			return
		}
	}
	b, _ := json.Marshal(st)
	t.Fatalf("%s has no sealed segment without an index block: %s", walDir, b)
}

// readLog returns every entry of the raft log in walDir.
func readLog(t *testing.T, walDir string) []hraft.Log {
	t.Helper()
	meta := &metadb.BoltMetaDB{}
	defer meta.Close()
	store, err := wal.Open(walDir, wal.WithMetaStore(meta))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	first, _ := store.FirstIndex()
	last, _ := store.LastIndex()
	var out []hraft.Log
	for i := first; i <= last && i > 0; i++ {
		var l hraft.Log
		if err := store.GetLog(i, &l); err != nil {
			t.Fatalf("read entry %d of %s: %v", i, walDir, err)
		}
		out = append(out, l)
	}
	return out
}

func sameEntry(a, b hraft.Log) bool {
	return a.Index == b.Index && a.Term == b.Term && a.Type == b.Type && bytes.Equal(a.Data, b.Data)
}

// A node whose log raft-wal v0.4.0 sealed without an index (after raft
// cleared an uncommitted suffix) starts again, with no operator action: its
// entries are all there afterwards, unchanged, and the next grant's token
// is above every token the log already held (issue 16, finding 1).
func TestStartsOnLogSealedWithoutIndex(t *testing.T) {
	c := newStoppedCluster(t, false)
	walDir := copyPoisonedLog(t, c.member("a").dir)
	assertPoisoned(t, walDir)
	for _, m := range c.members {
		c.start(m.name)
	}
	c.setEligible("a", true, 100)
	c.setEligible("b", true, 100)
	h := c.holder(20 * c.dur)
	if h.Token <= 9 {
		t.Errorf("holder %s has token %d, want above 9, the newest token in a's log", h.Self, h.Token)
	}

	// Stop a cleanly, start it again on the repaired log, and read it.
	c.stop("a")
	c.start("a")
	h2 := c.holder(20 * c.dur)
	if h2.Token < h.Token {
		t.Errorf("after a's restart holder %s has token %d, below %d", h2.Self, h2.Token, h.Token)
	}
	c.stop("a")
	got := readLog(t, walDir)
	want := poisonedEntries()
	if len(got) < len(want) {
		t.Fatalf("a's log holds %d entries after the restarts, want at least the %d it had", len(got), len(want))
	}
	for i, w := range want {
		if !sameEntry(got[i], w) {
			t.Errorf("entry %d after the restarts = index %d term %d type %v %q, want index %d term %d type %v %q",
				w.Index, got[i].Index, got[i].Term, got[i].Type, got[i].Data, w.Index, w.Term, w.Type, w.Data)
		}
	}
}

// When entries the metadata lists are really gone from the segment file,
// the index cannot be rebuilt: the node stops with ErrCorruptLog and the way
// out, and leaves the file as it found it.
func TestSegmentMissingEntriesIsNotRepaired(t *testing.T) {
	dataDir := t.TempDir()
	walDir := copyPoisonedLog(t, dataDir)
	seg := filepath.Join(walDir, "00000000000000000001-0000000000000000.wal")
	b, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	// Cut the file after the third commit frame: entries 4 to 7 are lost.
	cut := nthCommitEnd(t, b, 3)
	clear(b[cut:])
	if err := os.WriteFile(seg, b, 0o600); err != nil {
		t.Fatal(err)
	}

	l, err := New(Config{Self: "a", Advertise: "a:7946", DataDir: dataDir, Lease: testLease,
		Peers:   []Peer{{Name: "b", Address: "b:7946"}, {Name: "w", Address: "w:7946", Witness: true}},
		Network: newMemNet().endpoint("a:7946")}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	err = l.Run(t.Context())
	if !errors.Is(err, ErrCorruptLog) || !errors.Is(err, errEntriesMissing) {
		t.Fatalf("Run on a segment missing entries = %v, want ErrCorruptLog and errEntriesMissing", err)
	}
	if !strings.Contains(err.Error(), "move "+walDir+" (only that directory) aside") {
		t.Errorf("error %q does not say the way out", err)
	}
	after, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(after, b) {
		t.Errorf("the segment file changed although it could not be repaired")
	}
	assertPoisoned(t, walDir)
}

// nthCommitEnd returns the offset just past the n-th commit frame of a
// raft-wal segment file (a 32-byte file header, then frames of an 8-byte
// header — type, 3 reserved bytes, length or crc — and a payload padded to
// 8 bytes; commit frames, type 3, have none).
func nthCommitEnd(t *testing.T, b []byte, n int) int {
	t.Helper()
	off := 32
	for off+8 <= len(b) {
		typ := b[off]
		length := int(uint32(b[off+4]) | uint32(b[off+5])<<8 | uint32(b[off+6])<<16 | uint32(b[off+7])<<24)
		switch typ {
		case 1: // entry
			off += 8 + (length+7)/8*8
		case 3: // commit
			off += 8
			if n--; n == 0 {
				return off
			}
		default:
			t.Fatalf("unexpected frame type %d at %d", typ, off)
		}
	}
	t.Fatalf("fewer than %d commit frames", n)
	return 0
}
