package controller

import (
	"context"
	"sync"
)

// writeGate is the resource.WriteGate a fleet shares among its clusters'
// moves: at most slots writes at once, first writes of a move before
// Later ones, each class in arrival order. Bounding the writes in flight
// is what makes the order hold under throttling: a throttled write is
// retried (awsapi's retry layer) while it holds its slot, so the writes
// waiting for a slot, not those retrying, are the ones the order decides
// among, and a cluster's first route waits for at most one slot to free.
type writeGate struct {
	mu     sync.Mutex
	free   int
	queues [2][]chan struct{} // [0] first writes, [1] later ones
}

// DefaultWriteConcurrency is a fleet's writes in flight when the
// configuration sets none: at EC2's latency (100–300 ms a write) 4 keep
// 13–40 writes a second going, above the mutating refill of 5 a second,
// and a first write waits behind at most 4 throttled ones.
const DefaultWriteConcurrency = 4

func newWriteGate(slots int) *writeGate {
	return &writeGate{free: max(slots, 1)}
}

// Admit implements resource.WriteGate.
func (g *writeGate) Admit(ctx context.Context, later bool) (func(), error) {
	class := 0
	if later {
		class = 1
	}
	g.mu.Lock()
	ahead := len(g.queues[0])
	if later {
		ahead += len(g.queues[1])
	}
	if g.free > 0 && ahead == 0 {
		g.free--
		g.mu.Unlock()
		return g.releaser(), nil
	}
	ready := make(chan struct{})
	g.queues[class] = append(g.queues[class], ready)
	g.mu.Unlock()
	select {
	case <-ready:
		return g.releaser(), nil
	case <-ctx.Done():
		g.mu.Lock()
		defer g.mu.Unlock()
		select {
		case <-ready:
			// Granted as ctx ended: pass the slot on.
			g.handOn()
		default:
			q := g.queues[class]
			for i, w := range q {
				if w == ready {
					g.queues[class] = append(q[:i:i], q[i+1:]...)
					break
				}
			}
		}
		return nil, ctx.Err()
	}
}

func (g *writeGate) releaser() func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			defer g.mu.Unlock()
			g.handOn()
		})
	}
}

// handOn gives a freed slot to the next waiter, or back to the pool.
// Called with mu held.
func (g *writeGate) handOn() {
	for c := range g.queues {
		if q := g.queues[c]; len(q) > 0 {
			g.queues[c] = q[1:]
			close(q[0])
			return
		}
	}
	g.free++
}
