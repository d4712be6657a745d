package daemon

import (
	"testing"

	"go.uber.org/goleak"
)

// Run and RunController wait for everything they start: a goroutine left
// behind by any test of the package fails it.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
