// Package fabric is vpcsim's rootless data plane: it lets a real TCP client
// on loopback reach a simulated VPC address, and forwards each connection to
// whichever simulated instance receives that address at the moment the
// connection is made, so a demo or test can prove that traffic follows a
// failover without root, namespaces or AWS.
//
// A destination as seen from one subnet (Expose) is a loopback listener; an
// instance's service on a port (Bind) is a real server on a loopback
// address. Which instance receives a destination is asked of a Resolver
// (vpcsim's server: the most specific route in the subnet's route table, the
// ENI holding a secondary IP, the ENI an EIP is associated with).
//
// What it models: new connections go to the current receiver; when the
// receiver of an open connection changes (a route moved), the connection is
// reset, because in a VPC the packets of that flow now reach an instance
// with no such connection, which answers RST; a connection to an instance
// whose service is gone (unbound, or its backend refuses) is reset too.
// What it simplifies: a destination nobody receives (a blackhole route) is
// reset at once, where AWS would drop the packets and the client would time
// out; the client's connect succeeds before the receiver is chosen, so a
// refused service shows as a reset after connect rather than a refused
// connect. What it omits: UDP, source addresses (backends see the fabric's
// loopback address), security groups, NACLs, latency.
//
// Only vpcsim, tests and `vipd demo` import fabric.
package fabric

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Resolver answers which instance receives packets for dst sent from a host
// in fromSubnetID. It is called from the fabric's goroutines, concurrently,
// and must not block for long. vpcsim's *Server implements it.
type Resolver interface {
	Resolve(fromSubnetID string, dst netip.Addr) (instanceID string, err error)
}

// ErrClosed is returned by Expose once Run has returned.
var ErrClosed = errors.New("fabric closed")

// Outcome says what happened to one client connection.
type Outcome string

// Connection outcomes, in the order a connection can pass through them:
// one of the first five, then, after Connected, Closed or Reset.
const (
	// Connected: forwarded to the receiving instance's backend.
	Connected Outcome = "connected"
	// Unroutable: the Resolver found no receiver for the destination.
	Unroutable Outcome = "unroutable"
	// NoService: the receiver has nothing bound on the destination port.
	NoService Outcome = "no_service"
	// Refused: the receiver's backend refused the connection or did not
	// answer in time (the instance or its service is down).
	Refused Outcome = "refused"
	// Rejected: the fabric is at its connection limit.
	Rejected Outcome = "rejected"
	// Closed: either side ended a forwarded connection.
	Closed Outcome = "closed"
	// Reset: the fabric reset a forwarded connection (Err says why: the
	// receiver changed, its service was unbound, the fabric stopped) or
	// one side reset it.
	Reset Outcome = "reset"
)

// ConnEvent records one step of one client connection, for timelines.
type ConnEvent struct {
	// Time is when the step happened.
	Time time.Time
	// Dst is the simulated destination and FromSubnet the client's subnet.
	Dst        netip.AddrPort
	FromSubnet string
	// Instance is the receiver chosen for the connection ("" for Unroutable).
	Instance string
	// Backend is where the receiver's service is served (zero before it is known).
	Backend netip.AddrPort
	Outcome Outcome
	// Duration is how long a forwarded connection was open (Closed, Reset).
	Duration time.Duration
	// Err is the cause of every outcome but Connected and a clean Closed.
	Err error
}

// ErrReceiverChanged is the Err of a Reset caused by the destination's
// receiver changing under an open connection.
var ErrReceiverChanged = errors.New("receiver changed")

// ErrUnbound is the Err of a Reset caused by Unbind or a rebind of the
// receiver's service.
var ErrUnbound = errors.New("service unbound")

// errStopped is the Err of a Reset caused by Run returning.
var errStopped = errors.New("fabric stopped")

const (
	// dialTimeout bounds the connect to a backend; backends are on loopback,
	// so only a wedged process takes longer than this.
	dialTimeout = 2 * time.Second
	// maxConns caps open client connections (each holds two goroutines).
	maxConns = 1024
	// maxAcceptBackoff caps the pause after a failing Accept (out of fds).
	maxAcceptBackoff = time.Second
)

type runState int

const (
	idle runState = iota
	running
	stopped
)

type exposeKey struct {
	dst  netip.AddrPort
	from string
}

type bindKey struct {
	instance string
	port     uint16
}

// listener is one exposed destination.
type listener struct {
	key exposeKey
	ln  *net.TCPListener
}

// proxyConn is one forwarded connection.
type proxyConn struct {
	key      exposeKey
	instance string
	backend  netip.AddrPort
	opened   time.Time
	client   *net.TCPConn
	upstream *net.TCPConn

	// resetErr is set (under Fabric.mu) by the first reset; it makes the
	// connection end as Reset rather than Closed.
	resetErr error
}

