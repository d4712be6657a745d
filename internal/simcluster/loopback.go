package simcluster

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os/exec"
	"sync"

	"github.com/vipd/vipd/internal/vpcsim"
	"github.com/vipd/vipd/internal/vpcsim/fabric"
)

// Loopback is the Fabric of `vipd demo`: vpcsim and its proxy fabric in
// this process, every host's processes on loopback (no root, nothing
// outside 127.0.0.1). Only the service address goes through the
// simulated VPC: a client's connection to it reaches the service of
// whichever instance the route tables name. The hosts' cluster traffic
// goes straight over loopback, so links cannot be cut: it is neither a
// Partitioner nor a PathCutter.
type Loopback struct {
	srv  *vpcsim.Server
	fab  *fabric.Fabric
	stop context.CancelFunc
	wg   sync.WaitGroup

	mu sync.Mutex
	// served remembers where each instance's service listened, so that a
	// restarted service takes its old address (the node's health check
	// names it).
	served map[string]netip.AddrPort
}

// StartLoopback builds w in vpcsim with o, serves it on loopback and runs
// the proxy fabric over it until Close. On an error nothing is left
// behind.
func StartLoopback(ctx context.Context, w *vpcsim.World, o vpcsim.Options) (_ *Loopback, err error) {
	l := &Loopback{served: map[string]netip.AddrPort{}}
	if l.srv, err = vpcsim.New(w, o); err != nil {
		return nil, err
	}
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	l.stop = stop
	if err := l.srv.Start(bg, "127.0.0.1:0"); err != nil {
		l.Close()
		return nil, err
	}
	l.fab = fabric.New(l.srv, l.srv.Changes(), slog.New(slog.DiscardHandler))
	l.wg.Go(func() { _ = l.fab.Run(bg) })
	return l, nil
}

// Sim returns the simulator.
func (l *Loopback) Sim() *vpcsim.Server { return l.srv }

// Starter starts a process on loopback.
func (l *Loopback) Starter(string) Starter { return (*exec.Cmd).Start }

// Host gives each instance a loopback port the system picks for its
// cluster traffic (released before vipd binds it: with the kernel handing
// out ports in sequence a collision is very unlikely, and a node that
// loses the race fails visibly at start), and vpcsim's own URLs.
func (l *Loopback) Host(instance string) (advertise, api, imds string, err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", "", "", fmt.Errorf("pick a loopback port for %s: %w", instance, err)
	}
	advertise = ln.Addr().String()
	ln.Close()
	return advertise, l.srv.URL(), l.srv.IMDSURL(instance), nil
}

// Serve answers as name on a loopback port (the one it had before, if
// it served before) and binds it in the fabric as instance's port.
func (l *Loopback) Serve(instance, name string, port int) (*Service, error) {
	key := fmt.Sprintf("%s:%d", instance, port)
	l.mu.Lock()
	addr, ok := l.served[key]
	l.mu.Unlock()
	listen := "127.0.0.1:0"
	if ok {
		listen = addr.String()
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("start service of %s: %w", name, err)
	}
	addr = ln.Addr().(*net.TCPAddr).AddrPort()
	l.mu.Lock()
	l.served[key] = addr
	l.mu.Unlock()
	l.fab.Bind(instance, uint16(port), addr)
	svc := Serve(ln, name)
	svc.unbind = func() { l.fab.Unbind(instance, uint16(port)) }
	return svc, nil
}

// Dial reaches addr from instance's subnet through the fabric's loopback
// port for it.
func (l *Loopback) Dial(instance string, addr netip.AddrPort) Dial {
	local, err := l.Expose(instance, addr)
	return func(ctx context.Context) (net.Conn, error) {
		if err != nil {
			return nil, err
		}
		var d net.Dialer
		return d.DialContext(ctx, "tcp", local.String())
	}
}

// Expose returns the loopback address that stands for addr as reached
// from instance's subnet.
func (l *Loopback) Expose(instance string, addr netip.AddrPort) (netip.AddrPort, error) {
	for _, in := range l.srv.Snapshot().Instances {
		if in.ID == instance {
			return l.fab.Expose(addr, in.Subnet)
		}
	}
	return netip.AddrPort{}, fmt.Errorf("expose %s to %s: no such instance", addr, instance)
}

// Close stops the fabric and vpcsim and waits for them.
func (l *Loopback) Close() {
	if l.stop != nil {
		l.stop()
	}
	l.wg.Wait()
	if l.srv != nil {
		_ = l.srv.Close()
	}
}
