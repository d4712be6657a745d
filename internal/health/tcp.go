package health

import (
	"context"
	"fmt"
	"net"
	"time"
)

// tcpChecker passes when addr accepts a TCP connection within the timeout;
// the connection is closed at once without sending anything.
type tcpChecker struct {
	addr    string
	timeout time.Duration
}

func (c *tcpChecker) Check(ctx context.Context) error {
	probe, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(probe, "tcp", c.addr)
	if err != nil {
		return fmt.Errorf("connect %s: %w", c.addr, timeoutErr(ctx, probe, c.timeout, err))
	}
	// The probe's verdict is the accepted connection; a failing close says
	// nothing about the service.
	_ = conn.Close()
	return nil
}
