//go:build !linux

package osnet

import (
	"context"
	"errors"
	"net"
)

// errNoPolicyRouting is what PolicyRouting answers off Linux: policy
// routing needs netlink; configure `host: none` there.
var errNoPolicyRouting = errors.New("policy routing needs Linux; set host: none")

// PolicyRouting is unavailable off Linux; every method fails.
type PolicyRouting struct{}

// NewPolicyRouting returns a PolicyRouting whose methods fail.
func NewPolicyRouting() *PolicyRouting { return &PolicyRouting{} }

func (*PolicyRouting) WaitLink(context.Context, net.HardwareAddr) (string, error) {
	return "", errNoPolicyRouting
}
func (*PolicyRouting) Apply(context.Context, Policy) error  { return errNoPolicyRouting }
func (*PolicyRouting) Remove(context.Context, Policy) error { return errNoPolicyRouting }
func (*PolicyRouting) Drift(context.Context, Policy) ([]string, error) {
	return nil, errNoPolicyRouting
}
