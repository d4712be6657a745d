package config

import (
	"net/netip"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// EC2 and Route 53 identifiers: a prefix and 8 or 17 hex digits for EC2,
// Route 53's upper-case alphanumerics for hosted zones.
var (
	eniRE       = regexp.MustCompile(`^eni-([0-9a-f]{8}|[0-9a-f]{17})$`)
	eipallocRE  = regexp.MustCompile(`^eipalloc-([0-9a-f]{8}|[0-9a-f]{17})$`)
	volRE       = regexp.MustCompile(`^vol-([0-9a-f]{8}|[0-9a-f]{17})$`)
	zoneRE      = regexp.MustCompile(`^(/hostedzone/)?Z[0-9A-Z]{1,32}$`)
	deviceRE    = regexp.MustCompile(`^/dev/(sd[f-p]|xvd[f-p]|xvd[b-z][a-z]?)[0-9]*$`)
	dnsLabelRE  = regexp.MustCompile(`^(\*|[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)$`)
	resourceSet = strings.Join(resourceKinds, ", ")
)

// resource checks that exactly one kind is set and validates every kind
// but overlay-route, which resources() checks with its CIDR bookkeeping.
func (v *validator) resource(path string, r *Resource) {
	if r.AssumeRole != nil {
		v.assumeRole(path+".assume-role", r.AssumeRole)
	}
	switch n := r.kinds(); {
	case n == 0:
		v.errorf(path, "empty resource; want one of %s", resourceSet)
		return
	case n > 1:
		v.errorf(path, "%d resource kinds in one entry; write each as its own list element", n)
	}
	switch {
	case r.SecondaryIP != nil:
		v.secondaryIP(path+".secondary-ip", r.SecondaryIP)
	case r.ElasticIP != nil:
		v.elasticIP(path+".elastic-ip", r.ElasticIP)
	case r.ENI != nil:
		v.eni(path+".eni", r.ENI)
	case r.Route53 != nil:
		v.route53(path+".route53", r.Route53)
	case r.EBSVolume != nil:
		v.ebsVolume(path+".ebs-volume", r.EBSVolume)
	}
}

func (v *validator) deviceIndex(path string, i int) {
	if i < 0 || i > 31 {
		v.errorf(path, "%d is out of range 0 to 31", i)
	}
}

func (v *validator) positiveOrUnset(path string, d time.Duration) {
	if d < 0 {
		v.errorf(path, "%s is negative", d)
	}
}

func (v *validator) host(path, s string) {
	if s != "" {
		v.enum(path, s, []string{HostAuto, HostNone})
	}
}

func (v *validator) secondaryIP(path string, s *SecondaryIP) {
	if len(s.Addresses) == 0 {
		v.errorf(path+".addresses", "required: one or more private IPv4 or IPv6 addresses of the ENI's subnet")
	}
	seen := map[netip.Addr]bool{}
	for i, a := range s.Addresses {
		at := indexPath(path+".addresses", i)
		ip, err := netip.ParseAddr(a)
		switch {
		case err != nil:
			hint := ""
			if p, perr := netip.ParsePrefix(a); perr == nil {
				hint = " (write the address without /" + strings.TrimPrefix(a, p.Addr().String()+"/") + ")"
			}
			v.errorf(at, "%q is not an IP address%s", a, hint)
		case ip.Is4In6() || ip.Zone() != "":
			v.errorf(at, "%s is not a plain IPv4 or IPv6 address", a)
		case ip.Is6() && (!ip.IsGlobalUnicast() || ip.IsPrivate()):
			// A subnet's IPv6 block is Amazon's global unicast space; a
			// link-local, multicast or unique local address is never one
			// of its addresses.
			v.errorf(at, "%s is not an address of a subnet's IPv6 block (global unicast, from the VPC's Amazon-provided /56)", ip)
		case ip.Is6():
		case !ip.IsPrivate():
			v.errorf(at, "%s is not a private address (10/8, 172.16/12, 192.168/16)", ip)
		case seen[ip]:
			v.errorf(at, "%s is listed twice", ip)
		}
		seen[ip] = true
	}
	v.deviceIndex(path+".device-index", s.DeviceIndex)
}

func (v *validator) elasticIP(path string, e *ElasticIP) {
	switch {
	case e.AllocationID != "" && e.Tags != nil:
		v.errorf(path, "both allocation-id and tags; set one")
	case e.Tags != nil:
		v.tags(path+".tags", e.Tags)
	case e.AllocationID == "":
		v.errorf(path+".allocation-id", "required: the Elastic IP's allocation id (eipalloc-...), or tags that select it")
	case !eipallocRE.MatchString(e.AllocationID):
		v.errorf(path+".allocation-id", "%q is not an allocation id (eipalloc- and 8 or 17 hex digits)", e.AllocationID)
	}
	if e.PrivateIP != "" {
		if ip, err := netip.ParseAddr(e.PrivateIP); err != nil || !ip.Is4() {
			v.errorf(path+".private-ip", "%q is not an IPv4 address", e.PrivateIP)
		}
	} else if e.DeviceIndex != 0 {
		v.errorf(path+".device-index", "%d without private-ip; an association with the instance uses its primary interface", e.DeviceIndex)
	}
	v.deviceIndex(path+".device-index", e.DeviceIndex)
}

func (v *validator) eni(path string, e *ENI) {
	switch n := btoi(e.ID != "") + btoi(e.PrivateIP != "") + btoi(e.Tags != nil); {
	case n == 0:
		v.errorf(path, "no interface; set id, private-ip or tags")
	case n > 1:
		v.errorf(path, "more than one of id, private-ip and tags; set one")
	case e.Tags != nil:
		v.tags(path+".tags", e.Tags)
	case e.ID != "" && !eniRE.MatchString(e.ID):
		v.errorf(path+".id", "%q is not a network interface id (eni- and 8 or 17 hex digits)", e.ID)
	case e.PrivateIP != "":
		if ip, err := netip.ParseAddr(e.PrivateIP); err != nil || !ip.Is4() {
			v.errorf(path+".private-ip", "%q is not an IPv4 address", e.PrivateIP)
		}
	}
	if e.DeviceIndex < 0 || e.DeviceIndex > 31 {
		v.errorf(path+".device-index", "%d is out of range 1 to 31 (0 is the primary interface, which cannot move)", e.DeviceIndex)
	}
	v.positiveOrUnset(path+".detach-timeout", e.DetachTimeout)
	v.positiveOrUnset(path+".attach-timeout", e.AttachTimeout)
	v.host(path+".host", e.Host)
	pr := e.PolicyRouting
	// Tables 253-255 are the kernel's default, main and local tables;
	// 0 means unspecified.
	if pr.Table < 0 || pr.Table > 252 && pr.Table < 256 || pr.Table > 0x7fffffff {
		v.errorf(path+".policy-routing.table", "%d is not a free routing table number (1 to 252, or above 255)", pr.Table)
	}
	if pr.Priority < 0 || pr.Priority > 32765 {
		v.errorf(path+".policy-routing.priority", "%d is out of range 1 to 32765 (0 and 32766-32767 hold the kernel's own rules)", pr.Priority)
	}
	if pr.TableName != "" && !nameRE.MatchString(pr.TableName) {
		v.errorf(path+".policy-routing.table-name", "%q is not a valid table name", pr.TableName)
	}
}

func (v *validator) route53(path string, r *Route53) {
	switch {
	case r.HostedZoneID == "":
		v.errorf(path+".hosted-zone-id", "required: the hosted zone id (Z...)")
	case !zoneRE.MatchString(r.HostedZoneID):
		v.errorf(path+".hosted-zone-id", "%q is not a hosted zone id (Z and upper-case letters or digits)", r.HostedZoneID)
	}
	name := strings.TrimSuffix(r.Name, ".")
	if name == "" {
		v.errorf(path+".name", "required: the record name, e.g. db.example.internal")
	} else if len(name) > 253 || !validDNSName(name) {
		v.errorf(path+".name", "%q is not a DNS name", r.Name)
	}
	typ := r.Type
	if typ == "" {
		typ = "A"
	}
	v.enum(path+".type", typ, []string{"A", "AAAA"})
	if r.TTL < 0 || r.TTL%time.Second != 0 || r.TTL > 48*time.Hour {
		v.errorf(path+".ttl", "%s is not a whole number of seconds from 0s to 48h", r.TTL)
	}
	switch r.Address {
	case "", AddressPrivate, AddressPublic:
		if typ == "AAAA" {
			v.errorf(path+".address", "type AAAA needs an IPv6 address: private-ipv6 (the owner's) or a literal one; private and public are IPv4")
		}
	case AddressPrivateIPv6:
		if typ != "AAAA" {
			v.errorf(path+".address", "private-ipv6 is an IPv6 address and needs type: AAAA")
		}
	default:
		ip, err := netip.ParseAddr(r.Address)
		switch {
		case err != nil:
			v.errorf(path+".address", "%q is not private, public, private-ipv6 or an IP address%s", r.Address, didYouMean(r.Address, []string{AddressPrivate, AddressPublic, AddressPrivateIPv6}))
		case typ == "A" && !ip.Is4(), typ == "AAAA" && !ip.Is6():
			v.errorf(path+".address", "%s does not fit record type %s", ip, typ)
		}
	}
	v.positiveOrUnset(path+".insync-timeout", r.InsyncTimeout)
	if r.InsyncTimeout != 0 && !r.WaitInsync {
		v.errorf(path+".insync-timeout", "set without wait-insync: true; it would have no effect")
	}
}

func validDNSName(s string) bool {
	for _, l := range strings.Split(s, ".") {
		if !dnsLabelRE.MatchString(l) {
			return false
		}
	}
	return true
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (v *validator) ebsVolume(path string, e *EBSVolume) {
	switch {
	case e.VolumeID != "" && e.Tags != nil:
		v.errorf(path, "both volume-id and tags; set one")
	case e.Tags != nil:
		v.tags(path+".tags", e.Tags)
	case e.VolumeID == "":
		v.errorf(path+".volume-id", "required: the volume id (vol-...), or tags that select it")
	case !volRE.MatchString(e.VolumeID):
		v.errorf(path+".volume-id", "%q is not a volume id (vol- and 8 or 17 hex digits)", e.VolumeID)
	}
	if e.Device != "" && !deviceRE.MatchString(e.Device) {
		v.errorf(path+".device", "%q is not a device name EC2 accepts for a data volume, like /dev/sdf or /dev/xvdf", e.Device)
	}
	if e.BlockDevice != "" && !filepath.IsAbs(e.BlockDevice) {
		v.errorf(path+".block-device", "%q is not an absolute path", e.BlockDevice)
	}
	if e.MountPoint != "" && (!filepath.IsAbs(e.MountPoint) || filepath.Clean(e.MountPoint) == "/") {
		v.errorf(path+".mount-point", "%q is not an absolute path other than /", e.MountPoint)
	}
	if e.MountPoint == "" && (e.Fsck || len(e.Options) > 0 || e.FSType != "") {
		v.errorf(path+".mount-point", "required when fsck, fs-type or options are set")
	}
	for i, o := range e.Options {
		if o == "" || strings.ContainsAny(o, ", \t") {
			v.errorf(indexPath(path+".options", i), "%q is not one mount option", o)
		}
	}
	v.positiveOrUnset(path+".detach-timeout", e.DetachTimeout)
	v.positiveOrUnset(path+".attach-timeout", e.AttachTimeout)
	v.host(path+".host", e.Host)
}

// secondaryIPHas reports whether a secondary-ip resource assigns a, so that
// local-address may bind it.
func secondaryIPHas(c *Config, a netip.Addr) bool {
	for _, r := range c.Resources {
		if r.SecondaryIP == nil {
			continue
		}
		for _, x := range r.SecondaryIP.Addrs() {
			if x == a {
				return true
			}
		}
	}
	return false
}

// duplicateResources refuses two resources that would own the same AWS
// object: they would fight over it on every acquire.
func (v *validator) duplicateResources(c *Config) {
	seen := map[string]string{} // object → path of its first owner
	claim := func(object, path string) {
		if first, dup := seen[object]; dup {
			v.errorf(path, "%s is already owned by %s", object, first)
			return
		}
		seen[object] = path
	}
	for i, r := range c.Resources {
		path := indexPath("resources", i)
		switch {
		case r.SecondaryIP != nil:
			own := map[netip.Addr]bool{} // a repeat within one resource is reported by secondaryIP
			for j, s := range r.SecondaryIP.Addresses {
				a, err := netip.ParseAddr(s)
				if err != nil || own[a] {
					continue
				}
				own[a] = true
				claim("address "+a.String(), indexPath(path+".secondary-ip.addresses", j))
			}
		case r.ElasticIP != nil && r.ElasticIP.AllocationID != "":
			claim(r.ElasticIP.AllocationID, path+".elastic-ip.allocation-id")
		case r.ElasticIP != nil && len(r.ElasticIP.Tags) > 0:
			claim("elastic-ip with tags "+TagsString(r.ElasticIP.Tags), path+".elastic-ip.tags")
		case r.ENI != nil && len(r.ENI.Tags) > 0:
			claim("eni with tags "+TagsString(r.ENI.Tags), path+".eni.tags")
		case r.EBSVolume != nil && len(r.EBSVolume.Tags) > 0:
			claim("ebs-volume with tags "+TagsString(r.EBSVolume.Tags), path+".ebs-volume.tags")
		case r.ENI != nil && r.ENI.ID != "":
			claim(r.ENI.ID, path+".eni.id")
		case r.ENI != nil && r.ENI.PrivateIP != "":
			claim("address "+r.ENI.PrivateIP, path+".eni.private-ip")
		case r.EBSVolume != nil && r.EBSVolume.VolumeID != "":
			claim(r.EBSVolume.VolumeID, path+".ebs-volume.volume-id")
		case r.Route53 != nil && r.Route53.Name != "":
			typ := r.Route53.Type
			if typ == "" {
				typ = "A"
			}
			claim("record "+strings.ToLower(strings.TrimSuffix(r.Route53.Name, "."))+" "+typ+" in "+r.Route53.HostedZoneID, path+".route53.name")
		}
	}
}
