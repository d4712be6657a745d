//go:build e2e

package e2e

import (
	"os"
	"testing"
)

// vipdBin is the vipd binary under test.
func vipdBin(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("VIPD_BIN")
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("VIPD_BIN is not set: run the e2e tests with `make e2e`")
		}
		t.Skip("VIPD_BIN is not set: run the e2e tests with `make e2e`")
	}
	return bin
}
