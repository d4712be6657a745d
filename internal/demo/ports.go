package demo

import (
	"fmt"
	"net"
)

// freePorts returns n loopback addresses with ports the system picked.
// They are released before the nodes bind them; on loopback, with the
// kernel handing out ports in sequence, a collision is very unlikely, and
// a node that loses the race fails visibly at start.
func freePorts(n int) ([]string, error) {
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	var out []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("pick a loopback port: %w", err)
		}
		lns = append(lns, l)
		out = append(out, l.Addr().String())
	}
	return out, nil
}
