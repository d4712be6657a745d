//go:build !linux

package osnet

import "net/netip"

// NewBinder returns None on systems without netlink: vipd binds no local
// address there (the rootless demo runs this way on macOS).
func NewBinder(iface string, primary netip.Addr, p netip.Prefix) Binder {
	return None{Prefix: p}
}
