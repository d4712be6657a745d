package simcluster

import (
	"bufio"
	"context"
	"net"
	"strings"
	"sync"
	"time"
)

// Dial opens a connection to the service address, the way the cluster's
// fabric reaches it: a loopback port of the proxy fabric, or a dial from
// the client's namespace.
type Dial func(ctx context.Context) (net.Conn, error)

// Sample is one client attempt: when it started and ended, and the node
// that answered, or why none did.
type Sample struct {
	Start, End time.Time
	Node       string // "" when the attempt failed
	Err        error
}

// Ask connects once, bounded by timeout, and reads which node answered
// (a Service's line).
func Ask(ctx context.Context, dial Dial, timeout time.Duration) Sample {
	s := Sample{Start: time.Now()}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := dial(ctx)
	if err != nil {
		s.Err = err
		s.End = time.Now()
		return s
	}
	defer conn.Close()
	_ = conn.SetDeadline(s.Start.Add(timeout))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		s.Err, s.End = err, time.Now()
		return s
	}
	s.Node, s.End = strings.TrimSpace(line), time.Now()
	return s
}

// ProberOptions say how often a Prober asks and how long it waits.
type ProberOptions struct {
	Every, Timeout time.Duration
	// Overlap runs each attempt in its own goroutine, so that one that
	// hangs (a blackholed address) does not delay the next: the
	// benchmarks time the first answer to within Every. Without it the
	// attempts run one after another, as an application reconnects.
	Overlap bool
}

// Prober asks the service address every Options.Every, like a client that
// reconnects to its database, and keeps what answered when (the newest
// samples, at most maxSamples). Its methods may be called from any
// goroutine.
type Prober struct {
	dial   Dial
	o      ProberOptions
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	samples []Sample // in the order attempts ended
}

const maxSamples = 20000

// StartProber starts asking until ctx is done or Stop.
func StartProber(ctx context.Context, dial Dial, o ProberOptions) *Prober {
	ctx, cancel := context.WithCancel(ctx)
	p := &Prober{dial: dial, o: o, cancel: cancel}
	p.wg.Go(func() {
		t := time.NewTicker(o.Every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if o.Overlap {
				p.wg.Go(func() { p.add(Ask(ctx, dial, o.Timeout)) })
			} else {
				p.add(Ask(ctx, dial, o.Timeout))
			}
		}
	})
	return p
}

func (p *Prober) add(s Sample) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.samples) >= maxSamples {
		p.samples = append(p.samples[:0], p.samples[maxSamples/2:]...)
	}
	p.samples = append(p.samples, s)
}

// FirstServed returns the first attempt started after t that node
// answered (the earliest to end, with Overlap).
func (p *Prober) FirstServed(node string, after time.Time) (Sample, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.samples {
		if s.Node == node && s.Start.After(after) {
			return s, true
		}
	}
	return Sample{}, false
}

// Failed counts the failed attempts started in [from, to).
func (p *Prober) Failed(from, to time.Time) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, s := range p.samples {
		if !s.Start.Before(from) && s.Start.Before(to) && s.Node == "" {
			n++
		}
	}
	return n
}

// Served returns how many attempts each node answered.
func (p *Prober) Served() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := map[string]int{}
	for _, s := range p.samples {
		if s.Node != "" {
			m[s.Node]++
		}
	}
	return m
}

// Stop ends the prober and waits for its attempts.
func (p *Prober) Stop() {
	p.cancel()
	p.wg.Wait()
}
