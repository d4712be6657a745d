package demo

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/vipd/vipd/internal/simcluster"
)

// clientOptions are the demo client's: it connects to the service
// address every 50 ms, one attempt after another, like an application
// reconnecting to its database.
var clientOptions = simcluster.ProberOptions{Every: 50 * time.Millisecond, Timeout: 500 * time.Millisecond}

// dialer reaches the service address at addr, the fabric's loopback port.
func dialer(addr netip.AddrPort) simcluster.Dial {
	return func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr.String())
	}
}

// Serve is the demo's service: it listens on addr (a loopback address),
// prints "listening ADDR" on out, and answers every connection with name
// and a newline, until ctx is done. `vipd demo service` runs it.
func Serve(ctx context.Context, name, addr string, out *os.File) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	fmt.Fprintf(out, "listening %s\n", ln.Addr())
	svc := simcluster.Serve(ln, name)
	<-ctx.Done()
	svc.Close()
	return nil
}
