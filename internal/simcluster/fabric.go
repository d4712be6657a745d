package simcluster

import (
	"net/netip"
	"time"

	"github.com/vipd/vipd/internal/vpcsim"
)

// Fabric is what a Cluster's hosts share: vpcsim, and the network that
// carries packets among the simulated instances. Loopback (the proxy
// fabric, no root) and netnscluster.Env (a network namespace per
// instance, real packets; root) are the two. What only some fabrics can
// do, such as cutting links, is an optional interface (Partitioner,
// PathCutter) that a fault looks for, and is unavailable without.
type Fabric interface {
	// Sim is the simulator the fabric follows.
	Sim() *vpcsim.Server
	// Starter starts a process on instance.
	Starter(instance string) Starter
	// Serve starts a service answering name on port of instance.
	Serve(instance, name string, port int) (*Service, error)
	// Dial reaches addr as a client on instance would.
	Dial(instance string, addr netip.AddrPort) Dial
	// Host is what a process on instance needs to know of the fabric:
	// where its cluster traffic is reached (host:port), and the AWS API's
	// and IMDS's URLs as it reaches them.
	Host(instance string) (advertise, api, imds string, err error)
	// Close stops the fabric and the simulator, removing what they
	// created. Call it once, after the hosts' processes are gone.
	Close()
}

// Partitioner is a fabric that can drop all traffic between two
// instances (on) and let it flow again (off).
type Partitioner interface {
	Partition(a, b string, on bool) error
}

// PathCutter is a fabric that can cut an instance's path to the AWS API
// or to its metadata service, and slow the latter.
type PathCutter interface {
	CutAPI(instance string, on bool) error
	CutIMDS(instance string, on bool) error
	SlowIMDS(instance string, d time.Duration) error
}