// Fabric forwards connections from exposed loopback listeners to the backends
// of the simulated instances that receive their destinations.
//
// Its methods are safe for concurrent use. Expose, Bind and Unbind may be
// called before and while Run runs.
type Fabric struct {
	resolver Resolver
	changes  <-chan struct{}
	logger   *slog.Logger
	// exposed is a one-slot hint to Run that listeners are pending.
	exposed chan struct{}
	// wg counts every goroutine Run started, directly or through them.
	wg sync.WaitGroup

	mu        sync.Mutex
	state     runState
	listeners map[exposeKey]*listener
	pending   []*listener
	backends  map[bindKey]netip.AddrPort
	conns     map[*proxyConn]struct{}
	active    int // client connections being served, forwarded or not
	onConn    func(ConnEvent)
}

// New returns a Fabric that asks r where destinations go. changes is a hint
// channel signalled after every change of the simulated world (vpcsim's
// Server.Changes); on each signal Run re-resolves every open connection and
// resets those whose receiver changed. A nil changes disables that (new
// connections still follow the Resolver).
func New(r Resolver, changes <-chan struct{}, logger *slog.Logger) *Fabric {
	return &Fabric{
		resolver:  r,
		changes:   changes,
		logger:    logger.With("component", "fabric"),
		exposed:   make(chan struct{}, 1),
		listeners: make(map[exposeKey]*listener),
		backends:  make(map[bindKey]netip.AddrPort),
		conns:     make(map[*proxyConn]struct{}),
	}
}

// OnConn sets fn to be called for every ConnEvent. fn is called from the
// fabric's goroutines, possibly concurrently, never after Run returns; it
// must not block (send to a buffered channel or append under a lock).
func (f *Fabric) OnConn(fn func(ConnEvent)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.onConn = fn
}

// Expose returns the loopback address that stands for dst as reached from a
// host in fromSubnet, opening a listener on 127.0.0.1 with a port the system
// picks. It is idempotent: the same dst and fromSubnet give the same address.
// Connections are served once Run runs (they queue in the backlog before);
// the listener is closed when Run returns.
func (f *Fabric) Expose(dst netip.AddrPort, fromSubnet string) (netip.AddrPort, error) {
	key := exposeKey{dst: dst, from: fromSubnet}
	if addr, ok := f.exposedAddr(key); ok {
		return addr, nil
	}
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("expose %s from %s: %w", dst, fromSubnet, err)
	}
	l := &listener{key: key, ln: ln}

	f.mu.Lock()
	existing, dup := f.listeners[key]
	state := f.state
	if !dup && state != stopped {
		f.listeners[key] = l
		f.pending = append(f.pending, l)
	}
	f.mu.Unlock()

	switch {
	case state == stopped:
		ln.Close()
		return netip.AddrPort{}, fmt.Errorf("expose %s from %s: %w", dst, fromSubnet, ErrClosed)
	case dup:
		// A concurrent Expose of the same destination won.
		ln.Close()
		return listenAddr(existing.ln), nil
	}
	select {
	case f.exposed <- struct{}{}:
	default: // a hint is already pending
	}
	f.logger.Debug("destination exposed", "dst", dst.String(), "subnet_id", fromSubnet,
		"addr", listenAddr(ln).String())
	return listenAddr(ln), nil
}

func (f *Fabric) exposedAddr(key exposeKey) (netip.AddrPort, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l, ok := f.listeners[key]
	if !ok {
		return netip.AddrPort{}, false
	}
	return listenAddr(l.ln), true
}

func listenAddr(ln *net.TCPListener) netip.AddrPort {
	return ln.Addr().(*net.TCPAddr).AddrPort()
}

// Bind says that instanceID's service on port is served at backend, a
// loopback address. Rebinding to a different backend resets the connections
// forwarded to the old one, as the service they talked to is gone.
func (f *Fabric) Bind(instanceID string, port uint16, backend netip.AddrPort) {
	key := bindKey{instance: instanceID, port: port}
	f.mu.Lock()
	old, had := f.backends[key]
	f.backends[key] = backend
	var gone []*proxyConn
	if had && old != backend {
		gone = f.connsOfLocked(key)
	}
	f.mu.Unlock()
	f.reset(gone, ErrUnbound)
}

// Unbind removes instanceID's service on port and resets the connections
// forwarded to it, as a real client of a stopped service would see.
func (f *Fabric) Unbind(instanceID string, port uint16) {
	key := bindKey{instance: instanceID, port: port}
	f.mu.Lock()
	delete(f.backends, key)
	gone := f.connsOfLocked(key)
	f.mu.Unlock()
	f.reset(gone, ErrUnbound)
}

