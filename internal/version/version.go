// Package version says which build of vipd or vpcsim is running. Release
// builds (make build, make dist) set Version and Commit with the linker;
// `go install` and `go run` builds carry the same facts in the build
// information the go command records, which Get reads when the linker set
// nothing.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Set with -ldflags -X by the Makefile (Version only on a tagged commit);
// empty in other builds.
var (
	Version string
	Commit  string
)

// Next is the release this tree is heading for, reported as NEXT-dev by a
// build that knows no better: one without the linker's values and without
// VCS information (a go build with -buildvcs=false, from a source archive
// or in a git worktree, where the go command records none). Raise it after
// tagging a release.
const Next = "v0.1.0"

// Info is what a binary reports for --version.
type Info struct {
	Version string // a tag (v1.2.3), a pseudo-version, a git describe or Next-dev
	Commit  string // abbreviated commit hash; "unknown" if the build did not record one
	Go      string // the Go release the binary was built with
}

// String formats i as "VERSION (commit COMMIT, GO)", the line after the
// program name in `vipd version` and `--version`.
func (i Info) String() string {
	return fmt.Sprintf("%s (commit %s, %s)", i.Version, i.Commit, i.Go)
}

// Get returns the version of the running binary: the linker's values when
// set, else what the go command recorded (the module version for
// `go install ...@v1.2.3`, the VCS pseudo-version and revision for a build
// in a checkout).
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return get(bi, Version, Commit)
}

// get is Get with its inputs explicit; bi may be nil (no build information).
func get(bi *debug.BuildInfo, ldVersion, ldCommit string) Info {
	i := Info{Version: ldVersion, Commit: ldCommit, Go: runtime.Version()}
	if bi != nil {
		if bi.GoVersion != "" {
			i.Go = bi.GoVersion
		}
		if i.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			i.Version = bi.Main.Version
		}
		if i.Commit == "" {
			i.Commit = buildCommit(bi)
		}
	}
	if i.Version == "" {
		i.Version = Next + "-dev"
	}
	if i.Commit == "" {
		i.Commit = "unknown"
	}
	return i
}

// buildCommit is the abbreviated commit of bi: the VCS revision the go
// command stamps into builds in a checkout, or the hash at the end of a
// pseudo-version (v0.0.0-20261204170000-5c87563abcde) for builds from the
// module proxy, which record no VCS settings. "+dirty" marks uncommitted
// changes.
func buildCommit(bi *debug.BuildInfo) string {
	var rev string
	var modified bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" {
		v := strings.TrimSuffix(bi.Main.Version, "+dirty")
		if i := strings.LastIndexByte(v, '-'); i >= 0 && isPseudoRev(v[i+1:]) {
			rev = v[i+1:]
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" && modified {
		rev += "+dirty"
	}
	return rev
}

// isPseudoRev reports whether s is the 12-hex-digit revision that ends a
// Go pseudo-version.
func isPseudoRev(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
