// Package netnscluster runs a simulated cluster's VPC on the netns fabric
// (one network namespace per instance, real packets; root, Linux): vpcsim
// and the fabric that follows it, as the simcluster.Fabric that the
// fault-schedule suite (internal/chaos) and the benchmarks (bench) run
// their simcluster.Cluster on. It starts a member's processes in its
// namespace, serves a node's service there, dials from the client's, and
// cuts links and paths for the catalogue's faults.
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

// Sim returns the simulator.
func (e *Env) Sim() *vpcsim.Server { return e.Srv }

// Host gives a process on instance its private address's port 7000 for
// cluster traffic, and the AWS API and IMDS at the namespace's proxies,
// the only way it reaches them.
func (e *Env) Host(instance string) (advertise, api, imds string, err error) {
	_, addr := simcluster.Interface(e.Srv.Snapshot(), instance)
	if !addr.IsValid() {
		return "", "", "", fmt.Errorf("no private address for %s", instance)
	}
	return netip.AddrPortFrom(addr, ClusterPort).String(), "http://" + netns.APIAddr, "http://" + netns.IMDSAddr, nil
}

// ClusterPort is where members reach each other's cluster traffic.
const ClusterPort = 7000

// Partition drops (on) or lets through all traffic between instances a
// and b.
func (e *Env) Partition(a, b string, on bool) error { return e.Fab.Partition(a, b, on) }

// CutAPI cuts (on) or restores instance's path to the AWS API.
func (e *Env) CutAPI(instance string, on bool) error { return e.Fab.CutAPI(instance, on) }

// CutIMDS cuts (on) or restores instance's path to its metadata service.
func (e *Env) CutIMDS(instance string, on bool) error { return e.Fab.CutIMDS(instance, on) }

// SlowIMDS delays every request of instance to its metadata service by d
// (0: none).
func (e *Env) SlowIMDS(instance string, d time.Duration) error { return e.Fab.SlowIMDS(instance, d) }

// Starter starts a member's processes in instance's namespace.
func (e *Env) Starter(instance string) simcluster.Starter {
	return func(cmd *exec.Cmd) error { return e.Fab.Exec(instance, cmd) }
}

// Serve starts a node's service (simcluster.Serve, answering name) on
// port in instance's namespace.
func (e *Env) Serve(instance, name string, port int) (*simcluster.Service, error) {
	ln, err := e.Fab.Listen(instance, fmt.Sprintf("[::]:%d", port)) // IPv4 and IPv6
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
