package config

import (
	"net"
	"net/netip"
	"time"
)

// Fence is STONITH, as Pacemaker's fence_aws does it: before this node
// force-detaches a volume or a network interface from a previous owner
// that did not let go of it — or, with Before takeover, before any
// takeover from a previous lease holder the cluster cannot reach — it
// stops that instance (StopInstances with Force) and waits until EC2
// reports it stopped. See docs/stonith.md.
type Fence struct {
	// StopInstance enables the fence. Default false.
	StopInstance bool `yaml:"stop-instance"`
	// Before says when the fence acts: force-detach (default) before an
	// eni's or ebs-volume's forced detach from an instance that did not
	// let go; takeover also before any takeover from a previous lease
	// holder the raft election cannot reach, whatever the resources.
	Before string `yaml:"before"`
	// Timeout bounds the wait for the previous owner to be stopped; when
	// it passes, the takeover fails (and is tried again) rather than
	// detach from an instance that may still run. Default 5m when
	// StopInstance is set.
	Timeout time.Duration `yaml:"timeout"`
}

// Fence.Before values.
const (
	// FenceBeforeForceDetach fences an instance only before an eni's or
	// ebs-volume's forced detach from it, when it did not let go within
	// detach-timeout.
	FenceBeforeForceDetach = "force-detach"
	// FenceBeforeTakeover also fences the previous lease holder before
	// any takeover, whatever the resources, when the raft election
	// cannot reach it: a route-only cluster's old primary, cut off but
	// running, is stopped before the address moves.
	FenceBeforeTakeover = "takeover"
)

// Takeover reports whether the fence acts before any takeover.
func (f Fence) Takeover() bool { return f.StopInstance && f.Before == FenceBeforeTakeover }

// DefaultFenceTimeout is Fence.Timeout's default: EC2 usually stops a
// forced instance within a minute or two, and a stop that hangs longer
// needs an operator anyway.
const DefaultFenceTimeout = 5 * time.Minute

// MaxFenceTimeout bounds Fence.Timeout: an acquire step waits for it.
const MaxFenceTimeout = 30 * time.Minute

func (v *validator) fence(c *Config) {
	f := c.Fence
	if f.Timeout < 0 || f.Timeout > MaxFenceTimeout {
		v.errorf("fence.timeout", "%s is out of range 0 to %s", f.Timeout, MaxFenceTimeout)
	}
	if f.Timeout != 0 && !f.StopInstance {
		v.errorf("fence.timeout", "set without stop-instance: true; it would have no effect")
	}
	if f.Before != "" {
		if !f.StopInstance {
			v.errorf("fence.before", "set without stop-instance: true; it would have no effect")
		} else {
			v.enum("fence.before", f.Before, []string{FenceBeforeForceDetach, FenceBeforeTakeover})
		}
	}
	if !f.StopInstance {
		return
	}
	if c.Node.Witness {
		v.errorf("fence.stop-instance", "a witness never takes anything over, so it never fences")
		return
	}
	if f.Before == FenceBeforeTakeover {
		v.takeoverFence(c)
		return
	}
	for _, r := range c.Resources {
		if r.ENI != nil || r.EBSVolume != nil {
			return
		}
	}
	v.errorf("fence.stop-instance", "no eni or ebs-volume resource: only their takeover detaches from a previous owner, so the fence would never act; fence.before: takeover fences before any takeover")
}

// takeoverFence checks what a fence before any takeover needs: the raft
// election, whose view of the peers tells a previous holder that cannot
// be reached from one that let go, and peers named by their private IP
// address, by which the fence finds a peer's instance.
func (v *validator) takeoverFence(c *Config) {
	if c.Election.Backend != BackendRaft {
		v.errorf("fence.before", "takeover needs the raft election, which tells a previous holder the cluster cannot reach from one that let go; backend is %q", c.Election.Backend)
		return
	}
	for i, p := range c.Peers {
		if p.Witness {
			continue
		}
		host, _, err := net.SplitHostPort(p.Address)
		if err != nil {
			continue // members reports it
		}
		if _, err := netip.ParseAddr(host); err != nil {
			v.errorf(indexPath("peers", i)+".address", "%q is not an IP address: fence.before: takeover finds a peer's instance by its private IP address", host)
		}
	}
}
