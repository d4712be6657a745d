package config

import (
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"time"
)

// Resource kind names as written in the config (and reported by each
// resource's Kind).
const (
	KindEBSVolume    = "ebs-volume"
	KindENI          = "eni"
	KindSecondaryIP  = "secondary-ip"
	KindElasticIP    = "elastic-ip"
	KindOverlayRoute = "overlay-route"
	KindRoute53      = "route53"
)

// resourceKinds are the yaml keys of Resource's kind fields (those not
// tagged kind:"-"), in field order; kindFields their indexes.
var resourceKinds, kindFields = func() ([]string, []int) {
	t := reflect.TypeFor[Resource]()
	var keys []string
	var idx []int
	for i := range t.NumField() {
		if t.Field(i).Tag.Get("kind") == "-" {
			continue
		}
		k, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		keys, idx = append(keys, k), append(idx, i)
	}
	return keys, idx
}()

// Kinds returns every resource kind the schema knows, as written in the
// config. The order is the schema's, not the acquire order, which is the
// resource registry's (internal/resource).
func Kinds() []string { return slices.Clone(resourceKinds) }

// set returns the indexes (in resourceKinds) of the kinds that are set.
func (r *Resource) set() []int {
	v := reflect.ValueOf(r).Elem()
	var out []int
	for k, i := range kindFields {
		if !v.Field(i).IsNil() {
			out = append(out, k)
		}
	}
	return out
}

// Role is the role r's calls are made with: its own assume-role, else
// def (aws.assume-role), else nil (the instance's credentials).
func (r *Resource) Role(def *AssumeRole) *AssumeRole {
	if r.AssumeRole != nil {
		return r.AssumeRole
	}
	return def
}

// LeaseRole is the role the dynamodb election's calls are made with:
// election.dynamodb.assume-role, else nil (the instance's credentials,
// even with aws.assume-role: the lease should not depend on STS).
func (c *Config) LeaseRole() *AssumeRole {
	if d := c.Election.DynamoDB; c.Election.Backend == BackendDynamoDB && d != nil {
		return d.AssumeRole
	}
	return nil
}

// Kind returns the kind of the (first) field that is set, or "" when none
// is.
func (r *Resource) Kind() string {
	if set := r.set(); len(set) > 0 {
		return resourceKinds[set[0]]
	}
	return ""
}

// kinds counts the fields that are set.
func (r *Resource) kinds() int { return len(r.set()) }

// SecondaryIP assigns secondary private addresses to the owner's ENI with
// AllowReassignment, as the keepalived recipes that move a secondary
// private IP do.
type SecondaryIP struct {
	// Addresses are private IPv4 addresses in the subnet of the owner's
	// ENI, all assigned in one AssignPrivateIpAddresses call, and IPv6
	// addresses of the subnet's IPv6 block (AssignIpv6Addresses, after
	// UnassignIpv6Addresses from their previous holder).
	Addresses []string `yaml:"addresses"`
	// DeviceIndex picks the owner's ENI by its device index; 0 (the
	// default) is the primary interface.
	DeviceIndex int `yaml:"device-index"`
	// KeepOnRelease leaves the addresses assigned on release; by default
	// they are unassigned when they are still on the owner's ENI.
	KeepOnRelease bool `yaml:"keep-on-release"`
}

// Addrs returns Addresses parsed; Validate has checked them, so invalid
// entries are skipped.
func (s *SecondaryIP) Addrs() []netip.Addr {
	var out []netip.Addr
	for _, a := range s.Addresses {
		if ip, err := netip.ParseAddr(a); err == nil {
			out = append(out, ip)
		}
	}
	return out
}

// ElasticIP associates an Elastic IP with the owner: with its
// instance, or with its ENI at DeviceIndex and PrivateIP.
type ElasticIP struct {
	// AllocationID names the address (eipalloc-...); or Tags select it:
	// the one Elastic IP that carries every tag. Exactly one is set.
	AllocationID string `yaml:"allocation-id"`
	Tags         []Tag  `yaml:"tags"`
	// PrivateIP, when set, associates with that private address of the
	// owner's ENI at DeviceIndex (for example a secondary-ip address);
	// otherwise with the instance (its primary private address).
	PrivateIP string `yaml:"private-ip"`
	// DeviceIndex picks the owner's ENI when PrivateIP is set; default 0.
	DeviceIndex int `yaml:"device-index"`
	// KeepOnRelease leaves the address associated on release; by default it
	// is disassociated when it is still associated with the owner.
	KeepOnRelease bool `yaml:"keep-on-release"`
}

// PrivateAddr returns PrivateIP parsed, or the zero Addr.
func (e *ElasticIP) PrivateAddr() netip.Addr {
	a, _ := netip.ParseAddr(e.PrivateIP)
	return a
}

