package netns

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// proxy forwards TCP connections accepted inside an instance namespace to
// an address in the fabric's own (root) namespace: the instance's IMDS
// listener or the EC2 API of vpcsim. Cutting it models a partition: open
// connections are dropped and new ones are accepted but never answered
// (the client sees a timeout, as across a real partition) until the cut is
// lifted.
type proxy struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	cut     chan struct{} // non-nil while cut; closed when lifted
	conns   map[net.Conn]struct{}
	closing bool
	wg      sync.WaitGroup
}

func newProxy(ln net.Listener, target string) *proxy {
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.serve)
	return p
}

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond) // EMFILE and such: do not spin
			continue
		}
		p.mu.Lock()
		if p.closing {
			p.mu.Unlock()
			c.Close()
			return
		}
		p.conns[c] = struct{}{}
		cut := p.cut
		p.wg.Add(1)
		p.mu.Unlock()
		go func() {
			defer p.wg.Done()
			defer p.forget(c)
			if cut != nil {
				<-cut // held unanswered until the cut is lifted or the proxy closes
				return
			}
			p.pipe(c)
		}()
	}
}

func (p *proxy) forget(c net.Conn) {
	c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

func (p *proxy) pipe(c net.Conn) {
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		return
	}
	p.mu.Lock()
	if p.closing || p.cut != nil {
		p.mu.Unlock()
		up.Close()
		return
	}
	p.conns[up] = struct{}{}
	p.mu.Unlock()
	defer p.forget(up)
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); closeWrite(up); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); closeWrite(c); done <- struct{}{} }()
	<-done
	<-done
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}

// setCut cuts (on) or restores the path. Cutting drops every open
// connection.
func (p *proxy) setCut(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case on && p.cut == nil:
		p.cut = make(chan struct{})
		for c := range p.conns {
			c.Close()
		}
	case !on && p.cut != nil:
		close(p.cut)
		p.cut = nil
	}
}

func (p *proxy) isCut() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cut != nil
}

// close stops accepting, drops every connection and waits for the
// goroutines.
func (p *proxy) close() {
	p.mu.Lock()
	p.closing = true
	if p.cut != nil {
		close(p.cut)
		p.cut = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.ln.Close()
	p.wg.Wait()
}
