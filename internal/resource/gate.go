package resource

import "context"

// WriteGate orders the writes of many moves that share one account's EC2
// buckets: a controller serving many clusters passes one to every move
// (WithWriteGate), and Write waits for its admission before the fencing
// check and the call. Writes marked Later (the remaining route tables of
// an overlay-route) are admitted only when no first write of any move
// waits, so that when an Availability Zone fails every cluster gets its
// service back (its first route) before any cluster completes the rest.
type WriteGate interface {
	// Admit blocks until the write may go, or ctx ends; release hands
	// the slot back and must be called once.
	Admit(ctx context.Context, later bool) (release func(), err error)
}

type gateKey struct{}

type laterKey struct{}

// WithWriteGate returns a context whose writes (Write) pass through g.
func WithWriteGate(ctx context.Context, g WriteGate) context.Context {
	return context.WithValue(ctx, gateKey{}, g)
}

// Later marks the writes made under ctx as following their move's first
// write: a WriteGate admits them after every waiting first write.
func Later(ctx context.Context) context.Context {
	return context.WithValue(ctx, laterKey{}, true)
}

// admit waits for ctx's write gate, if any.
func admit(ctx context.Context) (func(), error) {
	g, _ := ctx.Value(gateKey{}).(WriteGate)
	if g == nil {
		return func() {}, nil
	}
	later, _ := ctx.Value(laterKey{}).(bool)
	return g.Admit(ctx, later)
}

// Gated reports whether ctx's writes pass through a write gate, which
// then orders first writes before Later ones itself.
func Gated(ctx context.Context) bool {
	_, ok := ctx.Value(gateKey{}).(WriteGate)
	return ok
}
