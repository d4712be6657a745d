// Package lockfile makes sure that only one vipd process runs with a given
// configuration. A second `vipd run` of the same file must not touch what
// the first one serves (its admin socket, the service address, the raft
// log), so the daemon takes an exclusive lock before anything else and the
// second process exits naming the first one's pid.
//
// The lock is flock(2) on a file: the kernel drops it when the holder
// exits, however it exits, so a crash never leaves a stale lock behind.
//
// Only cmd/vipd imports lockfile.
package lockfile

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
)

// HeldError reports a lock another process holds.
type HeldError struct {
	Path string
	// PID is the holder's process id, 0 when it had not written it yet.
	PID int
}

func (e *HeldError) Error() string {
	holder := "another vipd process"
	if e.PID > 0 {
		holder = fmt.Sprintf("another vipd process (pid %d)", e.PID)
	}
	return fmt.Sprintf("%s is running with this configuration (it holds %s); stop it first", holder, e.Path)
}

// Lock is a held lock; Release gives it up.
type Lock struct {
	f    *os.File
	path string
}

// Acquire takes the exclusive lock on path, creating the file (mode 0600)
// if needed, and writes this process's pid into it. It does not wait: a
// lock another process holds is a *HeldError.
func Acquire(path string) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file %s: %w", path, err)
	}
	if err := lock(f); err != nil {
		f.Close()
		if errors.Is(err, errHeld) {
			return nil, &HeldError{Path: path, PID: readPID(path)}
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	pid := []byte(strconv.Itoa(os.Getpid()) + "\n")
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt(pid, 0)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("write pid to lock file %s: %w", path, err)
	}
	return &Lock{f: f, path: path}, nil
}

// Release gives the lock up. The file stays: removing it would let a
// third process lock a new file while a second still holds the old one.
func (l *Lock) Release() error {
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("release lock %s: %w", l.path, err)
	}
	return nil
}

// readPID reads the holder's pid; 0 when the file holds none (the holder
// has locked it but not written yet).
func readPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}
