package raft

import (
	"errors"
	"log/slog"
	"strings"
	"testing"

	hraft "github.com/hashicorp/raft"
)

// panickyStore stands for a raft-wal whose segments cannot be read: raft-wal
// panics ("sealed segment has no index block") instead of returning an
// error, as the benchmark saw after a SIGKILL.
type panickyStore struct{ *hraft.InmemStore }

func (panickyStore) LastIndex() (uint64, error) { panic("sealed segment has no index block") }

// A node whose raft log cannot be read must stop with an error that says
// what to do, not crash-loop on a panic (bench/RESULTS.md, "A crash found
// by this benchmark").
func TestCorruptLogIsAnErrorWithTheWayOut(t *testing.T) {
	l := &Lease{cfg: Config{DataDir: "/var/lib/vipd/c"}, log: slog.New(slog.DiscardHandler)}
	_, tr := hraft.NewInmemTransport("a")
	rc := hraft.DefaultConfig()
	rc.LocalID = "a"
	_, r, err := l.startRaft(rc, panickyStore{hraft.NewInmemStore()}, hraft.NewInmemSnapshotStore(), tr)
	if r != nil {
		r.Shutdown()
	}
	if !errors.Is(err, ErrCorruptLog) {
		t.Fatalf("startRaft on an unreadable log: %v, want ErrCorruptLog", err)
	}
	for _, want := range []string{"sealed segment has no index block", "move /var/lib/vipd/c/wal (only that directory) aside"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
