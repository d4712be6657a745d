// Package version holds build information set by the linker (see Makefile).
package version

// Set with -ldflags -X by `make build`.
var (
	Version = "dev"
	Commit  = "unknown"
)
