package version

import (
	"runtime/debug"
	"testing"
)

func TestGet(t *testing.T) {
	checkout := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/vipd/vipd", Version: "v0.0.0-20261204170902-5c87563f00d1+dirty"},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "5c87563f00d1e2a0b6e1c1d1c7b5f3f3a6e0c2d1"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	for _, tt := range []struct {
		name     string
		bi       *debug.BuildInfo
		ldV, ldC string
		want     Info
	}{
		{
			name: "the linker's values win over the build information",
			bi:   checkout, ldV: "v1.2.3", ldC: "abc1234",
			want: Info{Version: "v1.2.3", Commit: "abc1234", Go: "go1.26.8"},
		},
		{
			name: "make build on an untagged commit sets only the commit",
			bi: &debug.BuildInfo{GoVersion: "go1.26.8",
				Main: debug.Module{Path: "github.com/vipd/vipd", Version: "(devel)"}},
			ldC:  "5c87563",
			want: Info{Version: Next + "-dev", Commit: "5c87563", Go: "go1.26.8"},
		},
		{
			name: "go build in a checkout reports the VCS pseudo-version and revision",
			bi:   checkout,
			want: Info{Version: "v0.0.0-20261204170902-5c87563f00d1+dirty", Commit: "5c87563f00d1+dirty", Go: "go1.26.8"},
		},
		{
			name: "go install of a tag reports the tag",
			bi: &debug.BuildInfo{GoVersion: "go1.26.8",
				Main: debug.Module{Path: "github.com/vipd/vipd", Version: "v1.4.0"}},
			want: Info{Version: "v1.4.0", Commit: "unknown", Go: "go1.26.8"},
		},
		{
			name: "go install of a commit takes the commit from the pseudo-version",
			bi: &debug.BuildInfo{GoVersion: "go1.26.8",
				Main: debug.Module{Path: "github.com/vipd/vipd", Version: "v0.0.0-20261204170902-5c87563f00d1"}},
			want: Info{Version: "v0.0.0-20261204170902-5c87563f00d1", Commit: "5c87563f00d1", Go: "go1.26.8"},
		},
		{
			name: "a build without VCS information names the next release",
			bi: &debug.BuildInfo{GoVersion: "go1.26.8",
				Main: debug.Module{Path: "github.com/vipd/vipd", Version: "(devel)"}},
			want: Info{Version: Next + "-dev", Commit: "unknown", Go: "go1.26.8"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := get(tt.bi, tt.ldV, tt.ldC); got != tt.want {
				t.Errorf("get() = %+v, want %+v", got, tt.want)
			}
		})
	}
	if got, want := get(checkout, "", "").String(), "v0.0.0-20261204170902-5c87563f00d1+dirty (commit 5c87563f00d1+dirty, go1.26.8)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestGetWithoutBuildInfo(t *testing.T) {
	got := get(nil, "", "")
	if got.Version != Next+"-dev" || got.Commit != "unknown" || got.Go == "" {
		t.Errorf("get(nil) = %+v, want %s-dev, unknown and the running Go version", got, Next)
	}
}