func (f *Fabric) connsOfLocked(key bindKey) []*proxyConn {
	var out []*proxyConn
	for pc := range f.conns {
		if pc.instance == key.instance && pc.key.dst.Port() == key.port {
			out = append(out, pc)
		}
	}
	return out
}

// Run serves every exposed destination until ctx is done, then closes all
// listeners, resets all open connections, and returns nil after every
// goroutine it started has exited. Run may be called once.
func (f *Fabric) Run(ctx context.Context) error {
	f.mu.Lock()
	if f.state != idle {
		f.mu.Unlock()
		return errors.New("run fabric: already run")
	}
	f.state = running
	f.mu.Unlock()

	f.startPending(ctx)
	changes := f.changes
	for {
		select {
		case <-ctx.Done():
			f.shutdown()
			f.wg.Wait()
			return nil
		case <-f.exposed:
			f.startPending(ctx)
		case _, ok := <-changes:
			if !ok {
				// The simulator stopped; nothing will change any more.
				changes = nil
				continue
			}
			f.recheck()
		}
	}
}

func (f *Fabric) startPending(ctx context.Context) {
	f.mu.Lock()
	pending := f.pending
	f.pending = nil
	f.mu.Unlock()
	for _, l := range pending {
		f.wg.Go(func() { f.accept(ctx, l) })
	}
}

// shutdown stops accepting and resets every connection; the goroutines
// serving them then exit on their own.
func (f *Fabric) shutdown() {
	f.mu.Lock()
	f.state = stopped
	var conns []*proxyConn
	for pc := range f.conns {
		conns = append(conns, pc)
	}
	for _, l := range f.listeners {
		l.ln.Close()
	}
	f.pending = nil
	f.mu.Unlock()
	f.reset(conns, errStopped)
}

// recheck re-resolves the destination of every open connection and resets
// those whose receiver changed or vanished: in a VPC the packets of such a
// flow now reach an instance that has no such connection and answers RST.
func (f *Fabric) recheck() {
	f.mu.Lock()
	conns := make([]*proxyConn, 0, len(f.conns))
	for pc := range f.conns {
		conns = append(conns, pc)
	}
	f.mu.Unlock()

	type answer struct {
		instance string
		err      error
	}
	// One Resolve per destination, however many connections share it.
	answers := make(map[exposeKey]answer)
	for _, pc := range conns {
		a, ok := answers[pc.key]
		if !ok {
			a.instance, a.err = f.resolver.Resolve(pc.key.from, pc.key.dst.Addr())
			answers[pc.key] = a
		}
		switch {
		case a.err != nil:
			f.reset([]*proxyConn{pc}, fmt.Errorf("%w: %w", ErrReceiverChanged, a.err))
		case a.instance != pc.instance:
			f.reset([]*proxyConn{pc}, fmt.Errorf("%w: now %s", ErrReceiverChanged, a.instance))
		}
	}
}

// reset ends conns with a TCP reset towards the client; err says why.
func (f *Fabric) reset(conns []*proxyConn, err error) {
	for _, pc := range conns {
		f.mu.Lock()
		first := pc.resetErr == nil
		if first {
			pc.resetErr = err
		}
		f.mu.Unlock()
		if first {
			f.logger.Debug("connection reset", "dst", pc.key.dst.String(), "subnet_id", pc.key.from,
				"instance_id", pc.instance, "reason", err.Error())
		}
		abort(pc.client, pc.upstream)
	}
}

// abort closes a, with a reset towards its peer, and b. Closing unblocks the
// goroutines copying between them.
func abort(a, b *net.TCPConn) {
	// Linger 0 makes Close send RST instead of FIN.
	_ = a.SetLinger(0)
	_ = a.Close()
	if b != nil {
		_ = b.Close()
	}
}

func (f *Fabric) accept(ctx context.Context, l *listener) {
	backoff := time.Duration(0)
	for {
		c, err := l.ln.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait, as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), maxAcceptBackoff)
			f.logger.Warn("accept failed", "addr", listenAddr(l.ln).String(), "err", err)
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		backoff = 0

		f.mu.Lock()
		full := f.active >= maxConns
		if !full {
			f.active++
		}
		f.mu.Unlock()
		if full {
			abort(c, nil)
			f.emit(ConnEvent{Time: time.Now(), Dst: l.key.dst, FromSubnet: l.key.from, Outcome: Rejected,
				Err: fmt.Errorf("%d connections open", maxConns)})
			continue
		}
		f.wg.Go(func() {
			defer func() {
				f.mu.Lock()
				f.active--
				f.mu.Unlock()
			}()
			f.serve(ctx, l.key, c)
		})
	}
}

