package kinds_test

import (
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/iampolicy"
	"github.com/vipd/vipd/internal/resource"
	"github.com/vipd/vipd/internal/resource/kinds"
)

// TestEveryConfigKindIsRegistered fails when the config schema gains a
// resource kind that the registry lacks (its config would be refused at
// start), or the registry has a kind the schema cannot express.
func TestEveryConfigKindIsRegistered(t *testing.T) {
	reg := kinds.Registry()
	var registered []string
	for _, k := range reg.Kinds() {
		registered = append(registered, k.Name)
	}
	for _, name := range config.Kinds() {
		if !slices.Contains(registered, name) {
			t.Errorf("config kind %s is not registered in internal/resource/kinds", name)
		}
	}
	for _, name := range registered {
		if !slices.Contains(config.Kinds(), name) {
			t.Errorf("registered kind %s is not in the config schema (config.Resource)", name)
		}
	}
}

// TestEveryKindBuilds builds each kind from its config field's zero value:
// the constructor picks its own field and names its kind as the config
// does.
func TestEveryKindBuilds(t *testing.T) {
	reg := kinds.Registry()
	for name, r := range zeroResources() {
		k, ok := reg.Kind(name)
		if !ok {
			continue // TestEveryConfigKindIsRegistered reports it
		}
		res, err := k.New(r, resource.Env{Clients: &awsapi.Clients{}, OnOwner: true, Log: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Errorf("%s: New: %v", k.Name, err)
			continue
		}
		if res.Kind() != k.Name {
			t.Errorf("%s: built resource says kind %q", k.Name, res.Kind())
		}
	}
}

// zeroResources returns, for every kind of the config schema, a resource
// of that kind whose settings are all zero.
func zeroResources() map[string]config.Resource {
	out := map[string]config.Resource{}
	rt := reflect.TypeFor[config.Resource]()
	for i := range rt.NumField() {
		if rt.Field(i).Tag.Get("kind") == "-" {
			continue // assume-role: an option beside the kind
		}
		var r config.Resource
		f := reflect.ValueOf(&r).Elem().Field(i)
		f.Set(reflect.New(f.Type().Elem()))
		out[r.Kind()] = r
	}
	return out
}

const node = `cluster: c
node: {name: a, advertise: 10.0.0.1:7946}
peers: [{name: b, address: 10.0.0.2:7946}, {name: w, address: 10.0.0.3:7946, witness: true}]
`

func plan(t *testing.T, yaml string, env resource.Env) *resource.Plan {
	t.Helper()
	cfg, err := config.Parse([]byte(node+yaml), "vipd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	env.Clients, env.Log = &awsapi.Clients{}, slog.New(slog.DiscardHandler)
	p, err := kinds.Registry().Plan(cfg.Resources, env, resource.PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPlanKindOrder checks that resources are acquired in design.md's kind
// order whatever the config's order, keeping the config's order within a
// kind.
func TestPlanKindOrder(t *testing.T) {
	p := plan(t, `resources:
  - route53: {hosted-zone-id: Z0123456789ABC, name: db.example.internal}
  - overlay-route: {cidr: 192.168.100.10/32, route-tables: all}
  - elastic-ip: {allocation-id: eipalloc-0a1b2c3d}
  - secondary-ip: {addresses: [10.0.1.100]}
  - overlay-route: {cidr: 192.168.100.11/32, route-tables: all}
  - eni: {id: eni-0a1b2c3d, host: none}
  - ebs-volume: {volume-id: vol-0a1b2c3d, host: none}
local-address: {interface: none, cidr: 192.168.100.10/32}
`, resource.Env{OnOwner: true})
	var got []string
	for _, r := range p.Resources() {
		got = append(got, r.Name())
	}
	want := []string{
		"ebs-volume vol-0a1b2c3d",
		"eni eni-0a1b2c3d",
		"secondary-ip 10.0.1.100",
		"elastic-ip eipalloc-0a1b2c3d",
		"overlay-route 192.168.100.10/32",
		"overlay-route 192.168.100.11/32",
		"route53 db.example.internal. A",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("acquire order (-want +got):\n%s", diff)
	}
	// design.md binds the local address before overlay-route and
	// route53.
	for _, k := range kinds.Registry().Kinds() {
		before := k.Name != config.KindRoute53 && k.Name != config.KindOverlayRoute
		if got := k.Order < resource.LocalAddressOrder; got != before {
			t.Errorf("%s: acquired before the local address = %v, want %v", k.Name, got, before)
		}
	}
}

// TestStepTimeouts checks that the slow kinds announce a step budget that
// covers their configured waits.
func TestStepTimeouts(t *testing.T) {
	p := plan(t, `resources:
  - eni: {id: eni-0a1b2c3d, host: none, detach-timeout: 5s, attach-timeout: 20s}
  - ebs-volume: {volume-id: vol-0a1b2c3d, host: none}
  - route53: {hosted-zone-id: Z0123456789ABC, name: db.example.internal, wait-insync: true, insync-timeout: 90s}
local-address: {interface: none}
`, resource.Env{OnOwner: true})
	want := map[string]time.Duration{ // at least: the waits they may spend
		"ebs-volume vol-0a1b2c3d":        20*time.Second + 2*60*time.Second,
		"eni eni-0a1b2c3d":               5*time.Second + 3*20*time.Second,
		"route53 db.example.internal. A": 90 * time.Second,
	}
	for _, r := range p.Resources() {
		st, ok := r.(resource.StepTimer)
		if !ok {
			t.Errorf("%s has no StepTimeout", r.Name())
			continue
		}
		if got := st.StepTimeout(); got < want[r.Name()] || got > want[r.Name()]+time.Minute {
			t.Errorf("%s StepTimeout = %s, want a little over %s", r.Name(), got, want[r.Name()])
		}
	}
}

// TestHostKindsNeedTheOwner: a controller (env not on the owner) cannot
// drive a kind that changes the owner's host.
func TestHostKindsNeedTheOwner(t *testing.T) {
	cfg, err := config.Parse([]byte(node+`resources:
  - overlay-route: {cidr: 192.168.100.10/32, route-tables: all}
  - eni: {id: eni-0a1b2c3d, host: none}
local-address: {interface: none}
`), "vipd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	env := resource.Env{Clients: &awsapi.Clients{}}
	_, err = kinds.Registry().Plan(cfg.Resources, env, resource.PlanOptions{})
	if err == nil || !strings.Contains(err.Error(), "resources[1]: eni changes the owner's host") {
		t.Errorf("plan of eni away from the owner: got %v, want a refusal naming resources[1]", err)
	}
}

// TestEveryKindNeedsPermissions: each kind's policy grants something for
// the simplest resource of its kind; a kind that added none would leave
// its writes to be refused on AWS.
func TestEveryKindNeedsPermissions(t *testing.T) {
	reg := kinds.Registry()
	for _, r := range zeroResources() {
		cfg := &config.Config{Resources: []config.Resource{r}}
		p, err := iampolicy.For(cfg, iampolicy.Options{}, reg)
		if err != nil {
			t.Errorf("%s: %v", r.Kind(), err)
			continue
		}
		if len(p.Statement) == 0 {
			t.Errorf("%s: the policy grants nothing", r.Kind())
		}
	}
}

// TestControllerSchemaFollowsSide: the controller's config refuses exactly
// the kinds that change the owner's host, so that `vipd controller
// --validate` says early what the registry would refuse at start.
func TestControllerSchemaFollowsSide(t *testing.T) {
	zero := zeroResources()
	for _, k := range kinds.Registry().Kinds() {
		r, ok := zero[k.Name]
		if !ok {
			continue // TestEveryConfigKindIsRegistered reports it
		}
		c := config.DefaultController()
		c.Resources = []config.Resource{r}
		err := c.Validate()
		refused := err != nil && strings.Contains(err.Error(), "resources[0]."+k.Name+": "+k.Name+" changes the host")
		if want := k.Side == resource.Host; refused != want {
			t.Errorf("%s (side %s): controller config refuses it = %v, want %v (validation: %v)", k.Name, k.Side, refused, want, err)
		}
	}
}
