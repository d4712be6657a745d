package controller_test

import "net/netip"

func netipPrefix(a netip.Addr) netip.Prefix { return netip.PrefixFrom(a, a.BitLen()) }

// childMain runs a controller process when the test binary is re-executed
// as one; it reports whether it did.
func childMain() bool { return false }
