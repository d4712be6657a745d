// Package netnscluster runs a simulated cluster's VPC on the netns fabric
// (one network namespace per instance, real packets; root, Linux): vpcsim
// and the fabric that follows it, with what the fault-schedule suite
// (internal/chaos) and the benchmarks (bench) do through it: start a
// member's processes in its namespace, serve a node's service there, and
// dial from the client's.
//
// Only the harnesses import it (internal/layering).
package netnscluster

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os/exec"
	"time"

	"github.com/vipd/vipd/internal/simcluster"
	"github.com/vipd/vipd/internal/vpcsim"
	"github.com/vipd/vipd/internal/vpcsim/netns"
)

// Env is vpcsim serving on loopback and the netns fabric over it. Close
// undoes both.
type Env struct {
	Srv *vpcsim.Server
	Fab *netns.Fabric

	stop    context.CancelFunc
	running bool          // the fabric's Run was started
	done    chan struct{} // closed when it has returned
}

// Start builds w in vpcsim with o and the fabric over it, and keeps the
// fabric in step with vpcsim until Close. log receives the fabric's own
// warnings. On an error nothing is left behind.
func Start(ctx context.Context, w *vpcsim.World, o vpcsim.Options, log *slog.Logger) (_ *Env, err error) {
	e := &Env{done: make(chan struct{})}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	if e.Srv, err = vpcsim.New(w, o); err != nil {
		return nil, err
	}
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	e.stop = stop
	if err := e.Srv.Start(bg, "127.0.0.1:0"); err != nil {
		return nil, err
	}
	if e.Fab, err = netns.New(e.Srv, netns.Options{Log: log, Resync: time.Second}); err != nil {
		return nil, err
	}
	e.running = true
	go func() { defer close(e.done); _ = e.Fab.Run(bg) }()
	return e, nil
}

// Close stops the fabric (which kills what it started and deletes its
// namespaces) and vpcsim, and waits for them. Call it once.
func (e *Env) Close() {
	if e.stop != nil {
		e.stop()
	}
	if e.running {
		<-e.done
	} else if e.Fab != nil {
		_ = e.Fab.Close()
	}
	if e.Srv != nil {
		_ = e.Srv.Close()
	}
}

// Starter starts a member's processes in instance's namespace.
func (e *Env) Starter(instance string) simcluster.Starter {
	return func(cmd *exec.Cmd) error { return e.Fab.Exec(instance, cmd) }
}

// Serve starts a node's service (simcluster.Serve, answering name) on
// port in instance's namespace.
func (e *Env) Serve(instance, name string, port int) (*simcluster.Service, error) {
	ln, err := e.Fab.Listen(instance, fmt.Sprintf("0.0.0.0:%d", port))
	if err != nil {
		return nil, fmt.Errorf("start service of %s: %w", name, err)
	}
	return simcluster.Serve(ln, name), nil
}

// Dial reaches addr from instance's namespace, as a client there would.
func (e *Env) Dial(instance string, addr netip.AddrPort) simcluster.Dial {
	return func(ctx context.Context) (net.Conn, error) {
		return e.Fab.Dial(ctx, instance, "tcp", addr.String())
	}
}

// Interface returns the primary network interface and private address of
// instance, as vpcsim has them.
func (e *Env) Interface(instance string) (eni string, addr netip.Addr) {
	for _, in := range e.Srv.Snapshot().Instances {
		if in.ID == instance {
			if len(in.ENIs) > 0 {
				eni = in.ENIs[0]
			}
			addr, _ = netip.ParseAddr(in.PrivateIP)
		}
	}
	return eni, addr
}
