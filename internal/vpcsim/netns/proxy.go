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
// lifted. A delay holds every chunk a client sends for that long before
// forwarding it: each request answers that much later, as from a slow
// metadata service.
type proxy struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	delay   time.Duration
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
	go func() { _, _ = p.copyDelayed(up, c); closeWrite(up); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); closeWrite(c); done <- struct{}{} }()
	<-done
	<-done
}

// copyDelayed copies src to dst like io.Copy, holding each chunk for the
// delay in force when it arrived. Closing either side ends the wait (the
// sleep is bounded by the delay, which setDelay bounds).
func (p *proxy) copyDelayed(dst io.Writer, src io.Reader) (int64, error) {
	buf := make([]byte, 32<<10)
	var n int64
	for {
		k, rerr := src.Read(buf)
		if k > 0 {
			p.mu.Lock()
			d := p.delay
			p.mu.Unlock()
			if d > 0 {
				time.Sleep(d)
			}
			w, werr := dst.Write(buf[:k])
			n += int64(w)
			if werr != nil {
				return n, werr
			}
		}
		if rerr != nil {
			if errors.Is(rerr, io.EOF) {
				return n, nil
			}
			return n, rerr
		}
	}
}

// maxDelay bounds a proxy's delay: a slow service, not a cut.
const maxDelay = 10 * time.Second

// setDelay holds every chunk clients send for d (0: none) from now on.
func (p *proxy) setDelay(d time.Duration) {
	p.mu.Lock()
	p.delay = min(max(d, 0), maxDelay)
	p.mu.Unlock()
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
