// Package osnet changes the host's network configuration that ownership
// needs: the service address bound on an interface (like an overlay-IP
// failover script's `ip address add VIP dev eth0:1`). It talks netlink on Linux; elsewhere,
// and in "none" mode, it is a real no-op that reports success, because
// another tool (or nobody, in the rootless demo) binds the address.
//
// Imported by internal/node.
package osnet

import (
	"context"
	"net/netip"
)

// Binder binds and unbinds one address on one interface.
type Binder interface {
	// Bind adds the address if missing. Idempotent.
	Bind(ctx context.Context) error
	// Unbind removes the address if present. Idempotent.
	Unbind(ctx context.Context) error
	// Bound reports whether the address is present.
	Bound(ctx context.Context) (bool, error)
	// String describes the binding for logs and status.
	String() string
}

// None is the Binder of `local-address: {interface: none}`.
type None struct{ Prefix netip.Prefix }

func (None) Bind(context.Context) error          { return nil }
func (None) Unbind(context.Context) error        { return nil }
func (None) Bound(context.Context) (bool, error) { return true, nil }
func (n None) String() string                    { return n.Prefix.String() + " (not bound: interface none)" }
