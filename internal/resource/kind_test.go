package resource_test

import (
	"context"
	"strings"
	"testing"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/iampolicy"
	"github.com/vipd/vipd/internal/preflight/probe"
	"github.com/vipd/vipd/internal/resource"
)

func kind(name string, order int) resource.Kind {
	return resource.Kind{
		Name: name, Order: order,
		New:       func(config.Resource, resource.Env) (resource.Resource, error) { return nil, nil },
		Policy:    func(*iampolicy.Builder, config.Resource) {},
		Preflight: func(context.Context, *probe.Probe, []probe.Entry) {},
	}
}

// TestNewRegistryRefusesIncompleteKinds: a kind without its IAM policy or
// its preflight check would leave `vipd iam-policy` short of a permission
// or `vipd check` silent about it, so the registry refuses it, as it
// refuses two kinds with one name or one place in the order.
func TestNewRegistryRefusesIncompleteKinds(t *testing.T) {
	noPolicy, noPreflight, noNew := kind("b", 2), kind("c", 3), kind("d", 4)
	noPolicy.Policy, noPreflight.Preflight, noNew.New = nil, nil, nil
	tests := []struct {
		name  string
		kinds []resource.Kind
		want  string
	}{
		{"no IAM policy", []resource.Kind{kind("a", 1), noPolicy}, "kind b has no IAM policy"},
		{"no preflight check", []resource.Kind{noPreflight}, "kind c has no preflight check"},
		{"no constructor", []resource.Kind{noNew}, "kind d has no constructor"},
		{"one name twice", []resource.Kind{kind("a", 1), kind("a", 2)}, "kind a registered twice"},
		{"one order twice", []resource.Kind{kind("a", 1), kind("b", 1)}, "kind b has order 1, as a"},
		{"the local address's order", []resource.Kind{kind("a", resource.LocalAddressOrder)}, "as the local address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := resource.NewRegistry(tt.kinds...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewRegistry: got %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if _, err := resource.NewRegistry(kind("a", 1), kind("b", 2)); err != nil {
		t.Errorf("NewRegistry of two complete kinds: %v", err)
	}
}
