package raft

import (
	"errors"
	"fmt"
	"log/slog"

	hraft "github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/fs"
	"github.com/hashicorp/raft-wal/metadb"
	"github.com/hashicorp/raft-wal/segment"
	"github.com/hashicorp/raft-wal/types"
)

// openLog opens the raft log (raft-wal) in dir with meta as its metadata
// store, after repairing segments that raft-wal v0.4.0 sealed without an
// index block.
//
// raft-wal before v0.4.1 (hashicorp/raft-wal issue 31) handled raft's
// "clearing log suffix" — a follower dropping an uncommitted tail that a new
// leader replaced — by marking the tail segment sealed in its metadata
// without writing the segment's index block, and started a new tail. The
// process that did it reads the segment from memory and runs on; the next
// Open cannot read any entry of that segment ("sealed segment has no index
// block"), and raft panics on its first read. The entries themselves are
// intact and committed to the file: only the index (the file offset of each
// entry) is missing, and the file holds what is needed to rebuild it — every
// entry is a checksummed frame, in index order.
//
// The repair is the one raft-wal v0.4.1 applies at truncation time: scan the
// segment's frames as a crashed tail is recovered, write the index block
// and a commit frame after the last committed frame (ForceSeal), and record
// the index's offset in the metadata. It appends to the file only after the
// scan proved that every entry the metadata says the segment holds is
// there, and it reads them all back through the new index before the
// metadata points at it. A crash in between leaves the metadata as it was;
// the next start scans again, finds the index block it wrote, and finishes.
func openLog(dir string, meta *metadb.BoltMetaDB, log *slog.Logger) (*wal.WAL, error) {
	st, err := meta.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("load raft log metadata: %w", err)
	}
	repaired := false
	for i, si := range st.Segments {
		if si.SealTime.IsZero() || si.IndexStart != 0 {
			continue
		}
		start, err := rebuildIndex(dir, si)
		if err != nil {
			return nil, fmt.Errorf("rebuild the index of raft log segment %s (entries %d to %d), sealed without one by raft-wal v0.4.0: %w: %w",
				segment.FileName(si), si.MinIndex, si.MaxIndex, err, ErrCorruptLog)
		}
		st.Segments[i].IndexStart = start
		repaired = true
		log.Warn("raft log segment repaired: it was sealed without its index (raft-wal v0.4.0 after a log suffix was cleared); index rebuilt from its entries",
			"segment", segment.FileName(si), "first", si.MinIndex, "last", si.MaxIndex)
	}
	if repaired {
		if err := meta.CommitState(st); err != nil {
			return nil, fmt.Errorf("record repaired raft log segments: %w", err)
		}
	}
	store, err := wal.Open(dir, wal.WithLogger(newHCLogger(log)), wal.WithMetaStore(meta))
	if errors.Is(err, types.ErrCorrupt) {
		err = fmt.Errorf("%w: %w", err, ErrCorruptLog)
	}
	if err != nil {
		return nil, err
	}
	return store, nil
}

// errEntriesMissing reports a sealed segment whose file lacks entries its
// metadata says it holds: these are lost, not merely unindexed.
var errEntriesMissing = errors.New("entries missing from the segment file")

// rebuildIndex writes the index block of the sealed segment si, which has
// none, and returns its offset for si.IndexStart.
func rebuildIndex(dir string, si types.SegmentInfo) (uint64, error) {
	if si.Codec != wal.CodecBinaryV1 {
		return 0, fmt.Errorf("unknown codec %d", si.Codec)
	}
	filer := segment.NewFiler(dir, fs.New())
	// RecoverTail reads the frames up to the last commit frame whose
	// checksum holds, exactly as raft-wal recovers a tail after a crash,
	// and keeps the file offset of each entry.
	w, err := filer.RecoverTail(si)
	if err != nil {
		return 0, fmt.Errorf("scan entries: %w", err)
	}
	defer w.Close()
	if last := w.LastIndex(); si.MaxIndex >= si.MinIndex && last < si.MaxIndex {
		return 0, fmt.Errorf("%w: the file's last committed entry is %d", errEntriesMissing, last)
	}
	start, err := w.ForceSeal()
	if err != nil {
		return 0, fmt.Errorf("write index block: %w", err)
	}
	// Read every entry back through the new index before the metadata
	// points at it.
	sealed := si
	sealed.IndexStart = start
	r, err := filer.Open(sealed)
	if err != nil {
		return 0, fmt.Errorf("open repaired segment: %w", err)
	}
	defer r.Close()
	var codec wal.BinaryCodec
	for i := si.MinIndex; i <= si.MaxIndex; i++ {
		buf, err := r.GetLog(i)
		if err != nil {
			return 0, fmt.Errorf("read entry %d through the rebuilt index: %w", i, err)
		}
		var l hraft.Log
		err = codec.Decode(buf.Bs, &l)
		buf.Close()
		if err != nil {
			return 0, fmt.Errorf("decode entry %d through the rebuilt index: %w", i, err)
		}
		if l.Index != i {
			return 0, fmt.Errorf("rebuilt index points entry %d at entry %d", i, l.Index)
		}
	}
	return start, nil
}