// Host modes of resources that change the host (eni, ebs-volume).
const (
	HostAuto = "auto" // change the host (netlink, mount); needs root
	HostNone = "none" // leave the host alone: tests, the rootless demo, or another tool does it
)

// ENI moves a whole network interface to the owner (the ENI-move failover) and
// sets up policy routing so that replies leave by it.
type ENI struct {
	// ID names the interface (eni-...); or PrivateIP finds it by its
	// primary private address; or Tags select it: the one interface that
	// carries every tag. Exactly one is set.
	ID        string `yaml:"id"`
	PrivateIP string `yaml:"private-ip"`
	Tags      []Tag  `yaml:"tags"`
	// DeviceIndex is where it is attached on the owner; at least 1 (0 is
	// the primary interface). 0 in the file means the default, 1.
	DeviceIndex int `yaml:"device-index"`
	// DetachTimeout bounds a normal detach from the previous owner before
	// it is forced; a dead previous owner is force-detached at once.
	// 0 means the default, 10s.
	DetachTimeout time.Duration `yaml:"detach-timeout"`
	// AttachTimeout bounds the wait for a forced detach to finish, for the
	// attachment, and for the kernel interface. 0 means the default, 30s.
	AttachTimeout time.Duration `yaml:"attach-timeout"`
	// Host is auto (policy routing set up with netlink) or none; ""
	// means auto.
	Host string `yaml:"host"`
	// PolicyRouting tunes the host side.
	PolicyRouting PolicyRouting `yaml:"policy-routing"`
}

// PolicyRouting is an ENI-move failover's `ip rule from <subnet> table N priority P`
// and `ip route add default via <router> dev ethX table N`.
type PolicyRouting struct {
	// Table is the routing table number; 0 means the default, 100.
	Table int `yaml:"table"`
	// TableName is the table's name in /etc/iproute2/rt_tables, for logs
	// and docs only; netlink uses the number.
	TableName string `yaml:"table-name"`
	// Priority of the rule; 0 means the default, 100.
	Priority int `yaml:"priority"`
}

// Route53 address sources.
const (
	AddressPrivate     = "private"      // the owner's primary private IPv4
	AddressPrivateIPv6 = "private-ipv6" // the first IPv6 address of the owner's primary interface
	AddressPublic      = "public"       // the Elastic IP associated with the owner's instance
)

// Route53 UPSERTs a record to the owner's address (DNS failover).
type Route53 struct {
	// HostedZoneID is the zone (Z...).
	HostedZoneID string `yaml:"hosted-zone-id"`
	// Name is the record name (db.example.internal).
	Name string `yaml:"name"`
	// Type is A (default) or AAAA.
	Type string `yaml:"type"`
	// TTL of the record, in whole seconds; 0 means the default, 60s (DNS
	// failover recipes use 10s for a fast failover).
	TTL time.Duration `yaml:"ttl"`
	// Address is private (default), public, private-ipv6 (the first IPv6
	// address of the owner's primary interface, for type AAAA), or a
	// literal address.
	Address string `yaml:"address"`
	// WaitInsync waits, after the change, until Route 53 reports INSYNC,
	// at most InsyncTimeout (0: the default, 120s).
	WaitInsync    bool          `yaml:"wait-insync"`
	InsyncTimeout time.Duration `yaml:"insync-timeout"`
}

// EBSVolume moves an EBS volume to the owner and mounts it, as the
// keepalived + EBS recipes do.
type EBSVolume struct {
	// VolumeID names the volume (vol-...); or Tags select it: the one
	// volume that carries every tag. Exactly one is set.
	VolumeID string `yaml:"volume-id"`
	Tags     []Tag  `yaml:"tags"`
	// Device is the attachment's device name given to AttachVolume; default
	// /dev/sdf.
	Device string `yaml:"device"`
	// BlockDevice is where the kernel shows it; "" finds it by the volume
	// id serial under /dev/disk/by-id (Nitro NVMe) or Device.
	BlockDevice string `yaml:"block-device"`
	// MountPoint is the absolute path to mount on; "" attaches only.
	MountPoint string `yaml:"mount-point"`
	// FSType is the file system type for mount (default ext4).
	FSType string `yaml:"fs-type"`
	// Options are mount options (noatime, ...).
	Options []string `yaml:"options"`
	// Fsck runs `fsck -a` on the device before mounting.
	Fsck bool `yaml:"fsck"`
	// DetachTimeout bounds a normal detach before it is forced; 0 means
	// the default, 20s.
	DetachTimeout time.Duration `yaml:"detach-timeout"`
	// AttachTimeout bounds the wait for attached and the block device; 0
	// means the default, 60s.
	AttachTimeout time.Duration `yaml:"attach-timeout"`
	// Host is auto (wait for the device, fsck, mount) or none; "" is auto.
	Host string `yaml:"host"`
}
