package demo

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"
)

// sample is one client attempt: who answered, or why nobody did.
type sample struct {
	at   time.Time
	node string
	err  error
}

// client connects to the service address through the fabric every 50 ms,
// like an application reconnecting to its database, and remembers what
// happened. Its samples are read by the scenarios.
type client struct {
	addr netip.AddrPort
	mu   sync.Mutex
	log  []sample
}

const clientEvery = 50 * time.Millisecond

func newClient(addr netip.AddrPort) *client { return &client{addr: addr} }

func (c *client) run(ctx context.Context) {
	t := time.NewTicker(clientEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s := c.attempt(ctx)
		c.mu.Lock()
		c.log = append(c.log, s)
		if len(c.log) > 20000 {
			c.log = c.log[len(c.log)-10000:]
		}
		c.mu.Unlock()
	}
}

func (c *client) attempt(ctx context.Context) sample {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", c.addr.String())
	if err != nil {
		return sample{at: start, err: err}
	}
	defer conn.Close()
	dl, _ := ctx.Deadline()
	_ = conn.SetDeadline(dl)
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return sample{at: start, err: err}
	}
	return sample{at: start, node: strings.TrimSpace(line)}
}

// firstServed returns the first attempt after t that node answered.
func (c *client) firstServed(node string, after time.Time) (sample, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.log {
		if s.at.After(after) && s.node == node {
			return s, true
		}
	}
	return sample{}, false
}

func (c *client) servedBy(node string, after time.Time) bool {
	_, ok := c.firstServed(node, after)
	return ok
}

// errorsBetween counts failed attempts in [from, to).
func (c *client) errorsBetween(from, to time.Time) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, s := range c.log {
		if !s.at.Before(from) && s.at.Before(to) && s.err != nil {
			n++
		}
	}
	return n
}

// nodesServed returns the set of nodes that ever answered.
func (c *client) nodesServed() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := map[string]int{}
	for _, s := range c.log {
		if s.node != "" {
			m[s.node]++
		}
	}
	return m
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
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("accept: %w", err)
		}
		_ = conn.SetDeadline(time.Now().Add(time.Second))
		_, _ = conn.Write([]byte(name + "\n"))
		conn.Close()
	}
}
