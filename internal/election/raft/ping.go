package raft

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrNoAnswer reports a cluster port that accepted the connection (and,
// with cluster TLS, the handshake) but did not answer the peer RPC as a
// vipd member does: another program listens there, or the member's
// election has not started yet.
var ErrNoAnswer = errors.New("no answer to the vipd peer handshake")

// NoAnswerError is a connection that was made but not answered as a vipd
// member answers; Err is what happened instead (EOF, a reset, a timeout).
// It matches ErrNoAnswer.
type NoAnswerError struct {
	Address string
	Err     error
}

func (e *NoAnswerError) Error() string {
	return fmt.Sprintf("%s: %v: %v", e.Address, ErrNoAnswer, e.Err)
}

func (e *NoAnswerError) Unwrap() []error { return []error{ErrNoAnswer, e.Err} }

// Ping proves that a vipd member answers at address: it connects with
// network (nil means plain TCP; a *TLSNetwork does the mutual TLS
// handshake the cluster port requires), announces the peer RPC and sends a
// ping, which every member whose election runs answers. An open port
// alone does not pass. from names the caller in the peer's logs. ctx bounds
// the whole exchange.
//
// A failure to connect is returned as the dialer's error (errors.Is
// syscall.ECONNREFUSED, errors.As *HandshakeError); a connection that was
// made but not answered is a *NoAnswerError.
func Ping(ctx context.Context, network Network, address, from string) error {
	if network == nil {
		network = tcpNetwork{}
	}
	c, err := dialKind(ctx, network, address, connRPC)
	if err != nil {
		return err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Now()) })
	defer stop()
	if err := writeFrame(c, rpcRequest{Op: rpcPing, From: from}); err != nil {
		return fmt.Errorf("ping: send: %w", &NoAnswerError{Address: address, Err: err})
	}
	var resp rpcResponse
	if err := readFrame(c, &resp); err != nil {
		return fmt.Errorf("ping: %w", &NoAnswerError{Address: address, Err: err})
	}
	if err := resp.err(address); err != nil {
		return fmt.Errorf("ping %s: %w", address, err)
	}
	return nil
}
