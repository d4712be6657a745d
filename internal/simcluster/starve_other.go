//go:build !linux

package simcluster

import "fmt"

// starver is the CPU-starving competitor, which needs Linux's CPU
// affinity calls.
type starver struct {
	cpu   int
	loops []struct{}
}

func (s *starver) stop() {}

// Starve is unavailable off Linux.
func (c *Cluster) Starve(name string) (*starver, error) {
	return nil, fmt.Errorf("starve %s: %w", name, errUnavailable)
}
