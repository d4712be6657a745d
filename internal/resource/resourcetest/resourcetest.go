// Package resourcetest holds what the tests of the resource kinds share:
// simulated instances as vipd sees them, grants that outlive the test, and
// counts of the calls vpcsim served.
//
// Only tests import resourcetest.
package resourcetest

import (
	"log/slog"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/fence"
	"github.com/vipd/vipd/internal/resource"
	"github.com/vipd/vipd/internal/vpcsim"
)

// Node is one simulated instance as vipd sees it: its identity from IMDS
// and its clients from awsapi.Load, the production constructor.
type Node struct {
	Self    resource.Self
	Clients *awsapi.Clients
}

// NewNode builds instance id's Node against s, as vipd on that instance
// would, with two attempts per call.
func NewNode(t *testing.T, s *vpcsim.Server, id string) Node {
	t.Helper()
	c, err := awsapi.Load(t.Context(), awsapi.Options{Endpoint: s.URL(), IMDSEndpoint: s.IMDSURL(id), MaxAttempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	ident, err := awsapi.ReadIdentity(t.Context(), c.IMDS)
	if err != nil {
		t.Fatal(err)
	}
	return Node{Self: resource.Self{Name: id, Identity: ident}, Clients: c}
}

// Token is grant n, valid for an hour from each check: longer than any
// test runs.
func Token(n uint64) fence.Token {
	return fence.New(n, func(uint64) (time.Time, bool) { return time.Now().Add(time.Hour), true })
}

// Logger logs everything, debug included, to the test's output.
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// Calls counts the calls of action that s answered, whatever their outcome.
func Calls(s *vpcsim.Server, action string) int {
	return count(s, func(c vpcsim.Call) bool { return c.Action == action })
}

// ForcedCalls counts the calls of action with Force=true (a forced
// DetachVolume or DetachNetworkInterface) that s answered.
func ForcedCalls(s *vpcsim.Server, action string) int {
	return count(s, func(c vpcsim.Call) bool { return c.Action == action && c.Params["Force"] == "true" })
}

func count(s *vpcsim.Server, match func(vpcsim.Call) bool) int {
	n := 0
	for _, c := range s.Calls(0) {
		if match(c) {
			n++
		}
	}
	return n
}