// serve forwards one client connection until either side ends it.
func (f *Fabric) serve(ctx context.Context, key exposeKey, client *net.TCPConn) {
	ev := ConnEvent{Dst: key.dst, FromSubnet: key.from}
	fail := func(o Outcome, err error) {
		abort(client, nil)
		ev.Time, ev.Outcome, ev.Err = time.Now(), o, err
		f.emit(ev)
	}

	instance, err := f.resolver.Resolve(key.from, key.dst.Addr())
	if err != nil {
		// The Resolver's error names the destination and subnet already.
		fail(Unroutable, err)
		return
	}
	ev.Instance = instance
	bk := bindKey{instance: instance, port: key.dst.Port()}
	f.mu.Lock()
	backend, ok := f.backends[bk]
	f.mu.Unlock()
	if !ok {
		fail(NoService, fmt.Errorf("instance %s serves nothing on port %d", instance, bk.port))
		return
	}
	ev.Backend = backend

	d := net.Dialer{Timeout: dialTimeout}
	nc, err := d.DialContext(ctx, "tcp", backend.String())
	if err != nil {
		fail(Refused, fmt.Errorf("connect to %s at %s: %w", instance, backend, err))
		return
	}
	pc := &proxyConn{key: key, instance: instance, backend: backend, opened: time.Now(),
		client: client, upstream: nc.(*net.TCPConn)}

	// Register, unless the world moved while we dialled: a Bind, Unbind or
	// shutdown in between would not have seen this connection.
	f.mu.Lock()
	stale := f.state != running || f.backends[bk] != backend
	if !stale {
		f.conns[pc] = struct{}{}
	}
	f.mu.Unlock()
	if stale {
		_ = pc.upstream.Close()
		fail(Refused, fmt.Errorf("connect to %s at %s: %w", instance, backend, ErrUnbound))
		return
	}
	// A route change between Resolve and registration reached recheck
	// before it could see this connection; resolving again after
	// registering closes that window (a later change finds it registered).
	if now, err := f.resolver.Resolve(key.from, key.dst.Addr()); err != nil || now != instance {
		f.reset([]*proxyConn{pc}, ErrReceiverChanged)
	}

	ev.Time, ev.Outcome = pc.opened, Connected
	f.emit(ev)
	f.logger.Debug("connection forwarded", "dst", key.dst.String(), "subnet_id", key.from,
		"instance_id", instance, "backend", backend.String())

	copyErr := f.pipe(pc)

	f.mu.Lock()
	delete(f.conns, pc)
	resetErr := pc.resetErr
	f.mu.Unlock()
	ev.Time = time.Now()
	ev.Duration = ev.Time.Sub(pc.opened)
	switch {
	case resetErr != nil:
		ev.Outcome, ev.Err = Reset, resetErr
	case copyErr != nil:
		ev.Outcome, ev.Err = Reset, copyErr
	default:
		ev.Outcome = Closed
	}
	f.emit(ev)
}

// pipe copies both ways until both directions ended, passing half-closes on
// so request/response protocols see EOF where they expect it. An error in
// either direction (a reset, a write to a closed peer) aborts both sides
// with a reset towards the client. It returns the first such error.
func (f *Fabric) pipe(pc *proxyConn) error {
	down := make(chan error, 1)
	f.wg.Go(func() { down <- copyHalf(pc.client, pc.upstream, pc) })
	upErr := copyHalf(pc.upstream, pc.client, pc)
	downErr := <-down
	// Both directions ended with EOF (or an abort that already reset the
	// client): a plain close, since a reset now could discard response
	// bytes the client has not read yet.
	_ = pc.client.Close()
	_ = pc.upstream.Close()
	if downErr != nil {
		return downErr
	}
	return upErr
}

// copyHalf copies src to dst; at src's EOF it half-closes dst. On an error
// it aborts the connection so the other direction stops too.
func copyHalf(dst, src *net.TCPConn, pc *proxyConn) error {
	if _, err := io.Copy(dst, src); err != nil {
		abort(pc.client, pc.upstream)
		if errors.Is(err, net.ErrClosed) {
			// Closed by abort on our side; the cause is recorded elsewhere.
			return nil
		}
		return err
	}
	_ = dst.CloseWrite()
	return nil
}

func (f *Fabric) emit(ev ConnEvent) {
	f.mu.Lock()
	fn := f.onConn
	f.mu.Unlock()
	if fn != nil {
		fn(ev)
	}
}
