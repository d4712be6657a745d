// Package kinds is the list of resource kinds vipd has: one line per kind,
// each described by its own package. A kind the config schema knows but
// this list lacks fails kinds_test.go.
//
// The list is written out, not filled by each kind's init: style.md keeps
// package state out of init, and a blank import per kind would be the same
// line in another place. This line and its import are the one edit a new
// kind needs outside its package, the schema and vpcsim.
//
// Imported by what builds resources from a configuration (internal/daemon,
// the controller) and by what derives from every kind (iam-policy, check).
package kinds

import (
	"github.com/vipd/vipd/internal/resource"
	"github.com/vipd/vipd/internal/resource/dnsrecord"
	"github.com/vipd/vipd/internal/resource/ebsvolume"
	"github.com/vipd/vipd/internal/resource/elasticip"
	"github.com/vipd/vipd/internal/resource/eni"
	"github.com/vipd/vipd/internal/resource/overlayroute"
	"github.com/vipd/vipd/internal/resource/secondaryip"
)

// Registry returns the registry of every kind. It panics when the kinds
// contradict each other (two with one name or one order), which is a
// programming error that kinds_test.go catches.
func Registry() *resource.Registry {
	r, err := resource.NewRegistry(
		ebsvolume.Kind(),
		eni.Kind(),
		secondaryip.Kind(),
		elasticip.Kind(),
		overlayroute.Kind(),
		dnsrecord.Kind(),
	)
	if err != nil {
		panic(err)
	}
	return r
}
