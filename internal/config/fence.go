package config

import "time"

// Fence is STONITH, as Pacemaker's fence_aws does it: before this node
// force-detaches a volume or a network interface from a previous owner
// that did not let go of it, it stops that instance (StopInstances with
// Force) and waits until EC2 reports it stopped. See docs/stonith.md.
type Fence struct {
	// StopInstance enables the fence. Default false.
	StopInstance bool `yaml:"stop-instance"`
	// Timeout bounds the wait for the previous owner to be stopped; when
	// it passes, the takeover fails (and is tried again) rather than
	// detach from an instance that may still run. Default 5m when
	// StopInstance is set.
	Timeout time.Duration `yaml:"timeout"`
}

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
	if !f.StopInstance {
		return
	}
	if c.Node.Witness {
		v.errorf("fence.stop-instance", "a witness never takes anything over, so it never fences")
		return
	}
	for _, r := range c.Resources {
		if r.ENI != nil || r.EBSVolume != nil {
			return
		}
	}
	v.errorf("fence.stop-instance", "no eni or ebs-volume resource: only their takeover detaches from a previous owner, so the fence would never act")
}
